"""AlexNet: Krizhevsky, Sutskever & Hinton, "ImageNet classification with deep convolutional
neural networks", NIPS 2012.

Five convolutions, three overlapping max-pools (3x3, stride 2), three dense layers, ReLU after
every layer but the last, dropout (p = 0.5) before the first two dense layers:

    conv1 11x11/4 → pool → conv2 5x5 → pool → conv3 3x3 → conv4 3x3 → conv5 3x3 → pool
    → fc6 4096 → fc7 4096 → fc8 classes

Two versions:

- ``alexnet`` is torchvision's listing (64-192-384-256-256 channels, from Krizhevsky's
  "One weird trick" 2014 single-GPU net, no normalisation): 61,100,840 parameters at 1000
  classes, the layers and shapes of ``torchvision.models.alexnet`` one for one (named here as
  in the paper, conv1…fc8, where torchvision numbers them).
- ``alexnet-2012`` is the paper's net (section 3, Figure 2): 96-256-384-384-256 channels,
  **local response normalisation** after the ReLUs of conv1 and conv2 (section 3.3),

      b^i = a^i / (k + α Σ_{j=i−n/2}^{i+n/2} (a^j)²)^β,   k = 2, n = 5, α = 1e-4, β = 0.75,

  and the **two-GPU split** as grouped convolutions: conv2, conv4 and conv5 see only the
  maps on their own GPU (``groups=2``); conv3 and the dense layers see both. 60,965,224
  parameters at 1000 classes ("60 million parameters"). Weights start as in section 5:
  N(0, 0.01), biases 1 in conv2, conv4, conv5 and fc6, fc7 (so that ReLUs start active), 0
  elsewhere.

PyTorch's ``LocalResponseNorm`` divides α by n (α/n · Σ a²); the paper does not, so the
layer is given α = 5·10⁻⁴ to compute the paper's α = 10⁻⁴.

Deviations, stated: an adaptive average pool to 6x6 before fc6 (identity at the paper's 224x224
input; it lets any input size reach fc6). The default is the 224x224 net, torchvision's; with
``small_input=True`` conv1 uses stride 1 instead of 4, so that a 32x32 image still gives a 2x2
map after the last pool (with stride 4 it would vanish at pool2), and a 28x28 one 1x1. The
parameter count does not change. ``nnzoo train`` picks that form for images under 64 pixels
(``nnzoo.train.adapting``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from nnzoo.layers.init import build_initialised
from nnzoo.registry import register_model

# (name, out channels, kernel, stride, padding, groups, LRN after ReLU, max-pool after)
TORCHVISION = (("conv1", 64, 11, 4, 2, 1, False, True),
               ("conv2", 192, 5, 1, 2, 1, False, True),
               ("conv3", 384, 3, 1, 1, 1, False, False),
               ("conv4", 256, 3, 1, 1, 1, False, False),
               ("conv5", 256, 3, 1, 1, 1, False, True))

# The 2012 paper, Figure 2 and section 3.5 (both GPUs' halves together).
PAPER_2012 = (("conv1", 96, 11, 4, 2, 1, True, True),
              ("conv2", 256, 5, 1, 2, 2, True, True),
              ("conv3", 384, 3, 1, 1, 1, False, False),
              ("conv4", 384, 3, 1, 1, 2, False, False),
              ("conv5", 256, 3, 1, 1, 2, False, True))


# ---- helpers ------------------------------------------------------------------------------

def features(table, in_channels: int, small_input: bool) -> nn.Sequential:
    layers, c = OrderedDict(), in_channels
    for i, (name, out, k, stride, pad, groups, lrn, pool) in enumerate(table, start=1):
        stride = 1 if small_input and name == "conv1" else stride
        layers[name] = nn.Conv2d(c, out, k, stride, pad, groups=groups)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
        if lrn:
            layers[f"norm{i}"] = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
        if pool:
            layers[f"pool{i}"] = nn.MaxPool2d(3, 2)
        c = out
    return nn.Sequential(layers)


def classifier(in_features: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(
        drop6=nn.Dropout(0.5), fc6=nn.Linear(in_features, 4096), relu6=nn.ReLU(inplace=True),
        drop7=nn.Dropout(0.5), fc7=nn.Linear(4096, 4096), relu7=nn.ReLU(inplace=True),
        fc8=nn.Linear(4096, num_classes)))


# ---- model --------------------------------------------------------------------------------

class AlexNet(nn.Module):
    """AlexNet from a table of convolution stages; see the module docstring."""

    def __init__(self, table=TORCHVISION, num_classes: int = 1000, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        self.features = features(table, in_channels, small_input)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = classifier(table[-1][1] * 6 * 6, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                 # (N, 256, 6, 6) at 224x224; (N, 256, 2, 2) small
        x = self.avgpool(x).flatten(1)       # (N, 9216)
        return self.classifier(x)            # (N, classes)


def normal_001(module: nn.Module) -> None:
    nn.init.normal_(module.weight, 0.0, 0.01)
    nn.init.zeros_(module.bias)


def biases_as_2012(model: AlexNet) -> AlexNet:
    """Section 5: biases 1 in conv2, conv4, conv5, fc6 and fc7 (weights N(0, 0.01), other biases 0)."""
    with torch.no_grad():
        for name in ("conv2", "conv4", "conv5"):
            getattr(model.features, name).bias.fill_(1.0)
        for name in ("fc6", "fc7"):
            getattr(model.classifier, name).bias.fill_(1.0)
    return model


# ---- factories ----------------------------------------------------------------------------

TRAINING = {"epochs": 30, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 5e-4,
            "batch_size": 128, "schedule": "cosine"}  # section 5: SGD 0.01, momentum 0.9, L2 5e-4


@register_model("alexnet", family="convolutional",
                paper="Krizhevsky, Sutskever & Hinton 2012 (torchvision's single-tower listing)",
                input_shape=(3, 224, 224), dataset="cifar10", params=57_044_810, defaults=TRAINING)
def alexnet(*, num_classes: int = 10, in_channels: int = 3, small_input: bool = False) -> AlexNet:
    """AlexNet as torchvision lists it (64-192-384-256-256; 61,100,840 parameters at 1000 classes)."""
    return AlexNet(TORCHVISION, num_classes, in_channels, small_input)


@register_model("alexnet-2012", family="convolutional",
                paper="Krizhevsky, Sutskever & Hinton 2012, NIPS",
                input_shape=(3, 224, 224), dataset="cifar10", params=56_909_194, defaults=TRAINING)
def alexnet_2012(*, num_classes: int = 10, in_channels: int = 3,
                 small_input: bool = False) -> AlexNet:
    """AlexNet of the 2012 paper: LRN, two-GPU grouped convolutions (60,965,224 at 1000 classes)."""
    return biases_as_2012(build_initialised(
        lambda: AlexNet(PAPER_2012, num_classes, in_channels, small_input), normal_001))
