"""Recurrent cells — one time step each — for the Elman, Jordan and GRU networks.

The LSTM family (plain, peephole, coupled input-forget) is in ``cells_lstm.py``; the Clockwork
RNN in ``clockwork.py``; ConvLSTM in ``convlstm.py``. All cells share one layout, PyTorch's:

- parameters ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H), ``bias_ih`` and ``bias_hh`` (G·H),
  the G gates stacked in PyTorch's order, initialised like PyTorch (uniform ±1/√H);
- ``cell.initial_state(x)`` is the zero state as a tuple for a batch x (B, I);
- ``cell(x, state)`` takes one step: ``x`` (B, I) and the state → the new state (``None`` means
  zeros). The state is ``h`` for Elman and GRU, a tuple for the others, as in ``torch.nn``.
- ``Cell.step(p, gx, state)`` is the same step written as the equations, with the input term
  ``gx = W_ih x_t + b_ih`` computed beforehand: the layers in ``recurrent.py`` compute it for every
  step of a sequence in one matrix product and then call ``step`` once per step. ``p`` is anything
  that holds the cell's recurrent parameters by these names (the cell itself, or a layer's view of
  its ``weight_hh_l0``…); ``state`` is always a tuple there.

    >>> cell = GRUCell(3, 4)
    >>> h = cell(torch.randn(2, 3))               # (B, H) from a zero state
    >>> h = cell(torch.randn(2, 3), h)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def reset_uniform(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's RNN initialisation: every parameter uniform in ±1/√H."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for weight in module.parameters():
        nn.init.uniform_(weight, -bound, bound)


def add_gate_parameters(module: nn.Module, input_size: int, hidden_size: int, gates: int,
                        bias: bool, suffix: str = "") -> None:
    """Register weight_ih (G·H, I), weight_hh (G·H, H) and, with ``bias``, bias_ih, bias_hh (G·H)."""
    module.register_parameter(f"weight_ih{suffix}", nn.Parameter(torch.empty(gates * hidden_size, input_size)))
    module.register_parameter(f"weight_hh{suffix}", nn.Parameter(torch.empty(gates * hidden_size, hidden_size)))
    module.register_parameter(f"bias_ih{suffix}", nn.Parameter(torch.empty(gates * hidden_size)) if bias else None)
    module.register_parameter(f"bias_hh{suffix}", nn.Parameter(torch.empty(gates * hidden_size)) if bias else None)


def check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in NONLINEARITIES:
        raise NnzooError(f"Unknown RNN nonlinearity {nonlinearity!r}; expected 'tanh' or 'relu' "
                         f"(the two that torch.nn.RNN offers).")
    return nonlinearity


def zeros(x: torch.Tensor, size: int) -> torch.Tensor:
    """A zero state (B, size) on x's device and dtype."""
    return x.new_zeros(x.shape[0], size)


class ElmanCell(nn.Module):
    """Elman (1990), "Finding structure in time": the simple recurrent network.

        h_t = σ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        σ = tanh or relu

    The hidden layer reads its own previous value (Elman's context units hold a copy of it).
    Same parameters as ``torch.nn.RNNCell``.
    """

    type_name = "Elman cell"

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.nonlinearity = check_nonlinearity(nonlinearity)
        add_gate_parameters(self, input_size, hidden_size, self.gates, bias)
        reset_uniform(self, hidden_size)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return (zeros(x, self.hidden_size),)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        state = self.initial_state(x) if h is None else (h,)
        return self.step(self, F.linear(x, self.weight_ih, self.bias_ih), state)[0]

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        (h,) = state
        h = NONLINEARITIES[p.nonlinearity](gx + F.linear(h, p.weight_hh, p.bias_hh))  # (B, H)
        return (h,)


class JordanCell(nn.Module):
    """Jordan (1986), "Serial order: a parallel distributed processing approach".

    The network's *output* is fed back, through state units s, to the hidden layer:

        s_t = μ s_{t-1} + y_{t-1}                  (state units; μ = ``decay``, default 0)
        h_t = σ(W_ih x_t + b_ih + W_yh s_t)
        y_t = σ_y(W_hy h_t + b_hy)

    With μ = 0 (the default) the hidden layer reads y_{t-1} directly; Jordan's state units also
    decay into themselves, which ``decay`` = μ > 0 restores. The state is ``(y, s)``, each
    (B, O). σ is tanh or relu, σ_y any name of ``nnzoo.layers.activations`` (default tanh, so the
    fed-back output stays bounded). Jordan trained the output towards targets at every step;
    here ``y_t`` is the layer's output and any head or loss comes after it.
    """

    type_name = "Jordan cell"

    def __init__(self, input_size: int, hidden_size: int, output_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", output_nonlinearity: str = "tanh", decay: float = 0.0):
        super().__init__()
        from nnzoo.layers.activations import get_activation

        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.nonlinearity = check_nonlinearity(nonlinearity)
        self.output_activation = get_activation(output_nonlinearity).fn
        self.output_nonlinearity, self.decay = output_nonlinearity, float(decay)
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, output_size))
        self.weight_hy = nn.Parameter(torch.empty(output_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.bias_hy = nn.Parameter(torch.empty(output_size)) if bias else None
        reset_uniform(self, hidden_size)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return zeros(x, self.output_size), zeros(x, self.output_size)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        state = self.initial_state(x) if state is None else state
        return self.step(self, F.linear(x, self.weight_ih, self.bias_ih), state)

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        y, s = state
        s = p.decay * s + y                                                   # s_t   (B, O)
        h = NONLINEARITIES[p.nonlinearity](gx + F.linear(s, p.weight_yh))     # h_t   (B, H)
        y = p.output_activation(F.linear(h, p.weight_hy, p.bias_hy))          # y_t   (B, O)
        return y, s

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"output_nonlinearity={self.output_nonlinearity!r}, decay={self.decay}")


class GRUCell(nn.Module):
    """Gated recurrent unit, Cho et al. (2014), "Learning phrase representations using RNN
    encoder-decoder for statistical machine translation". Gates r (reset), z (update), in
    PyTorch's order r, z, n:

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    This is PyTorch's convention (and the paper's): z close to 1 keeps the old state. Some
    lectures write h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ n_t, i.e. z ↔ 1 − z; the two are the same
    family with the update gate's sign flipped. Deviation from the paper, as in PyTorch and
    cuDNN: the reset gate multiplies W_hn h_{t-1} + b_hn, where the paper has W_hn (r_t ⊙ h_{t-1}).
    """

    type_name = "GRU cell"

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        add_gate_parameters(self, input_size, hidden_size, self.gates, bias)
        reset_uniform(self, hidden_size)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return (zeros(x, self.hidden_size),)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        state = self.initial_state(x) if h is None else (h,)
        return self.step(self, F.linear(x, self.weight_ih, self.bias_ih), state)[0]

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        (h,) = state
        x_r, x_z, x_n = gx.chunk(3, dim=1)                                    # (B, H) each
        h_r, h_z, h_n = F.linear(h, p.weight_hh, p.bias_hh).chunk(3, dim=1)   # one matmul, 3 gates
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * h
        return (h,)
