"""Radial basis function network: Broomhead & Lowe, "Multivariable functional interpolation and
adaptive networks", Complex Systems 2, 1988; Moody & Darken, "Fast learning in networks of
locally-tuned processing units", Neural Computation 1(2), 1989.

One hidden layer of Gaussian units around centres c_j, then a linear output layer:

    φ_j(x) = exp(-‖x - c_j‖² / (2 σ_j²)),        j = 1..K
    y(x)   = W φ(x) + b

Trained in two stages, as Moody & Darken do:
1. centres by k-means on the inputs (k-means++ seeding, Arthur & Vassilvitskii 2007; seeded), or
   given; widths either ``shared`` — one σ for every unit, the mean distance from a centre to its
   nearest other centre — or ``nearest`` — σ_j the root-mean-square distance from c_j to its
   p nearest centres (Moody & Darken's p-nearest-neighbour rule, p = 2); both times
   ``width_scale``;
2. the output layer, linear in the targets, by least squares on Φ = [φ(x_1) … φ(x_N)]ᵀ
   (``lstsq``, with an optional ridge λ‖W‖², the bias not penalised; Broomhead & Lowe's
   solution) or by steepest descent on the mean squared error (``gradient``, the LMS rule
   W ← W - α (2/N) (ŷ - t)ᵀ Φ).

Regression fits real targets; classification fits one-hot targets and predicts the argmax.

    >>> net = RBFNetwork(1, centres=20)
    >>> net.fit(x, torch.sin(x))                     # doctest: +SKIP
"""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.registry import register_model

WIDTHS = ("shared", "nearest")
SOLVERS = ("lstsq", "gradient")
TASKS = ("regress", "classify")


def kmeans(x: torch.Tensor, k: int, *, iterations: int = 100, seed: int = 0) -> torch.Tensor:
    """``k`` centres of the rows of ``x`` (N, p) by Lloyd's k-means, k-means++ seeding."""
    if not 1 <= k <= len(x):
        raise NnzooError(f"k-means needs 1 <= k <= N samples; got k={k} for N={len(x)}.")
    g = torch.Generator().manual_seed(seed)
    centres = x[torch.randint(len(x), (1,), generator=g)]
    for _ in range(k - 1):  # k-means++: the next centre with probability ∝ D(x)²
        d2 = torch.cdist(x, centres).min(1).values ** 2
        p = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1 / len(x))
        centres = torch.cat([centres, x[torch.multinomial(p, 1, generator=g)]])
    for _ in range(iterations):
        assign = torch.cdist(x, centres).argmin(1)  # (N,) nearest centre
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)[:, None]
        moved = torch.where(counts > 0, sums / counts.clamp_min(1), centres)  # empty: stay put
        if torch.allclose(moved, centres):
            break
        centres = moved
    return centres


def rbf_widths(centres: torch.Tensor, rule: str = "shared", neighbours: int = 2) -> torch.Tensor:
    """σ_j for each centre (K,) by the ``shared`` or ``nearest`` rule (module docstring)."""
    if rule not in WIDTHS:
        raise NnzooError(f"Unknown width rule {rule!r}; expected one of {', '.join(WIDTHS)}.")
    k = len(centres)
    if k == 1:
        return torch.ones(1, dtype=centres.dtype)
    d = torch.cdist(centres, centres) + torch.diag(torch.full((k,), float("inf"), dtype=centres.dtype))
    if rule == "shared":
        return d.min(1).values.mean().expand(k).clone()
    p = min(neighbours, k - 1)
    return (d.topk(p, dim=1, largest=False).values ** 2).mean(1).sqrt()


