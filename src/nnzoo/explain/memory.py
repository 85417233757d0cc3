"""Pictures of an associative memory (a Hopfield network) storing and recalling patterns.

Shared by ``nnzoo demo hopfield`` and by ``nnzoo train hopfield`` (``nnzoo.train.memory``):

- :func:`draw_state`: one state as a square bitmap ("on" black), the pixels that differ from
  the stored pattern crossed in red, its energy under it;
- :func:`patterns_figure`: the stored patterns, the weight matrix W and the patterns' overlaps;
- :func:`recall_figure`: for each stored pattern, corrupted copies and what they settle to;
- :func:`energy_figure`: the energy after every single-unit update of asynchronous recall;
- :func:`noise_figure`: recall rate and Hamming distance against the fraction of flipped bits.

States may be coded ±1 or 0/1; a value above 0 is "on".
"""

from __future__ import annotations

import math


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_side(size: int) -> tuple[int, int]:
    """(rows, columns) to draw ``size`` units as an image: a square when it is one, else a strip."""
    side = math.isqrt(size)
    return (side, side) if side * side == size else (1, size)


def draw_state(ax, state, target=None, title: str = "", energy: float | None = None) -> None:
    """One state on ``ax``; pixels that differ from ``target`` crossed in red, E written below."""
    shape = image_side(state.numel())
    on = (state > 0).reshape(shape).float()
    ax.imshow(on.numpy(), cmap="gray_r", vmin=0, vmax=1)
    wrong = [] if target is None else ((state > 0) != (target > 0)).reshape(shape).nonzero().numpy()
    if len(wrong):
        ax.scatter(wrong[:, 1], wrong[:, 0], marker="x", s=14, color="tab:red", linewidths=1.0)
    ax.set_title(title, fontsize=8)
    label = "" if energy is None else f"E = {energy:.1f}"
    if target is not None:
        label += (f"\n{len(wrong)} wrong" if len(wrong) else "\nexact")
    ax.set_xlabel(label.strip(), fontsize=7,
                  color="tab:red" if len(wrong) else "darkgreen" if target is not None else "black")
    ax.set_xticks([])
    ax.set_yticks([])


