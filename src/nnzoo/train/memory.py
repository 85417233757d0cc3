"""``nnzoo train hopfield``: store patterns by the Hebbian rule, then recall corrupted copies.

An associative-memory dataset (``letters`` by default) holds the patterns to store in its train
split and corrupted copies in its validation and test splits, each with the clean pattern as its
target ``y``. The trainer stores ``data.train.x`` in one step (W = (1/N) Σ p pᵀ, no epochs),
lets every test copy settle in the net's mode (asynchronous orders drawn from ``seed``) and
scores it against its target:

    recall          the fraction of copies that settle exactly on their stored pattern
    hamming         the mean Hamming distance (bits) from the settled state to the pattern
    start_hamming   the same before recall (the bits the corruption flipped)
    sweeps          mean sweeps (async) or updates (sync) until nothing changes, the last
                    one included; ``cycles`` (sync only) the fraction stuck in a 2-cycle
    stable          the fraction of stored patterns that are fixed points themselves

It also measures recall against the fraction of flipped bits (0 to 50 %: at 50 % a copy of a ±1
pattern carries no trace of it) and writes config.json, metrics.json, weights.safetensors (W
and θ) and the pictures of ``nnzoo.explain.memory``: patterns.png, recall.png, energy.png and
recall_vs_noise.png.
"""

from __future__ import annotations

import functools

import torch

from nnzoo.errors import NnzooError

NOISE_LEVELS = tuple(i / 20 for i in range(11))  # 0, 5 %, ..., 50 % of the bits flipped
SHOWN_COPIES = 3  # corrupted copies per pattern in recall.png
SHOWN_PATTERNS = 8  # rows of recall.png and lines of energy.png at most


def _rows(x) -> torch.Tensor:
    return torch.as_tensor(x).reshape(len(x), -1)


def _targets(split, name: str) -> torch.Tensor:
    """The clean patterns a split's copies should settle on, checked against its inputs."""
    if isinstance(split.x, tuple):
        raise NnzooError(f"Recall needs one state per sample, but dataset {name!r} gives "
                         f"{len(split.x)} tensors per sample (a sequence-to-sequence dataset). Use "
                         f"an associative-memory dataset of ±1 or 0/1 patterns, such as --data letters.")
    x, y = _rows(split.x), torch.as_tensor(split.y)
    if y.shape[0] != x.shape[0] or y.reshape(len(y), -1).shape != x.shape:
        raise NnzooError(f"Recall is scored against clean patterns, but dataset {name!r} has "
                         f"targets of shape {tuple(y.shape[1:])} per sample for inputs of shape "
                         f"{tuple(x.shape[1:])}. Use an associative-memory dataset whose targets "
                         f"are the stored patterns, such as --data letters.")
    return y.reshape(len(y), -1)


def settle_sweeps(trajectory: torch.Tensor) -> torch.Tensor:
    """Per state, the sweeps (or synchronous updates) run until one changed nothing, that one
    included, from a trajectory (T+1, B, N) recorded per sweep."""
    changed = (trajectory[1:] != trajectory[:-1]).any(-1)  # (T, B)
    return (changed.sum(0) + 1).clamp(max=len(changed)).double()


@torch.no_grad()
def evaluate_recall(model, split, *, seed: int = 0, name: str = "the data") -> dict:
    """Recall every input of ``split`` in the model's mode and score it against ``split.y``."""
    target = _targets(split, name)
    x = _rows(split.x)
    run = model.recall(x, generator=seed, return_trajectory=True)
    on, goal = run.state > 0, target > 0
    metrics = {"recall": (on == goal).all(1).double().mean().item(),
               "hamming": (on != goal).sum(1).double().mean().item(),
               "start_hamming": ((x > 0) != goal).sum(1).double().mean().item(),
               "sweeps": settle_sweeps(run.trajectory).mean().item()}
    if model.mode == "sync":
        metrics["cycles"] = run.cycle.double().mean().item()
    return metrics


def stable_fraction(model, patterns: torch.Tensor) -> float:
    """The fraction of ``patterns`` that one sweep leaves unchanged (fixed points)."""
    run = model.recall(patterns, steps=1, generator=0, return_trajectory=True)
    return ((run.state > 0) == (patterns > 0)).all(1).double().mean().item()


@torch.no_grad()
def noise_curve(model, patterns: torch.Tensor, *, copies: int, seed: int,
                levels=NOISE_LEVELS) -> dict:
    """Exact-recall rate and mean Hamming distance after recall, per fraction of flipped bits,
    over ``copies`` corrupted copies of each stored pattern (0/1 or ±1 rows)."""
    from nnzoo.data import Split
    from nnzoo.data.letters import flip_pixels

    clean = (patterns > 0).to(patterns.dtype).repeat(copies, 1)
    generator = torch.Generator().manual_seed(seed)
    curve = {"noise": list(levels), "recall": [], "hamming": []}
    for level in levels:
        corrupted = flip_pixels(clean, round(level * clean.shape[1]), generator)
        scores = evaluate_recall(model, Split(corrupted, clean), seed=seed)
        curve["recall"].append(scores["recall"])
        curve["hamming"].append(scores["hamming"])
    return curve


