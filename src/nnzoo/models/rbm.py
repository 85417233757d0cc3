"""The restricted Boltzmann machine: Smolensky, "Information processing in dynamical systems:
foundations of harmony theory" (the harmonium), 1986; trained by contrastive divergence, Hinton,
"Training products of experts by minimizing contrastive divergence", Neural Computation 14(8),
2002; recipe from Hinton, "A practical guide to training restricted Boltzmann machines", 2010.

Binary visible units v (V,) and hidden units h (H,), connected only across the two layers by W
(V, H), with visible biases b (V,) and hidden biases c (H,):

    E(v, h) = -bᵀv - cᵀh - vᵀ W h                       p(v, h) = exp(-E(v, h)) / Z
    p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij)       i.e.  σ(c + Wᵀv)
    p(v_i = 1 | h) = σ(b_i + Σ_j W_ij h_j)       i.e.  σ(b + W h)
    F(v) = -bᵀv - Σ_j log(1 + exp(c_j + (Wᵀv)_j)),       p(v) = exp(-F(v)) / Z

CD-k replaces the model's expectation in the log-likelihood gradient by k steps of block Gibbs
sampling started at the data v⁰:

    ΔW = ε (⟨v hᵀ⟩⁰ - ⟨v hᵀ⟩ᵏ),   Δb = ε (⟨v⟩⁰ - ⟨v⟩ᵏ),   Δc = ε (⟨h⟩⁰ - ⟨h⟩ᵏ)

with momentum and an L2 weight cost on W (Hinton 2010, sections 9-10). As the guide recommends,
the hidden states that drive a reconstruction are sampled (binary), while the final visible
reconstruction and the hidden statistics use probabilities; grey pixels in [0, 1] are used as
visible probabilities (``nnzoo train rbm`` binarizes an image dataset's pixels for its binary
units, ``-d binarize=false`` keeps them grey). Weights start N(0, 0.01²), hidden biases at 0, and the first ``fit`` sets
the visible biases to log(p_i / (1 - p_i)) of the data (section 8). The reconstruction error
reported per epoch is the mean squared difference, per pixel, between v⁰ and its first
reconstruction p(v | h⁰). The parameters are ``nn.Parameter`` s but the rule writes them
directly: no autograd.

    >>> rbm = create("rbm", visible=64, hidden=32)
    >>> errors = rbm.fit(x, epochs=10, lr=0.1)        # doctest: +SKIP
"""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.models.hopfield import make_generator
from nnzoo.registry import register_model

EXACT_LIMIT = 20  # enumerate 2^V visible states at most for log Z


