"""LSTM cells: the LSTM with forget gate, the peephole LSTM and the coupled input-forget LSTM.

Same layout as ``cells.py`` (PyTorch's parameter names, ``cell(x, state)`` and
``Cell.step(p, gx, state)`` with ``gx = W_ih x_t + b_ih`` precomputed). The state is ``(h, c)``.

    >>> cell = PeepholeLSTMCell(3, 4)
    >>> h, c = cell(torch.randn(2, 3))           # (B, H) each, from a zero state
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.layers.cells import add_gate_parameters, reset_uniform, zeros


class LSTMCell(nn.Module):
    """Long short-term memory: Hochreiter & Schmidhuber (1997), with the forget gate of
    Gers, Schmidhuber & Cummins (2000). Gates in PyTorch's order i, f, g, o:

        i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)       input gate
        f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)       forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)    candidate cell c̃_t
        o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)       output gate
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    Same parameters as ``torch.nn.LSTMCell``: weight_ih (4H, I), weight_hh (4H, H).
    """

    type_name = "LSTM cell"

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        add_gate_parameters(self, input_size, hidden_size, self.gates, bias)
        reset_uniform(self, hidden_size)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return zeros(x, self.hidden_size), zeros(x, self.hidden_size)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        state = self.initial_state(x) if state is None else state
        return self.step(self, F.linear(x, self.weight_ih, self.bias_ih), state)

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        h, c = state
        gates = gx + F.linear(h, p.weight_hh, p.bias_hh)     # (B, 4H): all gates in one matmul
        i, f, _, o = torch.sigmoid(gates).chunk(4, dim=1)    # one call for the three σ gates
        g = torch.tanh(gates.chunk(4, dim=1)[2])
        c = torch.addcmul(f * c, i, g)                       # f ⊙ c + i ⊙ g
        h = o * torch.tanh(c)
        return h, c


class PeepholeLSTMCell(nn.Module):
    """LSTM with peephole connections: Gers & Schmidhuber (2000), "Recurrent nets that time and
    count". The gates also see the cell — i and f the previous cell c_{t-1}, o the new cell c_t —
    through diagonal weights ``weight_ci``, ``weight_cf``, ``weight_co`` (H each):

        i_t = σ(W_ii x_t + W_hi h_{t-1} + w_ci ⊙ c_{t-1} + b_i)
        f_t = σ(W_if x_t + W_hf h_{t-1} + w_cf ⊙ c_{t-1} + b_f)
        g_t = tanh(W_ig x_t + W_hg h_{t-1} + b_g)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        o_t = σ(W_io x_t + W_ho h_{t-1} + w_co ⊙ c_t + b_o)
        h_t = o_t ⊙ tanh(c_t)

    The other parameters are the plain LSTM's (gate order i, f, g, o), so with zero peephole
    weights this is exactly ``LSTMCell``.
    """

    type_name = "peephole LSTM cell"

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        add_gate_parameters(self, input_size, hidden_size, self.gates, bias)
        self.weight_ci = nn.Parameter(torch.empty(hidden_size))
        self.weight_cf = nn.Parameter(torch.empty(hidden_size))
        self.weight_co = nn.Parameter(torch.empty(hidden_size))
        reset_uniform(self, hidden_size)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return zeros(x, self.hidden_size), zeros(x, self.hidden_size)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        state = self.initial_state(x) if state is None else state
        return self.step(self, F.linear(x, self.weight_ih, self.bias_ih), state)

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        h, c = state
        gates = gx + F.linear(h, p.weight_hh, p.bias_hh)     # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        # addcmul(a, w, c) = a + w ⊙ c in one operation: a step is a chain of small ops.
        i = torch.sigmoid(torch.addcmul(i, p.weight_ci, c))  # peeks at c_{t-1}
        f = torch.sigmoid(torch.addcmul(f, p.weight_cf, c))
        c = torch.addcmul(f * c, i, torch.tanh(g))
        o = torch.sigmoid(torch.addcmul(o, p.weight_co, c))  # peeks at c_t
        h = o * torch.tanh(c)
        return h, c


class CoupledLSTMCell(nn.Module):
    """LSTM with coupled input and forget gates (CIFG; Greff et al. 2017, "LSTM: a search space
    odyssey", variant of Gers & Schmidhuber 2000): the cell forgets exactly as much as it writes,
    so there is no input gate — i_t = 1 − f_t:

        f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    Layout: G = 3 gates stacked in the order f, g, o (PyTorch's LSTM order without i), so
    weight_ih is (3H, I), weight_hh (3H, H), the biases (3H); a state dict therefore does not load
    into a ``torch.nn.LSTM``. A quarter fewer parameters than the LSTM.
    """

    type_name = "coupled LSTM cell"

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        add_gate_parameters(self, input_size, hidden_size, self.gates, bias)
        reset_uniform(self, hidden_size)

    def initial_state(self, x: torch.Tensor) -> tuple:
        return zeros(x, self.hidden_size), zeros(x, self.hidden_size)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        state = self.initial_state(x) if state is None else state
        return self.step(self, F.linear(x, self.weight_ih, self.bias_ih), state)

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        h, c = state
        gates = gx + F.linear(h, p.weight_hh, p.bias_hh)     # (B, 3H)
        f, g, o = gates.chunk(3, dim=1)
        f, g, o = torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + (1 - f) * g
        h = o * torch.tanh(c)
        return h, c
