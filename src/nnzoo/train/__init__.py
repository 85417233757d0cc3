"""Training: one lifecycle (``lifecycle.run``) for every learner (``learner.Learner``)."""

from nnzoo.train.scoring import evaluate
from nnzoo.train.fitting import fit
from nnzoo.train.lifecycle import FitResult, NonFiniteError, TrainingInterrupted

__all__ = ["FitResult", "NonFiniteError", "TrainingInterrupted", "evaluate", "fit"]
