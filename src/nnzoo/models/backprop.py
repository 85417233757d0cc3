"""A multilayer perceptron trained by explicit backpropagation, no autograd: Rumelhart, Hinton &
Williams, "Learning representations by back-propagating errors", Nature 323, 1986; written in
the notation of Hagan, Demuth, Beale & De Jesús, *Neural Network Design*, ch. 11.

Forward, for layers m = 1..M (a^(0) = x):

    n^(m) = W^(m) a^(m-1) + b^(m),        a^(m) = f^(m)(n^(m))

Backward, the sensitivities s^(m) = ∂F/∂n^(m) of the per-sample loss F:

    s^(M) = -2 F'(n^(M)) (t - a^(M))               F = (t - a)ᵀ(t - a)    ("sse")
    s^(M) = F'(n^(M)) ∇_a F                        any other loss
    s^(m) = F'(n^(m)) (W^(m+1))ᵀ s^(m+1),           m = M-1, ..., 1

where F'(n) = diag(f'(n_1), ..., f'(n_S)) (the activation table's analytic derivatives) — or, for a
``softmax`` layer, its Jacobian diag(a) - a aᵀ. Steepest descent with learning rate α:

    W^(m) ← W^(m) - α s^(m) (a^(m-1))ᵀ,        b^(m) ← b^(m) - α s^(m)

Losses: ``sse`` F = Σ_i (t_i - a_i)² (Hagan's), ``mse`` the same divided by the S^(M) outputs,
``ce`` cross-entropy, for a ``softmax`` output (F = -Σ t_i ln a_i) or ``logsig`` outputs
(F = -Σ [t ln a + (1 - t) ln(1 - a)]); with either, s^(M) = a - t.

Batches: the gradient of a batch of Q samples is the AVERAGE of the per-sample gradients, i.e.
of J = (1/Q) Σ_q F_q, so a batch of one is Hagan's online rule and the full batch his batching
rule with α scaled by 1/Q. Weight decay η shrinks the weights (not the biases) each step:
W ← (1 - ηα) W - α s aᵀ.

    >>> net = BackpropMLP([2, 2, 1], "logsig")
    >>> losses = net.fit(xor_x, xor_y, lr=2.0, epochs=3000)   # doctest: +SKIP
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers.activations import Activation, get_activation
from nnzoo.registry import register_model

LOSSES = ("sse", "mse", "ce")


def _softmax_backward(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """(diag(a) - a aᵀ) g for each row: the softmax Jacobian (symmetric) times g."""
    return a * (g - (a * g).sum(dim=1, keepdim=True))


class BackpropMLP(nn.Module):
    """Dense layers ``sizes[0] → … → sizes[-1]`` with one transfer function per layer.

    Args:
        sizes: units per layer, input first: ``[2, 2, 1]`` is the 2-2-1 XOR network.
        activations: one name per layer (``len(sizes) - 1``) or one name for all; any function
            of ``nnzoo.layers.activations`` with a derivative, or ``softmax``.
        loss: ``sse``, ``mse`` or ``ce`` (see the module docstring).
        weight_decay: η of W ← (1 - ηα) W.
    """

    def __init__(self, sizes, activations="logsig", loss: str = "sse", weight_decay: float = 0.0):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise NnzooError(f"sizes must list at least an input and an output width, all >= 1; "
                             f"got {sizes}.")
        names = [activations] * (len(sizes) - 1) if isinstance(activations, str) else list(activations)
        if len(names) != len(sizes) - 1:
            raise NnzooError(f"Got {len(names)} activations for {len(sizes) - 1} layers; give one "
                             f"per layer or a single name.")
        for name in names:
            if name != "softmax" and get_activation(name).derivative is None:
                raise NnzooError(f"Activation {name!r} has no derivative, so backpropagation cannot "
                                 f"pass through it.")
        if loss not in LOSSES:
            raise NnzooError(f"Unknown loss {loss!r}; expected one of {', '.join(LOSSES)}.")
        if loss == "ce" and names[-1] not in ("softmax", "logistic", "sigmoid", "logsig"):
            raise NnzooError(f"Cross-entropy needs a softmax or logsig output layer, not "
                             f"{names[-1]!r}.")
        self.sizes, self.activations, self.loss, self.weight_decay = sizes, names, loss, weight_decay
        self.layers = nn.ModuleList(nn.Linear(s_in, s_out) for s_in, s_out in zip(sizes, sizes[1:]))
        # f^(m) as modules (so layer tables show them); each Activation carries its derivative.
        self.transfer = nn.ModuleList(nn.Softmax(dim=1) if name == "softmax" else Activation(name)
                                      for name in names)
        self._grads: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def _back(self, m: int, n: torch.Tensor, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """F'(n^(m)) g: the derivative of layer m's transfer function applied to g, per row."""
        f = self.transfer[m]
        return _softmax_backward(a, g) if isinstance(f, nn.Softmax) else f.derivative(n) * g

    def propagate(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Net inputs [n^(1)..n^(M)] and outputs [a^(0)=x, a^(1)..a^(M)], each (Q, S^(m))."""
        a = [x.flatten(1)]
        n = []
        for layer, f in zip(self.layers, self.transfer):
            n.append(layer(a[-1]))  # n^(m) = W^(m) a^(m-1) + b^(m)
            a.append(f(n[-1]))      # a^(m) = f^(m)(n^(m))
        return n, a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.propagate(x)[1][-1]  # a^(M), (Q, S^(M))

    def targets(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Targets t (Q, S^(M)): as given if 2-D; class ids become one-hot (0/1) rows."""
        if y.dim() == 2:
            return y.to(like.dtype)
        if like.shape[1] == 1:
            return y[:, None].to(like.dtype)
        return nn.functional.one_hot(y.long(), like.shape[1]).to(like.dtype)

    def loss_value(self, a: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """J = mean over the batch of the per-sample loss F."""
        if self.loss == "ce":
            if isinstance(self.transfer[-1], nn.Softmax):
                per_sample = -(t * a.clamp_min(1e-300).log()).sum(1)
            else:
                per_sample = -(t * a.clamp_min(1e-300).log()
                               + (1 - t) * (1 - a).clamp_min(1e-300).log()).sum(1)
        else:
            per_sample = ((t - a) ** 2).sum(1) / (a.shape[1] if self.loss == "mse" else 1)
        return per_sample.mean()

    @torch.no_grad()
    def backpropagate(self, x: torch.Tensor, y: torch.Tensor):
        """The loss J of the batch and [(∂J/∂W^(m), ∂J/∂b^(m)) for m = 1..M]."""
        n, a = self.propagate(x)
        t = self.targets(y, a[-1])
        M, Q = len(self.layers), a[0].shape[0]
        if self.loss == "ce":
            s = a[-1] - t                                          # F'(n) ∇_a F simplifies to a - t
        else:
            scale = 2.0 / (a[-1].shape[1] if self.loss == "mse" else 1)
            s = self._back(M - 1, n[-1], a[-1], -scale * (t - a[-1]))  # s^(M) = -2 F'(n^(M)) (t - a)
        grads = [None] * M
        for m in reversed(range(M)):
            grads[m] = (s.T @ a[m] / Q, s.mean(0))                 # s^(m) (a^(m-1))ᵀ, s^(m)
            if m > 0:
                W = self.layers[m].weight
                s = self._back(m - 1, n[m - 1], a[m], s @ W)       # s^(m) = F'(n^(m)) Wᵀ s^(m+1)
        return self.loss_value(a[-1], t), grads

    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(dW, db)] per layer, the batch-averaged gradient; :meth:`step` applies them."""
        self._grads = self.backpropagate(x, y)[1]
        return self._grads

    @torch.no_grad()
    def step(self, lr: float, grads=None) -> None:
        """W ← (1 - ηα) W - α dW,  b ← b - α db, with the last :meth:`gradients` by default."""
        grads = grads if grads is not None else self._grads
        if grads is None:
            raise NnzooError("step() needs gradients: call gradients(x, y) first.")
        for layer, (dW, db) in zip(self.layers, grads):
            if self.weight_decay:
                layer.weight.mul_(1 - self.weight_decay * lr)
            layer.weight.sub_(lr * dW)
            layer.bias.sub_(lr * db)

    def fit(self, x: torch.Tensor, y: torch.Tensor, *, lr: float = 1.0, epochs: int = 1000,
            batch_size: int | None = None, seed: int = 0) -> list[float]:
        """Steepest descent by backpropagation; returns the mean loss of each epoch.

        ``batch_size`` None trains on the whole set at once (batching); 1 is online learning.
        Batches are drawn in an order shuffled by ``seed`` each epoch.
        """
        generator = torch.Generator().manual_seed(seed)
        return [self.learn_epoch(x, y, lr=lr, batch_size=batch_size, generator=generator)
                for _ in range(epochs)]

    def learn_epoch(self, x: torch.Tensor, y: torch.Tensor, *, lr: float,
                    batch_size: int | None, generator: torch.Generator) -> float:
        """One epoch of steepest descent by backpropagation; the epoch's mean loss."""
        x, y = torch.as_tensor(x).to(self.layers[0].weight.dtype), torch.as_tensor(y)
        q = len(x)
        size = q if batch_size is None else max(1, min(int(batch_size), q))
        order = torch.randperm(q, generator=generator) if size < q else torch.arange(q)
        total = 0.0
        for start in range(0, q, size):
            index = order[start:start + size]
            loss, grads = self.backpropagate(x[index], y[index])
            self.step(lr, grads)
            total += loss.item() * len(index)
        return total / q

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class ids: argmax of the outputs, or for one output unit whether a passes the middle
        of its transfer function's range (0.5 for logsig, 0 for tansig; 0.5 if unbounded)."""
        weight = self.layers[0].weight
        a = self(torch.as_tensor(x).to(weight.device, weight.dtype))
        if a.shape[1] > 1:
            return a.argmax(1)
        f = self.transfer[-1]
        lo, hi = (0.0, 1.0) if isinstance(f, nn.Softmax) else f.function.range
        middle = (lo + hi) / 2 if math.isfinite(lo) and math.isfinite(hi) else 0.5
        return (a[:, 0] >= middle).long()

    @torch.no_grad()
    def score(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of samples whose class :meth:`predict` gets right."""
        return (self.predict(x).cpu() == torch.as_tensor(y).long().cpu()).double().mean().item()


@register_model("mlp-backprop", family="classic", paper="Rumelhart, Hinton & Williams 1986",
                input_shape=(2,), dataset="xor", task="classify", params=9,
                defaults={"epochs": 3000, "lr": 2.0})
def mlp_backprop(*, sizes: tuple[int, ...] = (2, 2, 1), activations="logsig", loss: str = "sse",
                 weight_decay: float = 0.0) -> BackpropMLP:
    """MLP trained by explicit backpropagation sensitivities (default the 2-2-1 XOR net)."""
    if isinstance(activations, str) and "," in activations:  # from the CLI: -o activations=tansig,logsig
        activations = [name.strip() for name in activations.split(",")]
    return BackpropMLP(list(sizes), activations, loss, weight_decay)
