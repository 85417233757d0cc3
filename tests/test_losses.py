import pytest
import torch
import torch.nn.functional as F

from nnzoo.train.losses import (binary_cross_entropy, get_loss, mean_squared_error,
                                softmax_cross_entropy, sum_squared_error)


def test_sse_is_e_transpose_e():
    a, y = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.5, 2.0, 1.0])
    e = y - a
    assert sum_squared_error(a, y).item() == (e @ e).item() == 4.25
    assert mean_squared_error(a, y).item() == pytest.approx(4.25 / 3)


def test_softmax_cross_entropy_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    y = torch.tensor([0, 2])
    by_hand = -(torch.log_softmax(logits, 1)[[0, 1], y]).mean()
    torch.testing.assert_close(softmax_cross_entropy(logits, y), by_hand)


def test_per_step_cross_entropy_ignores_padding():
    logits = torch.randn(2, 4, 5)
    y = torch.tensor([[1, 2, -100, -100], [0, 4, 3, -100]])
    keep = y >= 0
    expected = F.cross_entropy(logits[keep], y[keep])
    torch.testing.assert_close(softmax_cross_entropy(logits, y), expected)


def test_binary_cross_entropy_by_hand():
    a, y = torch.tensor([0.3, -2.0]), torch.tensor([1.0, 0.0])
    p = torch.sigmoid(a)
    expected = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    torch.testing.assert_close(binary_cross_entropy(a, y), expected)


def test_task_defaults():
    assert get_loss(None, "classify") is softmax_cross_entropy
    assert get_loss(None, "regress") is mean_squared_error
    assert get_loss("sse") is sum_squared_error
