"""VGG: Simonyan & Zisserman, "Very deep convolutional networks for large-scale image
recognition", ICLR 2015.

Stacks of 3x3 convolutions (stride 1, padding 1, ReLU) in five blocks, each block closed by a
2x2 max-pool with stride 2; channels double from 64 to 512; then three dense layers 4096-4096-
classes with dropout 0.5 after the first two. Two 3x3 layers see a 5x5 field, three see 7x7,
with fewer parameters and more non-linearities than one large kernel (section 2.3).

Table 1's configurations A, B, D, E are ``vgg11``, ``vgg13``, ``vgg16``, ``vgg19`` (the count of
weight layers). ``batch_norm=True`` adds batch normalisation after every convolution (Ioffe &
Szegedy 2015; not in the paper, as in torchvision's ``vgg16_bn``). Layers are named as in the
paper's text: ``conv3_2`` is the second convolution of block 3, ``fc6``…``fc8`` the dense layers.

Parameters at 1000 classes, equal to torchvision's: vgg11 132,863,336, vgg13 133,047,848,
vgg16 138,357,544, vgg19 143,667,240 (with batch norm: +5,504, +5,888, +8,448, +11,008).

Deviations, stated: an adaptive average pool to 7x7 before fc6 (identity at the paper's
224x224 input; torchvision has it too). The default is the 224x224 net, torchvision's; with
``small_input=True`` the last block's max-pool is left out, so a 32x32 image leaves the network
as a 2x2 map (not 1x1) and a 28x28 one as 1x1 (not 0x0); it costs nothing, and the parameter
count does not change. ``nnzoo train`` picks that form for images under 64 pixels
(``nnzoo.train.adapting``). Initialisation is He et al.'s for convolutions and N(0, 0.01) for dense layers
(torchvision's; the paper trained A first and started the deeper nets from it, section 3.1).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from nnzoo.layers.init import build_initialised, he_normal
from nnzoo.registry import register_model

# Table 1: output channels of each 3x3 convolution, block by block (each block ends in a max-pool).
CONFIGS = {
    "A": ((64,), (128,), (256, 256), (512, 512), (512, 512)),                    # 11 weight layers
    "B": ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),             # 13
    "D": ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),  # 16
    "E": ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512),
          (512, 512, 512, 512)),                                                 # 19
}


# ---- helpers ------------------------------------------------------------------------------

def conv_blocks(config, in_channels: int, batch_norm: bool, small_input: bool) -> nn.Sequential:
    layers, c = OrderedDict(), in_channels
    for b, block in enumerate(config, start=1):
        for i, out in enumerate(block, start=1):
            layers[f"conv{b}_{i}"] = nn.Conv2d(c, out, 3, padding=1)
            if batch_norm:
                layers[f"bn{b}_{i}"] = nn.BatchNorm2d(out)
            layers[f"relu{b}_{i}"] = nn.ReLU(inplace=True)
            c = out
        if not (small_input and b == len(config)):
            layers[f"pool{b}"] = nn.MaxPool2d(2, 2)
    return nn.Sequential(layers)


# ---- model --------------------------------------------------------------------------------

class VGG(nn.Module):
    """VGG from a Table 1 configuration; see the module docstring."""

    def __init__(self, config, num_classes: int = 1000, in_channels: int = 3,
                 batch_norm: bool = False, small_input: bool = False):
        super().__init__()
        self.features = conv_blocks(config, in_channels, batch_norm, small_input)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        width = config[-1][-1]
        self.classifier = nn.Sequential(OrderedDict(
            fc6=nn.Linear(width * 7 * 7, 4096), relu6=nn.ReLU(inplace=True), drop6=nn.Dropout(0.5),
            fc7=nn.Linear(4096, 4096), relu7=nn.ReLU(inplace=True), drop7=nn.Dropout(0.5),
            fc8=nn.Linear(4096, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)              # (N, 512, 7, 7) at 224x224; (N, 512, 2, 2) small 32x32
        x = self.avgpool(x).flatten(1)    # (N, 25088)
        return self.classifier(x)         # (N, classes)


def vgg(config: str, num_classes: int, in_channels: int, batch_norm: bool,
        small_input: bool) -> VGG:
    return build_initialised(
        lambda: VGG(CONFIGS[config], num_classes, in_channels, batch_norm, small_input), he_normal)


# ---- factories ----------------------------------------------------------------------------

PAPER = "Simonyan & Zisserman 2015, ICLR"
# Section 3.1: SGD with momentum 0.9, L2 5e-4, dropout 0.5, learning rate 0.01 (batch 256).
TRAINING = {"epochs": 30, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 5e-4,
            "batch_size": 128, "schedule": "cosine"}


@register_model("vgg11", family="convolutional", paper=PAPER, input_shape=(3, 224, 224),
                dataset="cifar10", params=128_807_306, defaults=TRAINING)
def vgg11(*, num_classes: int = 10, in_channels: int = 3, batch_norm: bool = False,
          small_input: bool = False) -> VGG:
    """VGG-11, configuration A (132,863,336 parameters at 1000 classes)."""
    return vgg("A", num_classes, in_channels, batch_norm, small_input)


@register_model("vgg13", family="convolutional", paper=PAPER, input_shape=(3, 224, 224),
                dataset="cifar10", params=128_991_818, defaults=TRAINING)
def vgg13(*, num_classes: int = 10, in_channels: int = 3, batch_norm: bool = False,
          small_input: bool = False) -> VGG:
    """VGG-13, configuration B (133,047,848 parameters at 1000 classes)."""
    return vgg("B", num_classes, in_channels, batch_norm, small_input)


@register_model("vgg16", family="convolutional", paper=PAPER, input_shape=(3, 224, 224),
                dataset="cifar10", params=134_301_514, defaults=TRAINING)
def vgg16(*, num_classes: int = 10, in_channels: int = 3, batch_norm: bool = False,
          small_input: bool = False) -> VGG:
    """VGG-16, configuration D (138,357,544 parameters at 1000 classes)."""
    return vgg("D", num_classes, in_channels, batch_norm, small_input)


@register_model("vgg19", family="convolutional", paper=PAPER, input_shape=(3, 224, 224),
                dataset="cifar10", params=139_611_210, defaults=TRAINING)
def vgg19(*, num_classes: int = 10, in_channels: int = 3, batch_norm: bool = False,
          small_input: bool = False) -> VGG:
    """VGG-19, configuration E (143,667,240 parameters at 1000 classes)."""
    return vgg("E", num_classes, in_channels, batch_norm, small_input)
