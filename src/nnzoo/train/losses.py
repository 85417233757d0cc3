"""The loss functions, under their old name: they moved to :mod:`nnzoo.losses` so that models
can use them without importing the trainer. Every name stays importable from here."""

from nnzoo.losses import *  # noqa: F401,F403  (the star takes nnzoo.losses.__all__)
from nnzoo.losses import (IGNORE_INDEX, LOSSES, TASK_LOSS, binary_cross_entropy,  # noqa: F401
                          get_loss, mean_squared_error, softmax_cross_entropy, sum_squared_error)
