"""ConvLSTM: Shi, Chen, Wang, Yeung, Wong & Woo (2015), "Convolutional LSTM network: a machine
learning approach for precipitation nowcasting".

Inputs X_t, hidden states H_t and cells C_t are images (B, C, H, W); the LSTM's matrix products
become convolutions (*), 'same'-padded so every state keeps the input's height and width. Gates
in the LSTM's order i, f, g, o; the peepholes W_c· ⊙ C are Hadamard products with weights the
size of the state (C_h, H, W), as in the paper's equations (3):

    i_t = σ(W_xi * X_t + W_hi * H_{t-1} + W_ci ⊙ C_{t-1} + b_i)
    f_t = σ(W_xf * X_t + W_hf * H_{t-1} + W_cf ⊙ C_{t-1} + b_f)
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ tanh(W_xc * X_t + W_hc * H_{t-1} + b_c)
    o_t = σ(W_xo * X_t + W_ho * H_{t-1} + W_co ⊙ C_t + b_o)
    H_t = o_t ⊙ tanh(C_t)

The peepholes are optional (``peephole=True``; they need ``spatial_size=(H, W)`` and start at
zero); without them this is the LSTM of ``cells_lstm.py`` with convolutions. Parameters:
``weight_ih`` (4C_h, C_in, k, k) holds W_x·, ``weight_hh`` (4C_h, C_h, k, k) holds W_h·, ``bias``
(4C_h,) the b· — one bias per gate, as in the paper.

    >>> layer = ConvLSTM(1, 8, kernel_size=3, num_layers=2)
    >>> out, (h, c) = layer(torch.randn(10, 4, 1, 16, 16))      # (T, B, C, H, W)
    >>> out.shape, h.shape                                       # last layer; (L, B, C_h, H, W)
    (torch.Size([10, 4, 8, 16, 16]), torch.Size([2, 4, 8, 16, 16]))
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers.recurrent import check_lengths, scan


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step: ``cell(x, (h, c))`` with x (B, C_in, H, W) → (h, c), each (B, C_h, H, W).

    ``step(p, gx, state)`` takes ``gx = W_x * x + b`` computed beforehand (``input_projection``),
    as the layer does for all steps in one convolution.
    """

    type_name = "ConvLSTM cell"

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3,
                 bias: bool = True, peephole: bool = False, spatial_size=None):
        super().__init__()
        if kernel_size % 2 == 0:
            raise NnzooError(f"ConvLSTM kernel_size must be odd so that 'same' padding keeps the "
                             f"state's size; got {kernel_size}.")
        if peephole and spatial_size is None:
            raise NnzooError("ConvLSTM with peephole=True needs spatial_size=(H, W): the paper's "
                             "peephole weights W_c· are the size of the state.")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.kernel_size, self.padding, self.peephole = kernel_size, kernel_size // 2, peephole
        k, ch = kernel_size, hidden_channels
        self.weight_ih = nn.Parameter(torch.empty(4 * ch, in_channels, k, k))
        self.weight_hh = nn.Parameter(torch.empty(4 * ch, ch, k, k))
        self.bias = nn.Parameter(torch.empty(4 * ch)) if bias else None
        # Conv2d's default bound 1/√fan_in, the fan-in of one convolution over [X_t, H_{t-1}].
        bound = 1.0 / math.sqrt((in_channels + ch) * k * k)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        if peephole:
            self.weight_ci = nn.Parameter(torch.zeros(ch, *spatial_size))
            self.weight_cf = nn.Parameter(torch.zeros(ch, *spatial_size))
            self.weight_co = nn.Parameter(torch.zeros(ch, *spatial_size))

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """W_x * x + b for a batch of images x (N, C_in, H, W) → (N, 4C_h, H, W)."""
        return F.conv2d(x, self.weight_ih, self.bias, padding=self.padding)

    def initial_state(self, x: torch.Tensor) -> tuple:
        h = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])
        return h, h

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        state = self.initial_state(x) if state is None else state
        return self.step(self, self.input_projection(x), state)

    @staticmethod
    def step(p, gx: torch.Tensor, state: tuple) -> tuple:
        h, c = state
        gates = gx + F.conv2d(h, p.weight_hh, padding=p.padding)      # (B, 4C_h, H, W)
        i, f, g, o = gates.chunk(4, dim=1)
        if p.peephole:
            i, f = i + p.weight_ci * c, f + p.weight_cf * c           # peek at C_{t-1}
        i, f = torch.sigmoid(i), torch.sigmoid(f)
        c = f * c + i * torch.tanh(g)
        o = torch.sigmoid(o + p.weight_co * c if p.peephole else o)   # peeks at C_t
        h = o * torch.tanh(c)
        return h, c

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}"
                + (", peephole=True" if self.peephole else ""))


class ConvLSTM(nn.Module):
    """A stack of ConvLSTM cells over a sequence of images.

    ``forward(input, hx=None, lengths=None)`` → ``(output, (h_n, c_n))``: input (T, B, C, H, W)
    (or (B, T, …) with ``batch_first``), output the last layer's H_t at every step, h_n and c_n
    (L, B, C_h, H, W) — the same shapes as ``nnzoo.layers.LSTM`` with images for vectors.
    ``hidden_channels`` is one number or one per layer; when the layers' widths differ, h_n and
    c_n are tuples of L tensors (B, C_h^(k), H, W) instead (``h_n[k]`` works either way).
    """

    def __init__(self, in_channels: int, hidden_channels, kernel_size: int = 3, num_layers: int = 1,
                 bias: bool = True, peephole: bool = False, spatial_size=None, batch_first: bool = False):
        super().__init__()
        widths = [hidden_channels] * num_layers if isinstance(hidden_channels, int) else list(hidden_channels)
        if len(widths) != num_layers:
            raise NnzooError(f"ConvLSTM got {len(widths)} hidden_channels for {num_layers} layers.")
        self.cells = nn.ModuleList(
            ConvLSTMCell(c_in, c_out, kernel_size, bias, peephole, spatial_size)
            for c_in, c_out in zip([in_channels] + widths[:-1], widths))
        self.in_channels, self.batch_first = in_channels, batch_first

    def forward(self, input: torch.Tensor, hx: tuple | None = None, lengths=None):
        if input.dim() != 5 or input.shape[2] != self.in_channels:
            raise NnzooError(f"ConvLSTM expects input of shape (T, B, {self.in_channels}, H, W) "
                             f"(or (B, T, …) with batch_first); got {tuple(input.shape)}.")
        x = input.transpose(0, 1) if self.batch_first else input            # (T, B, C, H, W)
        steps, batch = x.shape[:2]
        if lengths is not None:
            lengths = check_lengths(lengths, steps, batch)
        finals = []
        for k, cell in enumerate(self.cells):
            gx = cell.input_projection(x.flatten(0, 1)).unflatten(0, (steps, batch)).unbind(0)  # one conv
            state = cell.initial_state(gx[0]) if hx is None else (hx[0][k], hx[1][k])
            x, last = scan(lambda t, s: cell.step(cell, gx[t], s), steps, state, lengths)
            finals.append(last)
        h_n, c_n = zip(*finals)                       # per layer; stacked when all widths agree
        if len({h.shape for h in h_n}) == 1:
            h_n, c_n = torch.stack(h_n), torch.stack(c_n)
        return (x.transpose(0, 1) if self.batch_first else x), (h_n, c_n)
