"""Small callbacks for ``nnzoo.fit``, each in its own file.

A callback is any object with some of these methods (all optional), called with the
:class:`~nnzoo.train.loop.TrainState`:

    on_train_begin(state)   before the first epoch
    on_step_end(state)      after each optimizer step (keep it cheap: no host syncs)
    on_epoch_end(state)     after validation; set ``state.stop = True`` to end training
    on_train_end(state)     after the last epoch, before testing
"""

from nnzoo.train.callbacks.checkpoint import Checkpoint
from nnzoo.train.callbacks.early_stopping import EarlyStopping
from nnzoo.train.callbacks.progress import ProgressBar

__all__ = ["Checkpoint", "EarlyStopping", "ProgressBar"]
