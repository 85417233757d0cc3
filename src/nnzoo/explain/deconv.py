"""Zeiler & Fergus's deconvnet: one strong activation of a layer projected back to the pixels.

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014, section 2.1:
to see what excites a feature map, set all other activations of the layer to zero, keep the
strongest one, and pass the maps back down through each layer below in three steps:

1. unpooling: each value goes back where the max-pooling's recorded switches say the maximum
   was, zeros elsewhere;
2. rectification: relu(r), so that the reconstruction stays positive, as feature maps are;
3. filtering: the transposed filters of the convolution, r -> conv_transpose2d(r, W).

That is backpropagation of the chosen activation to the input with one change: at a ReLU the
backward signal is itself rectified, relu(g), instead of masked by the forward input,
g·[x > 0] (Springenberg et al. 2015, "Striving for Simplicity", section 3.4). Max-pooling's
backward is unpooling through the switches and a convolution's is its transposed filters. So
the deconvnet here is autograd inside :func:`deconvnet_mode`, and it works on any graph —
residual additions and Inception branches included. The other layers pass back as follows:

- batch norm (eval mode) is the affine map γ(x - μ)/σ + β: its transpose scales by γ/σ, as if
  folded into the filters; dropout is off; average pooling and LeNet's subsampling are linear
  and pass back their transposes (each value spread over its window);
- local response normalisation passes the signal back unchanged: Z&F's deconvnet has no step
  for their contrast normalisation;
- an activation other than ReLU (LeNet-5's tanh and scaled tanh, the DCGAN discriminator's
  leaky ReLU) passes it back through its own derivative, as plain backpropagation does. Z&F's
  rule is for rectifiers only; for a net without ReLUs the projection is the gradient of the
  activation times its value (a saliency map, Simonyan et al. 2014), not a reconstruction, and
  :attr:`Projections.rule` and the figure say so.
Only ``nn.ReLU`` modules are rectified; a ``torch.relu`` called inside a forward is not (no
convolutional network of the registry calls one).

    >>> p = deconv_projections(model, images, "C3", top=9, per_feature=6)  # doctest: +SKIP
    >>> save_png(deconv_figure(images, p, title="lenet5"), "deconv.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.explain.filters import FOLLOWERS, GAP, mosaic, stage_name, zoom_for
from nnzoo.models.lenet1998 import PartialConv2d

CONVOLUTIONS = (nn.Conv2d, PartialConv2d)
OTHER_ACTIVATIONS = (nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU,
                     nn.Softplus, nn.Hardtanh)


# ---- the deconvnet as a changed backward -------------------------------------------------

class _Rectified(torch.autograd.Function):
    """y = relu(x) forward; g -> relu(g) backward (Z&F's rectification of the reconstruction)."""

    @staticmethod
    def forward(ctx, x):
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, g):
        return g.clamp_min(0)


class _PassedBack(torch.autograd.Function):
    """y = f(x) forward; g -> g backward (a layer the deconvnet steps over)."""

    @staticmethod
    def forward(ctx, x, f):
        return f(x)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _skipped(module: nn.Module):
    forward = type(module).forward
    return lambda x: _PassedBack.apply(x, lambda t: forward(module, t))


@contextmanager
def deconvnet_mode(model: nn.Module):
    """Within: ``model`` in eval mode, each ``nn.ReLU`` passing relu(g) back (and not in
    place), each ``nn.LocalResponseNorm`` passing g back unchanged; all restored after."""
    changed = []
    was_training = model.training
    try:
        model.eval()
        for module in model.modules():
            if isinstance(module, (nn.ReLU, nn.LocalResponseNorm)):
                changed.append((module, module.__dict__.get("forward"), module.inplace
                                if isinstance(module, nn.ReLU) else None))
                if isinstance(module, nn.ReLU):
                    module.inplace, module.forward = False, _Rectified.apply
                else:
                    module.forward = _skipped(module)
        yield model
    finally:
        for module, forward, inplace in changed:
            del module.forward
            if forward is not None:
                module.forward = forward
            if inplace is not None:
                module.inplace = inplace
        model.train(was_training)


def backward_rule(activations: list[nn.Module]) -> str:
    """How a projection passes back through ``activations`` (those the forward called below
    the layer): "deconvnet" for ReLUs only, else which ones pass by their own derivative."""
    others = sorted({type(m).__name__ for m in activations if isinstance(m, OTHER_ACTIVATIONS)})
    relu = any(isinstance(m, nn.ReLU) for m in activations)
    if not others:
        return "deconvnet (ReLU: rectified backward)"
    through = f"{', '.join(others)} by {'their' if len(others) > 1 else 'its'} derivative"
    return f"deconvnet, with {through}" if relu else f"no ReLU: a gradient, through {through}"


