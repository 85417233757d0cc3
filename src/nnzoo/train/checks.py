"""Checks that a model and a dataset fit together, made on two samples before training or
scoring starts, so that a mismatch is a clear message instead of a traceback from a loss; and
the check at the end of each epoch that training has not run away (:func:`warn_if_diverging`)."""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager

import torch
from torch import nn

from nnzoo.data import Split
from nnzoo.errors import NnzooError


def call_model(model, x):
    return model(*x) if isinstance(x, tuple) else model(x)


def check_token_ids(model: nn.Module, split: Split, name: str) -> None:
    """A model that reads token ids (``vocab_size`` of them) needs whole numbers 0..V-1 in every
    sample: 2-D points or out-of-range ids would fail, or index garbage, on whichever batch
    holds the first one."""
    vocab = getattr(model, "vocab_size", None)
    if vocab is None:
        return
    for t in split.x if isinstance(split.x, tuple) else (split.x,):
        if t.numel() == 0:
            continue
        whole = not t.is_floating_point() or bool(torch.equal(t, t.round()))
        low, high = t.min().item(), t.max().item()
        if not whole or low < 0 or high >= vocab:
            kind = "whole numbers" if whole else "fractions"
            raise NnzooError(f"Dataset {name!r} gives inputs from {low:g} to {high:g} ({kind}), but "
                             f"the model {type(model).__name__} reads token ids: whole numbers from "
                             f"0 to {vocab - 1}. Expected a dataset of token sequences (`nnzoo "
                             f"data list`), or a vocabulary that covers its ids.")


# What a model or a loss raises on input of the wrong shape or kind; TypeError: a (source,
# target) pair given to a one-input forward.
PROBE_ERRORS = (RuntimeError, ValueError, IndexError, TypeError)


@contextmanager
def _two_samples_in_eval(model: nn.Module, split: Split):
    """The first two samples of ``split``, with ``model`` in eval mode and no gradients; the
    model's mode is restored afterwards."""
    sample = split.take(torch.arange(min(2, len(split)), device=split.y.device))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield sample
    finally:
        model.train(was_training)


def check_input_fits(model: nn.Module, split: Split, name: str) -> None:
    """Run one sample through the model; a shape error becomes a clear message."""
    check_token_ids(model, split, name)
    with _two_samples_in_eval(model, split) as sample:
        try:
            call_model(model, sample.x)
        except PROBE_ERRORS as err:
            shapes = [tuple(t.shape[1:]) for t in sample.x] if isinstance(sample.x, tuple) \
                else tuple(sample.x.shape[1:])
            expected = getattr(model, "input_shape", None)
            hint = f" (it expects {tuple(expected)})" if expected else ""
            raise NnzooError(f"Dataset {name!r} gives inputs of shape {shapes} per sample, which "
                             f"the model {type(model).__name__}{hint} cannot take: "
                             f"{str(err).splitlines()[0]}") from None


def check_targets_fit(model: nn.Module, split: Split, name: str, task: str, loss_fn) -> None:
    """Score two samples' outputs against their targets; a mismatch (a classifier on a series
    to forecast, an autoencoder on labelled points) becomes a clear message, not a traceback from
    inside the loss. Random numbers drawn here (a denoising model's noise) are given back."""
    device = split.y.device
    devices = [] if device.type != "cuda" else \
        [device.index if device.index is not None else torch.cuda.current_device()]
    with _two_samples_in_eval(model, split) as sample, torch.random.fork_rng(devices=devices):
        try:
            custom = getattr(model, "training_loss", None)
            if custom is not None:
                custom(sample.x, sample.y)
            else:
                loss_fn(call_model(model, sample.x), sample.y)
        except PROBE_ERRORS as err:
            raise NnzooError(
                f"Dataset {name!r} gives targets of shape {tuple(sample.y.shape[1:])} per sample, "
                f"and the outputs of the model {type(model).__name__} cannot be scored against "
                f"them as a {task} task: {str(err).splitlines()[0]}. Expected a dataset of the "
                f"task the model was built for (`nnzoo info MODEL` names it), or a model for "
                f"this dataset's task.") from None


# ---- at the end of an epoch ---------------------------------------------------------------

class DivergenceWarning(UserWarning):
    """The validation loss has grown far beyond where training started: the learning rate is
    most likely too large for this model and data."""


DIVERGENCE_RATIO = 1e5  # how far beyond where it started a loss must grow to be a runaway
LOSSES = (("val_loss", "validation loss"), ("loss", "training loss"))


def starting_loss(history: list[dict], num_classes: int | None):
    """``(value, what it is)``: where the loss starts. For data of K classes ln K, the
    cross-entropy of guessing every class alike, which an initialised classifier scores; else
    the first epoch's validation loss. None when there is neither (a GAN's rows)."""
    if (num_classes or 0) >= 2:
        return math.log(num_classes), f"ln {num_classes}, the loss of guessing every class alike"
    first = history[0].get("val_loss")
    if isinstance(first, (int, float)) and math.isfinite(first) and first > 0:
        return float(first), "the first epoch's validation loss"
    return None


def runaway_loss(row: dict, start: float):
    """``(name, value)`` of the first of the row's losses (validation, then training) above
    DIVERGENCE_RATIO × ``start``; None when neither is."""
    for key, name in LOSSES:
        value = row.get(key)
        if isinstance(value, (int, float)) and value > DIVERGENCE_RATIO * start:
            return name, value
    return None


def warn_if_diverging(history: list[dict], learner) -> None:
    """Warn (:class:`DivergenceWarning`) at the first epoch whose validation or training loss
    is more than ``DIVERGENCE_RATIO`` (10⁵) times :func:`starting_loss`, naming the learning
    rate and a smaller one. Training goes on (a loss that becomes NaN or infinite stops it, the
    lifecycle's guard). ResNet-18 at lr 0.1 on Fashion-MNIST scored a validation loss of 514,020
    after one epoch, 2·10⁵ times ln 10, and predicted one class."""
    start = starting_loss(history, learner.data.num_classes) if history else None
    if start is None:
        return
    runaway = [runaway_loss(row, start[0]) for row in history]
    if runaway[-1] is None or any(runaway[:-1]):
        return
    (name, value), row = runaway[-1], history[-1]
    lr = learner.settings().get("lr", row.get("lr"))
    rate = (f"The learning rate is lr={lr:g}; try a smaller one, e.g. --lr {lr / 10:g} "
            f"(lr={lr / 10:g} in nnzoo.fit)." if isinstance(lr, (int, float)) else
            "Try a smaller learning rate (--lr).")
    shown = f"{value:,.0f}" if value < 1e15 else f"{value:.3g}"
    also = ""
    if isinstance(row.get("loss"), (int, float)) and row["loss"] <= DIVERGENCE_RATIO * start[0] \
            and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in learner.model.modules()):
        also = (f" (The training loss is {row['loss']:.4g}: batch normalisation's running "
                f"statistics, after few steps, can also do this.)")
    warnings.warn(f"Training is diverging: the {name} of epoch {row['epoch']} is {shown}, "
                  f"more than {DIVERGENCE_RATIO:,.0f} times {start[1]} ({start[0]:.4g}). "
                  f"{rate}{also}", DivergenceWarning, stacklevel=2)
