"""Boltzmann machine: conditionals and equilibrium against enumeration, the T → 0 Hopfield limit,
annealing, and the Ackley-Hinton-Sejnowski learning rule."""

import math

import pytest
import torch

import nnzoo
from nnzoo.models.boltzmann import BoltzmannMachine
from nnzoo.models.hopfield import Hopfield, async_sweep


def random_machine(size=4, seed=0, scale=1.0, **kw):
    g = torch.Generator().manual_seed(seed)
    bm = BoltzmannMachine(size, **kw)
    return bm.set_weights(torch.randn(size, size, generator=g, dtype=torch.float64) * scale,
                          torch.randn(size, generator=g, dtype=torch.float64) * 0.5)


def test_energy_is_the_pairwise_sum():
    bm = random_machine(5)
    s = torch.tensor([1.0, 0, 1, 1, 0])
    W, theta = bm.weight, bm.threshold
    explicit = -sum(W[i, j] * s[i] * s[j] for i in range(5) for j in range(i + 1, 5)) + theta @ s.double()
    torch.testing.assert_close(bm.energy(s), explicit)
    assert torch.equal(W, W.T) and not W.diagonal().any()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_conditional_probabilities_match_brute_force(temperature):
    bm = random_machine(4, seed=1)
    states, _ = bm.distribution()
    p = bm.prob_on(states, temperature)  # (16, 4)
    for k, s in enumerate(states):
        for i in range(4):
            on, off = s.clone(), s.clone()
            on[i], off[i] = 1, 0
            e_on, e_off = bm.energy(on), bm.energy(off)
            expected = torch.exp(-e_on / temperature) / (torch.exp(-e_on / temperature)
                                                         + torch.exp(-e_off / temperature))
            torch.testing.assert_close(p[k, i], expected)


def test_sweeps_settle_into_the_boltzmann_distribution():
    bm = random_machine(4, seed=2)
    states, exact = bm.distribution(temperature=1.5)
    s = torch.zeros(4000, 4, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        bm.sweep(s, 1.5, g)
    counts = torch.bincount((s.long() * 2 ** torch.arange(4)).sum(1), minlength=16).double()
    assert (counts / 4000 - exact).abs().max() < 0.03


def test_at_zero_temperature_a_sweep_is_the_hopfield_networks():
    bm = random_machine(12, seed=3)
    net = Hopfield(12, units="binary", threshold=bm.threshold)
    net.weight = bm.weight.clone()
    starts = torch.bernoulli(torch.full((50, 12), 0.5), generator=torch.Generator().manual_seed(4))
    settled = net.recall(starts, generator=5, return_trajectory=True)
    annealed, energies = bm.anneal(starts, schedule=[(0.0, settled.steps)], generator=5,
                                   return_energy=True)
    assert torch.equal(annealed.float(), settled.state)  # same orders, same updates
    torch.testing.assert_close(energies, settled.energy[1:])
    # near zero the stochastic unit is the threshold unit
    order = torch.randperm(12, generator=torch.Generator().manual_seed(6))
    x = starts.double()
    cold = bm.sweep(x.clone(), 1e-6, generator=7, order=order)
    async_sweep(net.weight, net.threshold, x, order, 0.0)
    assert torch.equal(cold, x)


def test_annealing_ends_in_a_hopfield_fixed_point_and_finds_the_minimum_more_often():
    bm = random_machine(16, seed=8, scale=2.0)
    starts = torch.bernoulli(torch.full((200, 16), 0.5), generator=torch.Generator().manual_seed(9))
    slow = [(8.0, 5), (4.0, 5), (2.0, 10), (1.0, 10), (0.5, 10), (0.25, 10), (0.0, 2)]
    annealed, energies = bm.anneal(starts, slow, generator=10, return_energy=True)
    net = Hopfield(16, units="binary", threshold=bm.threshold)
    net.weight = bm.weight.clone()
    assert torch.equal(net.recall(annealed, generator=0), annealed)  # a local minimum of E
    quenched = bm.anneal(starts, [(0.0, 10)], generator=10)  # straight downhill, T = 0
    states, _ = bm.distribution()
    lowest = bm.energy(states).min()
    found = [(bm.energy(s) <= lowest + 1e-9).double().mean().item() for s in (annealed, quenched)]
    assert found[0] > found[1] + 0.2, found  # measured 0.58 against 0.18
    assert energies[-1].mean() < bm.energy(quenched).mean()


def test_clamped_units_stay_and_the_rest_follow_the_conditionals():
    bm = random_machine(5, seed=11, visible=2)
    s = torch.tensor([[1.0, 0, 0, 0, 0]]).repeat(3000, 1)
    out = bm.anneal(s, schedule=[(1.0, 20)], generator=12, clamped=2)
    assert (out[:, :2] == s[:, :2]).all()
    states, p = bm.distribution()
    match = (states[:, 0] == 1) & (states[:, 1] == 0)
    conditional = p[match] / p[match].sum()  # p(hidden | visible = 10) by enumeration
    codes = (out.long() * 2 ** torch.arange(5)).sum(1)
    freq = torch.bincount(codes, minlength=32).double()[match] / 3000
    assert (freq - conditional).abs().max() < 0.04


def test_ahs_rule_learns_a_two_mode_distribution():
    data = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 1]]).double()
    bm = nnzoo.create("boltzmann", size=6, visible=4)

    def kl():
        states, p = bm.distribution()
        marginal = torch.zeros(16, dtype=torch.float64).index_add_(
            0, (states[:, :4].long() * 2 ** torch.arange(4)).sum(1), p)
        return -(torch.log(marginal[[3, 12]]) - torch.log(torch.tensor(0.5))).mean().item()

    before = kl()
    bm.fit(data, epochs=60, lr=0.5, chains=20, generator=0)
    assert before > 2.0 and kl() < 0.5  # uniform: log 8 = 2.08


