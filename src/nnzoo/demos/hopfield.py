"""``nnzoo demo hopfield``: a Hopfield network cleaning damaged letters.

Four 10x10 letters (A, H, T, X; ``nnzoo.data.letters``) are stored in a 100-unit bipolar network
by the Hebbian rule. Each is damaged the way the lecture demo does it: its LOWER HALF (rows 6-10,
50 pixels) is replaced by random pixels, each on or off with probability ½ — so about a quarter of
the image is wrong. (Flipping 50 % of all pixels at random would leave no trace of the letter for
bipolar units: the state would be uncorrelated with it.) Asynchronous recall then updates one
unit at a time, in a seeded random order, until a sweep of all 100 units changes nothing.

Pictures: ``hopfield_recall.png`` (for each letter: stored, damaged, the state every 20 unit
updates, the fixed point; wrong pixels marked, energy under each panel) and
``hopfield_energy.png`` (the energy after every single unit update; it never rises).
"""

from __future__ import annotations

from pathlib import Path

from nnzoo.demos import register_demo

LETTERS = "AHTX"
EVERY = 20  # unit updates between panels
SIDE = 10


def damage_lower_half(patterns, generator):
    """Replace rows 6-10 of each 10x10 ±1 pattern (P, 100) by random ±1 pixels."""
    import torch

    x = patterns.clone().reshape(-1, SIDE, SIDE)
    half = x[:, SIDE // 2:]
    x[:, SIDE // 2:] = torch.randint(0, 2, half.shape, generator=generator).to(x.dtype) * 2 - 1
    return x.reshape(patterns.shape)


@register_demo("hopfield", "a Hopfield net recalls letters whose lower half is noise, with energy")
def hopfield_demo(out: Path, *, seed: int = 0, letters: str = LETTERS) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import nnzoo
    from nnzoo.data.letters import letter_bitmaps
    from nnzoo.explain.memory import draw_state, energy_figure

    stored = letter_bitmaps(letters).reshape(len(letters), SIDE * SIDE) * 2 - 1  # (P, 100) ±1
    net = nnzoo.create("hopfield", size=SIDE * SIDE).store(stored)
    generator = torch.Generator().manual_seed(seed)
    damaged = damage_lower_half(stored, generator)
    runs = [net.recall(x, generator=generator, return_trajectory=True, record="unit")
            for x in damaged]
    sweep = SIDE * SIDE
    moments = list(range(EVERY, sweep + 1, EVERY))  # within the first sweep, where repair happens
    cols = 2 + len(moments) + 1
    fig, axes = plt.subplots(len(letters), cols, figsize=(1.25 * cols, 1.55 * len(letters) + 0.9),
                             squeeze=False)
    for row, (letter, target, run) in enumerate(zip(letters, stored, runs)):
        panels = [(target, "stored", net.energy(target)), (run.trajectory[0], "damaged", run.energy[0])]
        panels += [(run.trajectory[t], f"after {t}\nupdates", run.energy[t]) for t in moments]
        final = f"fixed point\n(sweep {run.steps}: no change)"
        panels.append((run.state, final, run.energy[-1]))
        for ax, (state, title, energy) in zip(axes[row], panels):
            draw_state(ax, state, target, title if row == 0 else "", float(energy))
        axes[row, 0].set_ylabel(f"'{letter}'", fontsize=11, rotation=0, labelpad=14, va="center")
    fig.suptitle(f"Hopfield network, N = {sweep}, {len(letters)} letters stored "
                 f"({', '.join(letters)}): lower half of each replaced by random pixels,\n"
                 f"recalled by asynchronous updates (one unit at a time, random order); "
                 f"red x = pixel differs from the stored letter", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    paths = [out / "hopfield_recall.png"]
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)

    fig = energy_figure(runs, [f"'{letter}'" for letter in letters], sweep, legend="letter",
                        title="Energy during asynchronous recall: every update lowers it or leaves "
                              "it;\nthe last sweep changes no unit (a fixed point = a stored letter)")
    paths.append(out / "hopfield_energy.png")
    fig.savefig(paths[1], dpi=120)
    plt.close(fig)
    return paths
