"""One-step cells against torch.nn's cells with copied weights, and against their equations
written out (Jordan, peephole, coupled); Recurrence against the layers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.layers import (GRU, CoupledLSTMCell, ElmanCell, GRUCell, JordanCell, LSTMCell,
                          PeepholeLSTMCell, Recurrence)

B, I, H = 3, 3, 4


def batch(seed=0, *shape):
    torch.manual_seed(seed)
    return torch.randn(*(shape or (B, I)), dtype=torch.float64)


@pytest.mark.parametrize("ours,theirs,kw", [
    (ElmanCell, nn.RNNCell, {}), (ElmanCell, nn.RNNCell, {"nonlinearity": "relu"}),
    (GRUCell, nn.GRUCell, {}), (LSTMCell, nn.LSTMCell, {}), (LSTMCell, nn.LSTMCell, {"bias": False}),
    (GRUCell, nn.GRUCell, {"bias": False})], ids=["elman", "elman_relu", "gru", "lstm", "lstm_nobias", "gru_nobias"])
def test_cell_matches_torch_both_ways(ours, theirs, kw):
    torch.manual_seed(1)
    mine, ref = ours(I, H, **kw).double(), theirs(I, H, **kw).double()
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.load_state_dict(ref.state_dict())
    x = batch(2)
    state = (batch(3, B, H), batch(4, B, H)) if ours is LSTMCell else batch(3, B, H)
    torch.testing.assert_close(mine(x, state), ref(x, state))
    torch.testing.assert_close(mine(x), ref(x))                    # None means a zero state
    fresh = ours(I, H, **kw).double()
    ref.load_state_dict(fresh.state_dict())                         # and the other way
    torch.testing.assert_close(ref(x, state), fresh(x, state))


def test_peephole_cell_with_zero_peepholes_is_the_lstm_cell_and_otherwise_its_equations():
    torch.manual_seed(5)
    peep, plain = PeepholeLSTMCell(I, H).double(), LSTMCell(I, H).double()
    plain.load_state_dict({k: v for k, v in peep.state_dict().items() if not k.startswith("weight_c")})
    x, h0, c0 = batch(6), batch(7, B, H), batch(8, B, H)
    with torch.no_grad():
        saved = [w.clone() for w in (peep.weight_ci, peep.weight_cf, peep.weight_co)]
        for w in (peep.weight_ci, peep.weight_cf, peep.weight_co):
            w.zero_()
        torch.testing.assert_close(peep(x, (h0, c0)), plain(x, (h0, c0)))
        for w, s in zip((peep.weight_ci, peep.weight_cf, peep.weight_co), saved):
            w.copy_(s)
    pre = x @ peep.weight_ih.T + peep.bias_ih + h0 @ peep.weight_hh.T + peep.bias_hh
    a_i, a_f, a_g, a_o = pre.split(H, dim=1)
    i = torch.sigmoid(a_i + peep.weight_ci * c0)
    f = torch.sigmoid(a_f + peep.weight_cf * c0)
    c = f * c0 + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + peep.weight_co * c)        # the output gate sees the new cell
    torch.testing.assert_close(peep(x, (h0, c0)), (o * torch.tanh(c), c))


def test_coupled_cell_is_an_lstm_whose_input_gate_is_one_minus_forget():
    # 1 − σ(a) = σ(−a): an LSTM with input-gate weights = −(forget-gate weights) is the CIFG.
    torch.manual_seed(9)
    coupled, lstm = CoupledLSTMCell(I, H).double(), nn.LSTMCell(I, H).double()
    assert coupled.weight_ih.shape == (3 * H, I)
    w = {}
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        f, g, o = getattr(coupled, name).split(H)
        w[name] = torch.cat([-f, f, g, o])
    lstm.load_state_dict(w)
    x, h0, c0 = batch(10), batch(11, B, H), batch(12, B, H)
    torch.testing.assert_close(coupled(x, (h0, c0)), lstm(x, (h0, c0)))


def jordan_by_hand(cell, xs, decay):
    y = s = torch.zeros(xs.shape[1], cell.output_size, dtype=xs.dtype)
    ys = []
    for x in xs:
        s = decay * s + y
        h = torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + s @ cell.weight_yh.T)
        y = torch.sigmoid(h @ cell.weight_hy.T + cell.bias_hy)
        ys.append(y)
    return torch.stack(ys)


@pytest.mark.parametrize("decay", [0.0, 0.5])
def test_jordan_network_feeds_back_its_output(decay):
    torch.manual_seed(13)
    cell = JordanCell(I, 5, 2, output_nonlinearity="logsig", decay=decay).double()
    xs = batch(14, 6, B, I)
    expected = jordan_by_hand(cell, xs, decay)
    out, (y_last, _) = Recurrence(cell)(xs)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(y_last, expected[-1])
    lengths = torch.tensor([6, 2, 4])
    out_v, (y_v, _) = Recurrence(cell, batch_first=True)(xs.transpose(0, 1), lengths=lengths)
    for b, n in enumerate(lengths):
        torch.testing.assert_close(out_v[b, :n], expected[:n, b])
        torch.testing.assert_close(y_v[b], expected[n - 1, b])


def test_recurrence_of_a_cell_is_the_one_layer_network():
    torch.manual_seed(15)
    cell, layer = GRUCell(I, H).double(), GRU(I, H).double()
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    xs = batch(16, 5, B, I)
    out, (h,) = Recurrence(cell)(xs)
    ref_out, ref_h = layer(xs)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h[0])


@pytest.mark.parametrize("cell", [ElmanCell(I, H), JordanCell(I, H, 2), GRUCell(I, H), LSTMCell(I, H),
                                  PeepholeLSTMCell(I, H), CoupledLSTMCell(I, H)],
                         ids=["elman", "jordan", "gru", "lstm", "peephole", "coupled"])
def test_gradients_flow_through_two_steps(cell):
    x = torch.randn(B, I, requires_grad=True)
    state = cell(x)
    state = cell(x, state)
    loss = sum(s.square().sum() for s in (state if isinstance(state, tuple) else (state,)))
    loss.backward()
    for name, p in cell.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert F.mse_loss(x.grad, torch.zeros_like(x.grad)) > 0
