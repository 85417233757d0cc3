"""Multilayer perceptron: dense layers with a nonlinearity between them.

    a^(0) = x,   a^(m) = f(W^(m) a^(m-1) + b^(m)),   m = 1..M-1,   y = W^(M) a^(M-1) + b^(M)

The output layer is linear; the loss applies the softmax (cross-entropy) or compares directly
(squared error). Rumelhart, Hinton & Williams, "Learning representations by back-propagating
errors", Nature 323, 1986.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnzoo.layers.activations import activation_module
from nnzoo.registry import register_model


class MLP(nn.Module):
    """Dense layers ``in_features → hidden[0] → … → hidden[-1] → out_features``.

    Args:
        in_features: inputs per sample (an image is flattened first).
        hidden: width of each hidden layer; its length is the depth.
        out_features: outputs (classes).
        activation: any name of ``nnzoo.layers.activations`` (``tanh``, ``relu``, ``logsig``…).
        dropout: probability of zeroing a hidden unit during training (Srivastava et al. 2014).

    >>> MLP(64, [32], 10)(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(self, in_features: int, hidden: list[int], out_features: int,
                 activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        widths = [in_features, *hidden]
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers.append(nn.Linear(fan_in, fan_out))
            layers.append(activation_module(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-1], out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))  # (N, in_features) → (N, out_features)


@register_model("mlp", family="feed-forward", paper="Rumelhart, Hinton & Williams 1986",
                input_shape=(64,), dataset="digits", params=64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10,
                defaults={"epochs": 40, "lr": 1e-3, "optimizer": "adam"})
def mlp(*, num_classes: int = 10, in_features: int | None = None, in_channels: int = 1,
        image_size: int = 8, hidden: tuple[int, ...] = (128, 64), activation: str = "relu",
        dropout: float = 0.0) -> MLP:
    """Multilayer perceptron of any depth and width (default 64-128-64-10, ReLU)."""
    if in_features is None:
        in_features = in_channels * image_size * image_size
    if isinstance(hidden, int):
        hidden = (hidden,)
    return MLP(in_features, list(hidden), num_classes, activation, dropout)
