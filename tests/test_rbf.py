"""RBF network: k-means, widths, the least-squares output layer, and problems it must solve."""

import math

import pytest
import torch

import nnzoo
from nnzoo.errors import NnzooError
from nnzoo.models.rbf import RBFNetwork, kmeans, rbf_widths


def test_kmeans_finds_three_separated_clusters():
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    x = (means[:, None, :] + 0.3 * torch.randn(3, 100, 2, generator=g)).reshape(-1, 2)
    centres = kmeans(x, 3, seed=0)
    # each true mean has one centre within 0.1 of it
    assert (torch.cdist(means, centres).min(1).values < 0.1).all()
    torch.testing.assert_close(kmeans(x, 3, seed=0), centres)  # seeded: repeats exactly


def test_widths_rules():
    c = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    # nearest other centre: 1, 1, 2, 4 -> mean 2
    torch.testing.assert_close(rbf_widths(c, "shared"), torch.full((4,), 2.0))
    # two nearest: (1, 3), (1, 2), (2, 3), (4, 6) -> rms
    expected = torch.tensor([(1 + 9) / 2, (1 + 4) / 2, (4 + 9) / 2, (16 + 36) / 2]).sqrt()
    torch.testing.assert_close(rbf_widths(c, "nearest"), expected)


@pytest.mark.parametrize("width", ["shared", "nearest"])
def test_fits_sine_with_20_centres(width):
    x = torch.linspace(0, 2 * math.pi, 200)[:, None]
    x_test = 2 * math.pi * torch.rand(500, 1, generator=torch.Generator().manual_seed(1))
    net = RBFNetwork(1, centres=20, width=width)
    net.fit(x, torch.sin(x[:, 0]))
    assert net.score(x_test, torch.sin(x_test[:, 0])) < 1e-3


def test_least_squares_matches_the_normal_equations_and_gradient_approaches_it():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(60, 2, generator=g, dtype=torch.float64)
    y = torch.sin(3 * x[:, 0]) * x[:, 1]
    net = RBFNetwork(2, centres=8).double()
    net.fit(x, y, ridge=1e-3)
    phi = torch.cat([net.hidden(x), torch.ones(60, 1, dtype=torch.float64)], 1)
    penalty = torch.diag(torch.tensor([1e-3] * 8 + [0.0], dtype=torch.float64))
    beta = torch.linalg.solve(phi.T @ phi + penalty, phi.T @ y[:, None])
    torch.testing.assert_close(net.output.weight[0], beta[:8, 0], rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(net.output.bias, beta[8], rtol=1e-6, atol=1e-8)
    exact = net.score(x, y)
    by_gradient = RBFNetwork(2, centres=8).double()
    history = by_gradient.fit(x, y, solver="gradient", lr=0.05, epochs=3000)
    assert history[-1] < history[0] and history[-1] < 3 * exact + 1e-3


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_classifies_2d_toy_sets(name):
    data = nnzoo.load_dataset(name)
    net = nnzoo.create("rbf")  # 20 centres, two classes
    net.fit(data.train.x, data.train.y)
    assert net.score(data.test.x, data.test.y) >= 0.95


def test_registered_and_its_rule_runs_through_the_run_lifecycle(tmp_path):
    from nnzoo.train.fitting import learner_for
    from nnzoo.train.rules import RBFLearner

    entry = nnzoo.get_entry("rbf")
    model = nnzoo.create("rbf")
    assert entry.family == "classic" and learner_for(model) is RBFLearner
    assert nnzoo.count_params(model) == entry.params
    with pytest.raises(NnzooError, match="does not take epochs, lr"):
        nnzoo.fit(model, nnzoo.load_dataset("moons"), epochs=5, lr=0.1)
    result = nnzoo.fit(model, nnzoo.load_dataset("moons"), out=tmp_path / "run", progress=None)
    assert result.test["top1"] >= 0.95
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"config.json", "metrics.json",
                                                               "weights.safetensors"}


def test_bad_input_is_named():
    with pytest.raises(NnzooError, match="k-means"):
        kmeans(torch.zeros(3, 2), 5)
    with pytest.raises(NnzooError, match="width rule"):
        RBFNetwork(2, width="widest")
    with pytest.raises(NnzooError, match="class ids"):
        RBFNetwork(2, out_features=2, task="classify").fit(torch.zeros(30, 2), torch.zeros(30))
