"""The run lifecycle: the one loop every learner goes through.

A learner (:class:`nnzoo.train.learner.Learner`) says what one epoch does and how it is scored;
:func:`run` owns everything else, the same for gradient descent, BPTT, the GAN and the rules:

- the run folder (:class:`nnzoo.runs.RunFolder`): locked, its config written once the learner's
  checks pass, a checkpoint and ``history.csv`` after every epoch;
- seeds and every random stream, saved in the checkpoint, so that ``resume`` continues to the
  weights an uninterrupted run ends with, bit for bit;
- SIGINT and SIGTERM (:mod:`nnzoo.train.signals`): the state of the last finished epoch is put
  back and written as the run's result, then :class:`TrainingInterrupted` is raised;
- a guard against non-finite losses and weights (:class:`NonFiniteError`);
- validation, early stopping, progress or one log line per epoch, and at the end the test, the
  metrics, the weights, the curves and the task's pictures.
"""

from __future__ import annotations

import math
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nnzoo.errors import NnzooError
from nnzoo.runs import RunFolder
from nnzoo.runs.checkpoint import Snapshot
from nnzoo.train.checks import warn_if_diverging
from nnzoo.train.signals import Stopped, StopSignals


@dataclass
class TrainState:
    """What callbacks see."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer | None
    epochs: int
    steps_per_epoch: int
    config: dict
    epoch: int = 0  # epochs completed
    history: list[dict] = field(default_factory=list)
    stop: bool = False  # set by a callback (early stopping) or the learner (a converged rule)
    best_epoch: int | None = None  # set by early stopping: the epoch whose weights are kept
    interrupted_in: int | None = None
    folder: RunFolder | None = None
    callbacks: list = field(default_factory=list)

    def step_done(self) -> None:
        """Called by a learner after each step: the callbacks' ``on_step_end``."""
        notify(self.callbacks, "on_step_end", self)


@dataclass
class FitResult:
    history: list[dict]
    test: dict
    best_epoch: int  # the epoch whose weights were kept (see ``kept``)
    epochs: int
    train_seconds: float
    samples_per_second: float
    out: Path | None = None
    interrupted_in: int | None = None  # the epoch a signal stopped, if one did
    kept: str = "last"  # "best": early stopping put back its best epoch's weights
    second_run: dict | None = None  # the second run's summary (nnzoo.train.second_run)

    @property
    def metrics(self) -> dict:
        """The flat summary written to metrics.json."""
        summary = {f"test_{k}": v for k, v in self.test.items()}
        summary.update(epochs=self.epochs, best_epoch=self.best_epoch, weights_kept=self.kept,
                       train_seconds=round(self.train_seconds, 3),
                       samples_per_second=round(self.samples_per_second, 1))
        if self.interrupted_in is not None:
            summary["interrupted_in_epoch"] = self.interrupted_in
        if self.second_run is not None:
            summary["second_run"] = self.second_run
        return summary


class TrainingInterrupted(Stopped):
    """SIGINT or SIGTERM during a run once at least one epoch had finished. Before this is
    raised the run was closed as if it had ended with that epoch: its weights put back, tested,
    and written to its run folder, which ``resume`` continues. ``result`` is that run."""

    def __init__(self, result: FitResult, epochs: int, signum: int):
        super().__init__(signum)
        self.args = (f"training interrupted in epoch {result.interrupted_in} of {epochs}",)
        self.result, self.epochs = result, epochs


class NonFiniteError(NnzooError):
    """A loss, a metric or a weight became NaN or infinite; the run keeps its last finite
    checkpoint."""


def notify(callbacks, event: str, state: TrainState) -> None:
    for cb in callbacks:
        hook = getattr(cb, event, None)
        if hook is not None:
            hook(state)


def random_streams() -> dict:
    """Every global random stream a learner may draw from: torch's (CPU and each CUDA
    device), numpy's and Python's."""
    import numpy as np

    streams = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
               "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        streams["cuda"] = torch.cuda.get_rng_state_all()
    return streams