# ---- which layer, and its maps -----------------------------------------------------------

class _Stop(Exception):
    """Raised by a hook once the layer's maps are known: the rest of the forward is not run."""


def _is_maps(output) -> bool:
    return isinstance(output, torch.Tensor) and output.dim() == 4


def layer_maps(model: nn.Module, x: torch.Tensor, name: str,
               called: list | None = None) -> torch.Tensor:
    """Layer ``name``'s maps (N, C, H, W) for ``x``, in the graph (differentiable in ``x``).

    A block (a Sequential, an Inception module, a residual block) gives its output; a
    convolution gives its maps as the network passes them on: after the batch norm,
    normalisation and activation applied to them next (LeNet's C3 = conv then tanh).
    ``called``, if given, receives the activation modules the forward ran up to there."""
    target = dict(model.named_modules())[name]
    leaf = not any(True for _ in target.children())
    found: list = []

    def on_target(module, inputs, output):
        found.append(output)
        if not (leaf and _is_maps(output)):
            raise _Stop

    def on_leaf(module, inputs, output):
        if module is target or not found:
            return
        if isinstance(module, FOLLOWERS) and inputs and inputs[0] is found[-1]:
            found.append(output)
        else:
            raise _Stop

    handles = [target.register_forward_hook(on_target)]
    if leaf:
        handles += [m.register_forward_hook(on_leaf) for m in model.modules()
                    if m is not target and not any(True for _ in m.children())]
    if called is not None:  # after on_leaf: a call that stops the forward is not counted
        handles += [m.register_forward_hook(lambda m, i, o: called.append(m))
                    for m in model.modules() if isinstance(m, (nn.ReLU, *OTHER_ACTIVATIONS))]
    try:
        model(x)
    except _Stop:
        pass
    finally:
        for h in handles:
            h.remove()
    if not found:
        raise NnzooError(f"Layer {name!r} is not used when the model runs on an image; pick a "
                         f"convolution or block that the forward pass calls.")
    if not _is_maps(found[-1]):
        raise NnzooError(f"Layer {name!r} does not output feature maps (N, C, H, W); the "
                         f"deconvnet projects maps of a convolution or a block of them.")
    return found[-1]


def _calls(model: nn.Module, x: torch.Tensor) -> list[tuple[str, nn.Module, tuple]]:
    """(name, module, output shape or ()) of every module, in the order their calls end."""
    names = {id(m): n for n, m in model.named_modules()}
    calls = []

    def hook(module, inputs, output):
        calls.append((names[id(module)], module, tuple(output.shape) if _is_maps(output) else ()))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in handles:
            h.remove()
    return calls


def shown_name(model: nn.Module, name: str) -> str:
    """The name ``nnzoo summary`` gives a convolution's stage: LeNet's C1 = Sequential(Conv2d,
    Tanh) for "C1.0", GoogLeNet's BasicConv2d "conv1" for "conv1.conv"; else ``name``."""
    stage, modules = stage_name(name), dict(model.named_modules())
    if stage == name or not isinstance(modules[name], CONVOLUTIONS):
        return name
    return stage if next(iter(modules[stage].children()), None) is modules[name] else name


def _listed(names: list[str], shown: int = 6) -> str:
    return ", ".join(names if len(names) <= shown else [*names[:4], "…", *names[-2:]])


def resolve_layer(model: nn.Module, x: torch.Tensor, layer: str | int | None = None,
                  model_name: str = "") -> str:
    """The module name of ``layer``: a name of ``model.named_modules()`` (as ``nnzoo summary``
    prints it), a number k (or a string of digits that names no module) for the k-th
    convolution called (1-based), or None for the default:
    the last convolution before the dense layers whose maps are larger than 1x1, or the block
    (Inception module, residual block) it ends, if any."""
    model_name = model_name or type(model).__name__
    calls = _calls(model, x)
    convs = [(n, shape) for n, m, shape in calls if isinstance(m, CONVOLUTIONS) and shape]
    if not convs:
        raise NnzooError(f"deconv needs a convolutional network; {model_name} has no Conv2d.")
    names = [n for n, _ in convs]
    valid = (f"valid layers: a module name as `nnzoo summary {model_name}` prints it, e.g. "
             f"{_listed([shown_name(model, n) for n in names])}, or a number 1 to {len(names)} "
             f"for the k-th convolution")
    if layer is None:
        dense = next((i for i, (_, m, _) in enumerate(calls) if isinstance(m, nn.Linear)), None)
        before = [c for c in convs if dense is None or
                  any(n == c[0] for n, _, _ in calls[:dense])] or convs
        name = ([n for n, s in before if s[-1] * s[-2] > 1] or [before[-1][0]])[-1]
        return _block_of(model, name, calls) or name
    modules = dict(model.named_modules())
    if isinstance(layer, int) or (layer.isdigit() and layer not in modules):
        k = int(layer)
        if not 1 <= k <= len(names):
            raise NnzooError(f"--layer {k}: {model_name} has {len(names)} convolutions; {valid}.")
        return names[k - 1]
    if layer not in modules or not layer:
        raise NnzooError(f"Unknown layer {layer!r} for {model_name}; {valid}.")
    return layer


