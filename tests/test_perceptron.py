"""The Rosenblatt perceptron: the rule by hand, against a plain-Python loop, and on data it must
(and must not) learn."""

import warnings

import pytest
import torch

import nnzoo
from nnzoo.errors import NnzooError
from nnzoo.train.fitting import learner_for
from nnzoo.train.rules import PerceptronLearner


def reference_rule(x, y, lr, epochs):
    """The lecture's β(i+1) = β(i) + α e(i) x̃(i), x̃ = [1; x], in plain Python lists."""
    beta = [0.0] * (len(x[0]) + 1)
    history = []
    for _ in range(epochs):
        errors = 0
        for xi, yi in zip(x, y):
            xt = [1.0, *xi]
            a = 1 if sum(b * v for b, v in zip(beta, xt)) >= 0 else -1
            e = yi - a
            if e:
                beta = [b + lr * e * v for b, v in zip(beta, xt)]
                errors += 1
        history.append(errors)
        if errors == 0:
            break
    return beta, history


def test_hand_worked_example():
    # Zero start; x1 is a tie (n = 0 → +1, right), x2 is wrong: β = 0 + 0.5·(-2)·[1, -1, -2].
    model = nnzoo.create("perceptron", in_features=2)
    errors = model.fit(torch.tensor([[2.0, 1.0], [-1.0, -2.0]]), torch.tensor([1, -1]))
    assert errors == [1, 0] and model.converged
    assert model.weight.tolist() == [[1.0, 2.0]] and model.bias.tolist() == [-1.0]


def test_ties_go_to_plus_one():
    model = nnzoo.create("perceptron", in_features=3)
    assert model.output(torch.randn(5, 3)).eq(1).all()


def test_same_as_plain_python_loop_on_blobs():
    data = nnzoo.load_dataset("blobs", noise=0.55)  # separable, but takes a few epochs
    x, y = data.train.x.double(), data.train.y
    model = nnzoo.create("perceptron").double()
    errors = model.fit(x, y, lr=0.5, epochs=50)
    beta, history = reference_rule(x.tolist(), (2 * y - 1).tolist(), 0.5, 50)
    assert errors == history and len(errors) > 2 and errors[-1] == 0
    torch.testing.assert_close(torch.cat([model.bias, model.weight[0]]),
                               torch.tensor(beta, dtype=torch.float64))


def test_learns_separable_blobs():
    data = nnzoo.load_dataset("blobs")
    model = nnzoo.create("perceptron")
    errors = model.fit(data.train.x, data.train.y, shuffle=True, seed=3)
    assert model.converged and errors[-1] == 0 and model.history == errors
    assert model.score(data.train.x, data.train.y) == 1.0
    assert model.score(data.test.x, data.test.y) >= 0.99


def test_fails_on_xor_and_says_so():
    xor = nnzoo.load_dataset("xor").train
    model = nnzoo.create("perceptron")
    with pytest.warns(RuntimeWarning, match="did not converge.*not be linearly separable"):
        errors = model.fit(xor.x, xor.y, epochs=25)
    assert len(errors) == 25 and min(errors) > 0 and model.converged is False
    assert model.score(xor.x, xor.y) <= 0.75  # no line gets all four


def test_label_forms_give_the_same_weights():
    data = nnzoo.load_dataset("blobs")
    runs = []
    for labels in (data.train.y, 2 * data.train.y - 1, data.train.y.double()):
        model = nnzoo.create("perceptron")
        runs.append((model.fit(data.train.x, labels), model.weight.clone(), model.bias.clone()))
    for errors, w, b in runs[1:]:
        assert errors == runs[0][0]
        assert torch.equal(w, runs[0][1]) and torch.equal(b, runs[0][2])


def test_bad_labels_are_named():
    model = nnzoo.create("perceptron")
    x = torch.zeros(3, 2)
    with pytest.raises(NnzooError, match="do not fit a 2-class"):
        model.fit(x, torch.tensor([0, 1, 2]))
    with pytest.raises(NnzooError, match="integers"):
        model.fit(x, torch.tensor([0.5, 1.0, 0.0]))
    with pytest.raises(NnzooError, match=r"\(N, 2\)"):
        model.fit(torch.zeros(3, 4), torch.tensor([0, 1, 1]))


def clusters(k, seed=0):
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(k) * 2 * torch.pi / k
    means = 4 * torch.stack([angles.cos(), angles.sin()], 1)
    y = torch.arange(k).repeat_interleave(30)
    return means[y] + 0.5 * torch.randn(len(y), 2, generator=g), y


@pytest.mark.parametrize("encoding, units", [("one-hot", 4), ("binary", 2)])
def test_multiclass_rule(encoding, units):
    x, y = clusters(4)
    model = nnzoo.create("perceptron", in_features=2, classes=4, encoding=encoding)
    assert tuple(model.weight.shape) == (units, 2)
    # one step of W += α e xᵀ by hand from zero: every unit ties to +1, so e = t - 1
    first = x[:1]
    t = model.targets(y[:1])[0]
    with pytest.warns(RuntimeWarning):  # one epoch with an error is not convergence
        model.fit(first, y[:1], epochs=1)
    torch.testing.assert_close(model.weight, 0.5 * torch.outer(t - 1, first[0]))
    torch.testing.assert_close(model.bias, 0.5 * (t - 1))
    model = nnzoo.create("perceptron", in_features=2, classes=4, encoding=encoding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # binary codes of 4 clusters around a circle may need a cap
        errors = model.fit(x, y, epochs=200, shuffle=True, seed=0)
    if encoding == "one-hot":
        assert model.converged and model.score(x, y) == 1.0
    assert errors[-1] < errors[0]


def test_shuffle_is_seeded():
    data = nnzoo.load_dataset("blobs", noise=0.55)
    a, b = nnzoo.create("perceptron"), nnzoo.create("perceptron")
    assert a.fit(data.train.x, data.train.y, shuffle=True, seed=5) == \
        b.fit(data.train.x, data.train.y, shuffle=True, seed=5)
    assert torch.equal(a.weight, b.weight)


def test_registered_and_runs_through_the_run_lifecycle(tmp_path):
    entry = nnzoo.get_entry("perceptron")
    assert (entry.family, entry.task, entry.dataset, entry.input_shape) == \
        ("classic", "classify", "blobs", (2,))
    model = nnzoo.create("perceptron")
    assert nnzoo.count_params(model) == entry.params == 3
    assert learner_for(model) is PerceptronLearner
    result = nnzoo.fit(model, nnzoo.load_dataset("blobs"), epochs=50, lr=0.5,
                       out=tmp_path / "run", progress=None)
    assert result.test["top1"] >= 0.99 and result.history[-1]["errors"] == 0
    assert {"config.json", "metrics.json", "weights.safetensors", "curves.png"} <= \
        {p.name for p in (tmp_path / "run").iterdir()}
