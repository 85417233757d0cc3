"""The explicit layers' whole-sequence kernels (``layers/_fast_*.py``) against the readable
step-by-step path (``fast=False``) in float64 — outputs, final states and the gradients of
inputs, initial states and every parameter — and their hand-written backward against
numerical differentiation (``gradcheck``)."""

import pytest
import torch

from nnzoo.layers import GRU, LSTM, RNN, ClockworkRNN, GRUCell, JordanRNN, Recurrence
from nnzoo.layers._fast_elman import ElmanSequence, JordanSequence
from nnzoo.layers._fast_gru import GRUSequence
from nnzoo.layers._fast_lstm import (
    CoupledLSTMSequence,
    LSTMSequence,
    PeepholeLSTMSequence,
)
from nnzoo.layers._fast_rnn import Schedule

T, B, I, H = 5, 3, 3, 4
LENGTHS = torch.tensor([5, 2, 4])

LAYERS = {  # name: (factory, number of state tensors, state width)
    "lstm": (lambda **kw: LSTM(I, H, explicit=True, **kw), 2, H),
    "lstm_nobias": (lambda **kw: LSTM(I, H, explicit=True, bias=False, **kw), 2, H),
    "peephole": (lambda **kw: LSTM(I, H, peephole=True, **kw), 2, H),
    "coupled": (lambda **kw: LSTM(I, H, coupled=True, **kw), 2, H),
    "gru": (lambda **kw: GRU(I, H, explicit=True, **kw), 1, H),
    "gru_nobias": (lambda **kw: GRU(I, H, explicit=True, bias=False, **kw), 1, H),
    "elman": (lambda **kw: RNN(I, H, explicit=True, **kw), 1, H),
    "elman_relu": (lambda **kw: RNN(I, H, nonlinearity="relu", explicit=True, **kw), 1, H),
}
ONE_LAYER = {  # the single-layer networks: (factory, number of state tensors, state width)
    "clockwork": (lambda: ClockworkRNN(I, 6, periods=(1, 2, 3)), 1, 6),
    "jordan": (lambda: JordanRNN(I, H, 2), 2, 2),
    "jordan_decay_logsig": (lambda: JordanRNN(I, H, 2, decay=0.5, nonlinearity="relu",
                                              output_nonlinearity="logsig"), 2, 2),
}


def set_fast(layer, fast: bool):
    for module in layer.modules():
        if hasattr(module, "fast"):
            module.fast = fast


def outputs_and_gradients(layer, x, hx, lengths):
    """Output, final state, and ∂L/∂ of x, hx and every parameter for a loss that reads them all."""
    x = x.clone().requires_grad_(True)
    hx = None if hx is None else tuple(h.clone().requires_grad_(True) for h in hx)
    out, state = layer(x, None if hx is None else (hx if len(hx) > 1 else hx[0]), lengths=lengths)
    state = state if isinstance(state, tuple) else (state,)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * weights).sum() + sum((k + 1) * s.square().sum() for k, s in enumerate(state))
    inputs = [x, *(hx or ()), *layer.parameters()]
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [out, *state, *(torch.zeros_like(i) if g is None else g for i, g in zip(inputs, grads))]


