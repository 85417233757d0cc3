import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import nnzoo
from nnzoo.errors import NnzooError
from nnzoo.train.pretrain import hidden_layers, pretrain_layers

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
from pretraining import labelled_subset  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return nnzoo.load_dataset("digits", input_shape=(64,))


def test_hidden_layers_pairs_each_dense_layer_with_its_activation_and_skips_the_output():
    model = nnzoo.create("mlp", hidden=(32, 16), activation="logistic", dropout=0.2)
    pairs = hidden_layers(model)
    assert [(lin.in_features, lin.out_features) for lin, _ in pairs] == [(64, 32), (32, 16)]
    assert all(isinstance(act, torch.nn.Sigmoid) for _, act in pairs)
    with pytest.raises(NnzooError, match="MLP"):
        hidden_layers(nnzoo.create("lenet5"))


def test_pretraining_learns_each_hidden_layer_and_leaves_the_output_layer(digits):
    torch.manual_seed(0)
    model = nnzoo.create("mlp", hidden=(32, 16), activation="logistic")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    errors = pretrain_layers(model, digits.train.x, epochs=10, seed=0)
    assert len(errors) == 2
    x = digits.train.x
    assert errors[0] < 0.5 * ((x - x.mean(0)) ** 2).mean().item()  # beats the mean image
    after = model.state_dict()
    for name in ("layers.0.weight", "layers.2.weight"):
        assert not torch.equal(before[name], after[name]), name
    torch.testing.assert_close(after["layers.4.weight"], before["layers.4.weight"])


def test_pretraining_is_greedy_lower_layers_do_not_see_the_upper_ones(digits):
    firsts = []
    for hidden in ((24,), (24, 12)):
        torch.manual_seed(0)
        model = nnzoo.create("mlp", hidden=hidden, activation="logistic")
        pretrain_layers(model, digits.train.x, epochs=3, seed=4)
        firsts.append(model.layers[0].weight.detach().clone())
    torch.testing.assert_close(firsts[0], firsts[1])


def test_denoising_pretraining_differs_and_bad_noise_is_refused(digits):
    x = digits.train.x[:200]
    weights = []
    for noise in (None, "masking"):
        torch.manual_seed(0)
        model = nnzoo.create("mlp", hidden=(16,), activation="logistic")
        pretrain_layers(model, x, epochs=2, noise=noise, noise_level=0.3, seed=0)
        weights.append(model.layers[0].weight.detach().clone())
    assert not torch.allclose(weights[0], weights[1])
    with pytest.raises(NnzooError, match="noise"):
        pretrain_layers(model, x, epochs=1, noise="pepper")


def test_labelled_subset_is_class_balanced(digits):
    subset = labelled_subset(digits, 50, seed=0)
    assert torch.bincount(subset.train.y, minlength=10).tolist() == [5] * 10


def test_pretrained_logistic_net_beats_scratch_with_50_labels(digits):
    accuracy = {}
    for pretrain in (False, True):
        torch.manual_seed(0)
        model = nnzoo.create("mlp", hidden=(64, 32), activation="logistic")
        if pretrain:
            pretrain_layers(model, digits.train.x, epochs=10, batch_size=32, seed=0)
        few = labelled_subset(digits, 50, seed=0)
        few = replace(few, val=few.val.take(torch.arange(10)))
        result = nnzoo.fit(model, few, epochs=150, batch_size=32, lr=1e-3, progress=False)
        accuracy[pretrain] = result.test["top1"]
    assert accuracy[True] > accuracy[False] + 0.08, accuracy
