"""The perceptron's training curve: misclassified samples per epoch, a bar each.

The Rosenblatt rule has no loss to plot, only the count of samples that moved the weights in
each epoch; the run stops at the first epoch whose count is zero.
"""

from __future__ import annotations


def plot_errors(errors: list[int], *, title: str | None = None, ax=None):
    """Misclassified samples per epoch (a bar each), as the perceptron's training curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
    epochs = range(1, len(errors) + 1)
    ax.bar(epochs, errors, color="tab:red", width=0.8 if len(errors) < 60 else 1.0)
    if len(errors) <= 30:  # a zero is a bar of no height: write every count
        for epoch, count in zip(epochs, errors):
            ax.annotate(str(count), (epoch, count), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylim(0, max(max(errors), 1) * 1.15)
    ax.set_xlabel("epoch")
    ax.set_ylabel("misclassified samples")
    ax.set_xlim(0.3, len(errors) + 0.7)
    if len(errors) <= 20:
        ax.set_xticks(list(epochs))
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure
