"""Recurrent layers ``RNN``, ``LSTM``, ``GRU``: deep, bidirectional, variable-length — drop-in
for ``torch.nn.RNN/LSTM/GRU``.

Same constructor, parameter names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ``…_reverse``), shapes and gate order as ``torch.nn``, so a state dict loads both
ways, and the same call: ``forward(input, hx=None)`` → ``(output, h_n)`` or, for the LSTM,
``(output, (h_n, c_n))``, with ``input`` (T, B, I) — (B, T, I) with ``batch_first`` — or a
``PackedSequence`` (then ``output`` is one too). Added:

- ``lengths`` (B,): a padded batch of sequences of these lengths. Padded steps never change the
  state, their outputs are zero, and ``h_n`` is each sequence's state after its last real step
  (the reverse direction starts there).
- Variants by keyword, run on the explicit cells of ``cells.py`` / ``cells_lstm.py``:
  ``LSTM(..., peephole=True)`` (extra parameters ``weight_ci_l0``, ``weight_cf_l0``,
  ``weight_co_l0``, …) and ``LSTM(..., coupled=True)`` (3 gates f, g, o: weight_ih_l0 is (3H, I)).
- Paths, tested equal: the plain cells run on PyTorch's fused kernels (``torch.lstm`` — what
  ``torch.nn.LSTM`` calls); ``explicit=True`` runs them through the cell's own equations, the
  way the variants always run. The explicit path is fast by default: a whole-sequence kernel
  per cell family with backpropagation through time written out (``_fast_rnn.py``);
  ``fast=False`` (or ``layer.fast = False``) runs the readable reference instead, ``scan``
  calling the cell's ``step`` once per time step, as tracing, export and ``torch.compile``
  always do. Both compute the input term W_ih x_t + b_ih of every step in one matrix product,
  then one matrix product per step for all gates.

    >>> lstm = LSTM(3, 4, num_layers=2, batch_first=True)
    >>> out, (h, c) = lstm(torch.randn(2, 5, 3), lengths=torch.tensor([5, 2]))
    >>> out.shape, h.shape                      # (B, T, D·H), (L·D, B, H)
    (torch.Size([2, 5, 4]), torch.Size([2, 2, 4]))

``Recurrence(cell)`` runs any single cell over a sequence (the Jordan network, for one).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from nnzoo.errors import NnzooError
from nnzoo.layers._fast_elman import elman_kernel, jordan_kernel
from nnzoo.layers._fast_gru import gru_kernel
from nnzoo.layers._fast_lstm import coupled_kernel, lstm_kernel, peephole_kernel
from nnzoo.layers._fast_rnn import fast_path_allowed, fast_scan
from nnzoo.layers.cells import (ElmanCell, GRUCell, JordanCell, add_gate_parameters, check_nonlinearity,
                               reset_uniform)
from nnzoo.layers.cells_lstm import CoupledLSTMCell, LSTMCell, PeepholeLSTMCell

# each cell's whole-sequence kernel: FAST_KERNELS[type(cell)](parameters) → kernel, or None
FAST_KERNELS = {ElmanCell: elman_kernel, GRUCell: gru_kernel, LSTMCell: lstm_kernel,
                PeepholeLSTMCell: peephole_kernel, CoupledLSTMCell: coupled_kernel,
                JordanCell: jordan_kernel}


def scan(step, steps: int, state: tuple, lengths: torch.Tensor | None = None,
         reverse: bool = False) -> tuple[torch.Tensor, tuple]:
    """Run ``state ← step(t, state)`` for t = 0 … T−1 (T−1 … 0 if ``reverse``).

    Returns the outputs ``state[0]`` stacked (T, B, …) and the final state. With ``lengths`` (B,),
    steps t ≥ length keep the old state and output zeros, so a reverse scan starts each sequence
    at its last real step.
    """
    outputs = [None] * steps
    valid = None
    if lengths is not None:
        valid = torch.arange(steps, device=lengths.device)[:, None] < lengths[None, :]  # (T, B)
        valid = valid.to(state[0].device)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        new = step(t, state)
        if valid is not None:
            keep = valid[t].view(-1, *(1,) * (new[0].dim() - 1))        # (B, 1, …)
            new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
            outputs[t] = new[0] * keep
        else:
            outputs[t] = new[0]
        state = new
    return torch.stack(outputs), state


def check_lengths(lengths, steps: int, batch: int) -> torch.Tensor:
    """``lengths`` as a CPU int64 tensor (B,) with 1 ≤ length ≤ T, or a clear error."""
    lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
    if lengths.shape != (batch,) or (batch and (lengths.min() < 1 or lengths.max() > steps)):
        raise NnzooError(f"lengths must be a 1-D tensor of {batch} sequence lengths between 1 and "
                         f"{steps} (the padded length); got shape {tuple(lengths.shape)} "
                         f"and values {lengths.tolist()[:8]}.")
    return lengths


class _RecurrentLayer(nn.Module):
    """What RNN, LSTM and GRU share: parameters per layer and direction, the two paths, lengths."""

    def __init__(self, cell, fused, input_size, hidden_size, num_layers, bias, batch_first,
                 dropout, bidirectional, extra=(), fast=True):
        super().__init__()
        if num_layers < 1 or hidden_size < 1 or not 0.0 <= dropout <= 1.0:
            raise NnzooError(f"{type(self).__name__} needs num_layers >= 1, hidden_size >= 1 and "
                             f"0 <= dropout <= 1; got {num_layers}, {hidden_size}, {dropout}.")
        self.cell_class = cell   # its static step(p, gx, state) is the explicit path's equations
        self.fused = fused       # a torch kernel such as torch.lstm, or None for the explicit path
        self.fast = fast         # the explicit path on the whole-sequence kernel, else on scan
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.param_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + tuple(extra)
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = self.suffix(layer, direction)
                add_gate_parameters(self, layer_input, hidden_size, cell.gates, bias, suffix)
                for name in extra:  # diagonal peepholes, (H,)
                    self.register_parameter(name + suffix, nn.Parameter(torch.empty(hidden_size)))
        reset_uniform(self, hidden_size)

    @staticmethod
    def suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def cell_weights(self, layer: int, direction: int) -> SimpleNamespace:
        """This layer and direction's parameters under the cell's names (weight_ih, …)."""
        suffix = self.suffix(layer, direction)
        weights = {name: getattr(self, name + suffix) for name in self.param_names}
        return SimpleNamespace(nonlinearity=getattr(self, "nonlinearity", None), **weights)

    def flat_weights(self) -> list[torch.Tensor]:
        """weight_ih, weight_hh[, bias_ih, bias_hh] per layer and direction: the fused kernel's order."""
        names = self.param_names[:4] if self.bias else self.param_names[:2]
        return [getattr(self, name + self.suffix(layer, direction)) for layer in range(self.num_layers)
                for direction in range(self.num_directions) for name in names]

    # ---- the two paths; x is time-major (T, B, I), state a tuple of (L·D, B, H) ------------

    def run_fused(self, x, state, batch_sizes=None):
        args = (x,) if batch_sizes is None else (x, batch_sizes)
        hx = list(state) if len(state) > 1 else state[0]
        result = self.fused(*args, hx, self.flat_weights(), self.bias, self.num_layers, self.dropout,
                            self.training, self.bidirectional, *(() if batch_sizes is not None else (False,)))
        return result[0], tuple(result[1:])

    def run_explicit(self, x, state, lengths=None):
        fast = self.fast and fast_path_allowed()
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                p = self.cell_weights(layer, direction)
                index = layer * self.num_directions + direction
                initial, reverse = tuple(s[index] for s in state), direction == 1
                if fast:
                    out, last = fast_scan(FAST_KERNELS[self.cell_class](p), x, initial, lengths, reverse)
                else:
                    # (T, B, G·H): every step's input term in one matmul; unbind gives per-step
                    # views whose backward is one stack (gx[t] would scatter into a zero
                    # (T, B, G·H) per step).
                    gx = F.linear(x, p.weight_ih, p.bias_ih).unbind(0)
                    out, last = scan(lambda t, s: self.cell_class.step(p, gx[t], s), x.shape[0],
                                     initial, lengths, reverse=reverse)
                outputs.append(out)
                finals.append(last)
            x = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]  # (T, B, D·H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, tuple(torch.stack([f[k] for f in finals]) for k in range(len(state)))

    # ---- the call ------------------------------------------------------------------------

    def initial_state(self, hx, batch: int, x: torch.Tensor) -> tuple:
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return (x.new_zeros(shape),) * self.state_size
        hx = (hx,) if isinstance(hx, torch.Tensor) else tuple(hx)
        if len(hx) != self.state_size or any(h.shape != shape for h in hx):
            raise NnzooError(f"{type(self).__name__} expects an initial state of "
                             f"{self.state_size} tensor(s) of shape {shape}; got "
                             f"{[tuple(h.shape) for h in hx]}.")
        return hx

    def forward(self, input, hx=None, lengths=None):
        if isinstance(input, PackedSequence):
            return self.forward_packed(input, hx)
        if input.dim() not in (2, 3) or input.shape[-1] != self.input_size:
            raise NnzooError(f"{type(self).__name__}({self.input_size}, …) expects input of shape "
                             f"(T, B, {self.input_size}) (or (B, T, {self.input_size}) with "
                             f"batch_first, or (T, {self.input_size})); got {tuple(input.shape)}.")
        unbatched = input.dim() == 2
        if unbatched:  # (T, I), as torch.nn allows: a batch of one, whatever batch_first says
            input = input.unsqueeze(0 if self.batch_first else 1)
            hx = None if hx is None else tuple(h.unsqueeze(1) for h in self.as_tuple(hx))
        x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        steps, batch = x.shape[:2]
        state = self.initial_state(hx, batch, x)
        if lengths is not None:
            lengths = check_lengths(lengths, steps, batch)
        if self.fused is None:
            out, state = self.run_explicit(x, state, lengths)
        elif lengths is None:
            out, state = self.run_fused(x, state)
        else:
            packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
            out, state = self.run_packed(packed, state)
            out, _ = pad_packed_sequence(out, total_length=steps)  # zeros at padded steps
        out = out.transpose(0, 1) if self.batch_first else out
        if unbatched:
            out, state = out.squeeze(0 if self.batch_first else 1), tuple(s.squeeze(1) for s in state)
        return out, self.as_state(state)

    def forward_packed(self, packed: PackedSequence, hx=None):
        """A PackedSequence in, a PackedSequence out (in the input's batch order), like torch."""
        state = self.initial_state(hx, int(packed.batch_sizes[0]), packed.data)
        out, state = self.run_packed(packed, state)
        return out, self.as_state(state)

    def run_packed(self, packed: PackedSequence, state: tuple) -> tuple[PackedSequence, tuple]:
        sorted_idx, unsorted_idx = packed.sorted_indices, packed.unsorted_indices
        if self.fused is not None:  # the kernel wants the batch sorted by decreasing length
            if sorted_idx is not None:
                state = tuple(s.index_select(1, sorted_idx) for s in state)
            data, state = self.run_fused(packed.data, state, packed.batch_sizes)
            if unsorted_idx is not None:
                state = tuple(s.index_select(1, unsorted_idx) for s in state)
        else:
            x, lengths = pad_packed_sequence(packed)  # (T, B, I) in the caller's batch order
            out, state = self.run_explicit(x, state, lengths)
            if sorted_idx is not None:
                out, lengths = out.index_select(1, sorted_idx), lengths[sorted_idx.cpu()]
            data = pack_padded_sequence(out, lengths).data
        return PackedSequence(data, packed.batch_sizes, sorted_idx, unsorted_idx), state

    def as_tuple(self, hx):
        return (hx,) if isinstance(hx, torch.Tensor) else tuple(hx)

    def as_state(self, state: tuple):
        return state if self.state_size == 2 else state[0]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(_RecurrentLayer):
    """Elman RNN layer (``ElmanCell``: h_t = σ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)), a drop-in
    for ``torch.nn.RNN``. ``explicit=True`` runs the cell's equations instead of the fused kernel
    (``fast=False``: step by step, the readable reference)."""

    state_size = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, explicit: bool = False,
                 fast: bool = True):
        self.nonlinearity = check_nonlinearity(nonlinearity)
        fused = None if explicit else {"tanh": torch.rnn_tanh, "relu": torch.rnn_relu}[nonlinearity]
        super().__init__(ElmanCell, fused, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, fast=fast)

    @property
    def type_name(self) -> str:
        """The row type in ``nnzoo summary``."""
        return "RNN (ReLU)" if self.nonlinearity == "relu" else "RNN"

    def extra_repr(self) -> str:
        return super().extra_repr() + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RecurrentLayer):
    """LSTM layer, a drop-in for ``torch.nn.LSTM`` (``LSTMCell``: gates i, f, g, o).

    Variants: ``peephole=True`` (``PeepholeLSTMCell``, Gers & Schmidhuber 2000; adds
    ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}`` (H,) to torch's parameters) and
    ``coupled=True`` (``CoupledLSTMCell``, i = 1 − f; three gates f, g, o, so weight_ih_l{k} is
    (3H, ·)). Both run on the explicit path; the plain LSTM on ``torch.lstm`` unless ``explicit``.
    ``fast=False`` runs the explicit path step by step (the readable reference).
    """

    state_size = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 peephole: bool = False, coupled: bool = False, explicit: bool = False,
                 fast: bool = True):
        if peephole and coupled:
            raise NnzooError("LSTM takes peephole=True or coupled=True, not both: there is no "
                             "coupled peephole cell.")
        cell = PeepholeLSTMCell if peephole else CoupledLSTMCell if coupled else LSTMCell
        fused = torch.lstm if cell is LSTMCell and not explicit else None
        extra = ("weight_ci", "weight_cf", "weight_co") if peephole else ()
        self.peephole, self.coupled = peephole, coupled
        super().__init__(cell, fused, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, extra, fast)

    @property
    def type_name(self) -> str:
        """The row type in ``nnzoo summary``."""
        return "LSTM (peephole)" if self.peephole else "LSTM (coupled)" if self.coupled else "LSTM"

    def extra_repr(self) -> str:
        variant = ", peephole=True" if self.peephole else ", coupled=True" if self.coupled else ""
        return super().extra_repr() + variant


class GRU(_RecurrentLayer):
    """GRU layer, a drop-in for ``torch.nn.GRU`` (``GRUCell``: gates r, z, n;
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}). ``explicit=True`` runs the cell's equations
    (``fast=False``: step by step, the readable reference)."""

    state_size = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 explicit: bool = False, fast: bool = True):
        super().__init__(GRUCell, None if explicit else torch.gru, input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, fast=fast)


class Recurrence(nn.Module):
    """Run one cell (Elman, Jordan, GRU, any LSTM cell) over a sequence.

    ``forward(input, state=None, lengths=None)`` → ``(output, state)``: ``input`` (T, B, I) or
    (B, T, I) with ``batch_first``, ``output`` the first state component at every step
    (h_t, or y_t for the Jordan cell), ``state`` the cell's final state tuple. The cells of
    ``FAST_KERNELS`` run on their whole-sequence kernel unless ``fast=False``; any other cell
    (a subclass, too) steps through ``scan``.

        >>> jordan = Recurrence(JordanCell(3, 8, 2))
        >>> y, (y_last, s_last) = jordan(torch.randn(5, 4, 3))     # y: (5, 4, 2)
    """

    summary_unit = True  # one row in `nnzoo summary`: its cell's step is run, not called

    def __init__(self, cell: nn.Module, batch_first: bool = False, *, fast: bool = True):
        super().__init__()
        self.cell, self.batch_first, self.fast = cell, batch_first, fast

    def forward(self, input: torch.Tensor, state: tuple | None = None, lengths=None):
        x = input.transpose(0, 1) if self.batch_first else input   # (T, B, I)
        if lengths is not None:
            lengths = check_lengths(lengths, x.shape[0], x.shape[1])
        state = self.cell.initial_state(x[0]) if state is None else tuple(state)
        kernel = None
        if self.fast and type(self.cell) in FAST_KERNELS and fast_path_allowed():
            kernel = FAST_KERNELS[type(self.cell)](self.cell)
        if kernel is not None:
            out, state = fast_scan(kernel, x, state, lengths)
        else:
            gx = F.linear(x, self.cell.weight_ih, self.cell.bias_ih).unbind(0)  # all steps at once
            out, state = scan(lambda t, s: self.cell.step(self.cell, gx[t], s), x.shape[0], state,
                              lengths)
        return (out.transpose(0, 1) if self.batch_first else out), state


