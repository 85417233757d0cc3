"""The perceptron and its learning rule: Rosenblatt, "The perceptron: a probabilistic model for
information storage and organization in the brain", Psychological Review 65(6), 1958.

One unit (two classes) in the lecture's notation:

    n = wᵀx + b,    a = f(n) = +1 if n >= 0 else -1        (hardlims; a tie goes to +1)
    e = y - a                                              (y in {-1, +1}, so e in {-2, 0, 2})
    w ← w + α e x,  b ← b + α e

Written with the augmented vectors β = [b; w] and x̃ = [1; x], α = 0.5 gives exactly the
lecture's β(i+1) = β(i) + 0.5 e(i) x̃(i): a wrong answer adds or subtracts the whole sample.
The samples are presented one at a time (online), in the order given or shuffled each epoch by
a seeded generator. Learning stops at the first epoch with no error; by the perceptron
convergence theorem that epoch comes on linearly separable data. On data that is not separable
(XOR) it never comes, so an epoch cap ends the run, ``converged`` is False and a warning says so.

Several classes use one unit per output, W (S, p) and b (S,), the same rule in matrix form:

    a = hardlims(W x + b),   e = t - a,   W ← W + α e xᵀ,   b ← b + α e

with targets t in ±1 coding: ``one-hot`` (S = k units; +1 for the class, -1 elsewhere) or
``binary`` (S = ceil(log2 k) units holding the bits of the class id). A one-hot prediction is the
unit with the largest net input (the one unit at +1 when exactly one fires).

Deviation: Rosenblatt's photo-perceptron had a random, fixed layer of association units in front
of this unit; as in the lectures, only the trainable response layer is built here.

    >>> model = create("perceptron", in_features=2)
    >>> errors = model.fit(torch.tensor([[0., 0.], [1., 1.]]), torch.tensor([0, 1]))
    >>> errors[-1], model.converged
    (0, True)
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.registry import register_model

ENCODINGS = ("one-hot", "binary")


def hardlims(n: torch.Tensor) -> torch.Tensor:
    """+1 where n >= 0 (ties go to +1), -1 elsewhere."""
    return torch.where(n >= 0, torch.ones_like(n), -torch.ones_like(n))


class Perceptron(nn.Module):
    """A layer of hard-limit units trained by the Rosenblatt rule (no autograd).

    Args:
        in_features: inputs p per sample.
        classes: None for Rosenblatt's single unit (two classes, a = ±1); k for k classes.
        encoding: how k classes are coded on the output units, ``one-hot`` or ``binary``.

    ``forward`` returns the net input n = W x + b, one column per unit, which the hard limit
    turns into the output a (:meth:`output`) and a class (:meth:`predict`).
    """

    def __init__(self, in_features: int, classes: int | None = None, encoding: str = "one-hot"):
        super().__init__()
        if encoding not in ENCODINGS:
            raise NnzooError(f"Perceptron encoding {encoding!r} is not known; expected one of "
                             f"{', '.join(ENCODINGS)}.")
        if classes is not None and classes < 2:
            raise NnzooError(f"A perceptron needs at least 2 classes, got classes={classes}.")
        self.in_features = in_features
        self.classes = classes
        self.encoding = encoding
        if classes is None:
            units = 1
        elif encoding == "one-hot":
            units = classes
        else:
            units = max(1, math.ceil(math.log2(classes)))
        self.units = nn.Linear(in_features, units)  # W (S, p) and b (S,)
        # Zero start, as in the lectures: every output then starts at +1 (a tie goes to +1).
        nn.init.zeros_(self.units.weight)
        nn.init.zeros_(self.units.bias)
        self.history: list[int] = []
        self.converged: bool | None = None

    @property
    def weight(self) -> nn.Parameter:
        return self.units.weight  # W, (S, p)

    @property
    def bias(self) -> nn.Parameter:
        return self.units.bias  # b, (S,)

    @property
    def num_classes(self) -> int:
        return self.classes or 2

    @property
    def outputs_are_class_scores(self) -> bool:
        """Whether unit i stands for class i (one-hot), so that the outputs can be scored by a
        loss; binary-coded units are scored by the classes :meth:`predict` decodes."""
        return self.classes is not None and self.encoding == "one-hot"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x.flatten(1))  # n = W x + b, (N, S)

    @torch.no_grad()
    def output(self, x: torch.Tensor) -> torch.Tensor:
        """The units' outputs a = hardlims(W x + b), (N, S) in {-1, +1}."""
        return hardlims(self(x.to(self.weight.dtype)))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class ids (N,): for one unit 1 where a = +1 and 0 where a = -1."""
        return self.decode(self(x.to(self.weight.dtype)))

    def decode(self, n: torch.Tensor) -> torch.Tensor:
        a = hardlims(n)
        if self.classes is None:
            return (a[:, 0] > 0).long()
        if self.encoding == "one-hot":
            return n.argmax(dim=1)
        bits = 2 ** torch.arange(a.shape[1], device=a.device)  # may decode to an id >= k: an error
        return ((a > 0).long() * bits).sum(dim=1)

    @torch.no_grad()
    def score(self, x: torch.Tensor, y) -> float:
        """Fraction of samples classified correctly (labels in any form :meth:`fit` accepts)."""
        return (self.predict(x) == self.class_ids(y)).double().mean().item()

    def class_ids(self, y) -> torch.Tensor:
        """Labels ±1, 0/1 or class ids 0..k-1 as class ids; anything else is an error."""
        y = torch.as_tensor(y)
        if y.dim() != 1 or y.is_complex() or (y.is_floating_point() and not torch.equal(y, y.round())):
            raise NnzooError(f"Perceptron labels must be a 1-D tensor of integers (±1, 0/1 or class "
                             f"ids); got shape {tuple(y.shape)} and dtype {y.dtype}.")
        y = y.long()
        values = set(y.unique().tolist())
        k = self.num_classes
        if k == 2 and values <= {-1, 1}:
            return (y > 0).long()
        if not values <= set(range(k)):
            raise NnzooError(f"Perceptron labels {sorted(values)[:6]} do not fit a "
                             f"{k}-class perceptron; expected ±1, 0/1 or class ids 0..{k - 1}.")
        return y

    def targets(self, ids: torch.Tensor) -> torch.Tensor:
        """Class ids (N,) as ±1 targets t (N, S) for the units."""
        if self.classes is None:
            t = ids[:, None].double()
        elif self.encoding == "one-hot":
            t = nn.functional.one_hot(ids, self.classes).double()
        else:
            t = ((ids[:, None] >> torch.arange(self.weight.shape[0])) & 1).double()
        return (2 * t - 1).to(self.weight.dtype)

    def prepare(self, x: torch.Tensor, y) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (N, p) and their ±1 targets t (N, S), checked."""
        x = torch.as_tensor(x).to(self.weight.dtype).flatten(1)  # (N, p)
        if x.shape[1] != self.in_features or x.shape[0] == 0:
            raise NnzooError(f"Perceptron inputs must be (N, {self.in_features}) with N >= 1; got "
                             f"{tuple(x.shape)}.")
        t = self.targets(self.class_ids(y))  # (N, S) in ±1
        if t.shape[0] != x.shape[0]:
            raise NnzooError(f"Got {x.shape[0]} inputs but {t.shape[0]} labels.")
        return x, t

    @torch.no_grad()
    def learn_epoch(self, x: torch.Tensor, t: torch.Tensor, lr: float, order) -> list[int]:
        """One epoch of the Rosenblatt rule over the samples in ``order``; the indices of those
        misclassified (each of which moved the weights)."""
        W, b = self.weight.data, self.bias.data  # the rule writes them directly: no autograd
        wrong = []
        for i in order:
            e = t[i] - hardlims(W @ x[i] + b)  # (S,)
            if e.any():
                W += lr * torch.outer(e, x[i])   # W ← W + α e xᵀ
                b += lr * e                      # b ← b + α e
                wrong.append(int(i))
        return wrong

    def fit(self, x: torch.Tensor, y, *, lr: float = 0.5, epochs: int = 100, shuffle: bool = False,
            seed: int = 0, on_epoch=None) -> list[int]:
        """Learn with the Rosenblatt rule; return the misclassified samples of each epoch.

        Stops after the first epoch without an error (``converged`` True) or after ``epochs``
        epochs (``converged`` False, with a warning). The counts are also kept in ``history``.
        ``on_epoch(epoch, wrong)``, if given, is called after each epoch with the indices of the
        samples that were misclassified (and so moved the weights) during it.
        """
        x, t = self.prepare(x, y)
        generator = torch.Generator().manual_seed(seed)
        self.history, self.converged = [], False
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator) if shuffle else range(len(x))
            wrong = self.learn_epoch(x, t, lr, order)
            self.history.append(len(wrong))
            if on_epoch is not None:
                on_epoch(len(self.history), wrong)
            if not wrong:
                self.converged = True
                break
        if not self.converged:
            warnings.warn(f"The perceptron did not converge: {self.history[-1]} of {len(x)} samples "
                          f"were still misclassified after the cap of {epochs} epochs, so the data "
                          f"may not be linearly separable.", RuntimeWarning, stacklevel=2)
        return list(self.history)


@register_model("perceptron", family="classic", paper="Rosenblatt 1958", input_shape=(2,),
                dataset="blobs", task="classify", params=3,
                defaults={"epochs": 100, "lr": 0.5})
def perceptron(*, in_features: int = 2, classes: int | None = None,
               encoding: str = "one-hot") -> Perceptron:
    """Rosenblatt's perceptron: hard-limit units and the perceptron learning rule."""
    return Perceptron(in_features, classes, encoding)
