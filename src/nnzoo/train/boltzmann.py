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

import torch

from nnzoo.errors import NnzooError
from nnzoo.models.boltzmann import ENUMERATE_LIMIT, binary_rows, data_distribution, state_codes

CHAINS = 4  # chains per data row in each phase of an epoch
MEASURE_EVERY = 5  # epochs between exact measurements in the history
SAMPLES = 1000  # free chains sampled to test
SAMPLE_SCHEDULE = ((4.0, 2), (2.0, 2), (1.0, 20))  # (T, sweeps): anneal, then settle at T = 1


def visible_marginal(model) -> torch.Tensor:
    """Q(v) for every visible state v (2^V,), indexed by ``state_codes``, exactly at T = 1."""
    states, p = model.distribution(temperature=1.0)
    marginal = torch.zeros(2 ** model.visible, dtype=torch.float64)
    return marginal.index_add_(0, state_codes(states[:, :model.visible]), p)


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


class AHSLearner:
    """The Boltzmann machine's learning rule as a learner: each epoch runs ``CHAINS`` chains per
    data row in both phases (``BoltzmannMachine.fit`` for one epoch) at ε = ``rate(...)``; every
    ``MEASURE_EVERY`` epochs (and the last) the row gets the exact scores."""

    TAKES = {"epochs": 500, "lr": 1.0, "schedule": "cosine", "schedule_c": 1.0, "seed": 0}
    rule = "Ackley, Hinton & Sejnowski 1985 (gradient form, T = 1)"
    task = "distribution"
    steps_per_epoch = 1

    def __init__(self, model, data, *, epochs: int, seed: int, lr: float, schedule: str,
                 schedule_c: float):
        self.model, self.data = model.cpu(), data
        self.epochs, self.seed, self.lr, self.schedule, self.c = epochs, seed, lr, schedule, schedule_c
        self.generator = torch.Generator().manual_seed(seed)

    def settings(self) -> dict:
        return {"rule": self.rule, "epochs": self.epochs, "lr": self.lr, "schedule": self.schedule,
                "schedule_c": self.c, "chains_per_row": CHAINS, "seed": self.seed}

    def prepare(self) -> None:
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise NnzooError(f"The AHS rule needs lr > 0; got {self.lr}.")
        self.rows = binary_rows(torch.as_tensor(self.data.train.x).reshape(len(self.data.train), -1),
                                self.model.visible, f"The rows of dataset {self.data.name!r}")
        self.samples_per_epoch = len(self.rows) * CHAINS

    def epoch(self, state) -> dict:
        step = rate(self.lr, self.schedule, state.epoch, self.epochs, self.c)
        gap = self.model.fit(self.rows, epochs=1, lr=step, chains=CHAINS, generator=self.generator)[0]
        row = {"lr": step, "gap": gap}
        if (state.epoch + 1) % MEASURE_EVERY == 0 or state.epoch + 1 == self.epochs:
            row.update(exact_scores(self.model, self.rows))
        state.step_done()
        return row

    def validate(self) -> dict:
        return {}

    def test(self) -> dict:
        return evaluate_distribution(self.model, self.data.test, seed=self.seed, name=self.data.name)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def extra_metrics(self) -> dict:
        return {"uniform_kl": math.log(2 ** self.model.visible) - entropy(self.rows),
                "uniform_mass": len(state_codes(self.rows).unique()) / 2 ** self.model.visible}

    def curves(self, result, title):
        from nnzoo.explain.boltzmann import curves_figure

        what = f"{self.model.visible} visible + {self.model.size - self.model.visible} hidden units"
        return curves_figure(result.history, f"AHS learning on {self.data.name} ({what})")

    def pictures(self, folder) -> None:
        save_pictures(self.model, self.data, folder, self.seed)


def entropy(rows: torch.Tensor) -> float:
    """H(P) in nats of the rows' distribution."""
    p = data_distribution(rows)[1]
    return -(p * p.log()).sum().item()


def save_pictures(model, data, folder, seed: int) -> None:
    """weights.png, distribution.png and samples.png of a trained machine."""
    from nnzoo.explain.boltzmann import distribution_figure, samples_figure, weights_figure

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
