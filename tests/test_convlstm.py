"""ConvLSTM: shapes, a step against the paper's equations written gate by gate, the 1x1 case
against torch.nn.LSTM, the stack against its cells stepped by hand, lengths, gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers import ConvLSTM, ConvLSTMCell

T, B, C, S = 4, 2, 3, 5   # steps, batch, input channels, height = width


def test_output_shapes():
    layer = ConvLSTM(C, [4, 6], kernel_size=3, num_layers=2)
    out, (h, c) = layer(torch.randn(T, B, C, S, S + 1))
    assert out.shape == (T, B, 6, S, S + 1)
    assert [t.shape for t in h] == [t.shape for t in c] == [(B, 4, S, S + 1), (B, 6, S, S + 1)]
    layer = ConvLSTM(C, 4, kernel_size=5, num_layers=2, batch_first=True)
    out, (h, c) = layer(torch.randn(B, T, C, S, S))
    assert out.shape == (B, T, 4, S, S)
    assert h.shape == c.shape == (2, B, 4, S, S)


def test_cell_step_is_the_papers_equations():
    torch.manual_seed(0)
    ch = 4
    cell = ConvLSTMCell(C, ch, kernel_size=3, peephole=True, spatial_size=(S, S)).double()
    with torch.no_grad():                      # the peepholes start at zero; make them matter
        for w in (cell.weight_ci, cell.weight_cf, cell.weight_co):
            w.normal_()
    x = torch.randn(B, C, S, S, dtype=torch.float64)
    h0, c0 = torch.randn(2, B, ch, S, S, dtype=torch.float64)

    def conv(gate, inp, weight):               # W_{x·} * X or W_{h·} * H for one gate
        return F.conv2d(inp, weight[gate * ch:(gate + 1) * ch], padding=1)

    b = cell.bias.view(4, ch, 1, 1)
    wx, wh = cell.weight_ih, cell.weight_hh
    i = torch.sigmoid(conv(0, x, wx) + conv(0, h0, wh) + cell.weight_ci * c0 + b[0])
    f = torch.sigmoid(conv(1, x, wx) + conv(1, h0, wh) + cell.weight_cf * c0 + b[1])
    c = f * c0 + i * torch.tanh(conv(2, x, wx) + conv(2, h0, wh) + b[2])
    o = torch.sigmoid(conv(3, x, wx) + conv(3, h0, wh) + cell.weight_co * c + b[3])
    h = o * torch.tanh(c)
    h_cell, c_cell = cell(x, (h0, c0))
    torch.testing.assert_close(h_cell, h)
    torch.testing.assert_close(c_cell, c)


def test_one_by_one_kernels_make_an_lstm_per_pixel():
    torch.manual_seed(1)
    layer = ConvLSTM(C, 4, kernel_size=1).double()
    cell = layer.cells[0]
    lstm = nn.LSTM(C, 4).double()
    lstm.load_state_dict({"weight_ih_l0": cell.weight_ih[..., 0, 0], "weight_hh_l0": cell.weight_hh[..., 0, 0],
                          "bias_ih_l0": cell.bias, "bias_hh_l0": torch.zeros_like(cell.bias)})
    x = torch.randn(T, B, C, S, S, dtype=torch.float64)
    out, (h, c) = layer(x)
    pixels = x.permute(0, 1, 3, 4, 2).reshape(T, B * S * S, C)      # every pixel its own sequence
    ref_out, (ref_h, ref_c) = lstm(pixels)
    torch.testing.assert_close(out.permute(0, 1, 3, 4, 2).reshape(T, B * S * S, 4), ref_out)
    torch.testing.assert_close(c.permute(0, 1, 3, 4, 2).reshape(1, B * S * S, 4), ref_c)


def test_stack_is_its_cells_stepped_by_hand_and_padding_is_ignored():
    torch.manual_seed(2)
    layer = ConvLSTM(C, [3, 2], num_layers=2, peephole=True, spatial_size=(S, S)).double()
    x = torch.randn(T, B, C, S, S, dtype=torch.float64)
    states = [None, None]
    outputs = []
    for t in range(T):
        inp = x[t]
        for k, cell in enumerate(layer.cells):
            states[k] = cell(inp, states[k])
            inp = states[k][0]
        outputs.append(inp)
    out, (h_n, c_n) = layer(x)
    torch.testing.assert_close(out, torch.stack(outputs))
    torch.testing.assert_close(c_n[1], states[1][1])
    lengths = torch.tensor([2, 4])
    garbage = x.clone()
    garbage[2:, 0] = 30 * torch.randn(T - 2, C, S, S, dtype=torch.float64)
    out_v, (h_v, _) = layer(garbage, lengths=lengths)
    torch.testing.assert_close(out_v[:2, 0], out[:2, 0])
    assert torch.all(out_v[2:, 0] == 0)
    for k, h_alone in enumerate(layer(x[:2, :1])[1][0]):   # widths 3, 2: a tuple per layer
        torch.testing.assert_close(h_v[k][0], h_alone[0])
    torch.testing.assert_close(out_v[:, 1], out[:, 1])


def test_gradients_flow():
    layer = ConvLSTM(C, 4, num_layers=2, peephole=True, spatial_size=(S, S))
    x = torch.randn(T, B, C, S, S, requires_grad=True)
    layer(x)[0].square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in layer.named_parameters():
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_bad_configurations_raise():
    with pytest.raises(NnzooError, match="odd"):
        ConvLSTMCell(C, 4, kernel_size=2)
    with pytest.raises(NnzooError, match="spatial_size"):
        ConvLSTMCell(C, 4, peephole=True)
    with pytest.raises(NnzooError, match="hidden_channels"):
        ConvLSTM(C, [4, 4], num_layers=3)
    with pytest.raises(NnzooError, match=r"\(T, B, 3, H, W\)"):
        ConvLSTM(C, 4)(torch.randn(T, B, 1, S, S))
