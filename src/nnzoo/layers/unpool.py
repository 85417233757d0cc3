"""The layers that go back up: max-pooling with switches, max-unpooling, transposed convolution.

Zeiler & Fergus, "Visualizing and understanding convolutional networks", ECCV 2014 (the
"deconvnet"), and Zeiler, Taylor & Fergus, "Adaptive deconvolutional networks", ICCV 2011:

- Max-pooling with **switches** records where each window's maximum was; **unpooling** puts
  each pooled value back at its switch and zeros elsewhere (an approximate inverse):

      y[n, c, i, j] = max_{(u, v) ∈ window(i, j)} x[n, c, u, v],  switch[n, c, i, j] = argmax
      unpool(y)[n, c, u, v] = y[n, c, i, j] if (u, v) = switch[n, c, i, j] else 0

  Switches are flat indices ``u·W + v`` into each input map (PyTorch's convention).

- **Transposed convolution** (the decoder's "deconvolution") is the adjoint of convolution:
  each input pixel scatters a copy of the kernel, scaled by its value, into the output, at
  ``stride`` steps; ``padding`` crops the border afterwards:

      out[n, o, s·i + u, s·j + v] += Σ_c x[n, c, i, j] · w[c, o, u, v]      (then crop p)

  so the output size is ``(n − 1)·s − 2p + k``. ``ConvTranspose2d`` is PyTorch's module (the
  fast path); :func:`conv_transpose2d_scatter` is the equation above, kept for teaching and
  tested equal to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ConvTranspose2d = nn.ConvTranspose2d


def conv_transpose2d_scatter(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                             stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Transposed convolution written as the scatter above; ``weight`` is (C_in, C_out, k, k).

    Loops over the input positions (vectorised over batch and channels): slow, but it is the
    definition. Use ``ConvTranspose2d`` to train.
    """
    n, _, h, w = x.shape
    c_out, k = weight.shape[1], weight.shape[2]
    full = x.new_zeros(n, c_out, (h - 1) * stride + k, (w - 1) * stride + k)
    for i in range(h):
        for j in range(w):
            patch = torch.einsum("nc,coUV->noUV", x[:, :, i, j], weight)  # (N, C_out, k, k)
            full[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += patch
    out = full[:, :, padding:full.shape[2] - padding, padding:full.shape[3] - padding]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def max_pool2d_with_switches(x: torch.Tensor, kernel_size, stride=None, padding=0):
    """Max-pool ``x`` (N, C, H, W); returns ``(pooled, switches)``."""
    return F.max_pool2d(x, kernel_size, stride, padding, return_indices=True)


def max_unpool2d(y: torch.Tensor, switches: torch.Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> torch.Tensor:
    """Put each pooled value back where its switch says, zeros elsewhere.

    ``output_size`` (H, W) settles the size when pooling floored it (e.g. 5 → 2 → 4 or 5).
    """
    return F.max_unpool2d(y, switches, kernel_size, stride, padding,
                          output_size=None if output_size is None else tuple(output_size)[-2:])


class SwitchMaxPool2d(nn.Module):
    """Max-pooling that also returns its switches: ``y, switches = pool(x)``."""

    type_name = "max pooling (switches)"

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: torch.Tensor):
        return max_pool2d_with_switches(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(nn.Module):
    """Unpooling with switches: ``x_approx = unpool(y, switches, output_size=x.shape)``."""

    type_name = "max unpooling"

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, y: torch.Tensor, switches: torch.Tensor, output_size=None) -> torch.Tensor:
        return max_unpool2d(y, switches, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
