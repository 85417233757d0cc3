"""``nnzoo demo xor``: a single perceptron cannot learn XOR (no line separates the classes,
Minsky & Papert 1969); a 2-2-1 logsig network trained by explicit backpropagation can, its two
hidden units drawing two lines."""

from __future__ import annotations

from pathlib import Path

from nnzoo.demos import register_demo

PERCEPTRON_EPOCHS = 20  # the cap: the errors never reach zero, whatever the cap
MLP_EPOCHS, MLP_LR = 3000, 2.0  # full-batch steepest descent on the sum of squared errors
RESTARTS = 5  # a 2-2-1 net sometimes starts in a local minimum's basin (~1 in 4 inits)


def _train_mlp(x, y, seed: int):
    """The first of a few seeded initialisations that gets all four points right."""
    import torch

    import nnzoo

    for attempt in range(RESTARTS):
        torch.manual_seed(seed + attempt)
        net = nnzoo.create("mlp-backprop", sizes=(2, 2, 1), activations="logsig", loss="sse")
        losses = net.fit(x, y, lr=MLP_LR, epochs=MLP_EPOCHS, seed=seed)
        if net.score(x, y) == 1.0:
            break
    return net, losses, attempt


@register_demo("xor", "a perceptron failing on XOR beside a 2-2-1 MLP trained by backprop")
def xor_demo(out: Path, *, seed: int = 0) -> list[Path]:
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import nnzoo
    from nnzoo.explain.decision import plot_decision_regions, plot_line
    from nnzoo.explain.perceptron import plot_errors

    xor = nnzoo.load_dataset("xor").train
    x, y = xor.x, xor.y
    perceptron = nnzoo.create("perceptron", in_features=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its failure is the point; the figure says it
        errors = perceptron.fit(x, y, lr=0.5, epochs=PERCEPTRON_EPOCHS)
    net, losses, attempt = _train_mlp(x, y, seed)

    fig, axes = plt.subplots(2, 2, figsize=(11, 9.5))
    plot_errors(errors, ax=axes[0, 0], title=f"Perceptron: misclassified per epoch "
                f"(never 0 in {len(errors)} epochs)")
    drawn = {"limits": (-0.5, 1.5, -0.5, 1.5), "resolution": 300, "point_size": 140}
    plot_decision_regions(axes[0, 1], perceptron.predict, x, y, **drawn,
                          title=f"Perceptron after {len(errors)} epochs: "
                                f"{perceptron.score(x, y):.0%} right")
    plot_line(axes[0, 1], perceptron.weight[0].detach(), perceptron.bias.item(), drawn["limits"],
              label="its line wᵀx + b = 0")
    axes[0, 1].legend(fontsize=8, loc="center", framealpha=0.9, markerscale=0.5)

    ax = axes[1, 0]
    ax.plot(range(1, len(losses) + 1), losses, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean sum of squared errors")
    ax.grid(alpha=0.3)
    restarted = (f"\ninitialisation {attempt + 1}: the first {attempt} ended in a local minimum"
                 if attempt else "")
    ax.set_title(f"2-2-1 logsig MLP, backprop (α = {MLP_LR}, full batch{restarted})")

    ax = axes[1, 1]
    plot_decision_regions(ax, net.predict, x, y, **drawn,
                          title=f"2-2-1 MLP after {len(losses)} epochs: {net.score(x, y):.0%} right")
    hidden = net.layers[0]
    for j, style in enumerate(("--", ":")):
        plot_line(ax, hidden.weight[j].detach(), hidden.bias[j].item(), drawn["limits"],
                  label=f"hidden unit {j + 1}: n = 0", linestyle=style, color="dimgrey")
    ax.legend(fontsize=8, loc="center", framealpha=0.9, markerscale=0.5)
    fig.suptitle("XOR: one linear unit cannot separate it; one hidden layer can", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = out / "xor.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