def _block_of(model: nn.Module, name: str, calls) -> str | None:
    """The outermost module around convolution ``name`` that holds two or more convolutions,
    is not a plain Sequential and outputs maps larger than 1x1 (None when there is none)."""
    modules, shapes = dict(model.named_modules()), {n: s for n, _, s in calls}
    parts = name.split(".")
    for k in range(1, len(parts)):
        prefix = ".".join(parts[:k])
        module, shape = modules[prefix], shapes.get(prefix, ())
        convs = sum(isinstance(m, CONVOLUTIONS) for m in module.modules())
        if (convs >= 2 and not isinstance(module, (nn.Sequential, nn.ModuleList))
                and shape and shape[-1] * shape[-2] > 1):
            return prefix
    return None


# ---- projections --------------------------------------------------------------------------

@dataclass
class Projections:
    """The top features of one layer and their projections to pixel space.

    ``projections[k, j]`` (C, H, W) is channel ``channels[k]``'s strongest activation in input
    ``samples[k, j]`` (value ``values[k, j]`` at ``locations[k, j]`` = (h, w) of its maps)
    passed back to the input; ``boxes[k, j]`` = (top, left, height, width) of the input patch
    shown beside it, a box of one size per layer around the projection's non-zero support."""

    layer: str
    maps_shape: tuple[int, int, int]
    channels: list[int]
    samples: torch.Tensor      # (K, N) indices into the inputs
    values: torch.Tensor       # (K, N)
    locations: torch.Tensor    # (K, N, 2)
    projections: torch.Tensor  # (K, N, C, H, W)
    boxes: torch.Tensor        # (K, N, 4)
    rule: str                  # how the signal passed back: see :func:`backward_rule`
    shown: str                 # the layer's name in pictures: see :func:`shown_name`


def project(model: nn.Module, x: torch.Tensor, layer: str, channel: torch.Tensor,
            location: torch.Tensor) -> torch.Tensor:
    """The deconvnet projection (N, C, H, W) of one activation per input: of ``x[i]``, layer
    ``layer``'s map ``channel[i]`` at ``location[i]`` = (h, w), all other activations zero;
    the grad_output of Z&F's step "set all other activations in the layer to zero"."""
    with deconvnet_mode(model):
        x = x.detach().clone().requires_grad_(True)
        a = layer_maps(model, x, layer)                           # (N, C', H', W')
        rows = torch.arange(len(x))
        kept = torch.zeros_like(a)
        index = (rows, channel, location[:, 0], location[:, 1])
        kept[index] = a.detach()[index]
        (g,) = torch.autograd.grad(a, x, kept)
    return g.detach()


