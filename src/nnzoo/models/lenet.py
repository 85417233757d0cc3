"""LeNet-5: the convolutional network of LeCun, Bottou, Bengio & Haffner,
"Gradient-based learning applied to document recognition", Proc. IEEE 86(11), 1998.

``lenet5`` is the lectures' table (the form most courses teach):

    layer   type              maps  size     kernel stride activation  parameters
    input   image             1     32x32
    C1      convolution       6     28x28    5x5    1      tanh        156
    S2      average pooling   6     14x14    2x2    2                  0
    C3      convolution       16    10x10    5x5    1      tanh        2,416
    S4      average pooling   16    5x5      2x2    2                  0
    C5      convolution       120   1x1      5x5    1      tanh        48,120
    F6      dense             84                           tanh        10,164
    output  dense             10                                       850
                                                              total    61,706

The paper's own variant (trainable subsampling, C3's connection table, scaled tanh, RBF output)
is ``lenet5-1998`` in ``lenet1998.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.layers.activations import Tanh
from nnzoo.layers.conv import Conv2d
from nnzoo.layers.pooling import AvgPool2d
from nnzoo.registry import register_model


class LeNet5(nn.Module):
    """LeNet-5 as the lecture table gives it: 32x32 input, tanh, average pooling."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.C1 = nn.Sequential(nn.Conv2d(in_channels, 6, 5), Tanh())
        self.S2 = AvgPool2d(2, 2)  # torch's, faster for these 2x2 windows on the CPU
        self.C3 = nn.Sequential(nn.Conv2d(6, 16, 5), Tanh())
        self.S4 = AvgPool2d(2, 2)
        self.C5 = nn.Sequential(Conv2d(16, 120, 5), Tanh())  # 5x5 on 5x5: one matmul
        self.F6 = nn.Sequential(nn.Linear(120, 84), Tanh())
        self.output = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.S2(self.C1(x))  # (N, 6, 14, 14)
        x = self.S4(self.C3(x))  # (N, 16, 5, 5)
        x = self.C5(x)           # (N, 120, 1, 1)
        x = self.F6(x.flatten(1))  # (N, 84)
        return self.output(x)      # (N, num_classes)


@register_model("lenet5", family="convolutional", paper="LeCun, Bottou, Bengio & Haffner 1998",
                input_shape=(1, 32, 32), dataset="digits", params=61_706,
                defaults={"epochs": 30, "lr": 2e-3, "optimizer": "adam", "batch_size": 64,
                          "schedule": "cosine"})
def lenet5(*, num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    """LeNet-5, the lecture table (tanh, average pooling, 61,706 parameters)."""
    return LeNet5(num_classes, in_channels)
