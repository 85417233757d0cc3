"""Training: ``fit``, ``evaluate``, losses, optimizers, schedules, callbacks, run folders."""

from nnzoo.train.loop import FitResult, TrainingInterrupted, evaluate, fit

__all__ = ["FitResult", "TrainingInterrupted", "evaluate", "fit"]
