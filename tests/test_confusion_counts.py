"""The confusion matrix is counted in the same pass as the loss and accuracy."""

import pytest
import torch
from torch import nn

import nnzoo
from nnzoo.data import Split
from nnzoo.explain.confusion import confusion_matrix
from nnzoo.train import evaluate
from nnzoo.train.metrics import ConfusionCounts


def by_hand(true, predicted, k):
    counts = torch.zeros(k, k, dtype=torch.long)
    for t, p in zip(true.tolist(), predicted.tolist()):
        counts[t, p] += 1
    return counts


def test_evaluate_counts_the_matrix_of_its_argmax_in_one_pass():
    torch.manual_seed(0)
    model = nn.Linear(5, 4)
    split = Split(torch.randn(50, 5), torch.randint(0, 4, (50,)))
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    result = evaluate(model, split, batch_size=16, confusion_classes=4)
    assert len(calls) == 4  # 50 samples in batches of 16: one pass
    expected = by_hand(split.y, model(split.x).argmax(1), 4)
    assert torch.equal(result["confusion"], expected)
    assert result["top1"] == pytest.approx(expected.diag().sum().item() / 50)
    assert "confusion" not in evaluate(model, split)


def test_padding_is_not_counted_and_unknown_true_classes_are_refused():
    counts = ConfusionCounts(3, "cpu")
    counts.add(torch.tensor([0, 2, 1]), torch.tensor([0, -100, 1]))
    assert torch.equal(counts.result(), torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="0..2"):
        counts.add(torch.tensor([0]), torch.tensor([3]))


def test_a_binary_coded_perceptron_is_scored_by_its_decisions_with_a_no_class_column():
    torch.manual_seed(0)
    data = nnzoo.load_dataset("digits", input_shape=(64,))
    model = nnzoo.create("perceptron", in_features=64, classes=10, encoding="binary")
    with torch.no_grad():  # random weights: some of the codes 10..15 come up
        model.units.weight.normal_()
    counts = confusion_matrix(model, data.test, 10)
    decided = model.predict(data.test.x)
    assert counts.shape == (10, 11) and counts.sum() == len(data.test)
    assert counts[:, 10].sum() == (decided >= 10).sum()
    result = evaluate(model, data.test)
    assert set(result) == {"top1"}
    assert result["top1"] == pytest.approx((decided == data.test.y).double().mean().item())
