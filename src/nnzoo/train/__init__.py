"""Training: ``fit``, ``evaluate``, losses, optimizers, schedules, callbacks, run folders."""

from nnzoo.train.loop import FitResult, evaluate, fit

__all__ = ["FitResult", "evaluate", "fit"]
