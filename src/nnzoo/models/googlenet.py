"""GoogLeNet (Inception v1): Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke &
Rabinovich, "Going deeper with convolutions", CVPR 2015.

An **Inception module** runs four branches on the same input and concatenates their maps:
1x1; 1x1 reduce → 3x3; 1x1 reduce → 5x5; 3x3 max-pool (stride 1) → 1x1 "pool proj". The 1x1
reductions keep the 3x3 and 5x5 convolutions cheap (section 4, Figure 2b). Nine modules in
three stages (Table 1, below as data), a stem of ordinary convolutions before them, global
average pooling, dropout (40 %) and one dense layer after them: 22 layers with parameters.

**Auxiliary classifiers** (section 5) on the outputs of 4a and 4d — 5x5/3 average pool, 1x1
convolution to 128, dense 1024, dropout 70 %, dense to the classes — add their losses with
weight 0.3 during training and are dropped at inference:

    loss = CE(main) + 0.3 · (CE(aux1) + CE(aux2))          (``training_loss``)

``forward`` returns the main logits only (in training too); ``forward_with_aux`` returns all
three. ``aux_logits=False`` builds the net without the heads.

Options and parameter counts at 1000 classes, without the aux heads (the heads add 6,379,984):

- the default (``batch_norm=True, branch3_kernel=3``): 6,624,904, the figure the lectures quote
  and exactly torchvision's ``googlenet(aux_logits=False)``, whose "5x5" branch is 3x3 (a known
  slip kept there for its pretrained weights). Each convolution is followed by batch norm (eps
  0.001) and has no bias, as torchvision's BasicConv2d — batch norm is not in the paper (it came
  with Inception v2) but makes training from scratch practical. Module names and shapes follow
  torchvision's, so its state dicts should load (not tested: torchvision is not a dependency).
- ``branch3_kernel=5``: the paper's Table 1 as written, a true 5x5 convolution: 7,005,832.
- ``batch_norm=False, branch3_kernel=5``: the 2014 net itself — convolutions with biases, and
  the two local response normalisations of the stem (Figure 3; size 5, α = 1e-4, β = 0.75 as in
  the Caffe model): 6,998,552 parameters (6,617,624 with the 3x3 branch).

Deviations, stated: the aux pooling is an adaptive average pool to 4x4 (the paper's 5x5/3 pool
at its 14x14 maps). The default is the 224x224 net, torchvision's; with ``small_input=True``
the first convolution has stride 1 and the first max-pool is left out, so a 32x32 image meets
the Inception modules at 16x16, 8x8 and 4x4 instead of 2x2, 1x1, 1x1. ``nnzoo train`` picks
that form for images under 64 pixels (``nnzoo.train.adapting``).
Initialisation: He et al. for convolutions, N(0, 0.01) for dense layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.layers.init import build_initialised, he_normal
from nnzoo.registry import register_model

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj for each Inception module.
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def width(name: str) -> int:
    """Maps a module outputs: the sum of its four branches."""
    c1, _, c3, _, c5, proj = INCEPTION[name]
    return c1 + c3 + c5 + proj


def optional(layer: nn.Module | None, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)``, or ``x`` where the variant has no such layer (None)."""
    return x if layer is None else layer(x)


# ---- blocks -------------------------------------------------------------------------------

class BasicConv2d(nn.Module):
    """Convolution → (batch norm) → ReLU."""

    def __init__(self, c_in: int, c_out: int, batch_norm: bool = True, **conv_args):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=not batch_norm, **conv_args)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001) if batch_norm else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.relu(x if self.bn is None else self.bn(x))


