"""Small callbacks for the run lifecycle (:func:`nnzoo.train.lifecycle.run`), each in its own
file.

A callback is any object with some of these methods (all optional), called with the
:class:`~nnzoo.train.lifecycle.TrainState`:

    on_train_begin(state)   before the first epoch (of this process: a resumed run has some)
    on_step_end(state)      after each step of a learner that has steps (keep it cheap)
    on_epoch_end(state)     after validation; set ``state.stop = True`` to end training
    on_train_end(state)     after the last epoch, before testing
    state_dict(), load_state_dict(d)   what the checkpoint must keep of it, for a resume
"""

import sys

from nnzoo.train.callbacks.checkpoint import Checkpoint
from nnzoo.train.callbacks.early_stopping import EarlyStopping
from nnzoo.train.callbacks.epoch_log import EpochLog
from nnzoo.train.callbacks.progress import ProgressBar


def epoch_reporter(progress):
    """What shows training's progress: a bar when ``progress`` is True and standard error is a
    terminal; one line per epoch when it is not a terminal or ``progress`` is False (a log file,
    ``--no-progress``); nothing when ``progress`` is None."""
    if progress is None:
        return None
    if progress and sys.stderr.isatty():
        return ProgressBar()
    return EpochLog()


__all__ = ["Checkpoint", "EarlyStopping", "EpochLog", "ProgressBar", "epoch_reporter"]
