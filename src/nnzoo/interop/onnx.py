"""ONNX export: a trained run, or a model, as a file that onnxruntime runs to the same outputs.

    >>> nnzoo.export("runs/lenet5-digits", "lenet5.onnx")                  # doctest: +SKIP
    >>> nnzoo.export(nnzoo.create("gan"), "generator.onnx")                # the GAN's generator
    >>> nnzoo.export(autoencoder, "encoder.onnx", part="encoder")          # doctest: +SKIP

Every model with a tensor forward exports: the CNN zoo, the MLPs, the autoencoders (whole, or
their ``encoder`` and ``decoder`` parts), the GAN's ``generator`` (default) and
``discriminator``, the recurrent classifiers, the forecaster and the character model. The batch
axis is dynamic; so is the sequence axis of a model whose recurrent layers all run on PyTorch's
fused kernels (ONNX's own RNN, LSTM and GRU operators). A cell that runs step by step (peephole,
coupled, Jordan, Clockwork) is unrolled by the trace, so its sequence length is the traced one.
A model whose output is a loop that depends on its own values (Hopfield recall, annealing,
decoding) is refused, with the reason.

The exporter is torch's TorchScript-based one (``torch.onnx.export(..., dynamo=False)``): it
traces one forward call. Measured on this project's CPU (torch 2.13): LeNet-5 exports in about
0.1 s this way against about 9 s through ``dynamo=True``, which also needs ``onnxscript`` and
specialised the batch axis of our models to the traced size. A trace freezes Python branches
on shapes, so nnzoo's CPU fast paths (``layers.conv.Conv2d``'s dense case, the channels_last
pooling, tanh through the sigmoid) are exported as the ``torch.nn`` layers they subclass and are
tested equal to; and each export is checked, when onnxruntime is installed, against the model
on a batch of another size (and another length) than the traced one.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from nnzoo.errors import NnzooError

FORMATS = ("onnx",)
OPSET = 17
TRACE_BATCH = 2    # the traced batch; the check runs another size, so a frozen size shows
CHECK_BATCH = 3
TOLERANCE = 1e-4   # largest |onnxruntime - torch| accepted, relative to the outputs' scale


# ---- what can be exported -----------------------------------------------------------------

def _refusals() -> list[tuple[type, str]]:
    """(model class, why it cannot be one ONNX graph), kept here: models import no exporter."""
    from nnzoo.models.boltzmann import BoltzmannMachine
    from nnzoo.models.hopfield import Hopfield
    from nnzoo.models.seq2seq import Seq2Seq

    return [
        (Hopfield, ("its output is recall, an update loop that runs until the state stops "
                    "changing, unit by unit in a random order (asynchronous mode); a traced "
                    "graph would freeze one run of that loop. Use the model's .recall() in "
                    "Python")),
        (BoltzmannMachine, ("its output is simulated annealing, Gibbs sampling with random "
                            "draws along a temperature schedule; a traced graph would freeze "
                            "one draw")),
        (Seq2Seq, ("its output is decoding (greedy or beam search), a loop whose length "
                   "depends on the tokens it emits; a traced graph would freeze one decoding. "
                   "Use the model's .generate() in Python")),
    ]


class _Encoder(nn.Module):
    """forward(x) = autoencoder.encode(x): the code."""

    def __init__(self, autoencoder: nn.Module):
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.encode(x)


class _Decoder(nn.Module):
    """forward(code) = autoencoder.decode(code): the reconstruction."""

    def __init__(self, autoencoder: nn.Module):
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(code)


class _MeanField(nn.Module):
    """forward(v) = p(v | h = p(h | v)), an RBM's reconstruction, from the RBM's own two
    steps: ``RBM.reconstruct`` first checks its rows with ``len(v)``, which a trace freezes to
    the traced batch size."""

    def __init__(self, rbm: nn.Module):
        super().__init__()
        self.rbm = rbm

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.rbm.visible_probs(self.rbm.hidden_probs(v.flatten(1)))


def parts(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[nn.Module, tuple]]:
    """The exportable parts of ``model``, each (module, one input's shape); the first is the
    default."""
    from nnzoo.models.autoencoder import Autoencoder
    from nnzoo.models.conv_autoencoder import ConvAutoencoder
    from nnzoo.models.gan import GAN
    from nnzoo.models.rbm import RBM

    if isinstance(model, RBM):
        return {"model": (_MeanField(model), tuple(input_shape))}

    if isinstance(model, GAN):
        return {"generator": (model.generator, (model.z_dim,)),
                "discriminator": (model.discriminator, tuple(input_shape))}
    if isinstance(model, (Autoencoder, ConvAutoencoder)):
        with torch.no_grad():
            code = model.encode(torch.zeros(1, *input_shape))
        return {"model": (model, tuple(input_shape)),
                "encoder": (_Encoder(model), tuple(input_shape)),
                "decoder": (_Decoder(model), tuple(code.shape[1:]))}
    return {"model": (model, tuple(input_shape))}


def averaging_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """A (size_out, size_in): row i averages the inputs [⌊i·n/m⌋, ⌈(i+1)·n/m⌉), the window
    ``adaptive_avg_pool`` takes for output i."""
    a = torch.zeros(size_out, size_in)
    for i in range(size_out):
        start, end = (i * size_in) // size_out, -(-((i + 1) * size_in) // size_out)
        a[i, start:end] = 1.0 / (end - start)
    return a


class AveragingMatrices(nn.Module):
    """``nn.AdaptiveAvgPool2d`` as y = A_h · x · A_wᵀ, for an ONNX graph: ONNX has no adaptive
    pooling, and torch's exporter refuses an output size that does not divide the input (VGG's
    and AlexNet's 7x7 and 6x6 from 32x32 images). The maps' height and width are fixed in the
    exported graph, so the matrices are constants."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        out_h, out_w = (self.output_size,) * 2 if isinstance(self.output_size, int) \
            else self.output_size
        rows = averaging_matrix(int(h), int(h) if out_h is None else out_h).to(x.dtype)
        cols = averaging_matrix(int(w), int(w) if out_w is None else out_w).to(x.dtype)
        return rows @ x @ cols.T                          # (N, C, out_h, out_w)


class ScatterUnpool(nn.Module):
    """``layers.unpool.MaxUnpool2d`` (same attributes) as a scatter, for an ONNX graph: torch
    2.13's exporter fails to trace ``F.max_unpool2d``. Each map's pooled values go back to
    their switches (flat indices u·W + v) in a zero map:

        out[n, c, switch[n, c, i, j]] = y[n, c, i, j]
    """

    def forward(self, y: torch.Tensor, switches: torch.Tensor, output_size=None) -> torch.Tensor:
        n, c, h, w = y.shape
        k, s, p = (_first(v) for v in (self.kernel_size, self.stride, self.padding))
        height, width = (tuple(output_size)[-2:] if output_size is not None
                         else ((h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k))
        out = y.new_zeros(n, c, height * width)
        return out.scatter(2, switches.flatten(2), y.flatten(2)).view(n, c, height, width)


def _first(value) -> int:
    return value if isinstance(value, int) else value[0]


def _as_torch_layers(module: nn.Module) -> nn.Module:
    """A copy of ``module`` for a trace: nnzoo's fast-path layers become the ``torch.nn``
    layers they subclass (same parameters, same values; their shape tests would be frozen by
    the trace), max-unpooling becomes :class:`ScatterUnpool` and adaptive average pooling
    :class:`AveragingMatrices`."""
    from nnzoo.layers.activations import Tanh
    from nnzoo.layers.conv import Conv2d
    from nnzoo.layers.pooling import AvgPool2d
    from nnzoo.layers.unpool import MaxUnpool2d

    plain = {Conv2d: nn.Conv2d, AvgPool2d: nn.AvgPool2d, Tanh: nn.Tanh, MaxUnpool2d: ScatterUnpool}
    module = copy.deepcopy(module).eval().to("cpu", memory_format=torch.contiguous_format)
    for sub in list(module.modules()):
        if type(sub) in plain:
            sub.__class__ = plain[type(sub)]
        for name, child in sub.named_children():
            if isinstance(child, nn.AdaptiveAvgPool2d):
                setattr(sub, name, AveragingMatrices(child.output_size))
    return module


def _has_time_axis(module: nn.Module) -> bool:
    """Whether the sequence length may vary: every recurrent layer runs on a fused kernel."""
    from nnzoo.layers.clockwork import ClockworkRNN
    from nnzoo.layers.convlstm import ConvLSTM
    from nnzoo.layers.recurrent import JordanRNN, Recurrence, _RecurrentLayer

    fused = [m.fused is not None for m in module.modules() if isinstance(m, _RecurrentLayer)]
    unrolled = any(isinstance(m, (ClockworkRNN, ConvLSTM, JordanRNN, Recurrence))
                   for m in module.modules())
    return bool(fused) and all(fused) and not unrolled


def _avg_pool2d(g, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    """``aten::avg_pool2d`` in ONNX, ``divisor_override`` included (torch 2.13's symbolic drops
    it, so a sum pool, nnzoo's and LeNet-5-1998's, would be exported as an average):
    Σ/d = AveragePool (padding counted) · k_h·k_w / d."""
    kernel = list(kernel_size)
    strides = list(stride) or kernel
    pads = list(padding) * 2 if len(padding) == 2 else [padding[0]] * 4
    average = g.op("AveragePool", x, kernel_shape_i=kernel, strides_i=strides, pads_i=pads,
                   ceil_mode_i=ceil_mode,
                   count_include_pad_i=1 if divisor_override else count_include_pad)
    if not divisor_override:
        return average
    scale = torch.tensor(kernel[0] * kernel[1] / divisor_override, dtype=torch.float32)
    return g.op("Mul", average, g.op("Constant", value_t=scale))


@contextlib.contextmanager
def _symbolics():
    """Our symbolic for ``aten::avg_pool2d`` for the duration of one export."""
    from torch.onnx.symbolic_helper import parse_args

    symbolic = parse_args("v", "is", "is", "is", "i", "i", "i")(_avg_pool2d)
    torch.onnx.register_custom_op_symbolic("aten::avg_pool2d", symbolic, OPSET)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::avg_pool2d", OPSET)


# ---- the export ---------------------------------------------------------------------------

def _sample(module: nn.Module, vocab: int | None, batch: int, shape: tuple, generator):
    if vocab:  # token ids
        return torch.randint(0, vocab, (batch, *shape), generator=generator)
    return torch.rand(batch, *shape, generator=generator)  # in [0, 1): pixels, probabilities


def _time_axes(module: nn.Module, x: torch.Tensor, vocab: int | None, generator) -> list[int]:
    """The output axes that follow the input's sequence axis (1): those that change with it."""
    with torch.no_grad():
        a = module(x)
        b = module(_sample(module, vocab, x.shape[0], (x.shape[1] + 1, *x.shape[2:]), generator))
    return [axis for axis in range(1, a.dim()) if a.shape[axis] != b.shape[axis]]


def _resolve(run_or_model, input_shape) -> tuple[nn.Module, tuple, str]:
    """The model, one input's shape and a name for messages, from a run folder, a weights
    file or a model."""
    import nnzoo

    if isinstance(run_or_model, nn.Module):
        model = run_or_model
        name = (getattr(model, "nnzoo_created", None) or {}).get("model") or type(model).__name__
        shape = input_shape or getattr(model, "input_shape", None)
        if shape is None and name in nnzoo.list_models():
            shape = nnzoo.get_entry(name).input_shape
        if shape is None:
            raise NnzooError(f"Cannot tell the input shape of {name}: give input_shape=(...) "
                             f"(one sample, without the batch axis).")
        return model, tuple(shape), name
    from nnzoo.runs import load_run, run_input_shape

    model, config = load_run(run_or_model)
    return model, tuple(input_shape or run_input_shape(config)), config["model"]


def export(run_or_model, path, *, part: str | None = None, format: str = "onnx",
           input_shape: tuple[int, ...] | None = None, check: bool = True) -> dict:
    """Write ``run_or_model`` (a run folder, a weights file or a model) to ``path`` as ONNX.

    Args:
        part: what to export, for models of several parts: an autoencoder's ``model`` (the
            reconstruction, default), ``encoder`` or ``decoder``; a GAN's ``generator``
            (default) or ``discriminator``.
        input_shape: one input's shape without the batch axis; default: the run's, else the
            model's (``nnzoo info MODEL``).
        check: run the file with onnxruntime (when installed) on a batch of another size than
            the traced one, and refuse it (nothing written) unless it agrees to 1e-4.

    Returns what was written: ``path``, ``part``, ``inputs`` and ``outputs`` (name, shape with
    ``"batch"`` and ``"steps"`` for the dynamic axes), and ``max_difference`` when checked.
    The graph's input is named ``input`` and its output ``output``.
    """
    if format not in FORMATS:
        raise NnzooError(f"Unknown export format {format!r}; expected one of {', '.join(FORMATS)}.")
    model, shape, name = _resolve(run_or_model, input_shape)
    for model_class, reason in _refusals():
        if isinstance(model, model_class):
            raise NnzooError(f"Cannot export {name} to ONNX: {reason}.")
    was_training = model.training
    model.eval()
    try:
        available = parts(model, shape)
        chosen = part or next(iter(available))
        if chosen not in available:
            raise NnzooError(f"{name} has no part {chosen!r} to export; it has "
                             f"{', '.join(available)}.")
        module, part_shape = available[chosen]
        module = _as_torch_layers(module)
        vocab = getattr(model, "vocab_size", None) if chosen == "model" else None
        written = _write(module, part_shape, vocab, Path(path), name, chosen, check)
    finally:
        model.train(was_training)
    return written


def _write(module, shape, vocab, path: Path, name: str, part: str, check: bool) -> dict:
    from nnzoo.runs import atomic_write_bytes

    generator = torch.Generator().manual_seed(0)
    x = _sample(module, vocab, TRACE_BATCH, shape, generator)
    timed = len(shape) >= 1 and _has_time_axis(module)
    try:
        out_time = _time_axes(module, x, vocab, generator) if timed else []
        input_axes = {0: "batch", **({1: "steps"} if timed else {})}
        output_axes = {0: "batch", **{axis: "steps" for axis in out_time}}
        buffer = io.BytesIO()
        with warnings.catch_warnings(), _symbolics():  # the trace's notes on Python values
            warnings.simplefilter("ignore")  # it freezes: the check runs other sizes for them
            torch.onnx.export(module, (x,), buffer, dynamo=False, opset_version=OPSET,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": input_axes, "output": output_axes})
        with torch.no_grad():
            out_shape = list(module(x).shape)
    except NnzooError as err:
        raise NnzooError(f"Cannot export the {part} of {name} to ONNX: {err}") from None
    except (RuntimeError, TypeError, torch.onnx.errors.OnnxExporterError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NnzooError(f"Cannot export the {part} of {name} to ONNX: the trace failed "
                         f"({first}).") from None
    data = buffer.getvalue()
    result = {"path": str(path), "model": name, "part": part,
              "inputs": [{"name": "input", "dtype": "int64" if vocab else "float32",
                          "shape": [input_axes.get(i, n) for i, n in enumerate(x.shape)]}],
              "outputs": [{"name": "output",
                           "shape": [output_axes.get(i, n) for i, n in enumerate(out_shape)]}]}
    if check:
        difference = _check(data, module, shape, vocab, timed, name)
        if difference is not None:
            result["max_difference"] = difference
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as err:
        raise NnzooError(f"Cannot write {str(path)!r}: {err.strerror or err}. Expected a file "
                         f"path nnzoo may write to.") from None
    return result


def _check(data: bytes, module, shape, vocab, timed: bool, name: str) -> float | None:
    """The largest difference between onnxruntime and torch on inputs of another batch size
    (and sequence length) than the traced ones; None without onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    generator = torch.Generator().manual_seed(1)
    other = (shape[0] + 1, *shape[1:]) if timed else shape
    x = _sample(module, vocab, CHECK_BATCH, other, generator)
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # its errors come back as the exception, said once
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {"input": x.numpy()})
    except Exception as err:  # noqa: BLE001 - onnxruntime's error types are not exported
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NnzooError(f"The ONNX graph of {name} does not run in onnxruntime on input "
                         f"{tuple(x.shape)} (the trace was {TRACE_BATCH} samples): {first}. "
                         f"Nothing was written.") from None
    with torch.no_grad():
        want = module(x).numpy()
    if got.shape != want.shape:
        raise NnzooError(f"The ONNX graph of {name} gives outputs of shape {got.shape} for input "
                         f"{tuple(x.shape)}, where the model gives {want.shape}; nothing was "
                         f"written.")
    difference = relative_difference(got, want)
    if not difference <= TOLERANCE:
        raise NnzooError(f"The ONNX graph of {name} differs from the model by {difference:.3g} "
                         f"of its outputs' scale (more than {TOLERANCE:g}) on input "
                         f"{tuple(x.shape)}; nothing was written.")
    return difference


def relative_difference(got, want) -> float:
    """max |got - want| / max(1, max |want|): float32 rounding grows with the outputs, and an
    untrained ResNet-110's logits run into the thousands."""
    if not want.size:
        return 0.0
    return float(abs(got - want).max() / max(1.0, float(abs(want).max())))
