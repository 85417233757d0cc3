"""The regularisers that act on a training step, beside L2 (``weight_decay``) and the dropout
layers inside a model. Each is off at 0 and draws from the learner's generator, so a resumed
run draws what an uninterrupted one draws.

- input noise (``input_noise`` σ):  x̃ = x + σ·ε,  ε ~ N(0, I)
- input dropout (``input_dropout`` p):  x̃ = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p) per input
  (Hinton et al. 2012, "Improving neural networks by preventing co-adaptation of feature
  detectors", who dropped 20% of the inputs); nothing is dropped at test time
- weight noise (``weight_noise`` σ):  the gradient is taken at w̃ = w + σ·ε, drawn afresh for
  each training forward pass, and the step is applied to the clean w (An 1996, "The effects of
  adding noise during backpropagation training"; Graves 2011, "Practical variational inference
  for neural networks"); every trainable parameter is perturbed
- adversarial training (``adversarial`` ε), the fast gradient sign method (Goodfellow, Shlens &
  Szegedy 2015, "Explaining and harnessing adversarial examples", eq. 6):
      J̃(w; x, y) = α·J(w; x, y) + (1 − α)·J(w; x + ε·sign(∇ₓJ(w; x, y)), y),  α = ½
  ε is in the units of the model's input, after the dataset's standardisation.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

# α of the adversarial objective, as Goodfellow et al. used it
ADVERSARIAL_ALPHA = 0.5
NAMES = ("input_noise", "input_dropout", "weight_noise", "adversarial")


def fgsm(loss_of, x: torch.Tensor, eps: float) -> torch.Tensor:
    """x + ε·sign(∇ₓJ): the fast gradient sign perturbation of ``x``, where ``loss_of(x)`` is
    J. Only the gradient with respect to ``x`` is taken; parameters get none."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(loss_of(x), x)
    return (x + eps * grad.sign()).detach()


@contextmanager
def buffers_kept(model: nn.Module):
    """Run the block and put the model's buffers back as they were: a forward pass taken only
    to find the adversarial direction must not move batch normalisation's running statistics."""
    saved = [b.detach().clone() for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in zip(model.buffers(), saved):
                buffer.copy_(value)


class StepRegularisers:
    """The step regularisers a run asked for (see the module docstring), drawing from
    ``generator``."""

    def __init__(self, generator: torch.Generator, *, input_noise: float = 0.0,
                 input_dropout: float = 0.0, weight_noise: float = 0.0,
                 adversarial: float = 0.0):
        self.generator = generator
        self.input_noise, self.input_dropout = input_noise or 0.0, input_dropout or 0.0
        self.weight_noise, self.adversarial = weight_noise or 0.0, adversarial or 0.0

    @property
    def any(self) -> bool:
        return bool(self.input_noise or self.input_dropout or self.weight_noise
                    or self.adversarial)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """x̃: the inputs with Gaussian noise added and then some dropped (each when asked)."""
        if self.input_noise:
            x = x + torch.empty_like(x).normal_(0.0, self.input_noise, generator=self.generator)
        if self.input_dropout:
            keep = 1.0 - self.input_dropout
            x = x * torch.empty_like(x).bernoulli_(keep, generator=self.generator) / keep
        return x

    @contextmanager
    def noisy_weights(self, model: nn.Module):
        """Within the block every trainable parameter is w + σ·ε; afterwards the clean w is put
        back exactly (the gradients taken within stay, for the optimizer to apply to w)."""
        if not self.weight_noise:
            yield
            return
        params = [p for p in model.parameters() if p.requires_grad]
        clean = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p in params:
                p.add_(torch.empty_like(p).normal_(0.0, self.weight_noise,
                                                   generator=self.generator))
        try:
            yield
        finally:
            with torch.no_grad():
                for p, w in zip(params, clean):
                    p.copy_(w)

    def adversarial_inputs(self, model: nn.Module, loss_of, x: torch.Tensor) -> torch.Tensor:
        """x + ε·sign(∇ₓJ), J = ``loss_of(x)`` through the plain ``model``, whose batch
        normalisation statistics this pass leaves as they were."""
        with buffers_kept(model):
            return fgsm(loss_of, x, self.adversarial)
