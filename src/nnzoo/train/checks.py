"""Checks that a model and a dataset fit together, made on two samples before training or
scoring starts, so that a mismatch is a clear message instead of a traceback from a loss."""

from __future__ import annotations

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
