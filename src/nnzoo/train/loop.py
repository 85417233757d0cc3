"""The training loop: ``fit(model, data, ...)`` and ``evaluate(model, split, ...)``.

One short loop. Batches are sliced from tensors already on the device (``batches.py``); losses and
hits are summed on the device and read once per epoch (``metrics.py``); everything optional — early
stopping, checkpoints, the progress bar — is a callback (``callbacks/``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from nnzoo.data import DataBundle, Split
from nnzoo.errors import NnzooError
from nnzoo.train.batches import iterate_batches, num_batches, shard
from nnzoo.train.callbacks import Checkpoint, EarlyStopping, ProgressBar
from nnzoo.train.host_allocator import keep_freed_memory
from nnzoo.train.losses import get_loss
from nnzoo.train.metrics import ConfusionCounts, Tally
from nnzoo.train.optim import make_optimizer, make_schedule
from nnzoo.train.run_folder import discards_unstarted

CLASSIFY_TASKS = ("classify", "language-model", "seq2seq")


@dataclass
class TrainState:
    """What callbacks see."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    epochs: int
    steps_per_epoch: int
    config: dict
    epoch: int = 0  # epochs completed
    history: list[dict] = field(default_factory=list)
    stop: bool = False
    best_epoch: int | None = None
    interrupted_in: int | None = None  # the epoch Ctrl-C stopped (see ``interruptible``)


