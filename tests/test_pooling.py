"""Pooling (max, avg, sum, min), switches and unpooling, transposed convolution — each against
the definition written as explicit loops, and against PyTorch where it has the same op."""

import pytest
import torch
import torch.nn.functional as F

from nnzoo.errors import NnzooError
from nnzoo.layers.pooling import KINDS, pool1d, pool2d, pooling
from nnzoo.layers.unpool import (ConvTranspose2d, MaxUnpool2d, SwitchMaxPool2d,
                                 conv_transpose2d_scatter, max_pool2d_with_switches)

REDUCE = {"max": lambda w: w.max(), "min": lambda w: w.min(), "sum": lambda w: w.sum(),
          "avg": lambda w: w.mean()}


def loop_pool2d(x, kind, k, s, p):
    """The definition: slide a k x k window with stride s over the padded map."""
    n, c, h, w = x.shape
    fill = {"max": -float("inf"), "min": float("inf")}.get(kind, 0.0)
    padded = torch.full((n, c, h + 2 * p, w + 2 * p), fill, dtype=x.dtype)
    padded[:, :, p:p + h, p:p + w] = x
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = torch.empty(n, c, oh, ow, dtype=x.dtype)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    out[b, ch, i, j] = REDUCE[kind](padded[b, ch, i * s:i * s + k, j * s:j * s + k])
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
def test_pool2d_matches_loops(kind, k, s, p):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    expected = loop_pool2d(x, kind, k, s, p)
    torch.testing.assert_close(pool2d(x, kind, k, s, p), expected)
    torch.testing.assert_close(pooling(kind, k, s, p)(x), expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 0)])
def test_pool1d_matches_loops(kind, k, s, p):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 9, dtype=torch.float64)
    fill = {"max": -float("inf"), "min": float("inf")}.get(kind, 0.0)
    padded = F.pad(x, (p, p), value=fill)
    windows = torch.stack([padded[..., t * s:t * s + k] for t in range((9 + 2 * p - k) // s + 1)],
                          dim=2)  # (N, C, L_out, k)
    reduce = {"max": lambda w: w.amax(-1), "min": lambda w: w.amin(-1), "sum": lambda w: w.sum(-1),
              "avg": lambda w: w.mean(-1)}[kind]
    torch.testing.assert_close(pool1d(x, kind, k, s, p), reduce(windows))
    torch.testing.assert_close(pooling(kind, k, s, p, dims=1)(x), reduce(windows))


def test_sum_is_average_times_window_and_min_is_negated_max():
    x = torch.randn(1, 2, 8, 8)
    torch.testing.assert_close(pool2d(x, "sum", 2), 4 * F.avg_pool2d(x, 2))
    torch.testing.assert_close(pool2d(x, "min", 2), -F.max_pool2d(-x, 2))


def test_sum_pool_gradient_is_one_per_window():
    x = torch.randn(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    pool2d(x, "sum", 2).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))
    assert torch.autograd.gradcheck(lambda t: pool2d(t, "min", 3, 1, 1), (x,))


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(NnzooError, match="median"):
        pool2d(torch.zeros(1, 1, 2, 2), "median", 2)
    with pytest.raises(NnzooError):
        pooling("max", 2, dims=3)


def test_switches_point_at_each_window_maximum():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 6, 5)
    y, switches = SwitchMaxPool2d(2)(x)
    for b in range(2):
        for c in range(3):
            for i in range(3):
                for j in range(2):
                    window = x[b, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                    u, v = divmod(int(window.argmax()), 2)
                    assert y[b, c, i, j] == window.max()
                    assert switches[b, c, i, j] == (2 * i + u) * 5 + (2 * j + v)


def test_unpooling_puts_values_back_at_their_switches():
    torch.manual_seed(3)
    x = torch.randn(1, 2, 5, 5)
    y, switches = max_pool2d_with_switches(x, 2)
    back = MaxUnpool2d(2)(y, switches, output_size=x.shape)
    expected = torch.zeros_like(x)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                u, v = divmod(int(switches[0, c, i, j]), 5)
                expected[0, c, u, v] = y[0, c, i, j]
    assert back.shape == x.shape
    torch.testing.assert_close(back, expected)
    # unpooling keeps exactly the maxima: pooling it again gives the same maxima
    torch.testing.assert_close(F.max_pool2d(back, 2), y)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 0), (2, 1), (3, 2)])
def test_transposed_convolution_is_the_scatter(stride, padding):
    torch.manual_seed(4)
    layer = ConvTranspose2d(3, 4, 3, stride=stride, padding=padding).double()
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    expected = conv_transpose2d_scatter(x, layer.weight, layer.bias, stride, padding)
    out = layer(x)
    assert out.shape[-2:] == ((4 - 1) * stride - 2 * padding + 3, (5 - 1) * stride - 2 * padding + 3)
    torch.testing.assert_close(out, expected)


def test_transposed_convolution_is_the_adjoint_of_convolution():
    # <conv(x), y> = <x, conv_transpose(y)> with the same kernel
    torch.manual_seed(5)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)  # conv: 3 -> 4 channels
    x = torch.randn(1, 3, 9, 9, dtype=torch.float64)
    y = torch.randn(1, 4, 4, 4, dtype=torch.float64)
    lhs = (F.conv2d(x, w, stride=2) * y).sum()
    rhs = (x * conv_transpose2d_scatter(y, w, stride=2)).sum()
    torch.testing.assert_close(lhs, rhs)


@pytest.mark.parametrize("channels,size", [(6, 28), (16, 10), (3, 4)])
def test_avg_pool_2x2_on_channels_last_equals_torch_in_value_and_gradient(channels, size):
    from nnzoo.layers.pooling import AvgPool2d

    torch.manual_seed(0)
    x = torch.randn(5, channels, size, size, dtype=torch.float64)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    pool = AvgPool2d(2, 2)
    assert pool._is_fast_case(x)
    y = pool(x)
    reference = torch.nn.functional.avg_pool2d(x.detach(), 2, 2)
    torch.testing.assert_close(y, reference)
    assert y.is_contiguous(memory_format=torch.channels_last)
    # fast mode compares v^T J u for random u, v instead of the whole 23,520-column Jacobian
    # (49 s of the suite); a wrong gradient still fails it
    assert torch.autograd.gradcheck(pool, (x,), fast_mode=True)


def test_avg_pool_keeps_torchs_kernel_outside_its_fast_case():
    from nnzoo.layers.pooling import AvgPool2d

    x = torch.randn(2, 6, 9, 9).contiguous(memory_format=torch.channels_last)
    for pool, value in [(AvgPool2d(2, 2), x), (AvgPool2d(2, 2), x[..., :8, :8].contiguous()),
                        (AvgPool2d(3, 2), x), (AvgPool2d(2, 2, ceil_mode=True), x)]:
        assert not pool._is_fast_case(value)
        torch.testing.assert_close(pool(value), torch.nn.functional.avg_pool2d(
            value, pool.kernel_size, pool.stride, ceil_mode=pool.ceil_mode))
    assert isinstance(AvgPool2d(2), torch.nn.AvgPool2d)