def deconv_projections(model: nn.Module, x: torch.Tensor, layer: str | int | None = None, *,
                       top: int = 9, per_feature: int = 6, batch: int = 64,
                       model_name: str = "") -> Projections:
    """Z&F's Figure 2 for the inputs ``x`` (N, C, H, W): the ``top`` channels of ``layer``
    with the largest activation anywhere in ``x``, each with its ``per_feature`` strongest
    inputs, projected (see :func:`resolve_layer` for ``layer``)."""
    with deconvnet_mode(model):
        name = resolve_layer(model, x, layer, model_name)
        peaks, where = [], []
        with torch.no_grad():
            for chunk in x.split(batch):
                a = layer_maps(model, chunk, name).flatten(2)  # (n, C', H'W')
                value, at = a.max(2)
                peaks.append(value)
                where.append(at)
            called: list = []
            maps_shape = tuple(layer_maps(model, x[:1], name, called).shape[1:])
    peaks, where = torch.cat(peaks), torch.cat(where)             # (N, C')
    top, per_feature = min(top, peaks.shape[1]), min(per_feature, len(x))
    channels = peaks.max(0).values.topk(top).indices              # (K,)
    values, samples = peaks[:, channels].topk(per_feature, dim=0)  # (N', K)
    samples, values = samples.T.contiguous(), values.T.contiguous()  # (K, N')
    flat = where[samples, channels[:, None]]                      # (K, N')
    locations = torch.stack([flat // maps_shape[2], flat % maps_shape[2]], -1)
    rows = samples.flatten()
    repeat = channels.repeat_interleave(per_feature)
    projections = torch.cat([
        project(model, x[rows[i:i + batch]], name, repeat[i:i + batch],
                locations.flatten(0, 1)[i:i + batch])
        for i in range(0, len(rows), batch)]).view(top, per_feature, *x.shape[1:])
    return Projections(name, maps_shape, channels.tolist(), samples, values, locations,
                       projections, patch_boxes(projections), backward_rule(called),
                       shown_name(model, name))


def patch_boxes(projections: torch.Tensor) -> torch.Tensor:
    """(…, 4) boxes (top, left, height, width): the bounding box of each projection's non-zero
    support, widened to the largest such box of the lot (the layer's receptive field as far as
    the projections show it) and kept inside the image."""
    support = projections.abs().sum(-3) > 0                       # (…, H, W)
    height, width = support.shape[-2:]
    rows, cols = support.any(-1), support.any(-2)                 # (…, H), (…, W)

    def extent(mask, size):
        ar = torch.arange(size)
        first = torch.where(mask, ar, size).min(-1).values
        last = torch.where(mask, ar, -1).max(-1).values
        empty = last < first
        return first.masked_fill(empty, 0), (last - first + 1).masked_fill(empty, size)

    top, h = extent(rows, height)
    left, w = extent(cols, width)
    h_all, w_all = int(h.max()), int(w.max())
    top = (top + h // 2 - h_all // 2).clamp(0, height - h_all)
    left = (left + w // 2 - w_all // 2).clamp(0, width - w_all)
    return torch.stack([top, left, torch.full_like(top, h_all), torch.full_like(left, w_all)], -1)


# ---- the picture ---------------------------------------------------------------------------

def _as_image(t: torch.Tensor) -> np.ndarray:
    a = t.detach().float().cpu().numpy()
    return a.transpose(1, 2, 0) if a.shape[0] == 3 else a[0]


def _tile(p: torch.Tensor) -> np.ndarray:
    """A projection on mid-grey: 0.5 + 0.5·p / max|p|, scaled per tile as Z&F's."""
    scale = float(p.abs().max())
    return _as_image(0.5 + 0.5 * p / scale if scale > 0 else torch.full_like(p, 0.5))


def deconv_figure(x: torch.Tensor, p: Projections, title: str = ""):
    """Z&F's Figure 2 for one layer: one row per feature, its projections on the left, the
    input patches they come from on the right (matplotlib figure). With one input per
    feature the features fill a square grid instead, each tile labelled with its map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top, per_feature = p.samples.shape
    proj, patch = [], []
    for k in range(top):
        for j in range(per_feature):
            t, left, h, w = p.boxes[k, j].tolist()
            image = x[int(p.samples[k, j])]
            lo, hi = float(image.min()), float(image.max())
            crop = (image[:, t:t + h, left:left + w] - lo) / (hi - lo if hi > lo else 1.0)
            proj.append(_tile(p.projections[k, j, :, t:t + h, left:left + w]))
            patch.append(_as_image(crop.clamp(0, 1)))
    columns = per_feature if per_feature > 1 else math.ceil(math.sqrt(top))
    rows = math.ceil(len(proj) / columns)
    zoom = zoom_for(max(proj[0].shape[:2]), 36)
    grids = [mosaic(tiles, columns, border=1, fill=GAP, zoom=zoom) for tiles in (proj, patch)]
    width = min(14.0, max(6.0, 1.8 * columns))
    fig, axes = plt.subplots(1, 2, figsize=(width, 0.9 + width / 2 * rows / columns))
    step_h, step_w = grids[0].shape[0] / rows, grids[0].shape[1] / columns
    for ax, grid, what in zip(axes, grids, ("projections", "input patches")):
        ax.imshow(grid, interpolation="nearest", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if what == "projections" and per_feature > 1:  # one row per map
            ax.set_yticks([step_h * (k + 0.5) for k in range(top)])
            ax.set_yticklabels([f"map {c}" for c in p.channels], fontsize=7)
        elif what == "projections":
            for k, c in enumerate(p.channels):
                r, col = divmod(k, columns)
                ax.text(col * step_w + 2, r * step_h + 2, f"map {c}", fontsize=6, va="top",
                        bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "linewidth": 0})
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(what, fontsize=9)
    c, h, w = p.maps_shape
    patch_h, patch_w = p.boxes[0, 0, 2:].tolist()
    inputs = f"each in its {per_feature} strongest inputs" if per_feature > 1 else "in the input"
    fig.suptitle(f"{title}\n{p.shown} ({h}x{w}x{c}): the {top} strongest maps, {inputs}; "
                 f"{patch_h}x{patch_w} patches\n{p.rule}".strip(), fontsize=9)
    fig.tight_layout()
    return fig
