"""The Boltzmann machine, a Hopfield network of stochastic units with a temperature: Hinton &
Sejnowski, "Optimal perceptual inference", CVPR 1983; Ackley, Hinton & Sejnowski, "A learning
algorithm for Boltzmann machines", Cognitive Science 9, 1985 (AHS); annealing from Kirkpatrick,
Gelatt & Vecchi, "Optimization by simulated annealing", Science 220, 1983.

N binary units s ∈ {0, 1}ᴺ, symmetric weights W with a zero diagonal, thresholds θ:

    E(s) = -½ sᵀWs + θᵀs = -Σ_{i<j} w_ij s_i s_j + Σ_i θ_i s_i
    ΔE_i = E(s_i = 0) - E(s_i = 1) = Σ_j w_ij s_j - θ_i                (the energy gap)
    p(s_i = 1 | the others) = σ(ΔE_i / T) = 1 / (1 + exp(-ΔE_i / T))

Units are updated one at a time in a random order (a sweep), so the chain settles into the
Boltzmann distribution P(s) = exp(-E(s)/T) / Z. As T → 0, σ(ΔE/T) becomes the step function and
a sweep is a Hopfield network's asynchronous sweep (binary units, thresholds θ): at T = 0 the
update is exactly that (a tie keeps the state) and uses the same random orders. Simulated
annealing lowers T along a schedule of (temperature, sweeps); the default is AHS's for their
encoder problems: 2 sweeps at T = 20, 2 at 15, 2 at 12, 4 at 10.

The first ``visible`` units are visible, the rest hidden. Learning (AHS) estimates, at
equilibrium after annealing, p⁺_ij = ⟨s_i s_j⟩ with the visible units clamped to the data and
p⁻_ij = ⟨s_i s_j⟩ running free, and moves

    Δw_ij = ε (p⁺_ij - p⁻_ij),      Δθ_i = -ε (p⁺_i - p⁻_i)

Deviation: AHS changed each weight by a fixed step in the direction of sign(p⁺ - p⁻); this is
the gradient form they derive, ∂G/∂w_ij = -(p⁺_ij - p⁻_ij)/T, at T = 1. W and θ are float64
buffers (no autograd).

``nnzoo train boltzmann`` fits the default machine (9 visible units, 4 hidden) to the 14 3x3
bars-and-stripes images and measures the learnt distribution exactly (``nnzoo.train.boltzmann``).

    >>> bm = create("boltzmann", size=5, visible=3)
    >>> states = bm.anneal(torch.zeros(8, 5), generator=0)   # doctest: +SKIP
"""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.models.hopfield import make_generator, random_order, threshold_update
from nnzoo.registry import register_model

AHS_SCHEDULE = ((20.0, 2), (15.0, 2), (12.0, 2), (10.0, 4))  # (T, sweeps), AHS 1985 encoders
ENUMERATE_LIMIT = 16  # units, for the exact distribution


def binary_rows(s, width: int, what: str) -> torch.Tensor:
    """``s`` as float64 rows of ``width`` 0/1 values, or a clear error naming ``what``."""
    s = torch.as_tensor(s, dtype=torch.float64)
    if s.dim() == 0 or s.shape[-1] != width:
        raise NnzooError(f"{what} must be rows of {width} values; got shape {tuple(s.shape)}. "
                         f"Options -o visible=V -o size=N set the machine's units.")
    odd = s[(s != 0) & (s != 1)]
    if len(odd):
        raise NnzooError(f"{what} must hold 0/1 values; got values such as "
                         f"{sorted(set(odd.tolist()))[:4]}. Threshold real-valued data first "
                         f"(e.g. x > 0.5), or use a binary dataset such as --data bars-and-stripes.")
    return s