class RBM(nn.Module):
    """A binary-binary restricted Boltzmann machine trained by CD-k.

    Args:
        visible: visible units V (pixels).
        hidden: hidden units H (feature detectors).
    """

    def __init__(self, visible: int = 64, hidden: int = 64):
        super().__init__()
        if visible < 1 or hidden < 1:
            raise NnzooError(f"An RBM needs visible and hidden units; got {visible} and {hidden}.")
        self.input_shape = (visible,)
        self.weight = nn.Parameter(torch.randn(visible, hidden) * 0.01)  # W (V, H)
        self.visible_bias = nn.Parameter(torch.zeros(visible))  # b (V,)
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))  # c (H,)
        self.epochs_trained = 0

    @property
    def visible(self) -> int:
        return self.weight.shape[0]

    @property
    def hidden(self) -> int:
        return self.weight.shape[1]

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.hidden_bias + v @ self.weight)  # σ(c + Wᵀv), (B, H)

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.visible_bias + h @ self.weight.T)  # σ(b + W h), (B, V)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E(v, h) = -bᵀv - cᵀh - vᵀWh, (B,)."""
        return -v @ self.visible_bias - h @ self.hidden_bias - ((v @ self.weight) * h).sum(-1)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log Σ_h exp(-E(v, h)) = -bᵀv - Σ_j softplus(c_j + (Wᵀv)_j), (B,)."""
        return -v @ self.visible_bias - nn.functional.softplus(self.hidden_bias + v @ self.weight).sum(-1)

    @torch.no_grad()
    def gibbs_step(self, v: torch.Tensor, generator=None):
        """One block Gibbs step v → h → v': returns (v' sampled, p(v' = 1 | h), h sampled)."""
        generator = make_generator(generator)
        h = torch.bernoulli(self.hidden_probs(v), generator=generator)  # (B, H)
        p = self.visible_probs(h)  # (B, V)
        return torch.bernoulli(p, generator=generator), p, h

    @torch.no_grad()
    def reconstruct(self, v: torch.Tensor) -> torch.Tensor:
        """The mean-field reconstruction p(v | h = p(h | v)), (B, V)."""
        return self.visible_probs(self.hidden_probs(self._rows(v)))

    def input_weights(self) -> tuple[str, torch.Tensor]:
        """For ``nnzoo show filters``: W read as one row of V weights per hidden unit."""
        return "W", self.weight.T

    def layer_rows(self) -> list[dict]:
        """For ``nnzoo summary``: the hidden units p(h | v) = σ(c + Wᵀv), then the visible
        reconstruction p(v | h) = σ(b + W h) through the same W."""
        v, h = self.visible, self.hidden
        return [{"name": "hidden", "type": "stochastic binary units", "output": str(h),
                 "activation": "logistic", "units": str(h), "params": v * h + h},
                {"name": "visible", "type": "reconstruction (weights W shared)", "output": str(v),
                 "activation": "logistic", "units": str(v), "params": v}]

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(v)

    @torch.no_grad()
    def sample(self, n: int, steps: int = 1000, generator=None, start=None) -> torch.Tensor:
        """``n`` fantasies: ``steps`` Gibbs steps from random binary visible states (or from
        ``start``); returns the last step's visible probabilities (n, V)."""
        generator = make_generator(generator)
        v = (torch.bernoulli(torch.full((n, self.visible), 0.5, device=self.weight.device),
                             generator=generator)
             if start is None else self._rows(start).clone())
        p = v
        for _ in range(steps):
            v, p, _ = self.gibbs_step(v, generator)
        return p

    @torch.no_grad()
    def log_partition(self) -> torch.Tensor:
        """log Z by enumerating all 2^V visible states (small V only): log Σ_v exp(-F(v))."""
        if self.visible > EXACT_LIMIT:
            raise NnzooError(f"log Z is enumerated over 2^V visible states; V = {self.visible} "
                             f"is too many (at most {EXACT_LIMIT}).")
        states = all_binary(self.visible).to(self.weight)
        return torch.logsumexp(-self.free_energy(states), dim=0)

    @torch.no_grad()
    def log_likelihood(self, v: torch.Tensor) -> torch.Tensor:
        """Exact mean log p(v) = -F(v) - log Z over rows ``v`` (small V only)."""
        return (-self.free_energy(self._rows(v)) - self.log_partition()).mean()

    def _rows(self, v) -> torch.Tensor:
        v = torch.as_tensor(v).to(self.weight)
        v = v.reshape(len(v), -1) if v.dim() > 1 else v.reshape(1, -1)
        if v.shape[1] != self.visible:
            raise NnzooError(f"RBM visible data must have {self.visible} values per sample; got "
                             f"{v.shape[1]}.")
        if v.numel() and (v.min() < 0 or v.max() > 1):
            raise NnzooError("RBM visible data must be binary or probabilities in [0, 1]; got "
                             f"values from {v.min().item():g} to {v.max().item():g}.")
        return v

    @torch.no_grad()
    def fit(self, x, *, epochs: int = 10, lr: float = 0.1, k: int = 1, batch_size: int = 20,
            momentum: float = 0.5, weight_decay: float = 1e-4, generator=0) -> list[float]:
        """Train by CD-k on rows of ``x`` (N, V); return the reconstruction error of each epoch."""
        x = self._rows(x)
        if k < 1 or batch_size < 1 or epochs < 0:
            raise NnzooError(f"CD-k needs k >= 1, batch_size >= 1 and epochs >= 0; got k={k}, "
                             f"batch_size={batch_size}, epochs={epochs}.")
        generator = make_generator(generator)
        velocity = self.start_learning(x)
        return [self.learn_epoch(x, lr=lr, k=k, batch_size=batch_size, momentum=momentum,
                                 weight_decay=weight_decay, generator=generator, velocity=velocity)
                for _ in range(epochs)]

    @torch.no_grad()
    def start_learning(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Before the first epoch: the visible biases at log(p/(1-p)) of the data's mean
        (Hinton's guide, section 8); the momentum buffers (zeros) that :meth:`learn_epoch`
        carries from epoch to epoch."""
        W, b, c = self.weight.data, self.visible_bias.data, self.hidden_bias.data
        if self.epochs_trained == 0:
            p = x.mean(0).clamp(1e-3, 1 - 1e-3)
            b.copy_(torch.log(p / (1 - p)))
        return [torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(c)]

    @torch.no_grad()
    def learn_epoch(self, x: torch.Tensor, *, lr: float, k: int, batch_size: int, momentum: float,
                    weight_decay: float, generator, velocity: list[torch.Tensor]) -> float:
        """One epoch of CD-k over the rows of ``x`` (N, V) in a shuffled order; ``velocity``
        (the momentum buffers of W, b, c) is updated in place. The reconstruction error, summed
        on the device and read once. ``generator`` lives on the device of ``x`` (or is None)."""
        W, b, c = self.weight.data, self.visible_bias.data, self.hidden_bias.data
        order = torch.randperm(len(x), generator=generator, device=x.device)
        total = x.new_zeros(())
        for start in range(0, len(x), batch_size):
            v0 = x[order[start:start + batch_size]]  # (B, V) data
            ph0 = self.hidden_probs(v0)  # (B, H) positive statistics
            h = torch.bernoulli(ph0, generator=generator)
            for step in range(k):
                vk = self.visible_probs(h)  # (B, V)
                if step == 0:
                    total += ((v0 - vk) ** 2).sum()
                if step < k - 1:
                    vk = torch.bernoulli(vk, generator=generator)
                phk = self.hidden_probs(vk)  # (B, H) negative statistics
                h = torch.bernoulli(phk, generator=generator)
            n = len(v0)
            grads = [(v0.T @ ph0 - vk.T @ phk) / n - weight_decay * W,
                     (v0 - vk).mean(0), (ph0 - phk).mean(0)]
            for param, vel, grad in zip((W, b, c), velocity, grads):
                vel.mul_(momentum).add_(grad, alpha=lr)
                param.add_(vel)
        self.epochs_trained += 1
        return total.item() / x.numel()


def all_binary(n: int) -> torch.Tensor:
    """All 2^n binary vectors of length n, (2^n, n)."""
    codes = torch.arange(2 ** n)
    return ((codes[:, None] >> torch.arange(n)) & 1).float()


@register_model("rbm", family="classic", paper="Smolensky 1986; Hinton 2002",
                input_shape=(64,), dataset="digits-reconstruct", task="reconstruct",
                params=64 * 64 + 64 + 64,
                defaults={"epochs": 30, "lr": 0.1, "batch_size": 20})
def rbm(*, visible: int = 64, hidden: int = 64) -> RBM:
    """Restricted Boltzmann machine (binary units) trained by contrastive divergence."""
    return RBM(visible, hidden)
