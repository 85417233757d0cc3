"""nnzoo.layers.RNN/LSTM/GRU against torch.nn.RNN/LSTM/GRU with copied weights (both ways), the
explicit path against the fused one, variable lengths, PackedSequence, and the LSTM variants."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nnzoo.errors import NnzooError
from nnzoo.layers import GRU, LSTM, RNN

T, B, I, H = 5, 3, 3, 4
LENGTHS = torch.tensor([5, 2, 4])
PAIRS = {"rnn": (RNN, nn.RNN, {}), "rnn_relu": (RNN, nn.RNN, {"nonlinearity": "relu"}),
         "lstm": (LSTM, nn.LSTM, {}), "gru": (GRU, nn.GRU, {})}


def make(kind, num_layers, bidirectional, batch_first, seed=0):
    """A torch.nn layer and nnzoo's fused and explicit layers holding its weights (float64)."""
    ours, theirs, extra = PAIRS[kind]
    torch.manual_seed(seed)
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, **extra)
    ref = theirs(I, H, **kw).double()
    fused, explicit = ours(I, H, **kw).double(), ours(I, H, explicit=True, **kw).double()
    fused.load_state_dict(ref.state_dict())
    explicit.load_state_dict(ref.state_dict())
    return ref, fused, explicit


def sequence(batch_first, seed=1):
    torch.manual_seed(seed)
    return torch.randn((B, T, I) if batch_first else (T, B, I), dtype=torch.float64)


def torch_with_lengths(ref, x, lengths, batch_first):
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, state = ref(packed)
    return pad_packed_sequence(out, batch_first=batch_first, total_length=T)[0], state


def assert_same(a, b):
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=1e-5)
    for x, y in zip(a[1] if isinstance(a[1], tuple) else (a[1],), b[1] if isinstance(b[1], tuple) else (b[1],)):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", PAIRS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_matches_torch_and_explicit_matches_fused(kind, num_layers, bidirectional, batch_first,
                                                  with_lengths):
    ref, fused, explicit = make(kind, num_layers, bidirectional, batch_first)
    x = sequence(batch_first)
    if with_lengths:
        expected = torch_with_lengths(ref, x, LENGTHS, batch_first)
        assert_same(fused(x, lengths=LENGTHS), expected)
        assert_same(explicit(x, lengths=LENGTHS), expected)
    else:
        expected = ref(x)
        assert_same(fused(x), expected)
        assert_same(explicit(x), expected)