@dataclass
class FitResult:
    history: list[dict]
    test: dict
    best_epoch: int
    epochs: int
    train_seconds: float
    samples_per_second: float
    out: Path | None = None
    interrupted_in: int | None = None  # the epoch Ctrl-C stopped, if it did

    @property
    def metrics(self) -> dict:
        """The flat summary written to metrics.json."""
        summary = {f"test_{k}": v for k, v in self.test.items()}
        summary.update(epochs=self.epochs, best_epoch=self.best_epoch,
                       train_seconds=round(self.train_seconds, 3),
                       samples_per_second=round(self.samples_per_second, 1))
        if self.interrupted_in is not None:
            summary["interrupted_in_epoch"] = self.interrupted_in
        return summary


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit` once at least one epoch had finished. Before this is raised the
    run was closed as if it had ended there: tested, and written to its run folder. ``result``
    is that run; a script that does not catch this stops as on any Ctrl-C."""

    def __init__(self, result: FitResult, epochs: int):
        super().__init__(f"training interrupted in epoch {result.interrupted_in} of {epochs}")
        self.result, self.epochs = result, epochs


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


class _TrainingLoss(nn.Module):
    """forward(x, y) = model.training_loss(x, y): the loss and the outputs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        return self.model.training_loss(x, y)


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


def _use_channels_last(model: nn.Module, x, device: torch.device) -> bool:
    # Measured on a 2-core CPU: LeNet-5 trains ~1.5x faster with channels_last; no gain on GPU
    # for such small models, so only the CPU path switches.
    return (device.type == "cpu" and isinstance(x, torch.Tensor) and x.dim() == 4
            and any(isinstance(m, nn.Conv2d) for m in model.modules()))


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
             batch_size: int = 1024, device=None, confusion_classes: int | None = None) -> dict:
    """Loss (and top-1 / top-5 for classification) of ``model`` on ``split``.

    With ``confusion_classes=K`` the result also holds ``"confusion"``, a K x K tensor of
    counts (rows the true class, columns the predicted one) from the same pass over the data.
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
            out = call_model(model, x)
            tally.add(loss_fn(out, y), out, y)
        result = tally.result()
    model.train(was_training)
    if confusion is not None:
        result["confusion"] = confusion.result()
    return result


@discards_unstarted
def fit(model: nn.Module, data: DataBundle, *, epochs: int = 10, batch_size: int = 64,
        lr: float = 1e-3, optimizer: str = "adam", momentum: float = 0.9, weight_decay: float = 0.0,
        schedule: str = "constant", schedule_c: float = 1.0, schedule_step: int = 10,
        patience: int | None = None, loss=None, clip_grad_norm: float | None = None,
        device="auto", seed: int = 0, progress: bool = True, out=None, overwrite: bool = False,
        callbacks=(), config: dict | None = None, channels_last: bool | None = None,
        compile: bool = False) -> FitResult:
    """Train ``model`` on ``data.train``, validate each epoch, test at the end.

    Args:
        epochs, batch_size, lr: the usual; ``optimizer`` is sgd (with ``momentum``), adam, adamw
            or rmsprop; ``weight_decay`` is the L2 coefficient.
        schedule: constant | inverse (α0/(i + schedule_c)) | step | cosine, per epoch.
        patience: early stopping on validation loss after this many epochs without improvement;
            the best epoch's weights are restored.
        loss: a name from ``nnzoo.train.losses`` or a function; default by ``data.task``.
        out: run folder to write (config.json, metrics.json, weights.safetensors, curves.png).
        seed: seeds shuffling, dropout and augmentation, so a CPU run repeats exactly.
        device: cpu, cuda, cuda:N or auto. On the CPU, fit also lets this process keep freed
            memory for the next step (:mod:`nnzoo.train.host_allocator`; opt out with
            ``NNZOO_KEEP_FREED_MEMORY=0``).
        Ctrl-C during training keeps the epochs already finished: the run is tested and
        written as if it had ended there (``metrics.json`` gets ``interrupted_in_epoch``; the
        weights are those of the moment, or the best epoch's under ``patience``), then
        :class:`TrainingInterrupted` is raised with the result. Ctrl-C in the first epoch
        raises ``KeyboardInterrupt`` as usual.
        compile: train through ``torch.compile(model)``. The first epoch pays the compilation
            (~15 s for LeNet-5 on a 2-core CPU, less once inductor's cache holds it); later
            steps ran ~1.4x faster there. Every step then has the same shape: the last partial
            batch of each epoch is left out (a fresh shuffle each epoch still uses every
            sample). Models with their own ``training_loss`` are not compiled.

    >>> result = fit(nnzoo.create("mlp"), nnzoo.load_dataset("digits", input_shape=(64,)),
    ...              epochs=5, progress=False)               # doctest: +SKIP
    >>> result.test["top1"]                                   # doctest: +SKIP
    """
    device = training_device(device)
    torch.manual_seed(seed)
    folder = out  # a RunFolder or None: @discards_unstarted opened it
    run_config = dict(config or {})
    run_config.setdefault("training", {}).update(
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, momentum=momentum,
        weight_decay=weight_decay, schedule=schedule, schedule_c=schedule_c, patience=patience,
        loss=loss if isinstance(loss, (str, type(None))) else getattr(loss, "__name__", "custom"),
        clip_grad_norm=clip_grad_norm, device=str(device), seed=seed, compile=compile)
    model.to(device)
    data = data.to(device)
    train = data.train
    loss_fn = get_loss(loss, data.task)
    check_input_fits(model, train, data.name)
    check_targets_fit(model, train, data.name, data.task, loss_fn)
    if folder:  # written once the model, the data and the loss are known to fit together
        folder.write_json("config.json", run_config)
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed:  # under torchrun: each rank trains on its shard, gradients are averaged
        train = shard(train, torch.distributed.get_rank(), torch.distributed.get_world_size())
    if channels_last is None:
        channels_last = _use_channels_last(model, train.x, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        train = Split(train.x.contiguous(memory_format=torch.channels_last), train.y)

    custom_loss = getattr(model, "training_loss", None)
    # A model with its own training_loss (GoogLeNet's auxiliary heads) is stepped through a
    # module whose forward is that loss, so that under torchrun DDP wraps what is called.
    stepped = model if custom_loss is None else _TrainingLoss(model)
    step_model = nn.parallel.DistributedDataParallel(stepped) if distributed else stepped
    compile = bool(compile) and custom_loss is None
    if compile:
        step_model = torch.compile(step_model, dynamic=False)
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer, lr,
                         momentum=momentum, weight_decay=weight_decay)
    scheduler = make_schedule(opt, schedule, epochs, c=schedule_c, step=schedule_step)
    generator = torch.Generator(device=device).manual_seed(seed)

    cbs = list(callbacks)
    if patience is not None:
        cbs.append(EarlyStopping(patience))
    if progress:
        cbs.append(ProgressBar())
    drop_last = compile and len(train) >= batch_size
    state = TrainState(model, opt, epochs, num_batches(len(train), batch_size, drop_last), run_config)
    _notify(cbs, "on_train_begin", state)

    samples_per_epoch = state.steps_per_epoch * batch_size if drop_last else len(train)
    with interruptible(state, cbs):
        for epoch in range(epochs):
            model.train()
            tally = Tally(device, classify=data.task in CLASSIFY_TASKS, top5=False)
            start = time.perf_counter()
            for x, y in iterate_batches(train, batch_size, shuffle=True, generator=generator,
                                        drop_last=drop_last):
                if data.augment is not None:
                    x = data.augment(x, generator)
                if custom_loss is not None:
                    batch_loss, outputs = step_model(x, y)
                else:
                    outputs = call_model(step_model, x)
                    batch_loss = loss_fn(outputs, y)
                descend(opt, batch_loss, model, clip_grad_norm)
                tally.add(batch_loss, outputs, y)
                _notify(cbs, "on_step_end", state)
            row = {"epoch": epoch + 1, **tally.result(), "seconds": time.perf_counter() - start}
            if end_epoch(state, cbs, row, scheduler,
                         lambda: evaluate(model, data.val, task=data.task, loss=loss_fn)):
                break
    _notify(cbs, "on_train_end", state)
    # (tally.result() synced the device once per epoch, so its seconds are the epoch's)
    train_seconds = sum(row["seconds"] for row in state.history)
    seen = samples_per_epoch * len(state.history)

    test = evaluate(model, data.test, task=data.task, loss=loss_fn)
    return finish_run(state, test, train_seconds, seen, folder, run_config)


def descend(opt, loss: torch.Tensor, model: nn.Module, clip_grad_norm: float | None) -> None:
    """One gradient step: w ← w − α·∇J (as the optimizer defines it), the gradient's norm clipped
    to `clip_grad_norm` first when given."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_grad_norm:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    opt.step()


@contextmanager
def interruptible(state: TrainState, callbacks):
    """Around a trainer's epochs: Ctrl-C stops them and keeps those already finished, setting
    ``state.interrupted_in`` (:func:`finish_run` then writes the run and raises
    :class:`TrainingInterrupted`). With no epoch finished, the ``KeyboardInterrupt`` goes on,
    after the callbacks' ``on_train_end`` (which closes the progress bar)."""
    try:
        yield
    except KeyboardInterrupt:
        if not state.history:
            _notify(callbacks, "on_train_end", state)
            raise
        state.interrupted_in = state.epoch + 1


def end_epoch(state: TrainState, callbacks, row: dict, scheduler, validate) -> bool:
    """Close an epoch: its learning rate, the schedule's step, the validation metrics (``val_``
    + each key of ``validate()``), the history and the callbacks. True when they say stop."""
    row["lr"] = state.optimizer.param_groups[0]["lr"]
    scheduler.step()
    row.update({f"val_{key}": value for key, value in validate().items()})
    state.epoch += 1
    state.history.append(row)
    _notify(callbacks, "on_epoch_end", state)
    return state.stop


def finish_run(state: TrainState, test: dict, train_seconds: float, seen: int, folder,
               run_config: dict) -> FitResult:
    """The result of a finished run; with a run folder, also its weights, metrics and curves.
    A run that Ctrl-C stopped (``state.interrupted_in``) is written too, then
    :class:`TrainingInterrupted` is raised with its result."""
    interrupted_in = state.interrupted_in
    result = FitResult(state.history, test, state.best_epoch or state.epoch, state.epoch,
                       train_seconds, seen / max(train_seconds, 1e-9), folder.path if folder else None,
                       interrupted_in)
    if folder:
        folder.save_result(state.model, run_config, result.metrics, history=result.history)
        from nnzoo.explain.curves import plot_curves

        title = run_config.get("title")
        if interrupted_in is not None:
            title = f"{title or ''} (interrupted in epoch {interrupted_in})".strip()
        folder.save_figure(plot_curves(result.history, best_epoch=result.best_epoch,
                                       stopped=state.stop, title=title), "curves.png")
    if interrupted_in is not None:
        raise TrainingInterrupted(result, state.epochs)
    return result


def _notify(callbacks, event: str, state: TrainState) -> None:
    for cb in callbacks:
        hook = getattr(cb, event, None)
        if hook is not None:
            hook(state)
