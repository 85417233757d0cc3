"""Explicit backpropagation: its gradients against autograd's, and XOR learnt by a 2-2-1 net."""

import pytest
import torch

import nnzoo
from nnzoo.errors import NnzooError
from nnzoo.layers.activations import ACTIVATIONS
from nnzoo.models.backprop import BackpropMLP

# Every function of the activation table that has a derivative (compet has none).
WITH_DERIVATIVE = sorted({f.name for f in ACTIVATIONS.values() if f.derivative is not None})
DEPTHS = {1: [3, 5, 2], 2: [3, 5, 4, 2], 3: [3, 5, 4, 6, 2]}


def autograd_gradients(net: BackpropMLP, x, y):
    params = [p for layer in net.layers for p in (layer.weight, layer.bias)]
    a = net(x)
    loss = net.loss_value(a, net.targets(y, a))
    if not loss.requires_grad:  # every layer a step: autograd sees no path, its gradient is 0
        grads = [torch.zeros_like(p) for p in params]
    else:
        grads = torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True)
    return [(grads[2 * i], grads[2 * i + 1]) for i in range(len(net.layers))]


def away_from_kinks(net: BackpropMLP, x, margin=1e-4) -> torch.Tensor:
    """Rows of x whose net inputs all stay ``margin`` away from every kink of their layer."""
    with torch.no_grad():
        n, _ = net.propagate(x)
    keep = torch.ones(len(x), dtype=torch.bool)
    for f, n_m in zip(net.transfer, n):
        for kink in getattr(getattr(f, "function", None), "kinks", ()):
            keep &= ((n_m - kink).abs() > margin).all(1)
    return keep


def sample(net, seed, q=16):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(q, net.sizes[0], generator=g, dtype=torch.float64) * 1.5
    y = torch.randint(0, net.sizes[-1], (q,), generator=g)
    return x, y


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("name", WITH_DERIVATIVE)
def test_gradients_equal_autograd(name, depth):
    torch.manual_seed(depth)
    # The hidden layers use `name`; the output is linear so that autograd reaches every layer
    # even when `name` is a step (zero derivative), and a second net uses `name` everywhere.
    for activations in ([name] * depth + ["identity"], name):
        net = BackpropMLP(DEPTHS[depth], activations, loss="sse").double()
        for layer in net.layers:  # shift the biases so satlin's (0, 1) window is visited too
            torch.nn.init.uniform_(layer.bias, -0.5, 1.0)
        x, y = sample(net, depth, q=32)
        keep = away_from_kinks(net, x)
        assert keep.sum() >= 16
        x, y = x[keep], y[keep]
        ours = net.gradients(x, y)
        theirs = autograd_gradients(net, x, y)
        for (dW, db), (gW, gb) in zip(ours, theirs):
            torch.testing.assert_close(dW, gW, rtol=1e-6, atol=1e-9)
            torch.testing.assert_close(db, gb, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss, output", [("sse", "tansig"), ("mse", "logsig"), ("ce", "logsig"),
                                          ("ce", "softmax"), ("sse", "softmax")])
def test_losses_and_softmax_equal_autograd(loss, output):
    torch.manual_seed(7)
    net = BackpropMLP([3, 6, 5, 4], ["tanh", "softplus", output], loss=loss).double()
    x, y = sample(net, 3)
    if output == "logsig" and loss == "ce":
        y = (torch.rand(len(x), 4, dtype=torch.float64) > 0.5).double()  # four independent 0/1 targets
    for (dW, db), (gW, gb) in zip(net.gradients(x, y), autograd_gradients(net, x, y)):
        torch.testing.assert_close(dW, gW, rtol=1e-6, atol=1e-9)
        torch.testing.assert_close(db, gb, rtol=1e-6, atol=1e-9)


def test_step_is_steepest_descent_with_weight_decay():
    torch.manual_seed(0)
    net = BackpropMLP([2, 3, 1], "tansig", weight_decay=0.1).double()
    x, y = sample(net, 1)
    before = [(layer.weight.clone(), layer.bias.clone()) for layer in net.layers]
    grads = net.gradients(x, y)
    net.step(0.5)
    for layer, (W, b), (dW, db) in zip(net.layers, before, grads):
        torch.testing.assert_close(layer.weight, (1 - 0.1 * 0.5) * W - 0.5 * dW)
        torch.testing.assert_close(layer.bias, b - 0.5 * db)


def test_xor_learnt_by_2_2_1_logsig_net():
    xor = nnzoo.load_dataset("xor").train
    torch.manual_seed(0)
    net = nnzoo.create("mlp-backprop")  # 2-2-1, logsig, sum of squared errors
    losses = net.fit(xor.x, xor.y, lr=2.0, epochs=3000, seed=0)
    assert net.score(xor.x, xor.y) == 1.0
    assert losses[-1] < 0.05 < losses[0]
    assert nnzoo.count_params(net) == 9


def test_online_learning_decreases_the_loss():
    data = nnzoo.load_dataset("moons")
    torch.manual_seed(1)
    net = BackpropMLP([2, 8, 2], ["tansig", "softmax"], loss="ce")
    x, y = data.train.x[:100], data.train.y[:100]
    with torch.no_grad():
        before = net.loss_value(net(x), net.targets(y, net(x))).item()
    losses = net.fit(x, y, lr=0.1, epochs=15, batch_size=1, seed=1)  # 1,500 online steps
    assert losses[-1] < 0.5 * before
    assert net.score(data.test.x, data.test.y) > 0.85


def test_bad_configurations_are_named():
    with pytest.raises(NnzooError, match="no derivative"):
        BackpropMLP([2, 3, 2], ["compet", "logsig"])
    with pytest.raises(NnzooError, match="activations for 2 layers"):
        BackpropMLP([2, 3, 2], ["tanh"] * 3)
    with pytest.raises(NnzooError, match="Cross-entropy"):
        BackpropMLP([2, 3, 2], "tanh", loss="ce")
    with pytest.raises(NnzooError, match="gradients"):
        BackpropMLP([2, 1]).step(0.1)


def test_rule_runs_through_the_run_lifecycle(tmp_path):
    from nnzoo.train.fitting import learner_for
    from nnzoo.train.rules import BackpropLearner

    entry = nnzoo.get_entry("mlp-backprop")
    torch.manual_seed(0)
    model = nnzoo.create("mlp-backprop")
    assert entry.family == "classic" and learner_for(model) is BackpropLearner
    with pytest.raises(NnzooError, match="does not take momentum, optimizer"):
        nnzoo.fit(model, nnzoo.load_dataset("xor"), epochs=3, optimizer="adam", momentum=0.9)
    result = nnzoo.fit(model, nnzoo.load_dataset("xor"), epochs=300, lr=2.0,
                       out=tmp_path / "run", progress=None)
    assert len(result.history) == 300 and result.history[-1]["loss"] < result.history[0]["loss"]
    assert set(result.test) == {"loss", "top1"}
    assert {"config.json", "metrics.json", "weights.safetensors", "curves.png"} <= \
        {p.name for p in (tmp_path / "run").iterdir()}
