"""Transfer (activation) functions, with their analytic derivatives and ranges as data.

Every function is usable three ways:

    >>> from nnzoo.layers.activations import get_activation, activation_module
    >>> act = get_activation("logsig")          # the MATLAB name of the logistic
    >>> act(torch.tensor([0.0]))                  # the function f(n)
    tensor([0.5000])
    >>> act.derivative(torch.tensor([0.0]))       # its analytic derivative f'(n)
    tensor([0.2500])
    >>> act.range
    (0.0, 1.0)
    >>> activation_module("tansig")               # an nn.Module for nn.Sequential
    Activation(tanh)

| name (aliases)                 | f(n)                         | f'(n)                   | range    |
| identity (purelin, linear)     | n                            | 1                       | (-∞, ∞)  |
| step (hardlim, binary_step)    | 1 if n >= 0 else 0           | 0 (n ≠ 0)               | {0, 1}   |
| sign (hardlims)                | +1 if n >= 0 else -1         | 0 (n ≠ 0)               | {-1, 1}  |
| logistic (sigmoid, logsig)     | 1 / (1 + e^-n)               | f(1 - f)                | (0, 1)   |
| tanh (tansig)                  | (e^n - e^-n)/(e^n + e^-n)    | 1 - f²                  | (-1, 1)  |
| arctan                         | atan(n)                      | 1 / (1 + n²)            | (-π/2, π/2) |
| softsign                       | n / (1 + |n|)                | 1 / (1 + |n|)²          | (-1, 1)  |
| relu (poslin)                  | max(0, n)                    | 1 if n > 0 else 0       | [0, ∞)   |
| leaky_relu                     | n if n > 0 else 0.01 n       | 1 or 0.01               | (-∞, ∞)  |
| prelu                          | n if n > 0 else a n (a learnt) | 1 or a                | (-∞, ∞)  |
| softplus                       | ln(1 + e^n)                  | logistic(n)             | (0, ∞)   |
| satlin                         | 0, n, 1 clipped to [0, 1]    | 1 on (0, 1) else 0      | [0, 1]   |
| satlins                        | n clipped to [-1, 1]         | 1 on (-1, 1) else 0     | [-1, 1]  |
| compet                         | 1 for the largest n of a row, 0 elsewhere | —          | {0, 1}   |

``compet`` is competitive (winner takes all along the last dimension) and has no derivative.
PReLU (He et al. 2015) has a learnable slope, so it exists only as a module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from nnzoo.errors import NnzooError

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ActivationFunction:
    """A transfer function f with its derivative f' (None where it has none) and range."""

    name: str
    fn: Fn
    derivative: Fn | None
    range: tuple[float, float]
    aliases: tuple[str, ...] = field(default=())
    kinks: tuple[float, ...] = ()  # points where f is not differentiable

    def __call__(self, n: torch.Tensor) -> torch.Tensor:
        return self.fn(n)


def _step(n):
    return (n >= 0).to(n.dtype)


def _sign(n):
    return torch.where(n >= 0, torch.ones_like(n), -torch.ones_like(n))


def _compet(n):
    winner = n.argmax(dim=-1, keepdim=True)
    return torch.zeros_like(n).scatter_(-1, winner, 1.0)


def _zero(n):
    return torch.zeros_like(n)


def _one(n):
    return torch.ones_like(n)


def _between(n, lo, hi):
    return ((n > lo) & (n < hi)).to(n.dtype)


_TABLE = [
    ActivationFunction("identity", lambda n: n, _one, (-math.inf, math.inf), ("purelin", "linear")),
    ActivationFunction("step", _step, _zero, (0.0, 1.0), ("hardlim", "binary_step"), (0.0,)),
    ActivationFunction("sign", _sign, _zero, (-1.0, 1.0), ("hardlims",), (0.0,)),
    ActivationFunction("logistic", torch.sigmoid,
                       lambda n: torch.sigmoid(n) * (1 - torch.sigmoid(n)), (0.0, 1.0),
                       ("sigmoid", "logsig")),
    ActivationFunction("tanh", torch.tanh, lambda n: 1 - torch.tanh(n) ** 2, (-1.0, 1.0), ("tansig",)),
    ActivationFunction("arctan", torch.atan, lambda n: 1 / (1 + n * n), (-math.pi / 2, math.pi / 2)),
    ActivationFunction("softsign", lambda n: n / (1 + n.abs()), lambda n: 1 / (1 + n.abs()) ** 2,
                       (-1.0, 1.0)),
    ActivationFunction("relu", torch.relu, lambda n: (n > 0).to(n.dtype), (0.0, math.inf),
                       ("poslin",), (0.0,)),
    ActivationFunction("leaky_relu", lambda n: torch.where(n > 0, n, 0.01 * n),
                       lambda n: torch.where(n > 0, torch.ones_like(n), torch.full_like(n, 0.01)),
                       (-math.inf, math.inf), (), (0.0,)),
    ActivationFunction("softplus", nn.functional.softplus, torch.sigmoid, (0.0, math.inf)),
    ActivationFunction("satlin", lambda n: n.clamp(0, 1), lambda n: _between(n, 0, 1), (0.0, 1.0),
                       (), (0.0, 1.0)),
    ActivationFunction("satlins", lambda n: n.clamp(-1, 1), lambda n: _between(n, -1, 1), (-1.0, 1.0),
                       (), (-1.0, 1.0)),
    ActivationFunction("compet", _compet, None, (0.0, 1.0)),
]

