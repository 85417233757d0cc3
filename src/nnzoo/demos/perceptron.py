"""``nnzoo demo perceptron``: the Rosenblatt rule moving its line, epoch by epoch, until no
sample is misclassified (two separable Gaussian clouds)."""

from __future__ import annotations

from pathlib import Path

from nnzoo.demos import register_demo

MAX_PANELS = 12
NOISE = 0.55  # blobs this wide are still separable but take the rule several epochs
SAMPLES = 100  # few enough that every ringed mistake can be seen


def _panels(epochs: int) -> list[int]:
    """The epochs to draw: all of them, or MAX_PANELS spread evenly, the last one included."""
    if epochs <= MAX_PANELS:
        return list(range(1, epochs + 1))
    step = (epochs - 1) / (MAX_PANELS - 1)
    return sorted({round(1 + i * step) for i in range(MAX_PANELS)})


@register_demo("perceptron", "the perceptron's decision line after each epoch until no errors")
def perceptron_demo(out: Path, *, seed: int = 0) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import nnzoo
    from nnzoo.explain.decision import CLASS_COLOURS, grid_limits, mark_points, plot_line
    from nnzoo.explain.perceptron import plot_errors

    data = nnzoo.load_dataset("blobs", noise=NOISE)
    x, y = data.train.x[:SAMPLES], data.train.y[:SAMPLES]
    model = nnzoo.create("perceptron", in_features=2)
    snapshots = {}  # epoch -> (w, b, indices misclassified during it)

    def remember(epoch, wrong):
        snapshots[epoch] = (model.weight[0].detach().clone(), model.bias.item(), wrong)

    errors = model.fit(x, y, lr=0.5, epochs=100, shuffle=True, seed=seed, on_epoch=remember)
    limits = grid_limits(x, 0.1)
    shown = _panels(len(errors))
    cols = min(4, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.3 * rows + 0.6), squeeze=False)
    before = (torch.zeros(2), 0.0)
    for ax, epoch in zip(axes.flat, shown):
        w, b, wrong = snapshots[epoch]
        prev_w, prev_b = snapshots[epoch - 1][:2] if epoch > 1 else before
        for c in (0, 1):
            ax.scatter(x[y == c, 0], x[y == c, 1], s=14, color=CLASS_COLOURS[c],
                       edgecolors="black", linewidths=0.3, label=f"class {c}")
        if wrong:
            mark_points(ax, x[wrong], label="misclassified this epoch")
        plot_line(ax, prev_w, prev_b, limits, label="line before", color="grey", linestyle="--",
                  linewidth=1.2)
        plot_line(ax, w, b, limits, label="line after")
        if epoch == 1:
            ax.text(0.02, 0.98, "start: w = 0, b = 0\n(every point gets +1)", fontsize=7,
                    transform=ax.transAxes, va="top", color="grey")
        ax.set_title(f"epoch {epoch}: {len(wrong)} error{'s' if len(wrong) != 1 else ''}",
                     fontsize=10, color="darkred" if wrong else "darkgreen")
        ax.set_xlabel("$x_1$", fontsize=8)
        ax.set_ylabel("$x_2$", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat[1:len(shown)]:  # collect the styles that appear only in later panels
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    verdict = (f"no errors after epoch {len(errors)}" if model.converged
               else f"not converged after {len(errors)} epochs")
    if len(shown) < len(errors):
        verdict += f" ({len(shown)} of the {len(errors)} epochs drawn)"
    fig.suptitle(f"Rosenblatt perceptron rule (α = 0.5) on {SAMPLES} separable points: {verdict}",
                 fontsize=12)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    paths = [out / "perceptron_epochs.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig = plot_errors(errors, title="Perceptron on separable blobs: misclassified samples per "
                                    "epoch\n(online count; learning stops at the first epoch "
                                    "with none)")
    paths.append(out / "perceptron_errors.png")
    fig.savefig(paths[1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths
