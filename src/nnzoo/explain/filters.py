"""Pictures of what a convolutional network learnt: its first layer's kernels, and the feature
maps one image leaves after each convolution and pooling stage.

- :func:`filters_figure` draws the kernels of the first convolution as a grid, the way
  Krizhevsky et al. 2012 show AlexNet's 96 first-layer kernels (Figure 3): each kernel scaled to
  its own range, in colour when it reads 3 channels (RGB), grey otherwise, with thin borders.
  A network without convolutions whose first dense layer reads a whole image (an MLP, an
  autoencoder, an RBM on the digits) shows each unit's input weights as an image instead: the
  pattern that excites the unit most, the receptive fields of Hinton's RBM pictures
  (:func:`first_layer_weights`).
- :func:`stage_maps` runs one image through the model with forward hooks and keeps, for each
  stage (a convolution or pooling layer, followed by its batch norm and activation if any), the
  maps it outputs; :func:`maps_figure` draws them one stage per row.

    >>> fig = filters_figure(first_conv(model)[1].weight, title="lenet5 C1")   # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnzoo.errors import NnzooError

# Modules that continue a stage in place: the picture shows the stage after them.
FOLLOWERS = (nn.BatchNorm2d, nn.LocalResponseNorm, nn.Dropout, nn.ReLU, nn.Tanh, nn.Sigmoid,
             nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Hardtanh)


MAX_UNITS = 256  # dense units drawn at most


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """The first ``nn.Conv2d`` of ``model`` (in definition order) and its name."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise NnzooError(f"Model {type(model).__name__} has no 2-D convolution layer; the filters "
                     f"picture needs a convolutional model (e.g. lenet5, alexnet, resnet18).")


def image_shape(input_shape) -> tuple[int, int, int] | None:
    """(C, H, W) of one input when it is an image: given so, (H, W), or a flat row of a
    square number of pixels (the digits' 64 = 8x8); None otherwise (2-D points, a series)."""
    shape = tuple(input_shape)
    if len(shape) == 3:
        return shape
    if len(shape) == 2:
        return (1, *shape)
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    return (1, side, side) if side >= 3 and side * side == shape[0] else None


def _first_dense(model: nn.Module, inputs: int):
    own = getattr(model, "input_weights", None)  # (name, (units, inputs)): an RBM's Wᵀ
    if callable(own):
        return own()
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.in_features == inputs:
            return name, module.weight
        if isinstance(module, (nn.Linear, nn.RNNBase, nn.Embedding)):
            return None  # the first layer reads something else
    return None


def first_layer_weights(model: nn.Module, input_shape, model_name: str = ""):
    """What ``nnzoo show filters`` draws: ``(name, weight, what)``, with ``weight`` the kernels
    (out, in, kh, kw) of the first convolution (``what`` = "kernels"), else the input weights
    of the first dense layer when the input is an image, one row per unit shaped as the image,
    (units, C, H, W) (``what`` = "units")."""
    try:
        name, conv = first_conv(model)
        return name, conv.weight, "kernels"
    except NnzooError:
        pass
    image = image_shape(input_shape)
    dense = _first_dense(model, math.prod(input_shape)) if image else None
    name = model_name or type(model).__name__
    if dense is None:
        what = (f"its inputs, of shape {tuple(input_shape)}, are not an image" if not image
                else "its first layer is not a dense layer reading the whole image")
        raise NnzooError(f"Model {name!r} has no convolution, and {what}: `nnzoo show filters` "
                         f"draws the kernels of a first convolution (lenet5, alexnet, resnet18) "
                         f"or the input weights of a first dense layer on images (mlp, "
                         f"autoencoder or rbm trained on the digits).")
    layer, weight = dense
    return layer, weight.detach().reshape(len(weight), *image), "units"


def _unit(a: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the array's own range (a flat array becomes mid-grey)."""
    lo, hi = float(a.min()), float(a.max())
    return np.full_like(a, 0.5) if hi - lo < 1e-12 else (a - lo) / (hi - lo)


def mosaic(tiles: list[np.ndarray], columns: int, border: int = 1, fill=1.0,
           zoom: int = 1) -> np.ndarray:
    """Tiles of equal shape (h, w) or (h, w, 3), each pixel enlarged ``zoom`` times, laid in rows
    of ``columns`` on white, each framed by ``border`` pixels of ``fill`` (grey level or RGB)."""
    tiles = [np.kron(t, np.ones((zoom, zoom) + (1,) * (t.ndim - 2))) for t in tiles]
    h, w = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / columns)
    rgb = np.ndim(fill) > 0 or tiles[0].ndim == 3
    step_h, step_w = h + 2 * border + 1, w + 2 * border + 1  # one white pixel between frames
    canvas = np.ones((rows * step_h - 1, columns * step_w - 1) + ((3,) if rgb else ()), np.float32)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        top, left = r * step_h, c * step_w
        canvas[top:top + h + 2 * border, left:left + w + 2 * border] = fill
        inner = canvas[top + border:top + border + h, left + border:left + border + w]
        inner[...] = tile[..., None] if rgb and tile.ndim == 2 else tile
    return canvas


def zoom_for(size: int, target: int = 40) -> int:
    """Integer enlargement that brings a ``size``-pixel tile near ``target`` pixels."""
    return max(1, round(target / max(1, size)))


GAP = (0.75, 0.85, 1.0)  # pale blue between grey tiles: no grey level is mistaken for it


def columns_for(n: int) -> int:
    """One row up to 8 kernels, else about twice as many columns as rows (96 -> 14 x 7)."""
    return n if n <= 8 else math.ceil(math.sqrt(2 * n))


def filter_tiles(weight: torch.Tensor) -> tuple[list[np.ndarray], int, str]:
    """Tiles for a (out, in, kh, kw) kernel: one RGB tile per kernel when in = 3, else one grey
    tile per (out, in) pair, a row per output map. Returns (tiles, columns, caption)."""
    w = weight.detach().float().cpu().numpy()
    out, cin = w.shape[:2]
    if cin == 3:
        tiles = [_unit(k.transpose(1, 2, 0)) for k in w]  # (kh, kw, 3), scaled per kernel
        return tiles, columns_for(out), "RGB, each kernel scaled to its range"
    tiles = [_unit(w[o, c]) for o in range(out) for c in range(cin)]
    if cin == 1:
        return tiles, columns_for(out), "each kernel scaled to its range"
    return tiles, cin, "rows: output maps, columns: input maps; each kernel scaled to its range"


def filters_figure(weight: torch.Tensor, title: str = "", what: str = "kernels"):
    """The kernels of one convolution as a grid (matplotlib figure); with ``what="units"``,
    ``weight`` (units, C, H, W) holds dense units' input weights, each shaped as the image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = len(weight)
    if what == "units":
        weight = weight[:MAX_UNITS]
    tiles, columns, caption = filter_tiles(weight)
    kh = tiles[0].shape[0]
    image = mosaic(tiles, columns, border=1, fill=0.0 if tiles[0].ndim == 3 else GAP,
                   zoom=zoom_for(kh))
    rows = math.ceil(len(tiles) / columns)
    width = min(10.0, max(4.5, 1.1 * columns))
    fig, ax = plt.subplots(figsize=(width, width * rows / columns + 0.7))
    ax.imshow(image, interpolation="nearest", vmin=0, vmax=1)
    ax.set_axis_off()
    out, cin, kh, kw = weight.shape
    if what == "units":
        shown = f"the first {out} of {units}" if out < units else f"{units}"
        caption = caption.replace("kernel", "unit's weights")
        image = f"{kh}x{kw}" if cin == 1 else f"{kh}x{kw}x{cin}"
        ax.set_title(f"{title}\ninput weights of {shown} units, each as a {image} image "
                     f"({caption})".strip(), fontsize=9)
    else:
        ax.set_title(f"{title}\n{out} kernels of {kh}x{kw}x{cin} ({caption})".strip(), fontsize=9)
    fig.tight_layout()
    return fig


def _blocks(model: nn.Module) -> dict[int, str]:
    """Modules drawn as one stage: below the root, not a plain Sequential, with 2+ convolutions
    inside (an Inception module, a residual block)."""
    found = {}
    for name, module in model.named_modules():
        convs = sum(isinstance(m, nn.Conv2d) for m in module.modules())
        if name and convs >= 2 and not isinstance(module, (nn.Sequential, nn.ModuleList)):
            found[id(module)] = name
    return found


def stage_maps(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """(name, maps (C, H, W)) after each convolution / pooling stage of ``model(x)``, x (1, C, H, W).

    A stage starts at a leaf module with a ``kernel_size`` (convolution, pooling, subsampling,
    locally-connected…) that outputs maps; batch norm, normalisation, dropout and activation
    modules called right after it with the same output shape continue it. A block (an Inception
    module, a residual block) is one stage: its output replaces the stages inside it.
    """
    leaves = {id(m): n for n, m in model.named_modules() if not any(True for _ in m.children())}
    blocks = _blocks(model)
    stages: list[list] = []
    open_stage = [False]  # did the previous leaf call belong to the last stage?
    starts: dict[int, int] = {}  # block -> number of stages when it began

    def maps_of(output):
        return output[0].detach().float().cpu().clone()

    def leaf_hook(module, inputs, output):
        is_maps = isinstance(output, torch.Tensor) and output.dim() == 4
        if is_maps and hasattr(module, "kernel_size"):
            stages.append([stage_name(leaves[id(module)]), maps_of(output)])
            open_stage[0] = True
        elif is_maps and open_stage[0] and isinstance(module, FOLLOWERS) \
                and stages[-1][1].shape == output.shape[1:]:
            stages[-1][1] = maps_of(output)
        else:
            open_stage[0] = False

    def block_start(module, inputs):
        starts.setdefault(id(module), len(stages))

    def block_end(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            del stages[starts.pop(id(module)):]
            stages.append([blocks[id(module)], maps_of(output)])
            open_stage[0] = False

    handles = [m.register_forward_hook(leaf_hook) for m in model.modules() if id(m) in leaves]
    for m in model.modules():
        if id(m) in blocks:
            handles += [m.register_forward_pre_hook(block_start), m.register_forward_hook(block_end)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return [(name, maps) for name, maps in stages]


def stage_name(name: str) -> str:
    """LeNet's C1 = Sequential(Conv2d, Tanh) names its conv "C1.0", GoogLeNet's BasicConv2d
    "conv1.conv": the stage is "C1", "conv1"."""
    head, _, last = name.rpartition(".")
    return head if head and (last.isdigit() or last == "conv") else name


def pick(stages: list, limit: int) -> list:
    """At most ``limit`` stages with maps larger than 1x1, spread evenly from first to last."""
    shown = [s for s in stages if s[1].shape[-1] * s[1].shape[-2] > 1]
    if len(shown) <= limit:
        return shown
    index = sorted({round(i * (len(shown) - 1) / (limit - 1)) for i in range(limit)})
    return [shown[i] for i in index]


def maps_figure(image: torch.Tensor, stages: list, max_maps: int = 16, title: str = ""):
    """One row for the input ``image`` (C, H, W), then one row of maps per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = image.detach().float().cpu().numpy()
    first = _unit(img.transpose(1, 2, 0)) if img.shape[0] == 3 else _unit(img[0])
    first = mosaic([first], 1, border=0, zoom=zoom_for(first.shape[0], 24))
    rows = [("input", first, f"{img.shape[1]}x{img.shape[2]}x{img.shape[0]}")]
    for name, maps in stages:
        m = maps.numpy()
        tiles = [t for t in m[:max_maps]]
        lo, hi = float(m.min()), float(m.max())  # one scale per stage: weak maps look weak
        tiles = [(t - lo) / (hi - lo) if hi > lo else np.full_like(t, 0.5) for t in tiles]
        rows.append((name, mosaic(tiles, len(tiles), border=1, fill=GAP, zoom=zoom_for(m.shape[1], 24)),
                     f"{m.shape[1]}x{m.shape[2]}x{m.shape[0]}"
                     + (f", first {max_maps}" if m.shape[0] > max_maps else "")))
    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 1.0 + 0.9 * len(rows)), squeeze=False)
    for ax, (name, picture, size) in zip(axes[:, 0], rows):
        ax.imshow(picture, cmap=None if picture.ndim == 3 else "gray", interpolation="nearest",
                  vmin=0, vmax=1, aspect="equal")
        ax.set_anchor("W")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(f"{name}\n{size}", rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_png(fig, path: Path, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary name, then rename) and close it."""
    import matplotlib.pyplot as plt

    from nnzoo.runs import atomic_write_bytes

    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        atomic_write_bytes(Path(path), buffer.getvalue())
    finally:
        plt.close(fig)
    return Path(path)
