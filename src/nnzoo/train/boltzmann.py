"""``nnzoo train boltzmann``: the AHS learning rule on a small binary distribution.

The machine (``nnzoo.models.boltzmann``) learns the distribution of ``data.train.x``, rows of
its visible units (by default the 14 bars-and-stripes images of 3x3 pixels). Each epoch runs
``CHAINS`` Markov chains per data row in both phases of the AHS rule (``BoltzmannMachine.fit``):
clamped to the data and free, each annealed and then averaged over sweeps at T = 1, and moves
W and θ by ε (p⁺ - p⁻). ε follows ``schedule`` (default cosine, from ``lr`` down to 0), which
steadies the end of a rule whose steps are noisy estimates.

What it learnt is measured at T = 1 against the data's own distribution P (each distinct row
weighted by its frequency):

    kl            KL(P || Q) in nats, Q the machine's exact marginal over the visible units
                  (enumerating all 2^N states; machines of at most 16 units)
    data_mass     Q's total probability on the data rows (a uniform Q: count / 2^V)
    sample_valid  the share of samples (free chains annealed, then 20 sweeps at T = 1) that
                  are data rows

The run folder holds config.json, metrics.json (KL and data mass every few epochs in the
history), weights.safetensors (W and θ) and the pictures of ``nnzoo.explain.boltzmann``:
weights.png, distribution.png, samples.png and curves.png.
"""

from __future__ import annotations

import math
import time

import torch

from nnzoo.errors import NnzooError
from nnzoo.models.boltzmann import ENUMERATE_LIMIT, binary_rows
from nnzoo.train.run_folder import discards_unstarted

CHAINS = 4  # chains per data row in each phase of an epoch
MEASURE_EVERY = 5  # epochs between exact measurements in the history
SAMPLES = 1000  # free chains sampled to test
SAMPLE_SCHEDULE = ((4.0, 2), (2.0, 2), (1.0, 20))  # (T, sweeps): anneal, then settle at T = 1


def state_codes(rows: torch.Tensor) -> torch.Tensor:
    """Each 0/1 row (M, V) as the integer Σ_i v_i 2^i."""
    return (rows.long() * 2 ** torch.arange(rows.shape[-1])).sum(-1)


def visible_marginal(model) -> torch.Tensor:
    """Q(v) for every visible state v (2^V,), indexed by ``state_codes``, exactly at T = 1."""
    states, p = model.distribution(temperature=1.0)
    marginal = torch.zeros(2 ** model.visible, dtype=torch.float64)
    return marginal.index_add_(0, state_codes(states[:, :model.visible]), p)


