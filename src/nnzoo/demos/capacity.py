"""``nnzoo demo capacity``: how many random patterns a 100-unit Hopfield network can hold.

For P = 1..30 random ±1 patterns (``trials`` networks each), every stored pattern with 5 of its
100 bits flipped is recalled asynchronously; "recalled" means the fixed point equals the pattern
exactly (``nnzoo.models.hopfield.capacity_curve``). The picture plots the recall rate, the share
of patterns that are fixed points themselves, and the mean fraction of correct bits against the
load α = P/N, with the theoretical limit α_c ≈ 0.138 (Amit, Gutfreund & Sompolinsky 1985; Hopfield
1982 measured about 0.15 N) as a vertical line. At N = 100 the fall is gradual (a finite network):
with seed 0 and 40 networks per P, exact recall is 74 % at P = 14 and first below 50 % at P = 18.
Writes ``hopfield_capacity.png``.
"""

from __future__ import annotations

from pathlib import Path

from nnzoo.demos import register_demo

SIZE = 100
ALPHA_C = 0.138


@register_demo("capacity", "Hopfield recall rate against stored random patterns P/N (drop at 0.138)")
def capacity_demo(out: Path, *, seed: int = 0, trials: int = 40, max_patterns: int = 30,
                  flips: int = 5) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnzoo.models.hopfield import capacity_curve

    curve = capacity_curve(SIZE, range(1, max_patterns + 1), trials=trials, flips=flips, seed=seed)
    alpha = [p / SIZE for p in curve.patterns]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(alpha, curve.recall_rate, "o-", color="tab:blue", markersize=4,
            label=f"recalled exactly from {flips} flipped bits")
    ax.plot(alpha, curve.stable_rate, "s--", color="tab:green", markersize=3, linewidth=1,
            label="pattern is itself a fixed point")
    ax.plot(alpha, curve.bits_correct, "^:", color="tab:orange", markersize=3, linewidth=1,
            label="fraction of bits correct after recall")
    ax.axvline(ALPHA_C, color="tab:red", linestyle="-", linewidth=1.2)
    ax.text(ALPHA_C + 0.004, 0.05, f"α_c = {ALPHA_C}\n(P ≈ {ALPHA_C * SIZE:.1f})", color="tab:red",
            fontsize=9)
    drop = curve.drop()
    if drop is not None:
        ax.axvline(drop / SIZE, color="grey", linestyle=":", linewidth=1)
        ax.text(drop / SIZE + 0.004, 0.55, f"recall < 50 %\nfrom P = {drop}", color="grey",
                fontsize=8)
    ax.set_xlabel("load α = P / N  (stored random patterns per unit)")
    ax.set_ylabel("rate")
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlim(0, max(max(alpha), ALPHA_C + 0.05) + 0.01)
    secondary = ax.secondary_xaxis("top", functions=(lambda a: a * SIZE, lambda p: p / SIZE))
    secondary.set_xlabel("P (patterns stored)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"Hopfield network capacity, N = {SIZE}, asynchronous recall "
                 f"({trials} networks per P)", fontsize=10)
    fig.tight_layout()
    path = out / "hopfield_capacity.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
