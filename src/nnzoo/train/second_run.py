"""The second run: the lectures' two ways to use the validation data once early stopping has
chosen an epoch (Goodfellow, Bengio & Courville 2016, *Deep Learning*, section 7.8):

- ``fresh``: start again from the first run's initial weights and train on the training and
  validation data together for the number of epochs early stopping chose (its best epoch);
- ``continue``: go on from the first run's kept (best) weights on the training and validation
  data until the training loss falls below the validation loss at the stopping point, for at
  most as many epochs as the first run trained. (The book's algorithm 7.3 watches the
  validation loss fall below the training loss instead; the lectures' form is the one here.)

The second run is a run of its own, in ``RUN/second_run`` (locked, checkpointed, resumable
with the first: ``nnzoo train --resume RUN`` finishes whichever is unfinished), with a fresh
optimizer. The first run's ``metrics.json`` gets its result under ``"second_run"``.
"""

from __future__ import annotations

import dataclasses
import json

import torch

from nnzoo.data import DataBundle, Split
from nnzoo.errors import NnzooError

FOLDER = "second_run"


def with_validation_merged(data: DataBundle) -> DataBundle:
    """The bundle whose training split is the training and validation splits together (the
    validation split stays, to satisfy the checks, but the second run does not score it)."""
    train, val = data.train, data.val
    x = (tuple(torch.cat(pair) for pair in zip(train.x, val.x)) if isinstance(train.x, tuple)
         else torch.cat([train.x, val.x]))
    return dataclasses.replace(data, train=Split(x, torch.cat([train.y, val.y])),
                               info={**data.info, "validation_merged": True})


class StopBelow:
    """Stop once an epoch's training loss is below ``target``."""

    def __init__(self, target: float):
        self.target = target

    def on_epoch_end(self, state) -> None:
        if state.history[-1]["loss"] < self.target:
            state.stop = True


def check_second_run(mode, patience) -> None:
    if mode is not None and patience is None:
        raise NnzooError(f"second_run={mode!r} reuses the validation data after early stopping, "
                         f"so it needs early stopping: give patience (--patience N) too.")


def train_second_run(mode: str, first, model, data: DataBundle, *, make_learner, initial_state,
                     folder, config: dict, progress, tensorboard: bool) -> dict:
    """Run the second run after ``first`` (a FitResult), write it to ``folder/second_run`` and
    return its summary, which is also merged into the first run's metrics.json."""
    from nnzoo.runs import RunFolder
    from nnzoo.runs.folder import CHECKPOINT
    from nnzoo.train.lifecycle import run

    history = first.history
    target = None
    if mode == "fresh":
        epochs = max(1, first.best_epoch)
        model.load_state_dict(initial_state)
        callbacks = []
    else:  # the kept weights are the model's now
        epochs = max(1, first.epochs)
        target = history[first.best_epoch - 1]["val_loss"] if first.best_epoch else \
            history[-1]["val_loss"]
        callbacks = [StopBelow(target)]
    learner = make_learner(model, with_validation_merged(data), epochs)
    learner.validate = dict  # the validation data are training data now
    child = None
    if folder is not None:
        path = folder.path / FOLDER
        resume = (path / CHECKPOINT).exists()
        child = RunFolder(path, resume=resume, overwrite=not resume)
    else:
        resume = False
    second_config = {**config, "second_run_of": ".." if folder is not None else None,
                     "title": f"{config.get('title') or ''} (second run, {mode})".strip(),
                     "training": {**config.get("training", {}), "epochs": epochs,
                                  "patience": None, "second_run": None, "mode": mode}}
    try:
        result = run(learner, epochs=epochs, out=child, resume=resume, config=second_config,
                     callbacks=callbacks, progress=progress, seed=learner.seed,
                     tensorboard=tensorboard)
    finally:
        if child is not None:
            child.close()
    summary = {"mode": mode, "epochs": result.epochs,
               **{f"test_{k}": v for k, v in result.test.items()},
               "train_seconds": round(result.train_seconds, 3),
               "trained_on": len(data.train) + len(data.val)}
    if target is not None:
        summary.update(target_loss=target,
                       reached_target=bool(result.history[-1]["loss"] < target))
    if folder is not None:
        summary["folder"] = FOLDER
    if folder is not None and folder.active:  # rank 0 of a torchrun writes the run
        metrics = json.loads(folder.file("metrics.json").read_text())
        folder.write_json("metrics.json", {**metrics, "second_run": summary})
    return summary
