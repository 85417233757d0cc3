"""Locally-connected layers against explicit loops over positions, and against Conv1d/Conv2d
when every position holds the same kernel."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers.local import LocallyConnected1d, LocallyConnected2d


def loop_local2d(x, weight, bias, stride, padding):
    """y[n,o,i,j] = b[o,i,j] + Σ w[i,j,o,c,u,v] x_padded[n,c,s·i+u,s·j+v], one position at a time."""
    oh, ow, _, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    out = torch.empty(x.shape[0], weight.shape[2], oh, ow, dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (N, C, k, k)
            out[:, :, i, j] = torch.einsum("ncuv,ocuv->no", patch, weight[i, j]) + bias[:, i, j]
    return out


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_local2d_matches_loops(stride, padding):
    torch.manual_seed(0)
    layer = LocallyConnected2d(3, 5, input_size=(7, 6), kernel_size=3, stride=stride,
                               padding=padding).double()
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    torch.testing.assert_close(layer(x), loop_local2d(x, layer.weight, layer.bias, stride, padding))


def test_local2d_with_shared_weights_is_conv2d():
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1)
    layer = LocallyConnected2d(4, 6, input_size=(9, 9), kernel_size=3, stride=2, padding=1)
    with torch.no_grad():
        layer.weight.copy_(conv.weight.expand_as(layer.weight))
        layer.bias.copy_(conv.bias.view(-1, 1, 1).expand_as(layer.bias))
    x = torch.randn(3, 4, 9, 9)
    torch.testing.assert_close(layer(x), conv(x), rtol=1e-5, atol=1e-5)


def test_local2d_weights_are_unshared_and_gradients_per_position():
    layer = LocallyConnected2d(1, 1, input_size=(4, 4), kernel_size=3, bias=False)
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 0, 0] = 1.0  # only the top-left receptive field sees it
    layer(x).sum().backward()
    g = layer.weight.grad  # (2, 2, 1, 1, 3, 3)
    assert g[0, 0, 0, 0, 0, 0] == 1.0
    assert g.abs().sum() == 1.0
    # parameter count: one 3x3 kernel per output position, bias per position and channel
    assert sum(p.numel() for p in LocallyConnected2d(2, 3, (5, 5), 3).parameters()) == 9 * (3 * 2 * 9) + 3 * 9


def test_local1d_matches_loops_and_conv1d():
    torch.manual_seed(2)
    layer = LocallyConnected1d(3, 4, input_length=10, kernel_size=3, stride=2, padding=1).double()
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    xp = F.pad(x, (1, 1))
    expected = torch.stack([torch.einsum("nck,ock->no", xp[:, :, 2 * t:2 * t + 3], layer.weight[t])
                            + layer.bias[:, t] for t in range(layer.output_length)], dim=2)
    torch.testing.assert_close(layer(x), expected)

    conv = nn.Conv1d(3, 4, 3, stride=2, padding=1).double()
    with torch.no_grad():
        layer.weight.copy_(conv.weight.expand_as(layer.weight))
        layer.bias.copy_(conv.bias.view(-1, 1).expand_as(layer.bias))
    torch.testing.assert_close(layer(x), conv(x))


def test_gradients_match_autograd_of_the_loops():
    torch.manual_seed(3)
    layer = LocallyConnected2d(2, 2, input_size=(5, 5), kernel_size=2, stride=1).double()
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))


def test_wrong_input_size_is_a_clear_error():
    layer = LocallyConnected2d(1, 2, input_size=(8, 8), kernel_size=3)
    with pytest.raises(NnzooError, match="built for inputs of size"):
        layer(torch.zeros(1, 1, 9, 9))
    with pytest.raises(NnzooError, match="does not fit"):
        LocallyConnected1d(1, 1, input_length=2, kernel_size=5)