def ran_a_kernel(out: torch.Tensor) -> bool:
    """Whether ``out``'s autograd graph holds a whole-sequence kernel (``…SequenceBackward``)."""
    seen, todo = set(), [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if node.name().endswith("SequenceBackward"):
            return True
        todo.extend(next_node for next_node, _ in node.next_functions)
    return False


def assert_fast_equals_readable(layer, states, width, num_states, lengths, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(T, B, I, dtype=torch.float64)
    hx = None if num_states is None else tuple(torch.randn(states, B, width, dtype=torch.float64)
                                              for _ in range(num_states))
    set_fast(layer, False)
    expected = outputs_and_gradients(layer, x, hx, lengths)
    set_fast(layer, True)
    got = outputs_and_gradients(layer, x, hx, lengths)
    assert ran_a_kernel(got[0]) and not ran_a_kernel(expected[0])   # the two paths ran
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


CASES = [(name, "one") for name in LAYERS] + [  # bias=False: the same code in any layer
    (name, "deep_bidirectional") for name in LAYERS if not name.endswith("nobias")]


@pytest.mark.parametrize("name,layout", CASES)
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_fast_path_equals_the_readable_step(name, layout, lengths):
    make, num_states, width = LAYERS[name]
    deep = layout == "deep_bidirectional"
    torch.manual_seed(1)
    layer = make(num_layers=2 if deep else 1, bidirectional=deep).double()
    states = 4 if deep else 1
    assert_fast_equals_readable(layer, states, width, None, lengths)
    assert_fast_equals_readable(layer, states, width, num_states, lengths, seed=2)  # given hx


@pytest.mark.parametrize("name", ONE_LAYER)
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_one_layer_networks_fast_path_equals_the_readable_step(name, lengths):
    make, num_states, width = ONE_LAYER[name]
    torch.manual_seed(3)
    layer = make().double()
    assert_fast_equals_readable(layer, 1, width, None, lengths)
    assert_fast_equals_readable(layer, 1, width, num_states, lengths, seed=4)


def tiny(*shape, seed):
    torch.manual_seed(seed)
    return (0.5 * torch.randn(*shape, dtype=torch.float64)).requires_grad_(True)


SCHEDULE = Schedule([2, 2, 1], torch.tensor([2, 1]))  # two rows: of lengths 3 (every step) and 2
STEPS, BATCH, INPUTS, HIDDEN = 3, 2, 2, 3
CLOCK = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=torch.bool)   # (T, H) units due


def gated(gates, states, peepholes=False):
    """x, W_ih, b_ih, W_hh, b_hh, the initial state[, the three peephole weights]."""
    return (tiny(STEPS, BATCH, INPUTS, seed=0), tiny(gates * HIDDEN, INPUTS, seed=1),
            tiny(gates * HIDDEN, seed=2), tiny(gates * HIDDEN, HIDDEN, seed=3),
            tiny(gates * HIDDEN, seed=4), *(tiny(BATCH, HIDDEN, seed=5 + k) for k in range(states)),
            *(tiny(HIDDEN, seed=8 + k) for k in range(3 if peepholes else 0)))


KERNELS = {  # name: (Function, its tensor arguments, its other arguments before the schedule)
    "lstm": (LSTMSequence, lambda: gated(4, 2), ()),
    "peephole": (PeepholeLSTMSequence, lambda: gated(4, 2, peepholes=True), ()),
    "coupled": (CoupledLSTMSequence, lambda: gated(3, 2), ()),
    "gru": (GRUSequence, lambda: gated(3, 1), ()),
    "elman": (ElmanSequence, lambda: gated(1, 1), ("tanh", None)),
    "elman_relu": (ElmanSequence, lambda: gated(1, 1), ("relu", None)),
    "clockwork": (ElmanSequence, lambda: gated(1, 1), ("tanh", CLOCK)),
    "jordan": (JordanSequence, lambda: (
        tiny(STEPS, BATCH, INPUTS, seed=0), tiny(HIDDEN, INPUTS, seed=1), tiny(HIDDEN, seed=2),
        tiny(HIDDEN, 2, seed=3), tiny(2, HIDDEN, seed=4), tiny(2, seed=5), tiny(BATCH, 2, seed=6),
        tiny(BATCH, 2, seed=7)), (0.5, "tanh", "logistic")),
}


@pytest.mark.parametrize("kernel", KERNELS)
def test_backward_through_time_matches_numerical_gradients(kernel):
    function, tensors, others = KERNELS[kernel]
    assert torch.autograd.gradcheck(lambda *a: function.apply(*a, *others, SCHEDULE), tensors(),
                                    eps=1e-6, atol=1e-6)


def test_state_dicts_do_not_change():
    for fast in (True, False):
        layer = LSTM(I, H, 2, bidirectional=True, peephole=True, fast=fast)
        assert [(k, tuple(v.shape)) for k, v in layer.state_dict().items()] == [
            (f"{name}_l{k}{s}", shape) for k in (0, 1) for s in ("", "_reverse")
            for name, shape in (("weight_ih", (4 * H, I if k == 0 else 2 * H)), ("weight_hh", (4 * H, H)),
                                ("bias_ih", (4 * H,)), ("bias_hh", (4 * H,)), ("weight_ci", (H,)),
                                ("weight_cf", (H,)), ("weight_co", (H,)))]
    assert "fast" not in str(list(ClockworkRNN(I, 6, periods=(1, 2)).state_dict()))


def test_truncated_bptt_carries_a_detached_state():
    torch.manual_seed(5)
    layer = LSTM(I, H, 2, explicit=True, batch_first=True).double()
    stream = torch.randn(B, 2 * T, I, dtype=torch.float64)
    grads = []
    for fast in (True, False):
        layer.fast, state = fast, None
        layer.zero_grad()
        for chunk in stream.split(T, dim=1):                           # two chunks of T steps
            out, state = layer(chunk, state)
            out.square().sum().backward()
            state = tuple(s.detach() for s in state)
        grads.append([p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


def test_a_retained_graph_back_propagates_twice_alike():
    layer = LSTM(I, H, peephole=True)
    out, _ = layer(torch.randn(T, B, I))
    out.sum().backward(retain_graph=True)
    first = [p.grad.clone() for p in layer.parameters()]
    layer(torch.randn(T, B, I))[0].sum()          # another forward pass in between, same shapes
    layer.zero_grad()
    out.sum().backward()
    for a, p in zip(first, layer.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)


def test_cells_without_a_kernel_and_compiling_use_the_readable_step(monkeypatch):
    class Leaky(GRUCell):  # a subclass may change the step: the kernel would not know
        @staticmethod
        def step(p, gx, state):
            return tuple(0.5 * h for h in GRUCell.step(p, gx, state))

    x = torch.randn(T, B, I)
    assert not ran_a_kernel(Recurrence(Leaky(I, H))(x)[0])
    layer = LSTM(I, H, coupled=True)
    assert ran_a_kernel(layer(x)[0])
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)   # as under torch.compile
    assert not ran_a_kernel(layer(x)[0])
