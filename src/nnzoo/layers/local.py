"""Locally-connected layers: convolution without weight sharing.

A convolution uses one kernel ``w[o]`` at every output position; a locally-connected layer has
its own kernel ``w[i, j, o]`` (and its own bias) at each output position ``(i, j)``:

    y[n, o, i, j] = b[o, i, j] + Σ_{c, u, v} w[i, j, o, c, u, v] · x[n, c, s·i + u − p, s·j + v − p]

It was used where the statistics differ across the image, e.g. aligned faces (DeepFace,
Taigman et al. 2014). It has ``H_out · W_out`` times the parameters of the convolution with the
same kernel, and the same cost per position.

The layer is vectorised: ``F.unfold`` cuts every receptive field into a column (N, C·k·k, L) and
one ``einsum`` applies each position's own matrix, with no Python loop over positions. A layer
whose positions all hold the same kernel equals ``nn.Conv2d`` (tested).

    >>> layer = LocallyConnected2d(3, 8, input_size=(12, 12), kernel_size=3)
    >>> layer(torch.randn(2, 3, 12, 12)).shape
    torch.Size([2, 8, 10, 10])
    >>> layer.weight.shape   # (H_out, W_out, out, in, k, k)
    torch.Size([10, 10, 8, 3, 3, 3])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(u) for u in v)


def output_length(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def _init_like_conv(weight: torch.Tensor, bias: torch.Tensor | None, fan_in: int) -> None:
    # The bound nn.Conv2d's default initialisation gives: U(−1/√fan_in, 1/√fan_in).
    bound = 1.0 / math.sqrt(fan_in)
    nn.init.uniform_(weight, -bound, bound)
    if bias is not None:
        nn.init.uniform_(bias, -bound, bound)


class LocallyConnected2d(nn.Module):
    """Unshared 2-D convolution: a kernel and a bias per output position and channel.

    Args:
        in_channels, out_channels: maps in and out.
        input_size: (H, W) of the input; the layer's weights depend on it.
        kernel_size, stride, padding: as for ``nn.Conv2d`` (zero padding).
        bias: a bias per output channel *and* position, shape (out, H_out, W_out).
    """

    type_name = "locally connected"

    def __init__(self, in_channels: int, out_channels: int, input_size, kernel_size,
                 stride=1, padding=0, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size = _pair(input_size)
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.output_size = tuple(output_length(n, k, s, p) for n, k, s, p in zip(
            self.input_size, self.kernel_size, self.stride, self.padding))
        if min(self.output_size) < 1:
            raise NnzooError(f"LocallyConnected2d: a {self.kernel_size} kernel does not fit an "
                             f"input of size {self.input_size} with padding {self.padding}.")
        h, w = self.output_size
        self.weight = nn.Parameter(torch.empty(h, w, out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels, h, w)) if bias else None
        _init_like_conv(self.weight, self.bias, in_channels * self.kernel_size[0] * self.kernel_size[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            raise NnzooError(f"LocallyConnected2d was built for inputs of size {self.input_size}, "
                             f"got {tuple(x.shape[-2:])}; its weights are tied to positions.")
        h, w = self.output_size
        cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (N, C·k·k, L)
        weight = self.weight.reshape(h * w, self.out_channels, -1)                      # (L, O, C·k·k)
        y = torch.einsum("nkl,lok->nol", cols, weight)                                  # (N, O, L)
        y = y.reshape(x.shape[0], self.out_channels, h, w)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}")


class LocallyConnected1d(nn.Module):
    """Unshared 1-D convolution over (N, C, L): a kernel and a bias per output step and channel.

        y[n, o, t] = b[o, t] + Σ_{c, u} w[t, o, c, u] · x[n, c, s·t + u − p]
    """

    type_name = "locally connected 1-D"

    def __init__(self, in_channels: int, out_channels: int, input_length: int, kernel_size: int,
                 stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_length, self.kernel_size = int(input_length), int(kernel_size)
        self.stride, self.padding = int(stride), int(padding)
        self.output_length = output_length(self.input_length, self.kernel_size, self.stride,
                                           self.padding)
        if self.output_length < 1:
            raise NnzooError(f"LocallyConnected1d: a kernel of {kernel_size} does not fit an "
                             f"input of length {input_length} with padding {padding}.")
        self.weight = nn.Parameter(torch.empty(self.output_length, out_channels, in_channels,
                                               self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels, self.output_length)) if bias else None
        _init_like_conv(self.weight, self.bias, in_channels * self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.input_length:
            raise NnzooError(f"LocallyConnected1d was built for inputs of length "
                             f"{self.input_length}, got {x.shape[-1]}.")
        x = F.pad(x, (self.padding, self.padding))
        windows = x.unfold(2, self.kernel_size, self.stride)        # (N, C, L_out, k)
        y = torch.einsum("nctk,tock->not", windows, self.weight)   # (N, O, L_out)
        return y if self.bias is None else y + self.bias
