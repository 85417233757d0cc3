"""Layer tables like the lectures' LeNet-5 table, for any model.

One dummy sample is run through the model with forward hooks on its layers; each layer that
holds parameters or changes the shape becomes a row. An activation module that follows a layer
is written into that layer's row, and a container holding one layer and its activation (such as
LeNet-5's ``C1 = Sequential(Conv2d, Tanh)``) gives the row its own name.

A row's type is the module's ``type_name`` when its class sets one (nnzoo's own layers do, in the
papers' words: ``subsampling``, ``conv (partial table)``, ``RBF``), else torch's layer names
below (found through the class's bases, so a subclass of ``nn.Conv2d`` is a convolution), else
the class name.

Two kinds of model are described another way. A network that is not a stack of modules run in
order (a Hopfield net, a Boltzmann machine, an RBM, an RBF net) gives its own rows through a
``layer_rows()`` method: a list of dicts with the fields of :class:`Row`. A model whose forward
runs only part of it (a GAN's forward is its discriminator) names the parts to trace through
``summary_parts(input_shape)``: a list of ``(prefix, module, input_shape, input_name)``.
These hooks, and the others models may offer, are declared in :mod:`nnzoo.models._hooks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

ACTIVATION_TYPES = (nn.Tanh, nn.ReLU, nn.Sigmoid, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU,
                    nn.Softmax, nn.LogSoftmax, nn.Softplus, nn.Softsign, nn.Hardtanh,
                    nn.Identity, nn.SiLU, nn.ReLU6)

TYPE_NAMES = {
    nn.Conv1d: "convolution 1-D", nn.Conv2d: "convolution", nn.Conv3d: "convolution 3-D",
    nn.ConvTranspose2d: "transposed convolution", nn.Linear: "dense",
    nn.AvgPool2d: "average pooling", nn.MaxPool2d: "max pooling", nn.AvgPool1d: "average pooling",
    nn.MaxPool1d: "max pooling", nn.AdaptiveAvgPool2d: "adaptive average pooling",
    nn.AdaptiveMaxPool2d: "adaptive max pooling", nn.BatchNorm2d: "batch norm",
    nn.BatchNorm1d: "batch norm", nn.Dropout: "dropout", nn.LocalResponseNorm: "local response norm",
    nn.LSTM: "LSTM", nn.GRU: "GRU", nn.RNN: "RNN", nn.Embedding: "embedding", nn.Flatten: "flatten",
}


@dataclass
class Row:
    name: str
    type: str
    output: str
    kernel: str = ""
    stride: str = ""
    activation: str = ""
    units: str = ""
    params: int = 0


def _is_activation(module: nn.Module) -> bool:
    from nnzoo.layers.activations import Activation, PReLU

    return isinstance(module, (*ACTIVATION_TYPES, Activation, PReLU))


def type_name(module: nn.Module) -> str:
    """The readable type of a layer: its own ``type_name``, torch's name, or the class name."""
    own = getattr(module, "type_name", None)
    if isinstance(own, str) and own:
        return own
    known = next((TYPE_NAMES[cls] for cls in type(module).__mro__ if cls in TYPE_NAMES), None)
    return known or type(module).__name__


def activation_name(module: nn.Module) -> str:
    from nnzoo.layers.activations import Activation

    if isinstance(module, Activation):
        return module.function.name
    own = getattr(module, "type_name", None)
    if isinstance(own, str) and own:
        return own
    names = {nn.Sigmoid: "logistic", nn.LeakyReLU: "leaky relu", nn.Identity: "identity"}
    return names.get(type(module), type(module).__name__.lower())


