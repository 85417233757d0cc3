"""Training curves: loss and accuracy per epoch, train against validation."""

from __future__ import annotations


def plot_curves(history: list[dict], *, best_epoch: int | None = None, kept: str = "last",
                title: str | None = None):
    """A figure with loss (left) and top-1 accuracy (right, when there is one) per epoch.

    The epoch whose weights were kept is marked with a dotted line: the best epoch under early
    stopping (``kept="best"``), else the last.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    has_acc = any("top1" in row for row in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5.5, 3.8),
                             squeeze=False)
    panels = [("loss", "loss")] + ([("top1", "top-1 accuracy")] if has_acc else [])
    for ax, (key, label) in zip(axes[0], panels):
        for prefix, name, style in (("", "train", "-"), ("val_", "validation", "--")):
            values = [row.get(prefix + key) for row in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker="o", markersize=3, label=name)
        if best_epoch is not None:
            what = "weights kept: best epoch" if kept == "best" else "weights kept: last epoch"
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"{what} {best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if key == "loss" and all((row.get("loss") or 0) > 0 for row in history):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