class Inception(nn.Module):
    """Four branches side by side, concatenated along the maps (Figure 2b)."""

    def __init__(self, c_in: int, row, batch_norm: bool = True, branch3_kernel: int = 3):
        super().__init__()
        c1, c3r, c3, c5r, c5, proj = row
        bn = batch_norm
        self.branch1 = BasicConv2d(c_in, c1, bn, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(c_in, c3r, bn, kernel_size=1),
                                     BasicConv2d(c3r, c3, bn, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(c_in, c5r, bn, kernel_size=1),
                                     BasicConv2d(c5r, c5, bn, kernel_size=branch3_kernel,
                                                 padding=branch3_kernel // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1, ceil_mode=True),
                                     BasicConv2d(c_in, proj, bn, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)  # (N, Σ widths, H, W)


class InceptionAux(nn.Module):
    """Auxiliary classifier: avg-pool to 4x4 → 1x1 conv 128 → dense 1024 → dropout 0.7 → dense."""

    def __init__(self, c_in: int, num_classes: int, batch_norm: bool = True):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(c_in, 128, batch_norm, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x)).flatten(1)                # (N, 2048)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))  # (N, classes)


# ---- model --------------------------------------------------------------------------------

class GoogLeNet(nn.Module):
    """GoogLeNet; see the module docstring. Names follow torchvision."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True,
                 batch_norm: bool = True, branch3_kernel: int = 3, small_input: bool = False):
        super().__init__()
        bn, k = batch_norm, branch3_kernel
        pool = (lambda: nn.MaxPool2d(3, 2, ceil_mode=True))
        lrn = (lambda: None if bn else nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0))
        self.conv1 = BasicConv2d(in_channels, 64, bn, kernel_size=7, stride=1 if small_input else 2,
                                 padding=3)
        self.maxpool1 = None if small_input else pool()
        self.norm1 = lrn()
        self.conv2 = BasicConv2d(64, 64, bn, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, bn, kernel_size=3, padding=1)
        self.norm2 = lrn()
        self.maxpool2 = pool()
        self.inception3a = Inception(192, INCEPTION["3a"], bn, k)
        self.inception3b = Inception(width("3a"), INCEPTION["3b"], bn, k)
        self.maxpool3 = pool()
        self.inception4a = Inception(width("3b"), INCEPTION["4a"], bn, k)
        self.inception4b = Inception(width("4a"), INCEPTION["4b"], bn, k)
        self.inception4c = Inception(width("4b"), INCEPTION["4c"], bn, k)
        self.inception4d = Inception(width("4c"), INCEPTION["4d"], bn, k)
        self.inception4e = Inception(width("4d"), INCEPTION["4e"], bn, k)
        self.maxpool4 = pool()
        self.inception5a = Inception(width("4e"), INCEPTION["5a"], bn, k)
        self.inception5b = Inception(width("5a"), INCEPTION["5b"], bn, k)
        self.aux1 = InceptionAux(width("4a"), num_classes, bn) if aux_logits else None
        self.aux2 = InceptionAux(width("4d"), num_classes, bn) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(width("5b"), num_classes)

    def forward_with_aux(self, x: torch.Tensor, heads: bool = True):
        """(main logits, aux1 logits, aux2 logits); the aux ones are None without the heads."""
        heads = heads and self.aux1 is not None
        x = optional(self.norm1, optional(self.maxpool1, self.conv1(x)))  # (N, 64, H/4, W/4)
        x = optional(self.norm2, self.conv3(self.conv2(x)))          # (N, 192, H/4, W/4)
        x = self.maxpool2(x)                                         # (N, 192, H/8, W/8)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))     # (N, 480, H/16, W/16)
        x = self.inception4a(x)                                      # (N, 512, H/16, W/16)
        aux1 = self.aux1(x) if heads else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, H/16, W/16)
        aux2 = self.aux2(x) if heads else None
        x = self.maxpool4(self.inception4e(x))                       # (N, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))                    # (N, 1024, H/32, W/32)
        x = self.dropout(self.avgpool(x).flatten(1))                 # (N, 1024)
        return self.fc(x), aux1, aux2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The main logits (N, classes); the aux heads run only in ``training_loss``."""
        return self.forward_with_aux(x, heads=False)[0]

    def training_loss(self, x: torch.Tensor, y: torch.Tensor):
        """CE(main) + 0.3·(CE(aux1) + CE(aux2)) in training; returns (loss, main logits)."""
        if not self.training or self.aux1 is None:
            logits = self(x)
            return F.cross_entropy(logits, y), logits
        logits, aux1, aux2 = self.forward_with_aux(x)
        loss = F.cross_entropy(logits, y) + 0.3 * (F.cross_entropy(aux1, y) + F.cross_entropy(aux2, y))
        return loss, logits


# ---- factory ------------------------------------------------------------------------------

@register_model("googlenet", family="convolutional",
                paper="Szegedy et al. 2015, Going deeper with convolutions, CVPR",
                input_shape=(3, 224, 224), dataset="cifar10", params=9_960_638,
                defaults={"epochs": 30, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9,
                          "weight_decay": 2e-4, "batch_size": 128, "schedule": "cosine"})
def googlenet(*, num_classes: int = 10, in_channels: int = 3, aux_logits: bool = True,
              batch_norm: bool = True, branch3_kernel: int = 3,
              small_input: bool = False) -> GoogLeNet:
    """GoogLeNet (Inception v1) with its two auxiliary classifiers active in training.

    6,624,904 parameters without the heads at 1000 classes (the lectures' and torchvision's
    figure, whose "5x5" branch is 3x3); ``branch3_kernel=5`` gives the paper's true 5x5 branch
    (7,005,832), ``batch_norm=False`` the 2014 net with its LRN layers.
    """
    return build_initialised(lambda: GoogLeNet(num_classes, in_channels, aux_logits, batch_norm,
                                               branch3_kernel, small_input), he_normal)