class RBFNetwork(nn.Module):
    """Gaussian units around centres, then a linear layer.

    Args:
        in_features: inputs per sample.
        centres: number of hidden units K.
        out_features: outputs (classes for classification).
        task: ``regress`` or ``classify``.
        width: ``shared`` or ``nearest``; ``width_scale`` multiplies the widths.
    """

    def __init__(self, in_features: int, centres: int = 20, out_features: int = 1,
                 task: str = "regress", width: str = "shared", width_scale: float = 1.0):
        super().__init__()
        if task not in TASKS:
            raise NnzooError(f"Unknown RBF task {task!r}; expected one of {', '.join(TASKS)}.")
        if width not in WIDTHS:
            raise NnzooError(f"Unknown width rule {width!r}; expected one of {', '.join(WIDTHS)}.")
        self.task, self.width, self.width_scale = task, width, width_scale
        self.register_buffer("centres", torch.zeros(centres, in_features))  # c_j, (K, p)
        self.register_buffer("widths", torch.ones(centres))                  # σ_j, (K,)
        self.output = nn.Linear(centres, out_features)                       # W (S, K), b (S,)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        d2 = torch.cdist(x.flatten(1).to(self.centres.dtype), self.centres) ** 2  # ‖x - c_j‖², (N, K)
        return torch.exp(-d2 / (2 * self.widths ** 2))                            # φ, (N, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x))  # y = W φ + b, (N, S)

    learned_by = "k-means (the centres and widths)"

    def layer_rows(self) -> list[dict]:
        """For ``nnzoo summary``: the Gaussian units (centres c_j and widths σ_j), then the
        linear output layer."""
        k, p = self.centres.shape
        s = self.output.out_features
        return [dict(name="hidden", type="Gaussian RBF", output=str(k), activation="gaussian",
                     units=str(k), params=k * p + k),
                dict(name="output", type="dense", output=str(s), units=str(s),
                     params=sum(q.numel() for q in self.output.parameters()))]

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        if self.task == "classify":
            if y.dim() != 1 or y.is_floating_point():
                raise NnzooError(f"RBF classification needs class ids (N,); got {tuple(y.shape)}.")
            return nn.functional.one_hot(y.long(), self.output.out_features).to(self.centres.dtype)
        return (y[:, None] if y.dim() == 1 else y).to(self.centres.dtype)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, y: torch.Tensor, *, centres: torch.Tensor | None = None,
            solver: str = "lstsq", ridge: float = 0.0, lr: float = 0.1, epochs: int = 1000,
            seed: int = 0) -> list[float]:
        """Place the centres (k-means unless given), set the widths, solve the output layer.

        Returns the training mean squared error: one value for ``lstsq``, one per epoch for
        ``gradient``.
        """
        if solver not in SOLVERS:
            raise NnzooError(f"Unknown RBF solver {solver!r}; expected one of {', '.join(SOLVERS)}.")
        x = torch.as_tensor(x).flatten(1).to(self.centres.dtype)
        t = self.targets(torch.as_tensor(y))  # (N, S)
        k = len(self.centres)
        c = kmeans(x, k, seed=seed) if centres is None else torch.as_tensor(centres).to(x.dtype)
        if c.shape != self.centres.shape:
            raise NnzooError(f"Centres must be {tuple(self.centres.shape)}; got {tuple(c.shape)}.")
        self.centres.copy_(c)
        self.widths.copy_(self.width_scale * rbf_widths(c, self.width))
        phi = self.hidden(x)  # (N, K)
        if solver == "lstsq":
            self._solve(phi.double(), t.double(), ridge)
            return [((self.output(phi) - t) ** 2).mean().item()]
        W, b = self.output.weight, self.output.bias
        history = []
        for _ in range(epochs):
            err = phi @ W.T + b - t                              # ŷ - t, (N, S)
            W -= lr * (2 / len(x)) * (err.T @ phi + ridge * W)   # LMS on the output layer
            b -= lr * (2 / len(x)) * err.sum(0)
            history.append((err ** 2).mean().item())
        return history

    def _solve(self, phi: torch.Tensor, t: torch.Tensor, ridge: float) -> None:
        """min ‖[Φ 1] [W b]ᵀ - T‖² + λ‖W‖², by least squares on rows stacked with √λ I."""
        n, k = phi.shape
        design = torch.cat([phi, torch.ones(n, 1, dtype=phi.dtype)], 1)  # (N, K+1)
        if ridge > 0:
            penalty = torch.cat([ridge ** 0.5 * torch.eye(k, dtype=phi.dtype),
                                 torch.zeros(k, 1, dtype=phi.dtype)], 1)
            design = torch.cat([design, penalty])
            t = torch.cat([t, torch.zeros(k, t.shape[1], dtype=t.dtype)])
        solution = torch.linalg.lstsq(design, t, driver="gelsd").solution  # (K+1, S)
        self.output.weight.copy_(solution[:k].T)
        self.output.bias.copy_(solution[k])

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class ids (argmax) for classification, the outputs for regression."""
        y = self(torch.as_tensor(x).to(self.centres.device))
        return y.argmax(1) if self.task == "classify" else y

    @torch.no_grad()
    def score(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Accuracy for classification, mean squared error for regression."""
        if self.task == "classify":
            return (self.predict(x).cpu() == torch.as_tensor(y).cpu()).double().mean().item()
        return ((self.predict(x) - self.targets(torch.as_tensor(y).to(self.centres.device))) ** 2
                ).mean().item()


@register_model("rbf", family="classic", paper="Broomhead & Lowe 1988; Moody & Darken 1989",
                input_shape=(2,), dataset="moons", task="classify", params=20 * 2 + 2)
def rbf(*, in_features: int = 2, centres: int = 20, num_classes: int = 2, task: str = "classify",
        width: str = "shared", width_scale: float = 1.0) -> RBFNetwork:
    """RBF network: Gaussian units at k-means centres, a least-squares linear output layer."""
    return RBFNetwork(in_features, centres, num_classes, task, width, width_scale)