def set_random_streams(streams: dict) -> None:
    import numpy as np

    torch.set_rng_state(streams["torch"])
    np.random.set_state(streams["numpy"])
    version, internal, gauss = streams["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in streams and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(streams["cuda"])


def non_finite(row: dict, model: torch.nn.Module) -> str | None:
    """What in an epoch's row or the model's weights is NaN or infinite, in words; else None."""
    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        return f"{', '.join(bad)} = {row[bad[0]]}"
    weights = {k: t for k, t in model.state_dict().items() if t.is_floating_point()}
    finite = torch.stack([t.isfinite().all() for t in weights.values()]) if weights else None
    if finite is not None and not bool(finite.all()):  # one host sync when all is well
        names = [k for k, ok in zip(weights, finite.tolist()) if not ok]
        return f"the weights {', '.join(names[:3])}{'...' if len(names) > 3 else ''}"
    return None


def run(learner, *, epochs: int = 1, out=None, resume: bool = False, overwrite: bool = False,
        config: dict | None = None, callbacks=(), progress: bool = True, seed: int = 0,
        patience: int | None = None, tensorboard: bool = False) -> FitResult:
    """Train ``learner`` for ``epochs`` epochs (fewer if it converges or early stopping stops
    it); with ``out``, write the run there. ``resume=True`` continues the run in ``out`` from its
    last checkpoint (``epochs`` may be raised to extend a finished run)."""
    folder = out if out is None or isinstance(out, RunFolder) else \
        RunFolder(out, overwrite=overwrite, resume=resume)
    try:
        return _run(learner, folder, epochs, resume, dict(config or {}), list(callbacks),
                    progress, seed, patience, tensorboard)
    except BaseException:
        if folder is not None and not resume:
            folder.discard_unstarted()
        raise
    finally:
        if folder is not None and folder is not out:  # a RunFolder given stays its caller's
            folder.close()


def _run(learner, folder, epochs, resume, config, callbacks, progress, seed, patience,
         tensorboard) -> FitResult:
    from nnzoo.data._values import check_values
    from nnzoo.settings import check_setting
    from nnzoo.train.callbacks import EarlyStopping, epoch_reporter

    check_setting("epochs", epochs)
    check_values(learner.data)  # NaN, infinities and empty splits, whoever built the data
    torch.manual_seed(seed)
    learner.prepare()  # the model, data and settings fit together; nothing is written yet
    saved = folder.load_checkpoint() if resume and folder else None
    state = TrainState(learner.model, getattr(learner, "optimizer", None), epochs,
                       learner.steps_per_epoch, config, folder=folder)
    stopper = EarlyStopping(patience) if patience is not None else None
    keeping = [cb for cb in callbacks + [stopper] if cb is not None]
    if saved is not None:
        _restore(state, learner, keeping, saved)
        if saved["stopped_early"] or saved["epoch"] >= epochs:
            _refuse_finished(folder, saved, epochs)
        folder.write_json("config.json", config)  # the same, but for more epochs if extended
    elif folder:
        folder.start(config)
    state.callbacks = [cb for cb in keeping + [epoch_reporter(progress)] if cb is not None]
    if folder and tensorboard:
        from nnzoo.train.callbacks.tensorboard import TensorBoardScalars

        state.callbacks.append(TensorBoardScalars(folder.file("tensorboard")))
    snapshot = _snapshot(state, learner, keeping) if state.history else None
    writer = CheckpointWriter(folder, state)

    with StopSignals() as signals:
        notify(state.callbacks, "on_train_begin", state)
        try:
            while state.epoch < epochs and not state.stop:
                start = time.perf_counter()
                row = {"epoch": state.epoch + 1, **learner.epoch(state)}
                row["seconds"] = time.perf_counter() - start
                row.update({f"val_{k}": v for k, v in learner.validate().items()})
                with signals.deferred():
                    problem = non_finite(row, learner.model)
                    if problem is not None:
                        error = _non_finite_error(state, learner, problem, snapshot)
                        if snapshot is not None:
                            writer.write(snapshot, final=True)  # the last finite epoch
                        raise error
                    state.epoch += 1
                    state.history.append(row)
                    warn_if_diverging(state.history, learner)
                    notify(state.callbacks, "on_epoch_end", state)
                    snapshot = _snapshot(state, learner, keeping)
                    writer.write(snapshot, final=state.stop or state.epoch >= epochs)
        except KeyboardInterrupt as stop:  # SIGINT or SIGTERM (signals.Stopped), or Ctrl-C
            if snapshot is None:  # no epoch finished: nothing to keep
                notify(state.callbacks, "on_train_end", state)
                raise
            with signals.deferred(release=False):
                _load(state, learner, keeping, snapshot.state())
                writer.write(snapshot, final=True)
            state.interrupted_in = state.epoch + 1
            signum = getattr(stop, "signum", signal.SIGINT)
        except NonFiniteError:
            notify(state.callbacks, "on_train_end", state)
            raise
        else:
            signum = None
        with signals.deferred(release=False):  # a second signal cannot cut the result short
            notify(state.callbacks, "on_train_end", state)
            result = _finish(state, learner, folder, config, stopper)
    if signum is not None:
        raise TrainingInterrupted(result, epochs, signum)
    return result


# The least time between two checkpoints written to disk. A rule whose epochs take
# milliseconds (backprop's 3000 on XOR) would otherwise spend its run in fsync; SIGINT and
# SIGTERM still keep every finished epoch (the last one is written when they come), and
# kill -9 loses at most this much of the run. The last epoch is always written.
CHECKPOINT_SECONDS = 1.0


class CheckpointWriter:
    """Writes the checkpoint and history.csv after an epoch, at most every
    ``CHECKPOINT_SECONDS`` unless ``final``."""

    def __init__(self, folder: RunFolder | None, state: TrainState):
        self.folder, self.state = folder, state
        self.written_epoch, self.last = state.epoch, time.monotonic()

    def write(self, snapshot: Snapshot, *, final: bool) -> None:
        epoch = self.state.epoch
        if not self.folder or epoch == self.written_epoch:
            return
        if not final and time.monotonic() - self.last < CHECKPOINT_SECONDS:
            return
        history = self.state.history[:epoch]
        self.folder.save_checkpoint(snapshot, history=history)
        self.folder.write_text("history.csv", history_csv(history))
        self.written_epoch, self.last = epoch, time.monotonic()


def _snapshot(state: TrainState, learner, keeping) -> Snapshot:
    """The state after ``state.epoch`` epochs: the history is not copied (it only grows), the
    checkpoint writer adds it."""
    return Snapshot({
        "epoch": state.epoch, "epochs": state.epochs, "stopped_early": bool(state.stop),
        "steps_per_epoch": state.steps_per_epoch,
        "model": learner.model.state_dict(), "learner": learner.state_dict(),
        "random": random_streams(),
        "callbacks": [cb.state_dict() for cb in keeping if hasattr(cb, "state_dict")]})


def _load(state: TrainState, learner, keeping, saved: dict) -> None:
    learner.model.load_state_dict(saved["model"])
    learner.load_state_dict(saved["learner"])
    for cb, cb_state in zip([cb for cb in keeping if hasattr(cb, "load_state_dict")],
                            saved["callbacks"]):
        cb.load_state_dict(cb_state)
    set_random_streams(saved["random"])
    state.epoch = saved["epoch"]
    state.history = list(saved.get("history", state.history))[:state.epoch]
    state.stop = bool(saved["stopped_early"])


def _restore(state: TrainState, learner, keeping, saved: dict) -> None:
    try:
        _load(state, learner, keeping, saved)
    except (RuntimeError, KeyError, ValueError, TypeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise NnzooError(f"The checkpoint in {str(state.folder.path)!r} does not fit this model "
                         f"and these settings ({first}). Resume a run with the model, data and "
                         f"settings it was started with.") from None


def refuse_finished_run(folder: RunFolder, epochs: int) -> None:
    """Refuse to resume the run in ``folder`` for ``epochs`` when it has nothing left to do,
    before its model is built or its data loaded (the checkpoint's header says)."""
    saved = folder.load_checkpoint(progress_only=True)
    if saved["stopped_early"] or saved["epoch"] >= epochs:
        _refuse_finished(folder, saved, epochs)


def _refuse_finished(folder: RunFolder, saved: dict, epochs: int) -> None:
    """Resuming a run with nothing left to train is an error, unless its result was never
    written (a crash while writing it): then the result is written now."""
    import json

    try:
        metrics = json.loads(folder.file("metrics.json").read_text())
    except (OSError, ValueError):
        return
    if not isinstance(metrics, dict) or metrics.get("epochs") != saved["epoch"] \
            or "interrupted_in_epoch" in metrics:
        return
    if _second_run_pending(folder, metrics):
        return  # the first run is finished again (from its checkpoint), then the second goes on
    how = (f"stopped early after epoch {saved['epoch']} (no better validation loss for its "
           f"patience)" if saved["stopped_early"] else f"finished all {saved['epoch']} epochs")
    hint = "" if saved["stopped_early"] else \
        f"; to train it longer give more epochs, e.g. --epochs {saved['epoch'] + 10}"
    raise NnzooError(f"The run in {str(folder.path)!r} has already {how}: there is nothing to "
                     f"resume{hint}.")


def _second_run_pending(folder: RunFolder, metrics: dict) -> bool:
    """Whether the run asked for a second run (:mod:`nnzoo.train.second_run`) that has not
    written its result."""
    from nnzoo.run_config import read_config_file

    try:
        training = read_config_file(folder.file("config.json")).get("training", {})
    except NnzooError:
        return False
    return bool(training.get("second_run")) and "second_run" not in metrics


def _non_finite_error(state: TrainState, learner, problem: str, snapshot) -> NonFiniteError:
    step = getattr(learner, "first_non_finite_step", lambda: None)()
    where = f"epoch {state.epoch + 1}" + (f", step {step}" if step else "")
    if snapshot is not None:
        _load(state, learner, [], snapshot.state())
        kept = (f" The run folder keeps the checkpoint of epoch {state.epoch}, the last finite "
                f"one." if state.folder else "")
    else:
        kept = ""
    return NonFiniteError(f"Training diverged in {where}: {problem}.{kept} Expected finite "
                          f"values; lower the learning rate (--lr), clip the gradient "
                          f"(--clip-grad-norm), or check the data for NaN or huge values.")


def history_csv(history: list[dict]) -> str:
    """The history as CSV: a column for every key any row has, in order of appearance."""
    columns = list(dict.fromkeys(key for row in history for key in row))
    lines = [",".join(columns)]
    for row in history:
        lines.append(",".join("" if row.get(c) is None else
                              (f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]))
                              for c in columns))
    return "\n".join(lines) + "\n"


