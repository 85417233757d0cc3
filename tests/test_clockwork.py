"""Clockwork RNN: the Elman RNN when every period is 1, the update schedule, the
block-upper-triangular connectivity, variable lengths, gradients."""

import pytest
import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers import ClockworkCell, ClockworkRNN

T, B, I, H = 9, 3, 3, 6


def test_all_periods_one_is_an_elman_rnn_with_masked_weights():
    torch.manual_seed(0)
    cw = ClockworkRNN(I, H, periods=(1, 1, 1)).double()
    elman = nn.RNN(I, H).double()
    cell = cw.cell
    elman.load_state_dict({"weight_ih_l0": cell.weight_ih, "weight_hh_l0": cell.weight_hh * cell.mask,
                           "bias_ih_l0": cell.bias_ih, "bias_hh_l0": cell.bias_hh})
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    out, h_n = cw(x, h0)
    ref_out, ref_h = elman(x, h0)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h_n, ref_h)


def test_mask_is_block_upper_triangular_fast_modules_first():
    cell = ClockworkCell(I, H, periods=(1, 2, 4))
    expected = torch.tensor([[1, 1, 1, 1, 1, 1],
                             [1, 1, 1, 1, 1, 1],
                             [0, 0, 1, 1, 1, 1],
                             [0, 0, 1, 1, 1, 1],
                             [0, 0, 0, 0, 1, 1],
                             [0, 0, 0, 0, 1, 1]], dtype=torch.float32)
    assert torch.equal(cell.mask, expected)
    assert cell.unit_periods.tolist() == [1, 1, 2, 2, 4, 4]
    assert torch.all(cell.weight_hh[expected == 0] == 0)
    assert ClockworkCell(I, 8).periods == (1, 2, 4, 8)                        # the default series
    assert "mask" not in cell.state_dict()                                  # structure, not weights


def test_module_i_updates_only_when_t_mod_period_is_zero():
    torch.manual_seed(1)
    cw = ClockworkRNN(I, H, periods=(1, 2, 4)).double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    out, _ = cw(x, h0)
    previous = torch.cat([h0, out[:-1]])                                   # h_{t-1}, (T, B, H)
    for t in range(T):
        for module, period in enumerate((1, 2, 4)):
            units = slice(2 * module, 2 * module + 2)
            same = torch.equal(out[t, :, units], previous[t, :, units])
            assert same == (t % period != 0), (t, period)


def test_slow_modules_never_read_fast_ones():
    torch.manual_seed(2)
    cw = ClockworkRNN(I, H, periods=(1, 2, 4)).double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    disturbed = h0.clone()
    disturbed[..., :4] += 1.0                                               # the two faster modules
    out, out_d = cw(x, h0)[0], cw(x, disturbed)[0]
    torch.testing.assert_close(out[..., 4:], out_d[..., 4:])               # slowest: unaffected
    assert not torch.allclose(out[..., :2], out_d[..., :2])


def test_layer_is_the_cell_stepped_by_hand_and_padding_is_ignored():
    torch.manual_seed(3)
    cw = ClockworkRNN(I, H, periods=(1, 3, 5), batch_first=True).double()
    x = torch.randn(B, T, I, dtype=torch.float64)
    lengths = torch.tensor([9, 4, 6])
    h = None
    steps = []
    for t in range(T):
        h = cw.cell(x[:, t], h, t)
        steps.append(h)
    full = torch.stack(steps, dim=1)                                        # (B, T, H)
    out, h_n = cw(x)
    torch.testing.assert_close(out, full)
    garbage = x.clone()
    for b, n in enumerate(lengths):
        garbage[b, n:] = 50 * torch.randn(T - n, I, dtype=torch.float64)
    out_v, h_v = cw(garbage, lengths=lengths)
    for b, n in enumerate(lengths):
        torch.testing.assert_close(out_v[b, :n], full[b, :n])
        assert torch.all(out_v[b, n:] == 0)
        torch.testing.assert_close(h_v[0, b], full[b, n - 1])


def test_gradients_flow_and_masked_weights_get_none():
    cw = ClockworkRNN(I, H, periods=(1, 2, 4))
    x = torch.randn(T, B, I, requires_grad=True)
    cw(x)[0].sum().backward()
    for name, p in cw.named_parameters():
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert torch.all(cw.cell.weight_hh.grad[cw.cell.mask == 0] == 0)


def test_bad_configurations_raise():
    with pytest.raises(NnzooError, match="equal"):
        ClockworkCell(I, 7, periods=(1, 2))
    with pytest.raises(NnzooError, match="increasing"):
        ClockworkCell(I, 6, periods=(4, 2, 1))
    with pytest.raises(NnzooError, match=r"\(T, B, 3\)"):
        ClockworkRNN(I, H, periods=(1, 2))(torch.randn(T, B, 5))
