"""The fast path of the explicit recurrent layers: a whole sequence per call, backward by hand.

The readable path (``recurrent.scan`` calling a cell's ``step`` once per time step) pays
Python's and autograd's overhead on each of a step's ten-odd small operations, forward and
backward. The kernels in ``_fast_lstm.py``, ``_fast_gru.py`` and ``_fast_elman.py`` are
``torch.autograd.Function``\\ s that run the same equations over the whole sequence with
autograd off:

- one matrix product for every step's input term W_ih x_t + b_ih, straight into a
  preallocated (T, B, G·H) gate buffer; then, per step, the recurrent product added in place
  and the gate arithmetic in place;
- backward through time written out: per step the gate gradients and one product for
  ∂L/∂h_{t-1}; after the loop the weight gradients as one or two large products.

They are tested equal to the readable step in float64 (values, final states and every
gradient), by ``gradcheck`` against numerical derivatives, and once differentiable (no
double backward). tanh is computed as 2σ(2a) − 1 — for a gate, by doubling its weights' rows
once per call and taking one sigmoid over all the gates; for tanh c_t, as written: ATen's CPU
tanh runs 3x slower than its sigmoid, and the identity is exact to rounding. The large
buffers come from a small :class:`Workspace`, so that a training step does not fault fresh
pages in for them each time.

Variable lengths: :func:`fast_scan` sorts the batch by decreasing length (and, for the
reverse direction, reverses each sequence within its own length), so that at step t the
sequences still running are the first ``sizes[t]`` rows; the kernels compute only those rows,
as PyTorch's packed kernels do, and padded steps never touch the state.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import torch


class Schedule(NamedTuple):
    """Which rows run at each step of a batch sorted by decreasing length: ``sizes[t]`` rows
    at step t (a list of T ints), and each row's last step ``last`` (B,)."""

    sizes: list
    last: torch.Tensor


def fast_path_allowed() -> bool:
    """False while tracing, exporting or compiling, where the readable step (plain tensor
    operations) is what the tracer should see."""
    onnx = sys.modules.get("torch.onnx")  # not imported: not exporting (importing it takes 0.4 s)
    return not (torch.jit.is_tracing() or torch.compiler.is_compiling()
                or (onnx is not None and onnx.is_in_onnx_export()))


def fast_scan(kernel, x: torch.Tensor, state: tuple, lengths: torch.Tensor | None = None,
              reverse: bool = False) -> tuple[torch.Tensor, tuple]:
    """``recurrent.scan`` of a cell for a whole-sequence ``kernel(x, state, schedule)``: the same
    outputs (T, B, H) — zeros at padded steps — and final state. ``x`` is the layer's input
    (T, B, I); the kernel does the input projection."""
    steps, batch = x.shape[:2]
    if lengths is None or bool((lengths == steps).all()):
        if reverse:
            out, state = kernel(x.flip(0), state, None)
            return out.flip(0), state
        return kernel(x, state, None)
    lengths = lengths.to(x.device)
    order = torch.argsort(lengths, descending=True, stable=True)
    inverse = torch.argsort(order)
    t = torch.arange(steps, device=x.device)[:, None]                   # (T, 1)
    # step t of sequence b in the kernel's layout reads its original step when[t, b]:
    # itself, or within its length backwards for the reverse direction (an involution)
    when = torch.where(t < lengths, lengths - 1 - t, t) if reverse else t.expand(steps, batch)
    sorted_lengths = lengths[order]
    sizes = (t < sorted_lengths).sum(1).tolist()
    schedule = Schedule(sizes, sorted_lengths - 1)
    out, state = kernel(x[when[:, order], order], tuple(s[order] for s in state), schedule)
    return out[when, inverse], tuple(s[inverse] for s in state)


# ---- buffers as per-step views, cut to the running rows ------------------------------------

def per_step(buffer: torch.Tensor, schedule: Schedule | None) -> list:
    """``buffer`` (T, B, …) as T views (B, …), each cut to the rows running at its step."""
    views = buffer.unbind(0)
    return list(views) if schedule is None else [v[:n] for v, n in zip(views, schedule.sizes)]


def before_each_step(first: torch.Tensor, buffer: torch.Tensor, schedule: Schedule | None) -> list:
    """The values a step reads: ``first`` (B, …) at t = 0, then ``buffer[t − 1]``, cut to n_t rows."""
    views = (first,) + buffer.unbind(0)[:-1]
    return list(views) if schedule is None else [v[:n] for v, n in zip(views, schedule.sizes)]


def running_rows(running: torch.Tensor, schedule: Schedule | None, steps: int) -> list:
    """Views of a running (B, …) buffer, one per step, cut to the rows running then."""
    return [running] * steps if schedule is None else [running[:n] for n in schedule.sizes]


def at_last_step(buffer: torch.Tensor, schedule: Schedule | None) -> torch.Tensor:
    """Each sequence's value (B, …) at its own last step."""
    if schedule is None:
        return buffer[-1].clone()
    return buffer[schedule.last, torch.arange(buffer.shape[1], device=buffer.device)]


def zero_padded_steps(buffer: torch.Tensor, schedule: Schedule | None) -> torch.Tensor:
    """``buffer`` (T, B, …) with zeros where a sequence has ended, in place."""
    if schedule is not None:
        sizes = torch.tensor(schedule.sizes, device=buffer.device)
        ended = torch.arange(buffer.shape[1], device=buffer.device) >= sizes[:, None]   # (T, B)
        buffer.masked_fill_(ended.view(*ended.shape, *(1,) * (buffer.dim() - 2)), 0.0)
    return buffer


class Workspace:
    """Buffers that a finished backward pass hands back, for the next forward pass of that shape.

    A training step allocates the same large buffers (the LSTM's gates: 6.4 MB at batch 64,
    T = 50, H = 128) and frees them again; glibc returns such blocks to the kernel, and each
    step faults them in afresh, which in these virtual machines cost about a tenth of an LSTM
    step (``nnzoo.train.host_allocator`` fixes the same for a whole process under
    ``nnzoo.fit``). Only a kernel's own buffers come back: those of a backward pass when it
    ends, those kept for backward when the graph that holds them is freed (:class:`GiveBack`),
    so that nothing can read them any more.
    """

    PER_SHAPE, SHAPES, LARGEST = 4, 32, 32 << 20   # buffers per shape, shapes, bytes per buffer

    def __init__(self):
        self.free: dict[tuple, list] = {}

    def take(self, like: torch.Tensor, *shape, zero: bool = False) -> torch.Tensor:
        """A (``shape``) buffer of ``like``'s dtype and device: uninitialised, or zeros."""
        kept = self.free.get((shape, like.dtype, like.device))
        buffer = kept.pop() if kept else like.new_empty(shape)
        return buffer.zero_() if zero else buffer

    def give(self, *buffers: torch.Tensor) -> None:
        if len(self.free) > self.SHAPES:  # shapes that keep changing: keep none
            self.free.clear()
        for buffer in buffers:
            if buffer.numel() * buffer.element_size() > self.LARGEST:  # faulting in is a small
                continue                                               # share of its work
            kept = self.free.setdefault((tuple(buffer.shape), buffer.dtype, buffer.device), [])
            if len(kept) < self.PER_SHAPE:
                kept.append(buffer)


WORKSPACE = Workspace()


class GiveBack:
    """Held by a kernel's ``ctx``: hands its buffers back to the workspace when the autograd
    graph (or, without one, the call) lets go of the ctx."""

    def __init__(self, *buffers: torch.Tensor):
        self.buffers = buffers

    def __del__(self):
        WORKSPACE.give(*self.buffers)


def new_buffer(like: torch.Tensor, schedule: Schedule | None, *shape) -> torch.Tensor:
    """A buffer from the workspace, zeroed when rows stop early (their padded steps stay zero)."""
    return WORKSPACE.take(like, *shape, zero=schedule is not None)


