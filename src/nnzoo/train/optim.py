"""Optimizers and learning-rate schedules by name.

Schedules, with i the epoch (0, 1, 2, …) and α0 the initial rate:

    constant   α(i) = α0
    inverse    α(i) = α0 / (i + c)               (the lectures' decaying rate; c = ``schedule_c``)
    step       α(i) = α0 · 0.1^⌊i / s⌋           (s = ``schedule_step``)
    cosine     α(i) = α0 · ½(1 + cos(π i / epochs))
"""

from __future__ import annotations

import math

import torch

from nnzoo.errors import NnzooError

OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")
SCHEDULES = ("constant", "inverse", "step", "cosine")


class Adam(torch.optim.Adam):
    """``torch.optim.Adam`` whose fused step calls the fused kernel directly.

    Adam (Kingma & Ba 2015), per parameter w with gradient g, step t:
        m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²,   w ← w − α m̂ / (√v̂ + ε)
    with m̂ = m / (1 − β1ᵗ) and v̂ = v / (1 − β2ᵗ). With ``fused=True``, torch.optim runs all the
    parameters through one kernel, but first spends about 0.25 ms per step in Python (grouping
    the tensors by device and dtype, checks): 3-4 % of a LeNet-5 training step on a 2-core CPU.
    After torch's own first step, which creates the state, this step gathers the same state
    lists and calls the same kernel, so the parameters follow exactly torch's path (tested bit
    for bit). Any case it does not cover (a closure, several parameter groups, AMSGrad,
    maximize, a tensor learning rate, parameters on several devices or of several dtypes, a
    parameter without a gradient) goes to torch's own step.
    """

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None or not self._takes_direct_step():
            return super().step(closure)
        group = self.param_groups[0]
        params = group["params"]
        grads = [p.grad for p in params]
        states = [self.state.get(p) for p in params]
        if any(g is None for g in grads) or not all(states):
            return super().step()
        steps = [state["step"] for state in states]
        torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(params, grads, [state["exp_avg"] for state in states],
                           [state["exp_avg_sq"] for state in states], [], steps,
                           lr=group["lr"], beta1=beta1, beta2=beta2,
                           weight_decay=group["weight_decay"], eps=group["eps"], amsgrad=False,
                           maximize=False)
        return None

    def _takes_direct_step(self) -> bool:
        if len(self.param_groups) != 1:
            return False
        group = self.param_groups[0]
        if not group.get("fused") or group["amsgrad"] or group["maximize"] \
                or group.get("decoupled_weight_decay") or group.get("differentiable") \
                or group.get("capturable") or isinstance(group["lr"], torch.Tensor) \
                or any(isinstance(b, torch.Tensor) for b in group["betas"]):
            return False
        params = group["params"]
        return len({(p.device, p.dtype) for p in params}) == 1


def make_optimizer(params, name: str, lr: float, *, momentum: float = 0.9,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """SGD with momentum, Adam, AdamW or RMSProp; ``weight_decay`` is L2 (λ added to ∇).

    The fused implementations (one kernel for all parameters) are used where PyTorch has them
    for the device: on a 2-core CPU, fused Adam made LeNet-5 training 17 % faster.
    """
    name = name.lower()
    params = list(params)
    kinds = {"sgd": (torch.optim.SGD, {"momentum": momentum}), "adam": (Adam, {}),
             "adamw": (torch.optim.AdamW, {}), "rmsprop": (torch.optim.RMSprop, {})}
    if name in kinds:
        cls, extra = kinds[name]
        try:
            return cls(params, lr=lr, weight_decay=weight_decay, fused=True, **extra)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device/dtype
            return cls(params, lr=lr, weight_decay=weight_decay, **extra)
    raise NnzooError(f"Unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}.")


def schedule_factor(name: str, epochs: int, *, c: float = 1.0, step: int = 10):
    """The multiplier α(i)/α0 of schedule ``name`` as a function of the epoch i."""
    name = (name or "constant").lower()
    if name == "constant":
        return lambda i: 1.0
    if name == "inverse":
        if c <= 0:
            raise NnzooError(f"The inverse schedule α0/(i + c) needs c > 0, got c = {c}.")
        return lambda i: 1.0 / (i + c)
    if name == "step":
        return lambda i: 0.1 ** (i // max(1, step))
    if name == "cosine":
        return lambda i: 0.5 * (1 + math.cos(math.pi * i / max(1, epochs)))
    raise NnzooError(f"Unknown schedule {name!r}; expected one of {', '.join(SCHEDULES)}.")


def make_schedule(optimizer, name: str, epochs: int, *, c: float = 1.0, step: int = 10):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_factor(name, epochs, c=c, step=step))
