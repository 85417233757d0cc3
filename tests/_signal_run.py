"""Run ``nnzoo ARGS...`` and send this process SIGNAL at a chosen point of its training.

    python tests/_signal_run.py SIGKILL step:7 train mlp --data blobs --out RUN ...
    python tests/_signal_run.py SIGTERM epoch:2 train ...

``step:N`` sends it after the N-th training step (mid-epoch; for a learner with one step per
epoch, after the epoch's work and before its checkpoint); ``epoch:N`` as epoch N ends, while
its checkpoint is being made (a SIGTERM is held until the checkpoint is written; SIGKILL is
not). Used by tests/test_resume.py.
"""

import os
import signal
import sys

import nnzoo.train
import nnzoo.train.lifecycle

signum = getattr(signal, sys.argv[1])
where, at = sys.argv[2].split(":")
at = int(at)
nnzoo.train.lifecycle.CHECKPOINT_SECONDS = 0  # every epoch on disk, so the kill point is known
fit = nnzoo.train.fit


class SignalAt:
    def __init__(self):
        self.steps = 0

    def on_step_end(self, state):
        self.steps += 1
        if where == "step" and self.steps == at:
            os.kill(os.getpid(), signum)

    def on_epoch_end(self, state):
        if where == "epoch" and state.epoch == at:
            os.kill(os.getpid(), signum)


def fit_with_signal(*args, callbacks=(), **kwargs):
    return fit(*args, callbacks=[*callbacks, SignalAt()], **kwargs)


nnzoo.train.fit = fit_with_signal

from nnzoo.cli.main import main  # noqa: E402

sys.exit(main(sys.argv[3:]))