@pytest.mark.parametrize("kind", PAIRS)
def test_state_dict_loads_into_torch(kind):
    ours, theirs, extra = PAIRS[kind]
    torch.manual_seed(2)
    mine = ours(I, H, num_layers=2, bidirectional=True, **extra).double()
    ref = theirs(I, H, num_layers=2, bidirectional=True, **extra).double()
    assert list(mine.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(mine.state_dict())
    x = sequence(False)
    assert_same(mine(x), ref(x))


@pytest.mark.parametrize("kind", PAIRS)
@pytest.mark.parametrize("path", ["fused", "explicit"])
def test_initial_state_and_packed_sequence(kind, path):
    ref, fused, explicit = make(kind, 2, True, False)
    layer = fused if path == "fused" else explicit
    torch.manual_seed(3)
    h0 = torch.randn(4, B, H, dtype=torch.float64)
    hx = (h0, torch.randn_like(h0)) if kind == "lstm" else h0
    x = sequence(False)
    assert_same(layer(x, hx), ref(x, hx))
    packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
    (out, state), (ref_out, ref_state) = layer(packed, hx), ref(packed, hx)
    torch.testing.assert_close(out.data, ref_out.data)
    assert torch.equal(out.batch_sizes, ref_out.batch_sizes)
    assert torch.equal(out.sorted_indices, ref_out.sorted_indices)
    assert_same((out.data, state), (ref_out.data, ref_state))


@pytest.mark.parametrize("variant", [{}, {"explicit": True}, {"peephole": True}, {"coupled": True}])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_steps_never_change_state(variant, bidirectional):
    torch.manual_seed(4)
    layer = LSTM(I, H, num_layers=2, bidirectional=bidirectional, batch_first=True, **variant).double()
    x = sequence(True)
    lengths = torch.tensor([5, 1, 3])
    garbage = x.clone()
    for b, n in enumerate(lengths):
        garbage[b, n:] = 100 * torch.randn(T - n, I, dtype=torch.float64)
    out, (h, c) = layer(x, lengths=lengths)
    out_g, (h_g, c_g) = layer(garbage, lengths=lengths)
    torch.testing.assert_close(out, out_g)
    torch.testing.assert_close(h, h_g)
    torch.testing.assert_close(c, c_g)
    for b, n in enumerate(lengths):
        assert torch.all(out[b, n:] == 0)
        # each sequence alone, cut to its length, ends in the same state
        alone, (h_alone, _) = layer(x[b:b + 1, :n])
        torch.testing.assert_close(out[b:b + 1, :n], alone)
        torch.testing.assert_close(h[:, b:b + 1], h_alone)


def test_peephole_with_zero_peepholes_is_the_plain_lstm():
    ref, plain, _ = make("lstm", 2, True, False)
    peephole = LSTM(I, H, num_layers=2, bidirectional=True, peephole=True).double()
    missing = peephole.load_state_dict(ref.state_dict(), strict=False).missing_keys
    assert sorted(missing) == sorted(f"weight_c{g}_l{k}{s}" for g in "ifo" for k in (0, 1)
                                     for s in ("", "_reverse"))
    x = sequence(False)
    lengths = torch.tensor([5, 2, 4])
    with torch.no_grad():
        for name in missing:
            getattr(peephole, name).zero_()
        assert_same(peephole(x, lengths=lengths), plain(x, lengths=lengths))
        getattr(peephole, "weight_co_l1").fill_(0.5)
        assert not torch.allclose(peephole(x)[0], plain(x)[0])


def test_coupled_layer_is_the_lstm_with_input_gate_one_minus_forget():
    torch.manual_seed(5)
    layer = LSTM(I, H, coupled=True).double()
    assert layer.weight_ih_l0.shape == (3 * H, I) and layer.weight_hh_l0.shape == (3 * H, H)
    x = sequence(False)
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b = layer.bias_ih_l0 + layer.bias_hh_l0
    h = c = torch.zeros(B, H, dtype=torch.float64)
    outputs = []
    for t in range(T):  # the LSTM equations, with i = 1 - f written out
        pre = x[t] @ w_ih.T + h @ w_hh.T + b
        f, g, o = torch.sigmoid(pre[:, :H]), torch.tanh(pre[:, H:2 * H]), torch.sigmoid(pre[:, 2 * H:])
        i = 1 - f
        c = f * c + i * g
        h = o * torch.tanh(c)
        outputs.append(h)
    out, (h_n, c_n) = layer(x)
    torch.testing.assert_close(out, torch.stack(outputs))
    torch.testing.assert_close(h_n[0], h)
    torch.testing.assert_close(c_n[0], c)


def test_coupled_layer_is_torch_lstm_with_input_weights_minus_forget_weights():
    # 1 − σ(a) = σ(−a), so i = 1 − f is an input gate whose weights are the forget gate's negated.
    torch.manual_seed(7)
    layer = LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True, coupled=True).double()
    ref = nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True).double()
    weights = {}
    for name, w in layer.state_dict().items():
        f, g, o = w.split(H)
        weights[name] = torch.cat([-f, f, g, o])
    ref.load_state_dict(weights)
    x = sequence(True)
    assert_same(layer(x, lengths=LENGTHS), torch_with_lengths(ref, x, LENGTHS, True))


@pytest.mark.parametrize("layer", [RNN(I, H, 2), LSTM(I, H, 2, bidirectional=True), GRU(I, H, 2),
                                   LSTM(I, H, 2, peephole=True), LSTM(I, H, 2, coupled=True),
                                   GRU(I, H, 2, bidirectional=True, explicit=True)],
                         ids=["rnn", "lstm", "gru", "peephole", "coupled", "gru_explicit"])
def test_gradients_flow_to_every_parameter(layer):
    x = torch.randn(T, B, I, requires_grad=True)
    out, _ = layer(x, lengths=torch.tensor([5, 3, 1]))
    out.pow(2).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_unbatched_input_and_dropout():
    torch.manual_seed(6)
    ref = nn.GRU(I, H, 2, dropout=0.5)
    layer = GRU(I, H, 2, dropout=0.5)
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(T, I)
    ref.eval(), layer.eval()
    assert_same(layer(x), ref(x))                     # dropout is off in eval mode
    layer.train()
    a, b = layer(x)[0], layer(x)[0]
    assert not torch.allclose(a, b)                   # and on between layers in training


def test_bad_input_raises_clear_errors():
    layer = LSTM(I, H)
    with pytest.raises(NnzooError, match=r"\(T, B, 3\)"):
        layer(torch.randn(T, B, I + 1))
    with pytest.raises(NnzooError, match="lengths"):
        layer(torch.randn(T, B, I), lengths=torch.tensor([5, 0, 2]))
    with pytest.raises(NnzooError, match="lengths"):
        layer(torch.randn(T, B, I), lengths=torch.tensor([6, 1, 2]))
    with pytest.raises(NnzooError, match="initial state"):
        layer(torch.randn(T, B, I), torch.zeros(1, B, H))
    with pytest.raises(NnzooError, match="not both"):
        LSTM(I, H, peephole=True, coupled=True)
    with pytest.raises(NnzooError, match="nonlinearity"):
        RNN(I, H, nonlinearity="sigmoid")