def data_distribution(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows' codes and their frequencies P(v)."""
    codes, counts = state_codes(rows).unique(return_counts=True)
    return codes, counts.double() / len(rows)


@torch.no_grad()
def sample_visible(model, count: int = SAMPLES, generator=None) -> torch.Tensor:
    """``count`` samples of the visible units: free chains from random states, annealed."""
    start = torch.bernoulli(torch.full((count, model.size), 0.5, dtype=torch.float64),
                            generator=generator)
    return model.anneal(start, SAMPLE_SCHEDULE, generator)[:, :model.visible]


def exact_scores(model, rows: torch.Tensor) -> dict:
    """KL(P || Q) and Q's mass on the data rows; empty for machines too big to enumerate."""
    if model.size > ENUMERATE_LIMIT:
        return {}
    codes, p = data_distribution(rows)
    q = visible_marginal(model)[codes]
    return {"kl": (p * (p.log() - q.log())).sum().item(), "data_mass": q.sum().item()}


@torch.no_grad()
def evaluate_distribution(model, split, *, seed: int = 0, name: str = "the data") -> dict:
    """How well the machine's distribution matches the rows of ``split``."""
    rows = binary_rows(torch.as_tensor(split.x).reshape(len(split), -1), model.visible,
                       f"The rows of dataset {name!r}")
    scores = exact_scores(model, rows)
    samples = sample_visible(model, SAMPLES, torch.Generator().manual_seed(seed))
    scores["sample_valid"] = torch.isin(state_codes(samples), state_codes(rows)).double().mean().item()
    return scores


def rate(lr: float, schedule: str, epoch: int, epochs: int, c: float) -> float:
    """ε at ``epoch`` (0-based) under one of ``nnzoo.train.optim``'s schedules."""
    from nnzoo.train.optim import schedule_factor

    return lr * schedule_factor(schedule, epochs, c=c)(epoch)


def _progress(total: int, enabled: bool):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", file=sys.stderr, dynamic_ncols=True, disable=not enabled)


def learn(model, rows: torch.Tensor, *, epochs: int, lr: float, schedule: str, schedule_c: float,
          generator, progress: bool) -> list[dict]:
    """Run the AHS rule for ``epochs`` epochs; per epoch ε and the mean |p⁺ - p⁻|, and every
    ``MEASURE_EVERY`` epochs (and the last) the exact scores."""
    history = []
    with _progress(epochs, progress) as bar:
        for epoch in range(epochs):
            step = rate(lr, schedule, epoch, epochs, schedule_c)
            gap = model.fit(rows, epochs=1, lr=step, chains=CHAINS, generator=generator)[0]
            row = {"epoch": epoch + 1, "lr": step, "gap": gap}
            if (epoch + 1) % MEASURE_EVERY == 0 or epoch + 1 == epochs:
                row.update(exact_scores(model, rows))
                bar.set_postfix({k: f"{row[k]:.3f}" for k in ("kl", "data_mass") if k in row})
            history.append(row)
            bar.update()
    return history


@discards_unstarted
def fit_boltzmann(model, data, *, epochs: int = 500, lr: float = 1.0, schedule: str = "cosine",
                  schedule_c: float = 1.0, seed: int = 0, progress: bool = True, out=None,
                  overwrite: bool = False, config: dict | None = None, **_ignored):
    """``nnzoo train boltzmann``: the AHS rule with ``nnzoo.fit``'s signature; the history has
    each epoch's ε and mean |p⁺ - p⁻|, the test dict the scores of ``evaluate_distribution``."""
    from nnzoo.train.loop import FitResult
    if epochs < 1 or not lr > 0 or not math.isfinite(lr):
        raise NnzooError(f"The AHS rule needs epochs >= 1 and lr > 0; got {epochs} and {lr}.")
    folder = out  # a RunFolder or None: @discards_unstarted opened it
    rows = binary_rows(torch.as_tensor(data.train.x).reshape(len(data.train), -1), model.visible,
                       f"The rows of dataset {data.name!r}")
    run_config = dict(config or {})
    run_config.setdefault("training", {}).update(
        rule="Ackley, Hinton & Sejnowski 1985 (gradient form, T = 1)", epochs=epochs, lr=lr,
        schedule=schedule, chains_per_row=CHAINS, seed=seed)
    if folder:
        folder.write_json("config.json", run_config)
    model.cpu()
    start = time.perf_counter()
    history = learn(model, rows, epochs=epochs, lr=lr, schedule=schedule, schedule_c=schedule_c,
                    generator=torch.Generator().manual_seed(seed), progress=progress)
    seconds = time.perf_counter() - start
    test = evaluate_distribution(model, data.test, seed=seed, name=data.name)
    result = FitResult(history, test, epochs, epochs, seconds,
                       len(rows) * CHAINS * epochs / max(seconds, 1e-9),
                       folder.path if folder else None)
    if folder:
        baseline = {"uniform_kl": math.log(2 ** model.visible) - entropy(rows),
                    "uniform_mass": len(state_codes(rows).unique()) / 2 ** model.visible}
        folder.save_result(model, run_config, result.metrics, **baseline, history=history)
        save_pictures(model, data, folder, history, seed)
    return result


def entropy(rows: torch.Tensor) -> float:
    """H(P) in nats of the rows' distribution."""
    p = data_distribution(rows)[1]
    return -(p * p.log()).sum().item()


def save_pictures(model, data, folder, history: list[dict], seed: int) -> None:
    """weights.png, distribution.png, samples.png and curves.png of a trained machine."""
    from nnzoo.explain.boltzmann import (curves_figure, distribution_figure, samples_figure,
                                         weights_figure)

    rows = torch.as_tensor(data.train.x).reshape(len(data.train), -1).double()
    side = data.info.get("side")
    shape = (side, side) if side and side * side == model.visible else (1, model.visible)
    what = f"{model.visible} visible + {model.size - model.visible} hidden units"
    folder.save_figure(weights_figure(model, shape, f"Boltzmann machine ({what}) after learning "
                                                    f"{data.name}"), "weights.png")
    samples = sample_visible(model, SAMPLES, torch.Generator().manual_seed(seed))
    if model.size <= ENUMERATE_LIMIT:
        folder.save_figure(distribution_figure(visible_marginal(model), rows, samples, shape,
                                               f"{data.name}: the machine's distribution at "
                                               f"T = 1 ({what})"), "distribution.png")
    folder.save_figure(samples_figure(rows, samples[:40], shape, data.name), "samples.png")
    folder.save_figure(curves_figure(history, f"AHS learning on {data.name} ({what})"),
                       "curves.png")
