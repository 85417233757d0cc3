"""Scoring a model on a split: ``evaluate`` (loss, top-1, top-5, a confusion matrix) and the
device a run uses."""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.data import DataBundle, Split
from nnzoo.errors import NnzooError
from nnzoo.losses import get_loss
from nnzoo.train.batches import iterate_batches
from nnzoo.train.checks import call_model
from nnzoo.train.host_allocator import keep_freed_memory
from nnzoo.train.metrics import ConfusionCounts, Tally

CLASSIFY_TASKS = ("classify", "language-model", "seq2seq")


def resolve_device(device) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NnzooError(f"Device {str(device)!r} was asked for but this machine has no CUDA GPU; "
                         f"use --device cpu (or auto).")
    return device


def training_device(device) -> torch.device:
    """:func:`resolve_device`; on the CPU, also let training reuse freed memory
    (:mod:`nnzoo.train.host_allocator`)."""
    device = resolve_device(device)
    if device.type == "cpu":
        keep_freed_memory()
    return device


@torch.no_grad()
def decides_by_own_rule(model: nn.Module, split: Split, task: str) -> bool:
    """A classifier with a ``predict`` whose outputs are not one score per class (one output
    unit, as in a perceptron or a 2-2-1 net, or a perceptron's binary-coded units): it is scored
    by its own decisions, not by a loss on its outputs."""
    if task != "classify" or not callable(getattr(model, "predict", None)) \
            or not isinstance(split.x, torch.Tensor):
        return False
    return (call_model(model, split.x[:1]).shape[-1] == 1
            or not getattr(model, "outputs_are_class_scores", True))


@torch.no_grad()
def evaluate(model: nn.Module, split: Split | DataBundle, *, task: str = "classify", loss=None,
             batch_size: int = 1024, device=None, confusion_classes: int | None = None,
             perturb=None) -> dict:
    """Loss (and top-1 / top-5 for classification) of ``model`` on ``split``.

    With ``confusion_classes=K`` the result also holds ``"confusion"``, a K x K tensor of
    counts (rows the true class, columns the predicted one) from the same pass over the data.
    ``perturb(x, y) -> x`` (an attack: :func:`evaluate_fgsm`) changes each batch's inputs
    before the model sees them.
    """
    if isinstance(split, DataBundle):
        task, split = split.task, split.test
    device = next((p.device for p in model.parameters()), torch.device("cpu")) if device is None \
        else resolve_device(device)
    split = split.to(device)
    loss_fn = get_loss(loss, task)
    confusion = ConfusionCounts(confusion_classes, device) if confusion_classes else None
    was_training = model.training
    model.eval()
    if decides_by_own_rule(model, split, task):
        hits = 0
        for x, y in iterate_batches(split, batch_size):
            predicted = model.predict(x)
            hits += (predicted == y).sum().item()
            if confusion is not None:
                confusion.add(predicted.long(), y)
        result = {"top1": hits / max(1, len(split))}
    else:
        tally = Tally(device, classify=task in CLASSIFY_TASKS, confusion=confusion)
        for x, y in iterate_batches(split, batch_size):
            if isinstance(x, torch.Tensor) and x.dim() == 4 and \
                    next(model.parameters()).is_contiguous(memory_format=torch.channels_last):
                x = x.contiguous(memory_format=torch.channels_last)
            if perturb is not None:
                x = perturb(x, y)
            out = call_model(model, x)
            tally.add(loss_fn(out, y), out, y)
        result = tally.result()
    model.train(was_training)
    if confusion is not None:
        result["confusion"] = confusion.result()
    return result


def evaluate_fgsm(model: nn.Module, split: Split, *, eps: float, task: str = "classify",
                  loss=None, batch_size: int = 1024) -> dict:
    """Loss and top-1 of ``model`` on ``split``'s inputs perturbed by the fast gradient sign
    method, x + ε·sign(∇ₓJ(x, y)) (Goodfellow, Shlens & Szegedy 2015), each batch attacked
    through the model in eval mode."""
    from nnzoo.train.regularise import fgsm

    if task not in ("classify", "regress") or decides_by_own_rule(model, split, task):
        raise NnzooError(f"The FGSM attack perturbs inputs along the gradient of a classifier's "
                         f"or regressor's loss; this model ({task}) has none to follow. Attack a "
                         f"model trained by gradient descent.")
    if not isinstance(split.x, torch.Tensor) or not split.x.is_floating_point():
        raise NnzooError("The FGSM attack perturbs real-valued inputs; this split gives token ids "
                         "or several input tensors. Expected images, features or series.")
    loss_fn = get_loss(loss, task)

    def attack(x, y):
        return fgsm(lambda inputs: loss_fn(call_model(model, inputs), y), x, eps)

    return evaluate(model, split, task=task, loss=loss_fn, batch_size=batch_size, perturb=attack)
