"""Decision regions of a classifier on a 2-D problem: the predicted class over the plane.

    >>> fig, ax = plt.subplots()
    >>> plot_decision_regions(ax, model.predict, x, y, title="2-2-1 MLP on XOR")

``predict`` maps a batch of points (N, 2) to class ids (N,). The plane is filled by the class
predicted on a grid, the samples are drawn by their true class, and the misclassified ones are
ringed in red. A linear unit's line wᵀx + b = 0 can be drawn with :func:`plot_line`.
After ``nnzoo train`` on a 2-D dataset, ``decision_regions.png`` is written to the run folder.
"""

from __future__ import annotations

from pathlib import Path

import torch

from nnzoo.explain import register_run_picture

CLASS_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")


def grid_limits(x: torch.Tensor, margin: float = 0.25) -> tuple[float, float, float, float]:
    """The data's bounding box widened by ``margin`` of its size on each side."""
    lo, hi = x.min(0).values, x.max(0).values
    pad = margin * (hi - lo).clamp_min(1e-3)
    return lo[0].item() - pad[0].item(), hi[0].item() + pad[0].item(), \
        lo[1].item() - pad[1].item(), hi[1].item() + pad[1].item()


@torch.no_grad()
def plot_decision_regions(ax, predict, x: torch.Tensor, y: torch.Tensor, *, title: str | None = None,
                          resolution: int = 200, limits=None, class_names=None,
                          show_errors: bool = True, legend: bool = True, point_size: float = 22):
    """Fill ``ax`` with the class ``predict`` gives each point of a grid, then draw ``x``, ``y``."""
    import matplotlib.colors as mcolors

    x = torch.as_tensor(x, dtype=torch.float32).cpu()
    y = torch.as_tensor(y).long().cpu()
    x0, x1, y0, y1 = limits or grid_limits(x)
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, resolution), torch.linspace(y0, y1, resolution),
                            indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)  # (R², 2)
    zone = torch.as_tensor(predict(grid)).long().cpu().reshape(resolution, resolution)
    k = int(max(zone.max().item(), y.max().item())) + 1
    colours = [CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(k)]
    cmap = mcolors.ListedColormap(colours)
    ax.contourf(gx.numpy(), gy.numpy(), zone.numpy(), levels=[i - 0.5 for i in range(k + 1)],
                cmap=cmap, alpha=0.25)
    names = class_names or [str(i) for i in range(k)]
    for c in range(k):
        chosen = y == c
        if chosen.any():
            ax.scatter(x[chosen, 0], x[chosen, 1], s=point_size, color=colours[c], edgecolors="black",
                       linewidths=0.4, label=f"class {names[c]}", zorder=3)
    if show_errors:
        wrong = torch.as_tensor(predict(x)).long().cpu() != y
        if wrong.any():
            mark_points(ax, x[wrong], label=f"misclassified ({int(wrong.sum())})",
                        size=max(110, 4 * point_size))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=8, loc="best", framealpha=0.8, markerscale=min(1.0, 40 / point_size))
    return ax


def mark_points(ax, points: torch.Tensor, *, label: str | None = None, size: float = 110):
    """Ring ``points`` (N, 2) in red."""
    ax.scatter(points[:, 0], points[:, 1], s=size, facecolors="none", edgecolors="red",
               linewidths=1.6, label=label, zorder=4)


def plot_line(ax, w, b: float, limits, *, label: str | None = "decision line", **style):
    """Draw the line wᵀx + b = 0 inside ``limits`` (x0, x1, y0, y1); nothing if w = 0."""
    w1, w2 = float(w[0]), float(w[1])
    x0, x1, y0, y1 = limits
    style = {"color": "black", "linewidth": 2, **style}
    if abs(w2) > 1e-12 and abs(w2) >= abs(w1) * 1e-6:
        xs = torch.tensor([x0, x1])
        ax.plot(xs, -(w1 * xs + b) / w2, label=label, **style)
    elif abs(w1) > 1e-12:
        ax.plot([-b / w1, -b / w1], [y0, y1], label=label, **style)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def predictor(model):
    """Class ids from a model: its own ``predict`` if it has one, else argmax of its outputs."""
    if hasattr(model, "predict"):
        return model.predict
    device = next((p.device for p in model.parameters()), torch.device("cpu"))

    @torch.no_grad()
    def predict(x):
        out = model(x.to(device))
        return out.argmax(1) if out.dim() == 2 and out.shape[1] > 1 else (out.flatten() > 0).long()

    return predict


@register_run_picture("classify")
def decision_regions_picture(model, data, folder) -> list[Path]:
    """``decision_regions.png`` after training on a 2-D dataset (nothing for other inputs)."""
    if tuple(data.input_shape) != (2,) or not isinstance(data.test.x, torch.Tensor):
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    was_training = model.training
    model.eval()
    predict = predictor(model)
    accuracy = (predict(data.test.x).cpu() == data.test.y.cpu()).double().mean().item()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    plot_decision_regions(ax, predict, data.test.x, data.test.y, class_names=data.class_names,
                          title=f"{type(model).__name__} on {data.name}: test accuracy {accuracy:.1%}")
    model.train(was_training)
    fig.tight_layout()
    if hasattr(folder, "save_figure"):  # a RunFolder: written atomically
        saved = folder.save_figure(fig, "decision_regions.png")
        return [saved] if saved else []
    path = Path(folder) / "decision_regions.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return [path]
