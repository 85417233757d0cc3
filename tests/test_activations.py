"""Every activation: analytic derivative equals autograd's wherever it is differentiable."""

import math

import pytest
import torch

from nnzoo.layers.activations import (ACTIVATIONS, PReLU, activation_module, get_activation,
                                      names)

FUNCTIONS = sorted({f.name for f in ACTIVATIONS.values()})


def _points_away_from_kinks(function, n=201):
    x = torch.linspace(-4, 4, n, dtype=torch.float64)
    for kink in function.kinks:
        x = x[(x - kink).abs() > 1e-3]
    return x


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if get_activation(n).derivative])
def test_analytic_derivative_equals_autograd(name):
    f = get_activation(name)
    x = _points_away_from_kinks(f).requires_grad_(True)
    y = f(x)
    if y.requires_grad:
        (grad,) = torch.autograd.grad(y.sum(), x)
    else:  # piecewise constant (step, sign): autograd sees no dependence, i.e. f' = 0
        grad = torch.zeros_like(x)
    torch.testing.assert_close(f.derivative(x.detach()), grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_values_lie_in_the_stated_range(name):
    f = get_activation(name)
    y = f(torch.linspace(-50, 50, 1000, dtype=torch.float64).reshape(100, 10))
    lo, hi = f.range
    assert (y >= lo).all() and (y <= hi).all()


@pytest.mark.parametrize("alias,canonical", [
    ("hardlim", "step"), ("hardlims", "sign"), ("purelin", "identity"), ("satlin", "satlin"),
    ("satlins", "satlins"), ("logsig", "logistic"), ("tansig", "tanh"), ("poslin", "relu"),
    ("compet", "compet")])
def test_matlab_names_are_aliases(alias, canonical):
    assert get_activation(alias).name == canonical


def test_step_functions_send_ties_up():
    assert get_activation("hardlim")(torch.tensor([0.0])).item() == 1.0
    assert get_activation("hardlims")(torch.tensor([0.0, -0.1])).tolist() == [1.0, -1.0]


def test_compet_is_winner_take_all():
    y = get_activation("compet")(torch.tensor([[0.1, 0.7, 0.2], [3.0, -1.0, 2.0]]))
    assert y.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_known_values():
    x = torch.tensor([-2.0, 0.5, 2.0])
    assert get_activation("satlins")(x).tolist() == [-1.0, 0.5, 1.0]
    assert get_activation("satlin")(x).tolist() == [0.0, 0.5, 1.0]
    assert get_activation("softsign")(torch.tensor([1.0])).item() == 0.5
    assert get_activation("arctan")(torch.tensor([1.0])).item() == pytest.approx(math.pi / 4)
    torch.testing.assert_close(get_activation("softplus")(x), torch.log1p(torch.exp(x)))


def test_prelu_learns_its_slope_and_matches_torch():
    ours = PReLU(init=0.25)
    theirs = torch.nn.PReLU(init=0.25)
    x = torch.linspace(-3, 3, 13, requires_grad=True)
    torch.testing.assert_close(ours(x), theirs(x))
    ours(x).sum().backward()
    theirs(x).sum().backward()
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad)
    xs = x.detach()[x.detach() != 0].requires_grad_(True)
    (grad,) = torch.autograd.grad(ours(xs).sum(), xs)
    torch.testing.assert_close(ours.derivative(xs.detach()), grad)


def test_modules_and_unknown_names():
    assert isinstance(activation_module("tansig"), torch.nn.Tanh)
    assert isinstance(activation_module("prelu"), PReLU)
    assert activation_module("satlin")(torch.tensor([2.0])).item() == 1.0
    assert "hardlim" in names() and "prelu" in names()
    with pytest.raises(ValueError, match="hardlim"):
        get_activation("hardlimit")


def test_fast_tanh_equals_torch_tanh_in_value_and_gradient():
    from nnzoo.layers.activations import Tanh, fast_tanh

    n = torch.cat([torch.linspace(-40, 40, 40001), torch.tensor([0.0, 1e-8, -1e-8, 50, -50])])
    assert (fast_tanh(n) - torch.tanh(n)).abs().max() < 5e-7
    assert fast_tanh(n)[-2:].tolist() == [1.0, -1.0]
    x = torch.randn(8, 6, 28, 28).contiguous(memory_format=torch.channels_last).requires_grad_()
    reference = x.detach().clone().requires_grad_()
    grad = torch.randn(8, 6, 28, 28)
    Tanh()(x).backward(grad)
    torch.tanh(reference).backward(grad)
    assert torch.allclose(x.grad, reference.grad, atol=1e-6)
    assert isinstance(Tanh(), torch.nn.Tanh)  # pictures and summaries still see a tanh
    n64 = torch.randn(40000, dtype=torch.float64)
    assert torch.equal(fast_tanh(n64), torch.tanh(n64))  # float64 checks stay exact


def test_small_tensors_take_torchs_own_tanh():
    from nnzoo.layers.activations import SIGMOID_ROUTE_MIN_NUMEL, fast_tanh

    small = torch.randn(64, 120, requires_grad=True)  # LeNet-5's C5
    assert small.numel() < SIGMOID_ROUTE_MIN_NUMEL
    assert fast_tanh(small).grad_fn.name() == "TanhBackward0"
    big = torch.randn(64, 6, 28, 28, requires_grad=True)  # C1
    assert fast_tanh(big).grad_fn.name() != "TanhBackward0"
