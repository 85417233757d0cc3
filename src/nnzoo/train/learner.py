"""What a learner is: the part of training that differs from one architecture to the next.

The run lifecycle (:func:`nnzoo.train.lifecycle.run`) does the rest. A learner is any object
with these attributes and methods; nnzoo's are

    GradientLearner   nnzoo.train.gradient   loss, optimizer, schedule (MLPs, CNNs, RNNs...)
    BPTTLearner       nnzoo.train.bptt       truncated BPTT over one stream (char-lm)
    GANLearner        nnzoo.train.gan        a discriminator step, then a generator step
    PerceptronLearner, BackpropLearner, RBFLearner, RBMLearner   nnzoo.train.rules
    HebbianLearner    nnzoo.train.memory     Hopfield storage, one step
    AHSLearner        nnzoo.train.boltzmann  the Boltzmann machine's rule

The rule learners call the model's own rule (``Perceptron.learn_epoch``, ``RBM.learn_epoch``,
``Hopfield.store``...), because the rule is the architecture.
"""

from __future__ import annotations

from typing import Protocol

from torch import nn

from nnzoo.data import DataBundle


class Learner(Protocol):
    model: nn.Module
    data: DataBundle
    steps_per_epoch: int  # for the progress bar: how often ``state.step_done()`` is called
    samples_per_epoch: int  # for samples_per_second
    # TAKES (a class attribute): the settings (keyword arguments) it takes, with defaults;
    # task (optional class attribute): the task it learns whatever the data's ("generate")

    def settings(self) -> dict:
        """What config.json records under ``training``: the settings and the rule's name."""

    def prepare(self) -> None:
        """Check that the model, the data and the settings fit together (an NnzooError that
        says why, if not) and set up what the epochs need (optimizer, data on the device).
        Called before anything is written, and before a checkpoint is loaded into it."""

    def epoch(self, state) -> dict:
        """Train one epoch; the training metrics of it (``loss``, ``top1``...). May set
        ``state.stop`` (a rule that has converged)."""

    def validate(self) -> dict:
        """Metrics on the validation split (the loop prefixes them with ``val_``)."""

    def test(self) -> dict:
        """Metrics on the test split, with the weights kept."""

    def state_dict(self) -> dict:
        """Everything besides the model's weights that a resume needs: optimizer, schedule,
        the learner's own random generators, momentum buffers."""

    def load_state_dict(self, state: dict) -> None: ...

    # Optional: curves(result, title) -> figure for curves.png (default: loss and accuracy);
    # pictures(folder) for the run's own pictures; extra_metrics() -> dict for metrics.json;
    # first_non_finite_step() -> int | None, for the non-finite guard's message.