def test_a_small_machine_is_told_that_visible_defaults_to_nine():
    with pytest.raises(nnzoo.NnzooError, match="9 is the default.*visible=6"):
        nnzoo.create("boltzmann", size=6)
    assert nnzoo.create("boltzmann", size=6, visible=6).visible == 6


def test_bad_input_is_reported():
    with pytest.raises(nnzoo.NnzooError, match="visible"):
        BoltzmannMachine(4, visible=5)
    bm = BoltzmannMachine(4)
    with pytest.raises(nnzoo.NnzooError, match="0/1"):
        bm.energy(torch.tensor([0.5, 1, 0, 0]))
    with pytest.raises(nnzoo.NnzooError, match="too many"):
        BoltzmannMachine(30).distribution()
    assert nnzoo.count_params(nnzoo.create("boltzmann")) == 0


def test_bars_and_stripes_are_every_image_with_constant_rows_or_columns():
    from nnzoo.data.bars import bars_and_stripes

    images = bars_and_stripes(3).reshape(-1, 3, 3)
    assert len(images) == 14 and len(bars_and_stripes(4)) == 30
    rows_equal = (images == images[:, :, :1]).all(2).all(1)
    columns_equal = (images == images[:, :1, :]).all(2).all(1)
    assert (rows_equal | columns_equal).all()
    data = nnzoo.load_dataset("bars-and-stripes", input_shape=(9,))
    assert data.task == "distribution" and data.train.x.shape == (14, 9)
    assert torch.equal(data.test.x, data.train.x) and data.info["side"] == 3
    assert nnzoo.load_dataset("bars-and-stripes", input_shape=(16,)).train.x.shape == (30, 16)
    with pytest.raises(nnzoo.NnzooError, match="visible=16"):
        nnzoo.load_dataset("bars-and-stripes", input_shape=(9,), side=4)


def test_an_untrained_machine_is_uniform_and_visible_rows_are_clamped():
    from nnzoo.train.boltzmann import evaluate_distribution

    data = nnzoo.load_dataset("bars-and-stripes")
    bm = nnzoo.create("boltzmann")  # W = 0, θ = 0: Q is uniform over the 512 images
    scores = evaluate_distribution(bm, data.test)
    assert scores["kl"] == pytest.approx(math.log(512 / 14))
    assert scores["data_mass"] == pytest.approx(14 / 512)
    assert 0 < scores["sample_valid"] < 0.08
    states = bm(data.train.x)  # the 9 visible units stay clamped, the 4 hidden ones settle
    assert states.shape == (14, 13) and torch.equal(states[:, :9], data.train.x.double())


def test_nnzoo_train_boltzmann_learns_bars_and_stripes(tmp_path, capsys):
    import json

    from safetensors.torch import load_file

    from nnzoo.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "boltzmann", "--epochs", "40", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "test: kl " in printed.out
    # no gradient-trained parameters: the line gives the weights its own rule sets (13x13 upper
    # triangle 78 + 13 thresholds), not "0 parameters"
    assert "(91 weights set by the Ackley-Hinton-Sejnowski rule)" in printed.err
    for name in ("config.json", "metrics.json", "weights.safetensors", "weights.png",
                 "distribution.png", "samples.png", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_kl"] < metrics["uniform_kl"] - 1  # log(512/14) = 3.6 nats uniform
    assert metrics["test_data_mass"] > 4 * metrics["uniform_mass"]
    assert len(metrics["history"]) == 40 and "kl" in metrics["history"][-1]
    weights = load_file(str(out / "weights.safetensors"))
    assert weights["weight"].shape == (13, 13) and torch.equal(weights["weight"], weights["weight"].T)
    assert main(["eval", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["kl"] == pytest.approx(metrics["test_kl"])
    assert evaluated["sample_valid"] == pytest.approx(metrics["test_sample_valid"])


def test_real_valued_data_is_refused_before_anything_is_written(tmp_path, capsys):
    from nnzoo.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "boltzmann", "--data", "digits", "-o", "visible=64", "-o", "size=64",
                 "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnzoo: error:") and "0/1" in err and "--data bars-and-stripes" in err
    assert "Traceback" not in err and not out.exists()
