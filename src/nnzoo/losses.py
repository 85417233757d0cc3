"""Loss functions, written as the lectures write them.

    sum of squared errors   J = eᵀe = Σ (y - a)²            (the lectures' performance index)
    mean squared error      J = (1/n) Σ (y - a)²
    softmax cross-entropy   J = -(1/N) Σ log softmax(a)_y   (a = logits, y = class ids)
    binary cross-entropy    J = -(1/n) Σ [y log p + (1 - y) log(1 - p)],  p = σ(a)

Cross-entropies take raw scores (logits) and apply the softmax / logistic inside, which is the
numerically stable form. Class targets may be per step, ``(N, T)`` against scores ``(N, T, C)``;
the value -100 marks padding that does not count.

This module sits at the package top, not under ``nnzoo.train``, because models use it too (an
autoencoder's reconstruction loss) and models must not depend on the trainer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nnzoo.errors import NnzooError

__all__ = ["IGNORE_INDEX", "LOSSES", "TASK_LOSS", "binary_cross_entropy", "get_loss",
           "mean_squared_error", "softmax_cross_entropy", "sum_squared_error"]

IGNORE_INDEX = -100


def sum_squared_error(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """J = eᵀe with e = target - output, summed over every element."""
    e = target - output
    return (e * e).sum()


def mean_squared_error(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """J = mean of (target - output)²."""
    return F.mse_loss(output, target.to(output.dtype).reshape(output.shape))


def softmax_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-mean log softmax(logits)[target]; logits (N, C) or (N, T, C), padding = -100."""
    if logits.dim() == 3:
        return F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=IGNORE_INDEX)
    return F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX)


def binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-mean [y log σ(a) + (1 - y) log(1 - σ(a))] on raw scores a."""
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype).reshape(logits.shape))


LOSSES = {
    "sse": sum_squared_error,
    "mse": mean_squared_error,
    "cross_entropy": softmax_cross_entropy,
    "bce": binary_cross_entropy,
}

TASK_LOSS = {"classify": "cross_entropy", "regress": "mse", "reconstruct": "mse",
             "language-model": "cross_entropy", "seq2seq": "cross_entropy"}


def get_loss(name_or_fn, task: str = "classify"):
    """A loss function by name (``sse``, ``mse``, ``cross_entropy``, ``bce``), or the task's."""
    if callable(name_or_fn):
        return name_or_fn
    name = name_or_fn or TASK_LOSS.get(task)
    if name not in LOSSES:
        raise NnzooError(f"Unknown loss {name_or_fn!r} for task {task!r}; expected one of "
                         f"{', '.join(LOSSES)}.")
    return LOSSES[name]