def _units(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that are rows: leaves, modules holding parameters of their own, and layers that
    run a cell's equations without calling the cell (``summary_unit = True``)."""
    found, skip = [], []
    for name, module in model.named_modules():
        if not name or any(name.startswith(prefix + ".") for prefix in skip):
            continue
        own = any(True for _ in module.parameters(recurse=False)) \
            or getattr(module, "summary_unit", False)
        if own or not any(True for _ in module.children()):
            found.append((name, module))
            skip.append(name)
    return found


def _size(t) -> str:
    if isinstance(t, (tuple, list)):
        t = t[0]
    if not isinstance(t, torch.Tensor):
        return ""
    shape = list(t.shape[1:])
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(str(s) for s in shape)


def _pair(value, square_as_one: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        value = (value, value)
    if square_as_one and len(set(value)) == 1:
        return str(value[0])
    return "x".join(str(v) for v in value)


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> list[Row]:
    """Rows for ``model`` run on one zero sample of ``input_shape`` (without batch)."""
    return summarize(model, input_shape).rows


@dataclass
class Summary:
    """A layer table: its rows, the total for its last line, and notes printed below it."""

    rows: list[Row]
    total: int
    notes: list[str]


def _trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> Summary:
    """The layer table of ``model`` for one sample of ``input_shape``, with notes on anything
    the rows leave out."""
    own_rows = getattr(model, "layer_rows", None)
    if callable(own_rows):
        return _own_rows(model, input_shape, own_rows())
    parts = getattr(model, "summary_parts", None)
    parts = parts(input_shape) if callable(parts) else [("", model, input_shape, "input")]
    rows: list[Row] = []
    counted: set[int] = set()  # ids of the parameters a row shows
    for prefix, module, shape, input_name in parts:
        rows += _traced(module, tuple(shape), prefix, input_name, counted)
    return Summary(rows, _trainable(model), _left_out(model, counted))


def _own_rows(model: nn.Module, input_shape, described: list[dict]) -> Summary:
    rows = [Row("input", "input", _shape_text(input_shape)), *(Row(**r) for r in described)]
    total, trainable = sum(r.params for r in rows), _trainable(model)
    notes = []
    if total != trainable:
        rule = getattr(model, "learned_by", "its own rule")
        if trainable == 0:
            notes.append(f"All {total:,} are buffers set by {rule}, not trainable parameters, so "
                         f"nnzoo.count_params gives 0.")
        else:
            notes.append(f"{total - trainable:,} of these {total:,} are buffers set by {rule}; "
                         f"nnzoo.count_params counts the other {trainable:,}, the trainable "
                         f"parameters.")
    return Summary(rows, total, notes)


def _left_out(model: nn.Module, counted: set[int]) -> list[str]:
    """A note naming the modules whose parameters no row shows (a pass in evaluation mode does
    not run them: GoogLeNet's auxiliary heads)."""
    missing, reported = [], []
    for name, module in model.named_modules():
        params = [p for p in module.parameters() if p.requires_grad]
        if not name or not params or any(name.startswith(r + ".") for r in reported):
            continue
        if not any(id(p) in counted for p in params):
            missing.append(f"{name} ({sum(p.numel() for p in params):,})")
            reported.append(name)
    if not missing:
        return []
    return [f"Not in the rows above, though in the total: {', '.join(missing)}, parameters "
            f"that a forward pass in evaluation mode does not use (such as heads used only in "
            f"training)."]


def _shape_text(shape) -> str:
    shape = tuple(shape)
    return f"{shape[1]}x{shape[2]}x{shape[0]}" if len(shape) == 3 else "x".join(map(str, shape))


def _traced(model: nn.Module, input_shape: tuple[int, ...], prefix: str, input_name: str,
            counted: set[int]) -> list[Row]:
    """Rows for ``model`` run on one zero sample of ``input_shape``, named ``prefix.layer``."""
    units = _units(model)
    names = {id(m): n for n, m in units}
    parents: dict[str, int] = {}
    for name, module in units:
        if not _is_activation(module) and "." in name:
            parent = name.rsplit(".", 1)[0]
            parents[parent] = parents.get(parent, 0) + 1
    rows: list[Row] = [Row(input_name, "input", _shape_text(input_shape))]
    seen: set[int] = set()

    def hook(module, inputs, output):
        if id(module) in seen:
            return
        seen.add(id(module))
        counted.update(id(p) for p in module.parameters())
        name = names[id(module)]
        if _is_activation(module) and len(rows) > 1 and not rows[-1].activation \
                and not any(True for _ in module.parameters()):
            rows[-1].activation = activation_name(module)
            return
        parent = name.rsplit(".", 1)[0] if "." in name else None
        if parent and parents.get(parent) == 1 and name.rsplit(".", 1)[1].isdigit():
            name = parent
        kernel = getattr(module, "kernel_size", None)
        stride = getattr(module, "stride", None) if kernel is not None else None
        units = getattr(module, "out_channels", None) or getattr(module, "out_features", None) \
            or getattr(module, "hidden_size", None) or ""
        rows.append(Row(f"{prefix}.{name}" if prefix else name, type_name(module), _size(output),
                        _pair(kernel), _pair(stride, square_as_one=True),
                        activation_name(module) if _is_activation(module) else "", str(units),
                        sum(p.numel() for p in module.parameters() if p.requires_grad)))

    handles = [m.register_forward_hook(hook) for _, m in units]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return rows


def format_table(rows: list[Row], total: int) -> str:
    header = ("layer", "type", "output", "kernel", "stride", "activation", "maps/units", "parameters")
    body = [(r.name, r.type, r.output, r.kernel, r.stride, r.activation, r.units,
             f"{r.params:,}" if r.type != "input" else "") for r in rows]
    body.append(("total", "", "", "", "", "", "", f"{total:,}"))
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    right = {7}
    lines = []
    for k, row in enumerate([header, *body]):
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0 or k == len(body) - 1:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
