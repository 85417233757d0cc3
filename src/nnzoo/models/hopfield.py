"""The Hopfield network: J. J. Hopfield, "Neural networks and physical systems with emergent
collective computational abilities", PNAS 79(8), 1982.

N fully connected threshold units with symmetric weights and no self-connections. Memories
p¹…pᴾ (rows of ±1; 0/1 rows are read as s = 2v - 1, Hopfield's own T_ij = Σ (2V_i-1)(2V_j-1))
are stored by the Hebbian outer-product rule

    W = (1/N) Σ_μ p^μ (p^μ)ᵀ,   W_ii = 0

and recalled by letting a state x settle. A unit looks at its net input h_i = Σ_j W_ij x_j and

    x_i ← high  if h_i > θ_i,     x_i ← low  if h_i < θ_i,     x_i unchanged on a tie,

with (low, high) = (-1, +1) for ``bipolar`` units and (0, 1) for ``binary`` ones. Each such update
can only lower, or keep, the energy

    E(x) = -½ xᵀ W x + θᵀ x

since flipping unit i changes it by ΔE = -Δx_i (h_i - θ_i) <= 0 (W symmetric, zero diagonal).

- ``async`` (Hopfield's): units are updated one at a time, in a fresh random order each sweep
  (seeded), until a whole sweep changes no unit (a fixed point, a local minimum of E) or the cap.
- ``sync`` (Little 1974): all units at once, x ← f(W x - θ). The energy argument no longer holds:
  besides fixed points the state can fall into a cycle of period 2, which is detected and
  reported (``RecallResult.cycle``).

Binary units by the standard mapping: v = (s + 1)/2. With thresholds θ_i = ½ Σ_j W_ij (the
default for ``units="binary"``) the 0/1 network is the ±1 network written in 0/1 — the same
trajectories, and E_binary = E_bipolar/4 + constant. Give ``threshold=0`` for Hopfield's own 0/1
net (U_i = 0), whose dynamics differ. Deviation: the weights are kept in float64 and a net input
within 1e-9 of the threshold counts as a tie, so that round-off in the k/N sums never breaks one.

``nnzoo train hopfield`` stores the ``letters`` dataset and scores recall of corrupted copies of
them (``nnzoo.train.memory``); ``-o mode=sync``, ``-d letters=HTX -d noise=0.3`` change it.

    >>> net = create("hopfield", size=100)
    >>> net.store(patterns)                              # doctest: +SKIP
    >>> net.recall(noisy, mode="async", generator=0)     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.registry import register_model

UNITS = ("bipolar", "binary")
MODES = ("async", "sync")
RECORDS = ("sweep", "unit")
TIE = 1e-9  # |h - θ| at most this is a tie: the unit keeps its state
MAX_STEPS = 100  # sweeps (async) or updates (sync) when no cap is given


def make_generator(generator) -> torch.Generator | None:
    """None (torch's global generator), a seed, or a ``torch.Generator`` as a generator."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    return torch.Generator().manual_seed(int(generator))


def hebbian(patterns: torch.Tensor) -> torch.Tensor:
    """W = (1/N) Σ_μ p^μ (p^μ)ᵀ with a zero diagonal, for ±1 rows ``patterns`` (P, N)."""
    weight = patterns.T @ patterns / patterns.shape[1]  # (N, N)
    return weight.fill_diagonal_(0)


def threshold_update(h: torch.Tensor, x: torch.Tensor, low: float) -> torch.Tensor:
    """The threshold unit: ``1`` where h > 0, ``low`` where h < 0, ``x`` (no change) on a tie."""
    return torch.where(h > TIE, torch.ones_like(x), torch.where(h < -TIE, torch.full_like(x, low), x))


def async_sweep(weight, threshold, x, order, low: float, on_update=None) -> torch.Tensor:
    """One asynchronous sweep over states ``x`` (..., N), in place: unit ``order[t]`` alone is
    updated at step t, in every state. ``weight`` (..., N, N) and ``threshold`` (..., N)
    broadcast against ``x``, so a batch of networks can run at once. Returns which states
    changed (...)."""
    changed = torch.zeros(x.shape[:-1], dtype=torch.bool, device=x.device)
    for i in order.tolist():
        h = (weight[..., i, :] * x).sum(-1) - threshold[..., i]  # net input minus threshold
        old = x[..., i]
        new = threshold_update(h, old, low)
        changed |= new != old
        x[..., i] = new
        if on_update is not None:
            on_update(x)
    return changed


def random_order(size: int, generator=None) -> torch.Tensor:
    """A random permutation of the ``size`` units (one per sweep, shared by a batch)."""
    return torch.randperm(size, generator=generator)


@dataclass
class RecallResult:
    """What ``recall(..., return_trajectory=True)`` gives.

    ``state`` is the final state (in the input's coding), ``trajectory`` the states (T+1, B, N)
    from the start, after each sweep / unit update / synchronous step, ``energy`` their energies
    (T+1, B), ``converged`` (B,) whether a fixed point was reached, ``cycle`` (B,) whether a
    synchronous run fell into a 2-cycle, ``steps`` the sweeps (async) or updates (sync) run.
    """

    state: torch.Tensor
    trajectory: torch.Tensor
    energy: torch.Tensor
    converged: torch.Tensor
    cycle: torch.Tensor
    steps: int


class Hopfield(nn.Module):
    """A Hopfield network of ``size`` units: Hebbian storage, threshold-unit recall, energy.

    Args:
        size: number of units N.
        units: ``bipolar`` (states ±1) or ``binary`` (states 0/1).
        threshold: θ, a number or an (N,) tensor; None is 0 for bipolar units and the matched
            θ_i = ½ Σ_j W_ij (recomputed by each ``store``) for binary ones.
        mode: how ``forward`` (and ``recall`` when not told) updates the units: ``async``
            (Hopfield's, one unit at a time) or ``sync`` (Little's, all at once).

    W (``weight``) and θ (``threshold``) are buffers, not parameters: nothing is learned by
    gradient descent. ``memories`` keeps the stored patterns as ±1 rows.
    """

    def __init__(self, size: int = 100, units: str = "bipolar",
                 threshold: float | torch.Tensor | None = None, mode: str = "async"):
        super().__init__()
        if units not in UNITS or mode not in MODES:
            raise NnzooError(f"Hopfield units {units!r} or mode {mode!r} is not known; expected "
                             f"units in {UNITS} and mode in {MODES}.")
        if size < 1:
            raise NnzooError(f"A Hopfield network needs at least one unit; got size={size}.")
        self.size, self.units, self.mode, self.input_shape = size, units, mode, (size,)
        self.low = -1.0 if units == "bipolar" else 0.0
        self.matched = units == "binary" and threshold is None
        theta = torch.zeros(size, dtype=torch.float64)
        if threshold is not None:
            theta = theta + torch.as_tensor(threshold, dtype=torch.float64)
        self.register_buffer("weight", torch.zeros(size, size, dtype=torch.float64))  # W (N, N)
        self.register_buffer("threshold", theta)  # θ (N,)
        self.register_buffer("memories", torch.zeros(0, size, dtype=torch.float64), persistent=False)

    def _coded(self, x, what: str) -> tuple[torch.Tensor, str]:
        """``x`` (B, N) as float64 states of this net's units, and the coding it came in."""
        x = torch.as_tensor(x)
        if x.dim() != 2 or x.shape[1] != self.size:
            raise NnzooError(f"Hopfield {what} must be rows of {self.size} values, shape "
                             f"({self.size},) or (B, {self.size}); got {tuple(x.shape)}.")
        values = set(x.unique().tolist())
        if values <= {-1, 1}:
            coding = "bipolar"
        elif values <= {0, 1}:
            coding = "binary"
        else:
            raise NnzooError(f"Hopfield {what} must hold ±1 or 0/1 values; got values such as "
                             f"{sorted(values - {-1, 0, 1})[:4] or sorted(values)[:4]}. Threshold "
                             f"real-valued data first (e.g. x > 0.5), or use a binary dataset "
                             f"such as --data letters.")
        s = x.to(self.weight.device, torch.float64)
        if coding != self.units:
            s = (s + 1) / 2 if self.units == "binary" else 2 * s - 1
        return s, coding

    def _decoded(self, s: torch.Tensor, coding: str, like: torch.Tensor) -> torch.Tensor:
        if coding != self.units:
            s = 2 * s - 1 if coding == "bipolar" else (s + 1) / 2
        return s.to(like.dtype)

    @torch.no_grad()
    def store(self, patterns, *, append: bool = False) -> "Hopfield":
        """Store rows of ``patterns`` (P, N) by the Hebbian rule; ``append`` adds them to the
        memories already held, otherwise they replace them."""
        patterns = torch.as_tensor(patterns)
        p, coding = self._coded(patterns.reshape(-1, patterns.shape[-1]), "patterns")
        s = p if self.units == "bipolar" else 2 * p - 1  # the rule is written for ±1
        weight = hebbian(s)
        self.weight = self.weight + weight if append else weight
        self.memories = torch.cat([self.memories, s]) if append else s
        if self.matched:
            self.threshold = self.weight.sum(1) / 2
        return self

    @torch.no_grad()
    def energy(self, x) -> torch.Tensor:
        """E(x) = -½ xᵀWx + θᵀx for a state (N,) or states (B, N), in float64."""
        x = torch.as_tensor(x)
        s, _ = self._coded(x.reshape(-1, self.size) if x.dim() == 1 else x, "states")
        e = self._energy(s)  # (B,)
        return e[0] if x.dim() == 1 else e

    def _energy(self, s: torch.Tensor) -> torch.Tensor:
        return -0.5 * ((s @ self.weight) * s).sum(-1) + s @ self.threshold

    def _sync_step(self, s: torch.Tensor) -> torch.Tensor:
        return threshold_update(s @ self.weight - self.threshold, s, self.low)  # W symmetric

    @torch.no_grad()
    def recall(self, x, *, steps: int | None = None, mode: str | None = None, generator=None,
               return_trajectory: bool = False, record: str = "sweep"):
        """Let state(s) ``x`` ((N,) or (B, N), ±1 or 0/1) settle; return the final state(s) in
        the same coding, or a :class:`RecallResult` with ``return_trajectory``.

        ``mode`` is ``async`` or ``sync`` (default: the net's ``mode``). ``steps`` caps the
        sweeps (async) or updates (sync), default 100. ``generator`` (None,
        a seed or a ``torch.Generator``) draws the asynchronous orders. ``record`` is ``sweep``
        (a state after each sweep) or ``unit`` (after each single unit update, async only).
        """
        mode = self.mode if mode is None else mode
        if mode not in MODES or record not in RECORDS:
            raise NnzooError(f"Hopfield recall takes mode in {MODES} and record in {RECORDS}; got "
                             f"mode={mode!r}, record={record!r}.")
        like = torch.as_tensor(x)
        single = like.dim() == 1
        s, coding = self._coded(like.reshape(1, -1) if single else like, "states")
        generator, cap = make_generator(generator), MAX_STEPS if steps is None else steps
        path = [s.clone()]
        keep = (lambda state: path.append(state.clone())) if return_trajectory else (lambda _: None)
        converged = torch.zeros(len(s), dtype=torch.bool, device=s.device)
        cycle = torch.zeros_like(converged)
        done = 0
        if mode == "async":
            per_unit = keep if record == "unit" else None
            while done < cap and not converged.all():
                order = random_order(self.size, generator)
                converged |= ~async_sweep(self.weight, self.threshold, s, order, self.low, per_unit)
                done += 1
                if record == "sweep":
                    keep(s)
        else:
            previous = None
            while done < cap and not (converged | cycle).all():
                active = ~(converged | cycle)
                new = torch.where(active[:, None], self._sync_step(s), s)
                converged |= active & (new == s).all(1)
                if previous is not None:
                    cycle |= active & ~converged & (new == previous).all(1)
                previous, s = s, new
                done += 1
                keep(s)
        state = self._decoded(s[0] if single else s, coding, like)
        if not return_trajectory:
            return state
        trajectory = torch.stack(path)  # (T+1, B, N)
        energy = self._energy(trajectory)  # (T+1, B)
        if single:
            trajectory, energy, converged, cycle = trajectory[:, 0], energy[:, 0], converged[0], cycle[0]
        return RecallResult(state, self._decoded(trajectory, coding, like), energy, converged, cycle,
                            done)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Recall of ``x`` in the net's mode (asynchronous: global random generator)."""
        return self.recall(x)

    learned_by = "Hebbian storage"

    def layer_rows(self) -> list[dict]:
        """For ``nnzoo summary``: one layer of N threshold units, each connected to every
        other; its numbers are the N(N-1)/2 free weights of W (symmetric, zero diagonal) and
        the N thresholds θ."""
        n = self.size
        return [dict(name="units", type="fully connected, W = Wᵀ, w_ii = 0", output=str(n),
                     activation="hardlims" if self.units == "bipolar" else "hardlim",
                     units=str(n), params=n * (n - 1) // 2 + n)]


@dataclass
class CapacityCurve:
    """Recall against load for random memories: one entry per number of patterns P."""

    size: int
    patterns: list[int]
    recall_rate: list[float]  # fraction of memories recalled exactly from the noisy start
    stable_rate: list[float]  # fraction of memories that are fixed points themselves
    bits_correct: list[float]  # mean fraction of a memory's bits right after recall
    trials: int
    flips: int

    def drop(self, level: float = 0.5) -> int | None:
        """The first P whose exact-recall rate is below ``level`` (None if none is)."""
        return next((p for p, r in zip(self.patterns, self.recall_rate) if r < level), None)


@torch.no_grad()
def capacity_curve(size: int = 100, patterns=range(1, 31), *, trials: int = 20, flips: int = 5,
                   seed: int = 0, max_sweeps: int = 30) -> CapacityCurve:
    """The storage-capacity experiment (Hopfield 1982; Amit, Gutfreund & Sompolinsky 1985).

    For each P, ``trials`` networks of ``size`` units each store P random ±1 patterns; every
    stored pattern, with ``flips`` of its bits flipped, is recalled asynchronously and counts as
    recalled when the result equals it exactly. All trials' recalls run as one batch (trial
    t's P states against its own weights), with the unscaled Hebb sums Σ p pᵀ: the 1/N does not
    change a sign, and integer sums keep ties exact in float32. Recall falls steeply around
    P ≈ 0.14 N.
    """
    g = torch.Generator().manual_seed(seed)
    curve = CapacityCurve(size, list(patterns), [], [], [], trials, flips)
    for p in curve.patterns:
        memories = torch.randint(0, 2, (trials, p, size), generator=g).float() * 2 - 1  # (T, P, N)
        weight = memories.transpose(1, 2) @ memories  # (T, N, N)
        weight.diagonal(dim1=1, dim2=2).zero_()
        flipped = torch.rand(trials, p, size, generator=g).argsort(-1)[..., :flips]
        x = memories.clone()
        x.scatter_(-1, flipped, -x.gather(-1, flipped))
        stable = threshold_update(memories @ weight, memories, -1.0)  # W symmetric
        for _ in range(max_sweeps):
            if not async_sweep(weight[:, None], torch.zeros(size), x, random_order(size, g),
                               -1.0).any():
                break
        curve.recall_rate.append((x == memories).all(-1).float().mean().item())
        curve.stable_rate.append((stable == memories).all(-1).float().mean().item())
        curve.bits_correct.append((x == memories).float().mean().item())
    return curve


@register_model("hopfield", family="classic", paper="Hopfield 1982", input_shape=(100,),
                dataset="letters", task="associative-memory", params=0)
def hopfield(*, size: int = 100, units: str = "bipolar", threshold: float | None = None,
             mode: str = "async") -> Hopfield:
    """Hopfield network: Hebbian associative memory recalled by threshold units (energy descent)."""
    return Hopfield(size, units, threshold, mode)