class JordanRNN(nn.Module):
    """Jordan's network (``JordanCell``: the output y_t, not the hidden layer, is fed back) over
    a sequence, with the call of ``nnzoo.layers.LSTM`` (one layer):
    ``forward(input, hx=None, lengths=None)`` → ``(output, (y_n, s_n))``, input (T, B, I) or
    (B, T, I) with ``batch_first``, output the y_t of every step (T, B, O) or (B, T, O), y_n and
    s_n (1, B, O). ``output_size`` defaults to ``hidden_size``; ``fast`` as in ``Recurrence``."""

    type_name = "Jordan RNN"
    summary_unit = True  # one row in `nnzoo summary`: its cell's step is run, not called

    def __init__(self, input_size: int, hidden_size: int, output_size: int | None = None, *,
                 batch_first: bool = False, nonlinearity: str = "tanh",
                 output_nonlinearity: str = "tanh", decay: float = 0.0, fast: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.output_size = output_size or hidden_size
        self.recurrence = Recurrence(JordanCell(input_size, hidden_size, self.output_size,
                                                nonlinearity=nonlinearity,
                                                output_nonlinearity=output_nonlinearity,
                                                decay=decay), batch_first=batch_first, fast=fast)

    def forward(self, input: torch.Tensor, hx: tuple | None = None, lengths=None):
        if input.dim() != 3 or input.shape[-1] != self.input_size:
            raise NnzooError(f"JordanRNN expects input of shape (T, B, {self.input_size}) (or "
                             f"(B, T, {self.input_size}) with batch_first); got {tuple(input.shape)}.")
        state = None if hx is None else tuple(h[0] for h in hx)
        out, (y, s) = self.recurrence(input, state, lengths)
        return out, (y.unsqueeze(0), s.unsqueeze(0))