def pattern_names(data, count: int) -> list[str]:
    """The stored patterns' names: the letters, the class names, else #1, #2, ..."""
    names = data.info.get("letters") or data.class_names or ()
    return list(names) if len(names) == count else [f"#{i + 1}" for i in range(count)]


class HebbianLearner:
    """Hopfield storage as a learner: one "epoch" stores ``data.train.x`` by the Hebbian outer
    product; validation and test score the recall of corrupted copies (``evaluate_recall``).
    Its optimizer options do not apply: storage is one step."""

    TAKES = {"seed": 0}
    rule = "Hebbian outer product, W = (1/N) sum p p^T, W_ii = 0"
    task = "associative-memory"
    steps_per_epoch = 1

    def __init__(self, model, data, *, epochs: int, seed: int):
        self.model, self.data, self.seed = model.cpu(), data, seed
        self.samples_per_epoch = len(data.train)

    def settings(self) -> dict:
        return {"rule": self.rule, "units": self.model.units, "mode": self.model.mode,
                "seed": self.seed, "epochs": 1}

    def prepare(self) -> None:
        self.patterns = _rows(self.data.train.x)
        _targets(self.data.test, self.data.name)

    def epoch(self, state) -> dict:
        self.model.store(self.patterns)  # a real-valued dataset stops here, before any epoch
        state.step_done()
        return {"patterns": len(self.patterns), "load": len(self.patterns) / self.patterns.shape[1]}

    def validate(self) -> dict:
        if not len(self.data.val):
            return {}
        return evaluate_recall(self.model, self.data.val, seed=self.seed + 1, name=self.data.name)

    def test(self) -> dict:
        test = evaluate_recall(self.model, self.data.test, seed=self.seed, name=self.data.name)
        test["stable"] = stable_fraction(self.model, self.patterns)
        return test

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    @functools.cached_property
    def curve(self) -> dict:
        """Recall against the fraction of flipped bits, for metrics.json and its picture."""
        return noise_curve(self.model, self.patterns, copies=self.data.info.get("copies", 25),
                           seed=self.seed)

    def extra_metrics(self) -> dict:
        return {"recall_vs_noise": self.curve}

    def curves(self, result, title):
        return None  # one step: recall_vs_noise.png is its curve

    def pictures(self, folder) -> None:
        save_pictures(self.model, self.data, folder, self.curve, self.seed)


def save_pictures(model, data, folder, curve: dict, seed: int) -> None:
    """patterns.png, recall.png, energy.png and recall_vs_noise.png of a trained memory."""
    from nnzoo.explain.memory import energy_figure, noise_figure, patterns_figure, recall_figure

    patterns = _rows(data.train.x)
    names = pattern_names(data, len(patterns))
    size, count = patterns.shape[1], len(patterns)
    where = f"N = {size} units, P = {count} patterns stored (load P/N = {count / size:.2f})"
    folder.save_figure(patterns_figure(patterns, names, model.weight.float(),
                                       f"Hopfield network: {where}"), "patterns.png")
    x, target = _rows(data.test.x), _targets(data.test, data.name)
    settled = model.recall(x, generator=seed)
    rows = []
    for i in range(min(count, SHOWN_PATTERNS)):
        mine = (target > 0).eq(patterns[i] > 0).all(1).nonzero()[:SHOWN_COPIES, 0].tolist()
        rows.append({"name": names[i], "stored": patterns[i],
                     "energy": lambda state: float(model.energy(state)),
                     "pairs": [(x[j], settled[j]) for j in mine]})
    flipped = data.info.get("flipped")
    damage = f"{flipped} of {size} bits flipped" if flipped is not None else "corrupted copies"
    folder.save_figure(recall_figure(rows, f"{model.mode} recall from test copies ({damage}); "
                                           f"red x = bit differs from the stored pattern"),
                       "recall.png")
    firsts = [row["pairs"][0][0] for row in rows if row["pairs"]]
    if firsts:
        runs = [model.recall(state, mode="async", generator=seed, return_trajectory=True,
                             record="unit") for state in firsts]
        labels = [f"'{row['name']}'" for row in rows if row["pairs"]]
        folder.save_figure(energy_figure(runs, labels, size, title=(
            f"Energy while the first test copy of each pattern settles ({damage}), one unit at "
            f"a time:\nevery update lowers it or leaves it; the last sweep changes no unit")),
            "energy.png")
    folder.save_figure(noise_figure(curve, size, data.info.get("noise"),
                                    f"Hopfield network, {where}, {model.mode} recall"),
                       "recall_vs_noise.png")