def patterns_figure(patterns, names: list[str], weight, title: str = ""):
    """The stored patterns (P, N) above; W (N, N) and the overlaps p^μ·p^ν / N below."""
    import torch

    plt = _plt()
    shown = min(len(patterns), 12)
    fig = plt.figure(figsize=(max(7.5, 1.1 * shown), 5.6))
    grid = fig.add_gridspec(2, 1, height_ratios=[1, 3.0], hspace=0.2)
    top = grid[0].subgridspec(1, shown, wspace=0.15)
    for i in range(shown):
        draw_state(fig.add_subplot(top[i]), patterns[i], title=f"'{names[i]}'")
    bottom = grid[1].subgridspec(1, 2, wspace=0.45)
    ax = fig.add_subplot(bottom[0])
    bound = weight.abs().max().item() or 1.0
    image = ax.imshow(weight.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title("weights W (Hebbian, zero diagonal)", fontsize=9)
    ax.set_xlabel("unit j", fontsize=8)
    ax.set_ylabel("unit i", fontsize=8)
    ax = fig.add_subplot(bottom[1])
    bipolar = (patterns > 0).double() * 2 - 1
    overlap = bipolar @ bipolar.T / patterns.shape[1]
    ax.imshow(overlap.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    if len(overlap) <= 12:
        for (i, j), value in zip(torch.cartesian_prod(torch.arange(len(overlap)),
                                                      torch.arange(len(overlap))).tolist(),
                                 overlap.flatten().tolist()):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(value) > 0.6 else "black")
        ax.set_xticks(range(len(overlap)), [f"'{n}'" for n in names[:len(overlap)]], fontsize=8)
        ax.set_yticks(range(len(overlap)), [f"'{n}'" for n in names[:len(overlap)]], fontsize=8)
    ax.set_title("overlaps p·q / N (±1 coding)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def recall_figure(rows: list[dict], title: str = ""):
    """One row per stored pattern: ``{"name", "stored", "pairs": [(corrupted, recalled), ...],
    "energy": callable state -> E}``; every state is compared with the stored one."""
    plt = _plt()
    pairs = max(len(row["pairs"]) for row in rows)
    cols = 1 + 2 * pairs
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.3 * cols + 0.6, 1.6 * len(rows) + 0.7),
                             squeeze=False, layout="constrained")
    for r, row in enumerate(rows):
        energy, stored = row["energy"], row["stored"]
        draw_state(axes[r, 0], stored, stored, "stored" if r == 0 else "", energy(stored))
        for k, (corrupted, recalled) in enumerate(row["pairs"]):
            head = r == 0
            draw_state(axes[r, 1 + 2 * k], corrupted, stored, f"copy {k + 1}:\ncorrupted" if head
                       else "", energy(corrupted))
            draw_state(axes[r, 2 + 2 * k], recalled, stored, "→ recalled" if head else "",
                       energy(recalled))
        for ax in axes[r, 1 + 2 * len(row["pairs"]):]:
            ax.axis("off")
        axes[r, 0].set_ylabel(f"'{row['name']}'", fontsize=11, rotation=0, labelpad=16, va="center")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def energy_figure(runs, labels: list[str], size: int, title: str = "", legend: str = "pattern"):
    """Energy after every single-unit update of ``runs`` (``RecallResult`` s recorded per unit),
    one line each (named ``labels`` under the legend title ``legend``), with the ends of sweeps
    of ``size`` updates marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for label, run in zip(labels, runs):
        ax.plot(range(len(run.energy)), run.energy.numpy(), label=label, linewidth=1.5)
    longest = max(len(run.energy) for run in runs) - 1
    for boundary in range(size, longest + 1, size):
        ax.axvline(boundary, color="grey", linestyle=":", linewidth=1)
        ax.text(boundary - 2, ax.get_ylim()[1], f"end of sweep {boundary // size} ", fontsize=7,
                va="top", ha="right", color="grey")
    ax.set_xlabel("single-unit updates")
    ax.set_ylabel("energy E = -½ xᵀWx + θᵀx")
    ax.set_title(title or "Energy during asynchronous recall: every update lowers it or leaves it;\n"
                          "the last sweep changes no unit (a fixed point)", fontsize=10)
    ax.legend(fontsize=8, title=legend, title_fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def noise_figure(curve: dict, size: int, marked: float | None = None, title: str = ""):
    """``curve`` = {"noise": [...], "recall": [...], "hamming": [...]}: exact-recall rate (left)
    and mean Hamming distance to the stored pattern before and after recall (right)."""
    plt = _plt()
    noise = [100 * f for f in curve["noise"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9))
    left.plot(noise, curve["recall"], "o-", color="tab:blue", markersize=4)
    left.set_ylim(-0.03, 1.05)
    left.set_ylabel("fraction recalled exactly")
    left.set_title("recall rate", fontsize=10)
    right.plot(noise, [f * size for f in curve["noise"]], "--", color="grey", linewidth=1,
               label="before recall (bits flipped)")
    right.plot(noise, curve["hamming"], "o-", color="tab:red", markersize=4, label="after recall")
    right.set_ylabel("mean Hamming distance to the stored pattern")
    right.set_title("distance to the stored pattern", fontsize=10)
    right.legend(fontsize=8, loc="upper left")
    for ax in (left, right):
        ax.set_xlabel("bits flipped in the corrupted copy (% of N)")
        ax.grid(alpha=0.3)
        if marked is not None:
            ax.axvline(100 * marked, color="tab:green", linestyle=":", linewidth=1.2)
    if marked is not None:
        left.text(100 * marked, 0.05, f" test split ({100 * marked:.0f} %)", color="tab:green",
                  fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
