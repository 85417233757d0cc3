"""Pooling by max, average, sum and min, in 1-D and 2-D, as functions and as modules.

A pooling layer slides a ``k``-wide window with stride ``s`` over each map separately and
replaces the window by one number (output size ``⌊(n + 2p − k) / s⌋ + 1``, as for convolution):

    max      y = max_{window} x          (AlexNet, VGG, ResNet's stem)
    average  y = (1/k²) Σ_{window} x      (LeNet-5's lecture table, global pooling)
    sum      y = Σ_{window} x             (LeNet-5 1998's S2/S4, before the trainable coefficient)
    min      y = min_{window} x           (= −max(−x))

Padding counts as zero for average and sum (``count_include_pad``), and as "no value" for max
and min (PyTorch pads max-pooling with −∞). Each is PyTorch's fused kernel, or one line on top
of it: sum is the average times the window size, min is max of the negation. The tests check
every kind against explicit loops over windows.

``AvgPool2d`` is ``torch.nn.AvgPool2d`` with one faster case: 2x2 windows with stride 2 over a
channels_last map on the CPU (LeNet-5's S2 and S4) are summed as two strided additions, since
ATen's kernel vectorises over channels and runs scalar code for six maps.

    >>> x = torch.arange(16.0).view(1, 1, 4, 4)
    >>> pool2d(x, "sum", 2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    >>> MinPool2d(2)(x)
    tensor([[[[ 0.,  2.],
              [ 8., 10.]]]])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError

KINDS = ("max", "avg", "sum", "min")


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


# ---- 2-D functions ------------------------------------------------------------------------

def sum_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """Σ over each window (zero padding); an average pool with the divisor set to 1."""
    kh, kw = _pair(kernel_size)
    return F.avg_pool2d(x, (kh, kw), stride, padding, divisor_override=1)


def min_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """min over each window, as −maxpool(−x) (padding never wins)."""
    return -F.max_pool2d(-x, kernel_size, stride, padding)


def pool2d(x: torch.Tensor, kind: str, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """Pool ``x`` (N, C, H, W) by ``kind`` in max | avg | sum | min; stride defaults to the kernel."""
    if kind == "max":
        return F.max_pool2d(x, kernel_size, stride, padding)
    if kind == "avg":
        return F.avg_pool2d(x, kernel_size, stride, padding)
    if kind == "sum":
        return sum_pool2d(x, kernel_size, stride, padding)
    if kind == "min":
        return min_pool2d(x, kernel_size, stride, padding)
    raise NnzooError(f"Unknown pooling kind {kind!r}; expected one of {', '.join(KINDS)}.")


# ---- 1-D functions ------------------------------------------------------------------------

def sum_pool1d(x: torch.Tensor, kernel_size: int, stride=None, padding=0) -> torch.Tensor:
    """Σ over each window of ``x`` (N, C, L), zero padding counted."""
    return F.avg_pool1d(x, kernel_size, stride, padding, count_include_pad=True) * kernel_size


def min_pool1d(x: torch.Tensor, kernel_size: int, stride=None, padding=0) -> torch.Tensor:
    return -F.max_pool1d(-x, kernel_size, stride, padding)


def pool1d(x: torch.Tensor, kind: str, kernel_size: int, stride=None, padding=0) -> torch.Tensor:
    """Pool ``x`` (N, C, L) by ``kind`` in max | avg | sum | min."""
    if kind == "max":
        return F.max_pool1d(x, kernel_size, stride, padding)
    if kind == "avg":
        return F.avg_pool1d(x, kernel_size, stride, padding)
    if kind == "sum":
        return sum_pool1d(x, kernel_size, stride, padding)
    if kind == "min":
        return min_pool1d(x, kernel_size, stride, padding)
    raise NnzooError(f"Unknown pooling kind {kind!r}; expected one of {', '.join(KINDS)}.")


# ---- modules ------------------------------------------------------------------------------
# Max and average are torch's own modules (MaxPool2d, AvgPool2d, ...), re-exported below so the
# four kinds are found in one place; sum and min are written here with the same attributes
# (kernel_size, stride, padding) so that `nnzoo summary` shows their kernels.

MaxPool1d, MaxPool2d, AvgPool1d = nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d


class _AvgPool2x2ChannelsLast(torch.autograd.Function):
    """y = ¼ (x[2i, 2j] + x[2i, 2j+1] + x[2i+1, 2j] + x[2i+1, 2j+1]) for a channels_last x with
    even height and width: the (N, H, W, C) memory summed over column pairs, then row pairs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # for its shape and layout (a tanh before it saves it anyway)
        n, c, h, w = x.shape
        columns = x.permute(0, 2, 3, 1).reshape(n, h, w // 2, 2, c)
        pairs = torch.add(columns[:, :, :, 0], columns[:, :, :, 1]).view(n, h // 2, 2, w // 2 * c)
        y = torch.add(pairs[:, :, 0], pairs[:, :, 1]).mul_(0.25)
        return y.view(n, h // 2, w // 2, c).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return torch.ops.aten.avg_pool2d_backward(grad, x, [2, 2], [2, 2], [0, 0], False, True,
                                                  None)


class AvgPool2d(nn.AvgPool2d):
    """``torch.nn.AvgPool2d`` (a subclass, same arguments), faster for 2x2 windows of stride 2
    over channels_last maps on the CPU (measured: about 2x for LeNet-5's S2 alone)."""

    def _is_fast_case(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dim() == 4 and x.shape[-1] % 2 == 0
                and x.shape[-2] % 2 == 0 and x.shape[1] > 1
                and x.is_contiguous(memory_format=torch.channels_last)
                and _pair(self.kernel_size) == (2, 2) and _pair(self.stride) == (2, 2)
                and _pair(self.padding) == (0, 0) and not self.ceil_mode
                and self.divisor_override is None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._is_fast_case(x):
            return _AvgPool2x2ChannelsLast.apply(x)
        return super().forward(x)


class _Pool(nn.Module):
    kind = ""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class SumPool2d(_Pool):
    """Σ over each ``kernel_size`` window of (N, C, H, W)."""

    type_name = "sum pooling"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum_pool2d(x, self.kernel_size, self.stride, self.padding)


class MinPool2d(_Pool):
    """min over each ``kernel_size`` window of (N, C, H, W)."""

    type_name = "min pooling"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return min_pool2d(x, self.kernel_size, self.stride, self.padding)


class SumPool1d(_Pool):
    """Σ over each ``kernel_size`` window of (N, C, L)."""

    type_name = "sum pooling 1-D"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum_pool1d(x, self.kernel_size, self.stride, self.padding)


class MinPool1d(_Pool):
    """min over each ``kernel_size`` window of (N, C, L)."""

    type_name = "min pooling 1-D"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return min_pool1d(x, self.kernel_size, self.stride, self.padding)


_MODULES = {1: {"max": MaxPool1d, "avg": AvgPool1d, "sum": SumPool1d, "min": MinPool1d},
            2: {"max": MaxPool2d, "avg": AvgPool2d, "sum": SumPool2d, "min": MinPool2d}}


def pooling(kind: str, kernel_size, stride=None, padding=0, dims: int = 2) -> nn.Module:
    """A pooling module of ``kind`` (max | avg | sum | min) over ``dims`` (1 or 2) dimensions."""
    if dims not in _MODULES or kind not in _MODULES[dims]:
        raise NnzooError(f"Unknown pooling {kind!r} in {dims}-D; expected one of "
                         f"{', '.join(KINDS)} in 1-D or 2-D.")
    return _MODULES[dims][kind](kernel_size, stride, padding)
