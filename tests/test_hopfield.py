"""Hopfield network: Hebbian storage, recall from damaged patterns, energy descent, capacity."""

import pytest
import torch

import nnzoo
from nnzoo.data.letters import LETTERS, letter_bitmaps
from nnzoo.models.hopfield import capacity_curve


def random_patterns(p, n=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (p, n), generator=g).float() * 2 - 1


def flip(x, k, seed):
    g = torch.Generator().manual_seed(seed)
    idx = torch.rand(x.shape, generator=g).argsort(-1)[..., :k]
    return x.clone().scatter_(-1, idx, -x.gather(-1, idx))


def test_hebbian_weights_are_the_outer_product_sum_with_zero_diagonal():
    p = random_patterns(4, n=12)
    net = nnzoo.create("hopfield", size=12).store(p[:3])
    expected = sum(torch.outer(row, row) for row in p[:3].double()) / 12
    expected.fill_diagonal_(0)
    torch.testing.assert_close(net.weight, expected)
    net.store(p[3:], append=True)
    expected += torch.outer(p[3].double(), p[3].double()) / 12
    expected.fill_diagonal_(0)
    torch.testing.assert_close(net.weight, expected)
    assert net.memories.shape == (4, 12)
    assert nnzoo.count_params(net) == 0 and nnzoo.get_entry("hopfield").params == 0


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_patterns_recalled_exactly_from_20_percent_flipped_bits(mode, seed):
    p = random_patterns(3, seed=seed)
    net = nnzoo.create("hopfield", size=100).store(p)
    noisy = flip(p, 20, seed=10 + seed)
    assert ((noisy != p).sum(1) == 20).all()
    result = net.recall(noisy, mode=mode, generator=seed, return_trajectory=True)
    assert torch.equal(result.state, p)
    assert result.converged.all() and not result.cycle.any()
    for row in range(3):  # one at a time too
        assert torch.equal(net.recall(noisy[row], mode=mode, generator=seed), p[row])


def test_stored_patterns_are_fixed_points():
    p = random_patterns(5)
    net = nnzoo.create("hopfield", size=100).store(p)
    for mode in ("async", "sync"):
        result = net.recall(p, mode=mode, generator=0, return_trajectory=True)
        assert torch.equal(result.state, p) and result.steps == 1
    assert torch.equal(torch.sign(p.double() @ net.weight).float(), p)


@pytest.mark.parametrize("units, threshold", [("bipolar", None), ("bipolar", "random"),
                                              ("binary", None), ("binary", 0.0)])
def test_energy_never_increases_at_any_single_asynchronous_update(units, threshold):
    g = torch.Generator().manual_seed(3)
    if threshold == "random":
        threshold = torch.randn(60, generator=g) * 0.3
    net = nnzoo.create("hopfield", size=60, units=units, threshold=threshold)
    net.store(random_patterns(12, n=60, seed=4))  # over capacity: many spurious minima
    starts = torch.randint(0, 2, (200, 60), generator=g).float()
    if units == "bipolar":
        starts = starts * 2 - 1
    result = net.recall(starts, generator=5, return_trajectory=True, record="unit")
    steps = result.energy.diff(dim=0)  # (T, 200) one row per single-unit update
    assert steps.shape[0] == 60 * result.steps
    assert (steps <= 1e-12).all(), steps.max()
    assert (steps < -1e-9).any(1).sum() > 60  # and it does go down
    moved = (result.trajectory.diff(dim=0) != 0).sum(-1)
    assert (moved <= 1).all()  # one unit at a time
    assert result.converged.all()
    torch.testing.assert_close(result.energy[-1], net.energy(result.state))


def test_binary_units_with_matched_thresholds_are_the_bipolar_net_in_0_1():
    p = random_patterns(6, n=40, seed=7)
    bipolar = nnzoo.create("hopfield", size=40).store(p)
    binary = nnzoo.create("hopfield", size=40, units="binary").store((p + 1) / 2)
    torch.testing.assert_close(binary.weight, bipolar.weight)
    starts = torch.randint(0, 2, (30, 40), generator=torch.Generator().manual_seed(8)).float()
    a = bipolar.recall(starts * 2 - 1, generator=9, return_trajectory=True, record="unit")
    b = binary.recall(starts, generator=9, return_trajectory=True, record="unit")
    assert torch.equal(b.trajectory, (a.trajectory + 1) / 2)
    shift = b.energy - a.energy / 4  # E_binary = E_bipolar / 4 + constant
    torch.testing.assert_close(shift, torch.full_like(shift, shift[0, 0].item()))


def test_0_1_inputs_are_stored_and_recalled_in_their_own_coding():
    p = (random_patterns(3, seed=11) + 1) / 2
    net = nnzoo.create("hopfield", size=100).store(p)
    noisy = p.clone()
    noisy[:, :15] = 1 - noisy[:, :15]
    out = net.recall(noisy, generator=0)
    assert torch.equal(out, p) and set(out.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(net.recall(noisy.bool(), generator=0), p.bool())
    hopfield_own = nnzoo.create("hopfield", size=100, units="binary", threshold=0.0).store(p)
    assert torch.equal(hopfield_own.recall(p, generator=0), p)  # U_i = 0 still holds 3 memories


def test_synchronous_updates_can_oscillate_with_period_two():
    net = nnzoo.create("hopfield", size=2).store(torch.tensor([[1.0, -1.0]]))
    start = torch.tensor([1.0, 1.0])
    sync = net.recall(start, mode="sync", return_trajectory=True)
    assert sync.cycle and not sync.converged
    assert torch.equal(sync.trajectory[:3], torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, 1.0]]))
    settled = net.recall(start, mode="async", generator=0, return_trajectory=True)
    assert settled.converged and settled.state.abs().sum() == 2 and settled.state.sum() == 0


