"""Clockwork RNN: Koutník, Greff, Gomez & Schmidhuber (2014), "A Clockwork RNN".

The H hidden units are split into g equal modules with periods T_1 < T_2 < … < T_g (default
1, 2, 4, …, 2^(g−1), the paper's exponential series). At step t only the modules with
t mod T_i = 0 are updated; the others keep their value:

    h_t^(i) = σ(W_ih^(i) x_t + b_ih^(i) + W_hh^(i) h_{t-1} + b_hh^(i))   if t mod T_i = 0
    h_t^(i) = h_{t-1}^(i)                                                  otherwise

Ordering convention: modules are ordered from fast to slow (unit block i belongs to module i,
periods increasing), and module i reads only modules j ≥ i — itself and the slower ones — so
W_hh is block-upper-triangular: slow modules never read fast ones. We implement it with a fixed
0/1 mask on a full (H, H) ``weight_hh`` (the masked entries start at zero and get no gradient).
Steps are counted from t = 0, so the first step updates every module (the paper leaves the origin
open). Deviation: all modules are computed at every step and the inactive ones discarded, rather
than skipping their rows — simpler, and on small H no slower. The output layer y = f(W_O h) of
the paper is left to the model.

    >>> cw = ClockworkRNN(3, 16, periods=(1, 2, 4, 8))       # four modules of 4 units
    >>> out, h_n = cw(torch.randn(20, 2, 3))                   # (T, B, H), (1, B, H)
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers._fast_elman import elman_kernel
from nnzoo.layers._fast_rnn import fast_path_allowed, fast_scan
from nnzoo.layers.cells import NONLINEARITIES, add_gate_parameters, check_nonlinearity, reset_uniform, zeros
from nnzoo.layers.recurrent import check_lengths, scan


def module_periods(num_modules: int, periods) -> tuple[int, ...]:
    periods = tuple(2 ** i for i in range(num_modules)) if periods is None else tuple(periods)
    if not periods or any(int(p) != p or p < 1 for p in periods) or list(periods) != sorted(periods):
        raise NnzooError(f"Clockwork periods must be positive integers in increasing order (fast "
                         f"modules first), e.g. (1, 2, 4, 8); got {periods}.")
    return tuple(int(p) for p in periods)


class ClockworkCell(nn.Module):
    """One step of the Clockwork RNN at time t (see the module docstring for the equations).

    Parameters as ``ElmanCell`` (weight_ih (H, I), weight_hh (H, H), bias_ih, bias_hh); buffers
    ``mask`` (H, H), block-upper-triangular, and ``unit_periods`` (H,), each unit's T_i.
    """

    type_name = "clockwork cell"

    def __init__(self, input_size: int, hidden_size: int, num_modules: int = 4, periods=None,
                 bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__()
        self.periods = module_periods(num_modules, periods)
        g = len(self.periods)
        if hidden_size % g:
            raise NnzooError(f"Clockwork hidden_size {hidden_size} must split into {g} equal "
                             f"modules (one per period {self.periods}).")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.nonlinearity = check_nonlinearity(nonlinearity)
        add_gate_parameters(self, input_size, hidden_size, 1, bias)
        module = torch.arange(hidden_size) // (hidden_size // g)            # module of each unit
        self.register_buffer("mask", (module[None, :] >= module[:, None]).float(), persistent=False)
        self.register_buffer("unit_periods", torch.tensor(self.periods)[module], persistent=False)
        reset_uniform(self, hidden_size)
        with torch.no_grad():
            self.weight_hh.mul_(self.mask)

    def active(self, t) -> torch.Tensor:
        """Which units update at step t: (H,) for an int t, (T, H) for a column of steps (T, 1)."""
        return t % self.unit_periods == 0

    def recurrent_weights(self) -> SimpleNamespace:
        """The step's parameters, with W_hh masked to block-upper-triangular."""
        return SimpleNamespace(weight_hh=self.weight_hh * self.mask, bias_hh=self.bias_hh,
                               nonlinearity=self.nonlinearity)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return (zeros(x, self.hidden_size),)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None, t: int = 0) -> torch.Tensor:
        state = self.initial_state(x) if h is None else (h,)
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        return self.step(self.recurrent_weights(), gx, state, self.active(t))[0]

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple, active: torch.Tensor) -> tuple:
        (h,) = state
        h_new = NONLINEARITIES[p.nonlinearity](gx + F.linear(h, p.weight_hh, p.bias_hh))  # (B, H)
        return (torch.where(active, h_new, h),)            # modules off the clock keep h_{t-1}

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, periods={self.periods}"


class ClockworkRNN(nn.Module):
    """The Clockwork RNN over a sequence, with the call of ``nnzoo.layers.RNN`` (one layer):
    ``forward(input, hx=None, lengths=None)`` → ``(output, h_n)``, input (T, B, I) or (B, T, I)
    with ``batch_first``, output (T, B, H) or (B, T, H), h_n and hx (1, B, H). It runs on the
    Elman whole-sequence kernel (``_fast_elman.py``) with the clock as a mask; ``fast=False``
    steps through ``scan`` and the cell's ``step``, the readable reference."""

    type_name = "clockwork RNN"
    summary_unit = True  # one row in `nnzoo summary`: its cell's step is run, not called

    def __init__(self, input_size: int, hidden_size: int, num_modules: int = 4, periods=None,
                 bias: bool = True, nonlinearity: str = "tanh", batch_first: bool = False, *,
                 fast: bool = True):
        super().__init__()
        self.cell = ClockworkCell(input_size, hidden_size, num_modules, periods, bias, nonlinearity)
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        self.fast = fast

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None, lengths=None):
        if input.dim() != 3 or input.shape[-1] != self.input_size:
            raise NnzooError(f"ClockworkRNN expects input of shape (T, B, {self.input_size}) "
                             f"(or (B, T, {self.input_size}) with batch_first); got {tuple(input.shape)}.")
        x = input.transpose(0, 1) if self.batch_first else input       # (T, B, I)
        steps, batch = x.shape[:2]
        if lengths is not None:
            lengths = check_lengths(lengths, steps, batch)
        state = self.cell.initial_state(x[0]) if hx is None else (hx[0],)
        p = self.cell.recurrent_weights()                                  # mask applied once
        active = self.cell.active(torch.arange(steps, device=x.device)[:, None])   # (T, H)
        if self.fast and fast_path_allowed():
            p.weight_ih, p.bias_ih = self.cell.weight_ih, self.cell.bias_ih
            out, (h,) = fast_scan(elman_kernel(p, active), x, state, lengths)
        else:
            gx = F.linear(x, self.cell.weight_ih, self.cell.bias_ih).unbind(0)  # T × (B, H), one matmul
            out, (h,) = scan(lambda t, s: self.cell.step(p, gx[t], s, active[t]), steps, state, lengths)
        return (out.transpose(0, 1) if self.batch_first else out), h.unsqueeze(0)