class BoltzmannMachine(nn.Module):
    """A fully connected network of stochastic binary units at temperature ``temperature``.

    Args:
        size: units N.
        visible: the first ``visible`` units are visible (default: all of them).
        temperature: T used when a method is not given one.
    """

    def __init__(self, size: int = 16, visible: int | None = None, temperature: float = 1.0):
        super().__init__()
        visible = size if visible is None else visible
        if size < 1 or not 0 <= visible <= size or temperature < 0:
            raise NnzooError(f"A Boltzmann machine needs size >= 1, 0 <= visible <= size and "
                             f"T >= 0; got size={size}, visible={visible}, T={temperature}.")
        self.size, self.visible, self.temperature = size, visible, temperature
        self.input_shape = (visible,)  # a data row: the visible units
        self.register_buffer("weight", torch.zeros(size, size, dtype=torch.float64))  # W (N, N)
        self.register_buffer("threshold", torch.zeros(size, dtype=torch.float64))  # θ (N,)

    def set_weights(self, weight, threshold=None) -> "BoltzmannMachine":
        """Copy in W (symmetrised, zero diagonal) and θ."""
        weight = torch.as_tensor(weight, dtype=torch.float64)
        self.weight = ((weight + weight.T) / 2).fill_diagonal_(0)
        if threshold is not None:
            self.threshold = torch.as_tensor(threshold, dtype=torch.float64).expand(self.size).clone()
        return self

    def _states(self, s) -> torch.Tensor:
        return binary_rows(s, self.size, "Boltzmann machine states")

    def energy(self, s) -> torch.Tensor:
        """E(s) = -½ sᵀWs + θᵀs, (...)."""
        s = self._states(s)
        return -0.5 * ((s @ self.weight) * s).sum(-1) + s @ self.threshold

    def energy_gap(self, s) -> torch.Tensor:
        """ΔE_i = Σ_j w_ij s_j - θ_i for every unit, (..., N)."""
        return self._states(s) @ self.weight - self.threshold

    def prob_on(self, s, temperature: float | None = None) -> torch.Tensor:
        """p(s_i = 1 | all other units) = σ(ΔE_i / T) for every unit, (..., N)."""
        t = self.temperature if temperature is None else temperature
        return torch.sigmoid(self.energy_gap(s) / t)

    @torch.no_grad()
    def sweep(self, s: torch.Tensor, temperature: float | None = None, generator=None,
              order=None, clamped: int = 0) -> torch.Tensor:
        """One sweep over states ``s`` (B, N), in place: each unit (bar the first ``clamped``)
        in ``order`` (default a random one) is set to 1 with probability σ(ΔE_i / T)."""
        t, generator = self.temperature if temperature is None else temperature, make_generator(generator)
        order = random_order(self.size, generator) if order is None else torch.as_tensor(order)
        order = order[order >= clamped]
        draws = None if t == 0 else torch.rand(s.shape, generator=generator, dtype=s.dtype)
        for i in order.tolist():
            gap = s @ self.weight[i] - self.threshold[i]  # (B,) ΔE_i
            if t == 0:  # the T → 0 limit: a Hopfield threshold unit
                s[:, i] = threshold_update(gap, s[:, i], 0.0)
            else:
                s[:, i] = (draws[:, i] < torch.sigmoid(gap / t)).to(s.dtype)
        return s

    @torch.no_grad()
    def anneal(self, s, schedule=AHS_SCHEDULE, generator=None, clamped: int = 0,
               return_energy: bool = False):
        """Simulated annealing of states ``s`` (B, N) (copied) along ``schedule``, a sequence of
        (T, sweeps); the first ``clamped`` units stay fixed. With ``return_energy`` also the
        energies after each sweep, (sweeps, B)."""
        s = self._states(s).reshape(-1, self.size).clone()
        generator, energies = make_generator(generator), []
        for temperature, sweeps in schedule:
            for _ in range(int(sweeps)):
                self.sweep(s, temperature, generator, clamped=clamped)
                energies.append(self.energy(s))
        return (s, torch.stack(energies)) if return_energy else s

    learned_by = "the Ackley-Hinton-Sejnowski rule"

    def layer_rows(self) -> list[dict]:
        """For ``nnzoo summary``: the visible and the hidden units, all connected to each other
        by symmetric weights (N(N-1)/2 of them) and each with a threshold. A row holds the
        weights among its own units, those to the units of the rows above, and its thresholds."""
        v, n = self.visible, self.size
        rows = [("visible", v, 0), ("hidden", n - v, v)] if n > v else [("visible", v, 0)]
        return [dict(name=name, type="stochastic binary units", output=str(k),
                     activation=f"logistic of ΔE/T (T={self.temperature:g})", units=str(k),
                     params=k * (k - 1) // 2 + k * above + k)
                for name, k, above in rows]

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """Anneal states ``s`` (B, N) along the default schedule (global random generator).
        Rows of the visible units alone (B, V) stay clamped while the hidden units, started
        off, settle: the machine's interpretation of the data (Hinton & Sejnowski 1983)."""
        s = torch.as_tensor(s, dtype=torch.float64)
        if s.shape[-1] == self.visible < self.size:
            s = binary_rows(s, self.visible, "Boltzmann machine inputs (rows of the visible units)")
            hidden = s.new_zeros(*s.shape[:-1], self.size - self.visible)
            return self.anneal(torch.cat([s, hidden], -1), clamped=self.visible)
        return self.anneal(s)

    @torch.no_grad()
    def distribution(self, temperature: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """All 2ᴺ states (2ᴺ, N) and their exact Boltzmann probabilities (small N only)."""
        if self.size > ENUMERATE_LIMIT:
            raise NnzooError(f"The exact distribution enumerates 2^N states; N = {self.size} is "
                             f"too many (at most {ENUMERATE_LIMIT}).")
        t = self.temperature if temperature is None else temperature
        codes = torch.arange(2 ** self.size)
        states = ((codes[:, None] >> torch.arange(self.size)) & 1).double()
        return states, torch.softmax(-self.energy(states) / t, dim=0)

    def _statistics(self, s: torch.Tensor, sweeps: int, generator, clamped: int):
        """⟨s sᵀ⟩ and ⟨s⟩ over ``sweeps`` further sweeps at T = 1 (the equilibrium phase)."""
        pairs, singles = torch.zeros_like(self.weight), torch.zeros_like(self.threshold)
        for _ in range(sweeps):
            self.sweep(s, 1.0, generator, clamped=clamped)
            pairs += s.T @ s / len(s)
            singles += s.mean(0)
        return pairs / sweeps, singles / sweeps

    @torch.no_grad()
    def fit(self, data, *, epochs: int = 100, lr: float = 0.5, chains: int = 10,
            schedule=((4.0, 2), (2.0, 2), (1.0, 2)), sweeps: int = 10, generator=0) -> list[float]:
        """Learn with the AHS rule from 0/1 rows ``data`` (M, visible); each phase runs
        ``chains`` chains per data row, anneals along ``schedule`` and then averages over
        ``sweeps`` sweeps at T = 1. Returns per epoch the mean |p⁺_ij - p⁻_ij|."""
        data = binary_rows(data, self.visible, "Boltzmann machine data (rows of the visible units)")
        if data.dim() != 2:
            raise NnzooError(f"Boltzmann machine data must be a matrix (M, {self.visible}); got "
                             f"shape {tuple(data.shape)}.")
        generator, gaps = make_generator(generator), []
        if not self.weight.any():  # break the symmetry between hidden units
            self.set_weights(torch.randn(self.size, self.size, generator=generator,
                                         dtype=torch.float64) * 0.1)
        rows = data.repeat(chains, 1)  # (M·chains, V)
        for _ in range(epochs):
            start = torch.bernoulli(torch.full((len(rows), self.size), 0.5, dtype=torch.float64),
                                    generator=generator)
            clamped = torch.cat([rows, start[:, self.visible:]], dim=1)
            pos = self._statistics(self.anneal(clamped, schedule, generator, self.visible),
                                   sweeps, generator, self.visible)
            neg = self._statistics(self.anneal(start, schedule, generator), sweeps, generator, 0)
            step = pos[0] - neg[0]
            self.weight += lr * step.fill_diagonal_(0)
            self.threshold -= lr * (pos[1] - neg[1])
            gaps.append(step.abs().mean().item())
        return gaps


def state_codes(rows: torch.Tensor) -> torch.Tensor:
    """Each 0/1 row (M, V) as the integer Σ_i v_i 2^i."""
    return (rows.long() * 2 ** torch.arange(rows.shape[-1])).sum(-1)


def data_distribution(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows' codes and their frequencies P(v)."""
    codes, counts = state_codes(rows).unique(return_counts=True)
    return codes, counts.double() / len(rows)


@register_model("boltzmann", family="classic", paper="Hinton & Sejnowski 1983; Ackley et al. 1985",
                input_shape=(9,), dataset="bars-and-stripes", task="distribution", params=0,
                defaults={"epochs": 500, "lr": 1.0, "schedule": "cosine"})
def boltzmann(*, size: int = 13, visible: int | None = 9,
              temperature: float = 1.0) -> BoltzmannMachine:
    """Boltzmann machine: stochastic binary units, temperature, simulated annealing, AHS learning."""
    if visible is not None and size >= 1 and visible > size:
        raise NnzooError(f"A Boltzmann machine of size={size} cannot have visible={visible} "
                         f"visible units (9 is the default, for the 3x3 bars-and-stripes "
                         f"images); give visible <= size, e.g. visible={size}, or a larger size.")
    return BoltzmannMachine(size, visible, temperature)
