"""Restricted Boltzmann machine: energies against enumeration, Gibbs shapes, CD-k learning."""

import itertools

import pytest
import torch

import nnzoo
from nnzoo.models.rbm import RBM, all_binary


def tiny_rbm(visible=4, hidden=3, seed=0):
    torch.manual_seed(seed)
    rbm = RBM(visible, hidden)
    with torch.no_grad():  # weights big enough that the distribution is far from uniform
        rbm.weight.normal_(0, 1.5)
        rbm.visible_bias.normal_(0, 1)
        rbm.hidden_bias.normal_(0, 1)
    return rbm


def test_free_energy_sums_the_joint_over_all_hidden_states():
    rbm = tiny_rbm().double()
    v, h = all_binary(4).double(), all_binary(3).double()  # (16, 4), (8, 3)
    joint = torch.stack([-rbm.energy(vi.expand(8, 4), h) for vi in v])  # (16, 8) = -E(v, h)
    torch.testing.assert_close(rbm.free_energy(v), -torch.logsumexp(joint, dim=1))
    # p(v) ∝ exp(-F(v)) is the marginal of p(v, h) ∝ exp(-E(v, h))
    marginal = torch.softmax(joint.flatten(), 0).reshape(16, 8).sum(1)
    torch.testing.assert_close(torch.softmax(-rbm.free_energy(v), 0), marginal)
    torch.testing.assert_close(rbm.log_partition(), torch.logsumexp(joint.flatten(), 0))
    # an explicit E(v, h) = -bᵀv - cᵀh - vᵀWh
    W, b, c = rbm.weight, rbm.visible_bias, rbm.hidden_bias
    torch.testing.assert_close(rbm.energy(v[5:6], h[3:4])[0],
                               -(b @ v[5]) - (c @ h[3]) - v[5] @ W @ h[3])


def test_conditionals_match_enumeration_of_the_joint():
    rbm = tiny_rbm(seed=1).double()
    v, h = all_binary(4).double(), all_binary(3).double()
    for vi in v:
        weights = torch.softmax(-rbm.energy(vi.expand(8, 4), h), 0)  # p(h | v) over all h
        torch.testing.assert_close(rbm.hidden_probs(vi[None])[0], weights @ h)
    for hj in h:
        weights = torch.softmax(-rbm.energy(v, hj.expand(16, 3)), 0)  # p(v | h)
        torch.testing.assert_close(rbm.visible_probs(hj[None])[0], weights @ v)


def test_gibbs_step_and_sampling_shapes_and_values():
    rbm = nnzoo.create("rbm", visible=64, hidden=20)
    v = torch.bernoulli(torch.full((7, 64), 0.3))
    v1, p1, h = rbm.gibbs_step(v, generator=0)
    assert v1.shape == p1.shape == (7, 64) and h.shape == (7, 20)
    assert set(v1.unique().tolist()) <= {0.0, 1.0} and set(h.unique().tolist()) <= {0.0, 1.0}
    assert ((p1 > 0) & (p1 < 1)).all()
    assert torch.equal(rbm.gibbs_step(v, generator=3)[0], rbm.gibbs_step(v, generator=3)[0])
    assert rbm.sample(5, steps=10, generator=0).shape == (5, 64)
    assert rbm.reconstruct(v).shape == (7, 64) and rbm(v).shape == (7, 64)
    assert nnzoo.count_params(nnzoo.create("rbm")) == nnzoo.get_entry("rbm").params == 4224


def test_gibbs_chains_sample_the_model_distribution():
    rbm = tiny_rbm(seed=2)
    v = torch.bernoulli(torch.full((4000, 4), 0.5), generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    for _ in range(30):
        v, _, _ = rbm.gibbs_step(v, g)
    counts = torch.bincount((v.long() * 2 ** torch.arange(4)).sum(1), minlength=16).float()
    expected = torch.softmax(-rbm.free_energy(all_binary(4)), 0)
    assert (counts / 4000 - expected).abs().max() < 0.03


def test_cd_raises_the_exact_likelihood_of_a_small_dataset():
    data = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]]).float()
    torch.manual_seed(0)
    rbm = RBM(6, 4)
    before = rbm.log_likelihood(data).item()
    rbm.fit(data.repeat(20, 1), epochs=40, lr=0.1, k=1, batch_size=10, generator=0)
    after = rbm.log_likelihood(data).item()
    assert before < -3.5 and after > -1.5  # uniform is 6 log 1/2 = -4.16; ideal -0.64


def test_reconstruction_error_falls_on_the_digits():
    digits = nnzoo.load_dataset("digits", input_shape=(64,))
    torch.manual_seed(0)
    rbm = nnzoo.create("rbm", hidden=16)
    errors = rbm.fit(digits.train.x, epochs=5, lr=0.1, batch_size=20, generator=0)
    assert len(errors) == 5 and errors[-1] < 0.7 * errors[0]
    assert all(b < a for a, b in itertools.pairwise(errors))
    more = rbm.fit(digits.train.x, epochs=1, k=3, generator=1)  # CD-3 continues from there
    assert more[0] < errors[0]
    test_error = ((rbm.reconstruct(digits.test.x) - digits.test.x) ** 2).mean()
    assert test_error < errors[0]


def test_bad_visible_data_is_reported():
    rbm = RBM(4, 2)
    with pytest.raises(nnzoo.NnzooError, match="4 values"):
        rbm.fit(torch.zeros(3, 5))
    with pytest.raises(nnzoo.NnzooError, match=r"\[0, 1\]"):
        rbm.reconstruct(torch.full((2, 4), 2.0))
    with pytest.raises(nnzoo.NnzooError, match="k >= 1"):
        rbm.fit(torch.zeros(3, 4), k=0)
    with pytest.raises(nnzoo.NnzooError, match="too many"):
        RBM(30, 2).log_partition()


def test_nnzoo_train_rbm_writes_a_run(tmp_path):
    from nnzoo.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "rbm", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    assert (out / "metrics.json").exists() and (out / "reconstructions.png").exists()


def test_cd1_runs_on_the_device_it_is_given_with_a_generator_there(tmp_path):
    """The RBM learner takes --device: model, data and generator move there (a CUDA GPU when
    there is one under auto); on the CPU the run is the one it always was, and it resumes."""
    import json

    from nnzoo.cli.main import main

    common = ["--no-progress", "--epochs", "2", "-o", "hidden=8"]
    assert main(["train", "rbm", "--device", "cpu", "--out", str(tmp_path / "a"), *common]) == 0
    training = json.loads((tmp_path / "a" / "config.json").read_text())["training"]
    assert (training["device"], training["device_used"]) == ("cpu", "cpu")
    assert main(["train", "rbm", "--out", str(tmp_path / "b"), *common]) == 0  # auto
    a, _ = nnzoo.load(tmp_path / "a")
    b, _ = nnzoo.load(tmp_path / "b")
    if not torch.cuda.is_available():
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                     b.state_dict().values()))
