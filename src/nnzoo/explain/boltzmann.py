"""Pictures of what a Boltzmann machine learnt (``nnzoo train boltzmann``).

- :func:`weights_figure`: the symmetric weights W with visible and hidden units marked, each
  hidden unit's weights from the visible units drawn as an image, and the visible thresholds;
- :func:`distribution_figure`: the machine's most probable visible states, their exact
  probabilities beside the share of samples, the data states marked;
- :func:`samples_figure`: the data beside samples from the machine, wrong samples framed red;
- :func:`curves_figure`: KL(P || Q), the probability on the data and |p⁺ - p⁻| per epoch.

Binary images are drawn as in ``nnzoo.explain.memory`` ("on" black).
"""

from __future__ import annotations

import torch

TOP_STATES = 24  # bars in distribution.png
MAX_HIDDEN = 8  # receptive fields in weights.png


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def unit_names(visible: int, size: int) -> list[str]:
    return [f"v{i + 1}" for i in range(visible)] + [f"h{j + 1}" for j in range(size - visible)]


def _signed_image(ax, values: torch.Tensor, shape, title: str, bound: float):
    image = ax.imshow(values.reshape(shape).numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def weights_figure(model, shape, title: str = ""):
    """W (N, N) with its visible/hidden blocks (left); the hidden units' weights from the visible
    units and the visible thresholds θ as images of the data's ``shape`` (right)."""
    plt = _plt()
    weight, theta = model.weight.float(), model.threshold.float()
    visible, size = model.visible, model.size
    hidden = min(size - visible, MAX_HIDDEN)
    fig = plt.figure(figsize=(11, 5.2), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.15, 1])
    ax = left.subplots()
    bound = weight.abs().max().item() or 1.0
    image = ax.imshow(weight.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
    left.colorbar(image, ax=ax, shrink=0.8, label="weight")
    if size <= 24:
        names = unit_names(visible, size)
        ax.set_xticks(range(size), names, fontsize=7, rotation=90)
        ax.set_yticks(range(size), names, fontsize=7)
    if 0 < visible < size:
        for edge in (ax.axhline, ax.axvline):
            edge(visible - 0.5, color="black", linewidth=1.2)
    ax.set_title("weights W (symmetric, zero diagonal);\nlines split visible | hidden units",
                 fontsize=9)
    tiles = hidden + 1
    cols = min(3, tiles)
    axes = right.subplots((tiles + cols - 1) // cols, cols, squeeze=False)
    bound = max(weight[:visible, visible:visible + hidden].abs().max().item() if hidden else 0,
                theta[:visible].abs().max().item(), 1e-9)
    for j in range(hidden):
        unit = visible + j
        _signed_image(axes.flat[j], weight[:visible, unit], shape,
                      f"h{j + 1}: weights from v\n(θ = {theta[unit].item():.2f})", bound)
    image = _signed_image(axes.flat[hidden], theta[:visible], shape,
                          "thresholds θ\nof the visible units", bound)
    for ax in axes.flat[tiles:]:
        ax.axis("off")
    right.colorbar(image, ax=axes, shrink=0.6, label="weight or threshold")
    right.suptitle("each pixel is a visible unit (red +, blue -)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def draw_states_in_row(ax, states: torch.Tensor, shape, y: float = 0.0) -> None:
    """0/1 ``states`` (n, V) as small images at x = 0, 1, ..., n - 1 on one axes ("on" black)."""
    height, width = shape
    scale = 0.8 / max(height, width)
    for i, state in enumerate(states):
        ax.imshow((state > 0).reshape(shape).float().numpy(), cmap="gray_r", vmin=0, vmax=1,
                  extent=(i - width * scale / 2, i + width * scale / 2, y, y + height * scale))
        ax.add_patch(_frame(i - width * scale / 2, y, width * scale, height * scale, "black", 0.6))


def _frame(x: float, y: float, width: float, height: float, colour: str, linewidth: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width, height, fill=False, edgecolor=colour, linewidth=linewidth)


def distribution_figure(marginal: torch.Tensor, rows: torch.Tensor, samples: torch.Tensor, shape,
                        title: str = ""):
    """The ``TOP_STATES`` most probable visible states under ``marginal`` (2^V,): exact
    probability (bars, green where the state is in the data ``rows``), share of ``samples``
    (dots), the data's own probability (ticks), and each state drawn below its bar."""
    from nnzoo.models.boltzmann import data_distribution, state_codes

    plt = _plt()
    visible = rows.shape[1]
    codes, p = data_distribution(rows)
    top = marginal.argsort(descending=True)[:TOP_STATES]
    in_data = torch.isin(top, codes)
    sampled = torch.bincount(state_codes(samples), minlength=len(marginal)).double() / len(samples)
    wanted = torch.zeros_like(marginal).index_put_((codes,), p)
    n = len(top)
    fig, (ax, strip) = plt.subplots(2, 1, figsize=(max(9.0, 0.45 * n + 2), 5.2),
                                    height_ratios=[4, 0.7], layout="constrained")
    x = torch.arange(n).numpy()
    ax.bar(x, marginal[top].numpy(), color=["tab:green" if d else "tab:grey" for d in in_data],
           label="machine: exact Q(v)")
    ax.plot(x, sampled[top].numpy(), "o", color="black", markersize=4,
            label=f"machine: share of {len(samples)} samples")
    ax.plot(x, wanted[top].numpy(), "_", color="tab:red", markersize=14, markeredgewidth=2,
            label="data: P(v)")
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_xticks([])
    ax.set_ylabel("probability")
    ax.set_title(f"the {n} most probable of 2^{visible} = {2 ** visible} visible states (green: a "
                 f"data state); Q on the {len(codes)} data states: {marginal[codes].sum():.2f} "
                 f"(uniform: {len(codes) / 2 ** visible:.3f})", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    draw_states_in_row(strip, ((top[:, None] >> torch.arange(visible)) & 1).double(), shape)
    strip.set_xlim(-0.5, n - 0.5)
    strip.set_ylim(-0.02, 0.82)
    strip.set_aspect("equal")  # square pixels; the strip keeps the bars' width
    strip.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def samples_figure(rows: torch.Tensor, samples: torch.Tensor, shape, name: str = "the data"):
    """The distinct data rows (top) and ``samples`` from the machine (below, ``per_row`` a row);
    a sample that is not a data row is framed red."""
    from nnzoo.models.boltzmann import state_codes

    plt = _plt()
    data = rows.unique(dim=0)
    per_row = max(10, min(len(data), 16))
    valid = torch.isin(state_codes(samples), state_codes(data))
    blocks = ((data, None, f"{name}: the {len(data)} data states"),
              (samples, valid, f"{len(samples)} samples from the machine (annealed free chains), "
                               f"{int(valid.sum())} of them data states; red frame: not a data state"))
    lines = [-(-len(images) // per_row) for images, _, _ in blocks]
    fig, axes = plt.subplots(2, 1, figsize=(0.7 * per_row + 0.4, 0.75 * sum(lines) + 1.2),
                             height_ratios=lines, layout="constrained")
    for ax, (images, marks, label), count in zip(axes, blocks, lines):
        for line in range(count):
            chunk = slice(line * per_row, (line + 1) * per_row)
            draw_states_in_row(ax, images[chunk], shape, y=-line)
            if marks is not None:
                for i in (~marks[chunk]).nonzero()[:, 0].tolist():
                    ax.add_patch(_frame(i - 0.45, -line - 0.05, 0.9, 0.9, "tab:red", 2.5))
        ax.set_xlim(-0.6, per_row - 0.4)
        ax.set_ylim(-count + 0.9, 0.9)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(label, fontsize=9)
    return fig


def curves_figure(history: list[dict], title: str = ""):
    """KL(P || Q) and Q's probability on the data where measured, and |p⁺ - p⁻| every epoch."""
    plt = _plt()
    measured = [row for row in history if "kl" in row]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.7), layout="constrained")
    panels = (("kl", "KL(P || Q) (nats)", "distance to the data distribution"),
              ("data_mass", "Q(data states)", "probability on the data states"))
    for ax, (key, label, heading) in zip(axes, panels):
        if measured:
            ax.plot([r["epoch"] for r in measured], [r[key] for r in measured], color="tab:blue")
        else:
            ax.text(0.5, 0.5, "not measured: Q enumerates all 2^N states,\nfor machines of at "
                              "most 16 units", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel(label)
        ax.set_title(heading, fontsize=10)
    axes[1].set_ylim(0, 1.02)
    axes[2].plot([r["epoch"] for r in history], [r["gap"] for r in history], color="tab:orange",
                 linewidth=0.8, label="mean |p⁺ - p⁻|")
    axes[2].set_ylabel("mean |p⁺ᵢⱼ - p⁻ᵢⱼ|")
    axes[2].set_title("learning signal (and step size ε)", fontsize=10)
    twin = axes[2].twinx()
    twin.plot([r["epoch"] for r in history], [r["lr"] for r in history], color="grey",
              linestyle="--", linewidth=1)
    twin.set_ylabel("ε (dashed)", color="grey")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