def test_letters_are_10x10_and_a_T_is_recalled_from_its_lower_half_blanked():
    assert all(len(rows) == 10 and all(len(r) == 10 for r in rows) for rows in LETTERS.values())
    bitmaps = letter_bitmaps("TXC").reshape(3, 100) * 2 - 1
    net = nnzoo.create("hopfield", size=100).store(bitmaps)
    damaged = bitmaps[0].clone()
    damaged[50:] = -1
    assert torch.equal(net.recall(damaged, generator=0), bitmaps[0])


def test_bad_input_is_reported():
    net = nnzoo.create("hopfield", size=4)
    with pytest.raises(nnzoo.NnzooError, match="rows of 4"):
        net.store(torch.ones(2, 5))
    with pytest.raises(nnzoo.NnzooError, match="±1 or 0/1"):
        net.recall(torch.tensor([0.5, 1, 1, 1]))
    with pytest.raises(nnzoo.NnzooError, match="mode"):
        net.recall(torch.ones(4), mode="parallel")
    with pytest.raises(nnzoo.NnzooError, match="units"):
        nnzoo.create("hopfield", units="spin")
    with pytest.raises(nnzoo.NnzooError, match="letter"):
        letter_bitmaps("T?")


def test_capacity_curve_drops_near_0_14_n():
    curve = capacity_curve(100, patterns=[3, 8, 14, 22, 30], trials=10, flips=5, seed=0)
    rate = dict(zip(curve.patterns, curve.recall_rate))
    assert rate[3] == 1.0 and rate[8] > 0.9
    assert 0.3 < rate[14] < 1.0 and rate[30] < 0.15
    # a memory that is not a fixed point cannot be where recall ends
    assert all(s >= r for s, r in zip(curve.stable_rate, curve.recall_rate))
    assert curve.drop() in (14, 22)


def test_letters_dataset_flips_exactly_the_asked_share_of_pixels():
    data = nnzoo.load_dataset("letters", input_shape=(100,), letters="HTX", noise=0.3, copies=4)
    stored = letter_bitmaps("HTX").reshape(3, 100)
    assert torch.equal(data.train.x, stored) and torch.equal(data.train.y, stored)
    assert torch.equal(data.test.y, stored.repeat(4, 1)) and data.info["letters"] == "HTX"
    assert ((data.test.x != data.test.y).sum(1) == 30).all()
    assert not torch.equal(data.test.x, data.val.x)  # independent copies
    again = nnzoo.load_dataset("letters", letters="HTX", noise=0.3, copies=4)
    assert torch.equal(again.test.x, data.test.x)
    with pytest.raises(nnzoo.NnzooError, match="10x10"):
        nnzoo.load_dataset("letters", input_shape=(64,))


def test_nnzoo_train_hopfield_stores_three_letters_and_recalls_them(tmp_path, capsys):
    import json

    from safetensors.torch import load_file

    from nnzoo.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "hopfield", "-d", "letters=HTX", "-d", "copies=5", "--no-progress",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test: recall 1.0000, hamming 0.0000, start_hamming 20.0000" in printed
    for name in ("config.json", "metrics.json", "weights.safetensors", "patterns.png",
                 "recall.png", "energy.png", "recall_vs_noise.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_recall"] == 1.0 and metrics["test_hamming"] == 0.0
    assert metrics["test_stable"] == 1.0 and metrics["history"][0]["val_recall"] == 1.0
    curve = metrics["recall_vs_noise"]
    assert curve["recall"][0] == 1.0 and curve["recall"][-1] < 0.2  # 50 % flipped: no trace left
    weights = load_file(str(out / "weights.safetensors"))
    assert set(weights) == {"weight", "threshold"} and weights["weight"].shape == (100, 100)
    assert json.loads((out / "config.json").read_text())["training"]["mode"] == "async"

    assert main(["eval", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["recall"] == 1.0 and evaluated["start_hamming"] == 20.0
    assert main(["eval", str(out), "--data", "digits"]) == 2
    err = capsys.readouterr().err
    assert "clean patterns" in err and "Traceback" not in err


def test_real_valued_data_is_refused_before_anything_is_written(tmp_path, capsys):
    from nnzoo.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "hopfield", "--data", "digits", "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnzoo: error:") and "±1 or 0/1" in err and "--data letters" in err
    assert "Traceback" not in err and not out.exists()


def test_synchronous_recall_is_an_option_and_reports_cycles():
    from nnzoo.train.memory import evaluate_recall

    data = nnzoo.load_dataset("letters", letters="HTX", copies=5)
    net = nnzoo.create("hopfield", mode="sync").store(data.train.x)
    scores = evaluate_recall(net, data.test)
    assert scores["recall"] == 1.0 and scores["cycles"] == 0.0 and scores["sweeps"] >= 2
