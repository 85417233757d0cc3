"""What a classifier makes of your own pictures: each picture, the image the network is given
(prepared like its dataset's images), and its most probable classes."""

from __future__ import annotations

import numpy as np
import torch

MAX_ROWS = 12


def _as_picture(image: torch.Tensor) -> tuple[np.ndarray, str | None]:
    """(H, W) or (H, W, 3) in [0, 1] for imshow, and the colour map."""
    a = image.detach().float().cpu()
    if a.dim() == 3 and a.shape[0] == 3:
        a = a.permute(1, 2, 0)
        lo, hi = float(a.min()), float(a.max())
        return ((a - lo) / max(hi - lo, 1e-8)).numpy(), None  # standardised colour back to [0, 1]
    return a.reshape(a.shape[-2:]).numpy() if a.dim() == 3 else a.numpy(), "gray"


def predictions_figure(rows: list[dict], title: str = ""):
    """One row per picture: ``rows`` of {"name", "picture" (C, H, W), "seen" (C, H, W) or
    (H, W), "top" [(class name, probability or None), ...]}; at most MAX_ROWS are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = rows[:MAX_ROWS]
    fig, axes = plt.subplots(len(shown), 3, figsize=(7.5, 2.1 * len(shown)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1.6]}, layout="constrained")
    for (own, seen, bars), row in zip(axes, shown):
        for ax, image, label in ((own, row["picture"], row["name"]),
                                 (seen, row["seen"], "as the network sees it")):
            picture, cmap = _as_picture(image)
            ax.imshow(picture, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None,
                      interpolation="nearest")
            ax.set_title(label, fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
        names = [name for name, _ in row["top"]][::-1]
        if row["top"][0][1] is None:  # a learner that decides by its own rule: no probabilities
            bars.text(0.5, 0.5, f"decides: {row['top'][0][0]}", ha="center", va="center",
                      fontsize=14)
            bars.set_axis_off()
            continue
        probs = [p for _, p in row["top"]][::-1]
        bars.barh(range(len(probs)), probs, color=["#bbb"] * (len(probs) - 1) + ["#1f77b4"])
        bars.set_yticks(range(len(probs)), names)
        bars.set_xlim(0, 1)
        bars.set_xlabel("probability", fontsize=9)
        for y, p in enumerate(probs):
            bars.text(min(p + 0.02, 0.8), y, f"{100 * p:.1f} %", va="center", fontsize=8)
    if len(rows) > MAX_ROWS:
        title += f" (first {MAX_ROWS} of {len(rows)} pictures)"
    if title:
        fig.suptitle(title)
    return fig