# ---- products shared by the kernels ---------------------------------------------------------

def project(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x W^T + b for x (T, B, I): every step's input term in one product, into a workspace
    buffer (T, B, G·H)."""
    out = WORKSPACE.take(x, *x.shape[:-1], weight.shape[0])
    flat, flat_out = x.reshape(-1, x.shape[-1]), out.view(-1, weight.shape[0])
    if bias is None:
        torch.mm(flat, weight.t(), out=flat_out)
    else:
        torch.addmm(bias, flat, weight.t(), out=flat_out)
    return out


class Numbers(NamedTuple):
    """The constants of the kernels' arithmetic as 0-dim tensors: an operation with a Python
    number pays ~5 µs to wrap it, as much as the arithmetic itself on a (64, 128) step."""

    one: torch.Tensor
    two: torch.Tensor
    four: torch.Tensor
    half: torch.Tensor


def numbers(like: torch.Tensor) -> Numbers:
    return Numbers(*(like.new_tensor(value) for value in (1.0, 2.0, 4.0, 0.5)))


def tanh_from_doubled(s: torch.Tensor, out: torch.Tensor, k: Numbers) -> torch.Tensor:
    """tanh(a) = 2σ(2a) − 1 into ``out``, from s = σ(2a)."""
    return torch.mul(s, k.two, out=out).sub_(k.one)


def tanh_into(a: torch.Tensor, out: torch.Tensor, k: Numbers) -> torch.Tensor:
    """tanh(a) into ``out`` as 2σ(2a) − 1 (ATen's CPU tanh is 3x slower than its sigmoid)."""
    return torch.add(a, a, out=out).sigmoid_().mul_(k.two).sub_(k.one)


def doubled_rows(gates: int, hidden: int, slot: int, like: torch.Tensor) -> torch.Tensor:
    """(G·H,) ones with 2 at gate ``slot``: scales that gate's rows so that σ of the doubled
    pre-activation gives tanh(a) = 2σ(2a) − 1."""
    scale = like.new_ones(gates * hidden)
    scale[slot * hidden:(slot + 1) * hidden] = 2.0
    return scale


def input_gradients(ctx, grad_gates: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> tuple:
    """∂L/∂x and ∂L/∂W_ih from the gates' gradient (T, B, G·H), for a Function whose inputs
    start x, W_ih (the kernels' order: x, W_ih, b_ih, W_hh, b_hh, state…)."""
    flat = grad_gates.reshape(-1, grad_gates.shape[-1])
    needs = ctx.needs_input_grad
    dx = torch.mm(flat, weight).view_as(x) if needs[0] else None
    dw = torch.mm(flat.t(), x.reshape(-1, x.shape[-1])) if needs[1] else None
    return dx, dw


def both_bias_gradients(ctx, grad_gates: torch.Tensor) -> tuple:
    """∂L/∂b_ih and ∂L/∂b_hh (inputs 2 and 4) where both biases add to the same gates: one sum."""
    needs = ctx.needs_input_grad
    if not (needs[2] or needs[4]):
        return None, None
    total = grad_gates.sum((0, 1))
    return (total if needs[2] else None), (total.clone() if needs[4] else None)


def recurrent_weight_gradient(grad_gates: torch.Tensor, first: torch.Tensor,
                              outputs: torch.Tensor) -> torch.Tensor:
    """Σ_t δ_t^T h_{t-1} with h_{-1} = ``first`` (B, H) and h_t = ``outputs[t]``: two products."""
    gates = grad_gates.shape[-1]
    dw = torch.mm(grad_gates[0].t(), first)
    if grad_gates.shape[0] > 1:
        dw.addmm_(grad_gates[1:].reshape(-1, gates).t(), outputs[:-1].reshape(-1, outputs.shape[-1]))
    return dw


def bias_gradient(needed: bool, grad_gates: torch.Tensor) -> torch.Tensor | None:
    return grad_gates.sum((0, 1)) if needed else None