def plot_history(result: FitResult, title: str | None):
    """The default curves.png: loss and accuracy per epoch, the kept epoch marked."""
    from nnzoo.explain.curves import plot_curves

    return plot_curves(result.history, best_epoch=result.best_epoch, kept=result.kept, title=title)


def _finish(state: TrainState, learner, folder, config: dict, stopper) -> FitResult:
    """Test the kept weights and write the result: metrics, weights, curves, pictures."""
    kept = "best" if stopper is not None and stopper.restored else "last"
    best = state.best_epoch if kept == "best" else state.epoch
    train_seconds = sum(row.get("seconds", 0.0) for row in state.history)
    seen = learner.samples_per_epoch * len(state.history)
    result = FitResult(state.history, learner.test(), best, state.epoch, train_seconds,
                       seen / max(train_seconds, 1e-9), folder.path if folder else None,
                       state.interrupted_in, kept)
    if folder:
        metrics = {**result.metrics, **getattr(learner, "extra_metrics", dict)()}
        folder.save_result(learner.model, config, metrics, history=result.history)
        title = config.get("title")
        if state.interrupted_in is not None:
            title = f"{title or ''} (interrupted in epoch {state.interrupted_in})".strip()
        curves = getattr(learner, "curves", None) or plot_history
        figure = curves(result, title)
        if figure is not None:
            folder.save_figure(figure, "curves.png")
        if hasattr(learner, "pictures"):
            learner.pictures(folder)
        from nnzoo.explain import run_pictures

        for picture in run_pictures(config.get("task") or learner.data.task):
            picture(learner.model, learner.data, folder)
    return result