ACTIVATIONS: dict[str, ActivationFunction] = {}
for _f in _TABLE:
    for _name in (_f.name, *_f.aliases):
        ACTIVATIONS[_name] = _f


def names() -> list[str]:
    """Every accepted name, aliases included, plus ``prelu``."""
    return sorted([*ACTIVATIONS, "prelu"])


def get_activation(name: str) -> ActivationFunction:
    """The activation called ``name`` (canonical or MATLAB alias)."""
    key = name.lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise NnzooError(f"Unknown activation {name!r}; expected one of {', '.join(names())}.")
    return ACTIVATIONS[key]


class Activation(nn.Module):
    """An activation function as a module (parameter-free)."""

    def __init__(self, name: str):
        super().__init__()
        self.function = get_activation(name)

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        return self.function.fn(n)

    def derivative(self, n: torch.Tensor) -> torch.Tensor:
        if self.function.derivative is None:
            raise NnzooError(f"Activation {self.function.name!r} has no derivative.")
        return self.function.derivative(n)

    def extra_repr(self) -> str:
        return self.function.name

    def __repr__(self) -> str:
        return f"Activation({self.function.name})"


class PReLU(nn.Module):
    """Parametric ReLU (He et al. 2015): f(n) = n for n > 0, a·n otherwise, ``a`` learnt."""

    range = (-math.inf, math.inf)

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        self.weight = nn.Parameter(torch.full((num_parameters,), float(init)))

    def _slope(self, n):
        if self.weight.numel() == 1 or n.dim() < 2:
            return self.weight
        return self.weight.view(1, -1, *([1] * (n.dim() - 2)))  # one slope per channel

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        return torch.where(n > 0, n, self._slope(n) * n)

    def derivative(self, n: torch.Tensor) -> torch.Tensor:
        """∂f/∂n; ∂f/∂a is ``min(n, 0)``."""
        return torch.where(n > 0, torch.ones_like(n), self._slope(n).expand_as(n))


class _TanhViaSigmoid(torch.autograd.Function):
    """tanh(n) = 2·σ(2n) - 1, with the usual backward g·(1 - f²) from the saved output."""

    @staticmethod
    def forward(ctx, n):
        f = n * 2.0
        f.sigmoid_().mul_(2.0).sub_(1.0)  # in place: one buffer, not two
        ctx.save_for_backward(f)
        return f

    @staticmethod
    def backward(ctx, grad):
        (f,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, f)


# Below this many elements the Python Function costs more than ATen's slower tanh saves.
SIGMOID_ROUTE_MIN_NUMEL = 1 << 15


def fast_tanh(n: torch.Tensor) -> torch.Tensor:
    """tanh, computed on the CPU as 2·σ(2n) - 1 (same values to ~2e-7).

    Measured on this project's CPUs (AVX2, PyTorch 2.13): ATen's CPU tanh runs 2.4x slower than
    its sigmoid, and in LeNet-5 the tanh after C1 alone took a tenth of each training step. On
    other devices, and for small tensors (LeNet-5's C5 and F6: the Function's own overhead is
    larger than the saving), ``torch.tanh`` is used as is.
    """
    if n.device.type == "cpu" and n.is_floating_point() and n.dtype != torch.float64 \
            and n.numel() >= SIGMOID_ROUTE_MIN_NUMEL:
        return _TanhViaSigmoid.apply(n)
    return torch.tanh(n)


class Tanh(nn.Tanh):
    """f(n) = tanh(n), as ``torch.nn.Tanh`` (a subclass of it), faster on the CPU: see
    :func:`fast_tanh`."""

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        return fast_tanh(n)


_TORCH_FAST = {"relu": nn.ReLU, "tanh": Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}


def activation_module(name: str) -> nn.Module:
    """A module for ``name``: torch's own for relu/tanh/logistic/identity (fused, and
    recognised by ``nnzoo summary``), ``PReLU`` for ``prelu``, else :class:`Activation`."""
    if name.lower() == "prelu":
        return PReLU()
    function = get_activation(name)
    if function.name in _TORCH_FAST:
        return _TORCH_FAST[function.name]()
    return Activation(name)
