"""ResNet: He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR 2016.

A residual block learns F(x) and outputs ReLU(F(x) + shortcut(x)) (equation 1), so a block that
should do nothing only has to drive F to zero; this is what lets 152 layers train.

- **Basic block** (ResNet-18/34, the CIFAR nets): F = BN∘conv3x3∘ReLU∘BN∘conv3x3.
- **Bottleneck** (ResNet-50/101/152): 1x1 (reduce to width) → 3x3 → 1x1 (expand 4x), Figure 5.
- **Shortcuts** where the shape changes: option B, a 1x1 convolution with stride and BN
  (ImageNet nets), or option A, the identity subsampled by the stride with zero-padded extra
  channels, parameter-free (the CIFAR nets, section 4.2).

ImageNet nets (Table 1): a 7x7/2 convolution and a 3x3/2 max-pool, four stages of blocks at 64,
128, 256, 512 widths (stride 2 in the first block of stages 2-4), global average pool, dense.
Parameters at 1000 classes, equal to torchvision's: resnet18 11,689,512, resnet34 21,797,672,
resnet50 25,557,032, resnet101 44,549,160, resnet152 60,192,808.

CIFAR nets (section 4.2): a 3x3 convolution to 16 maps, three stages of n basic blocks at 16, 32,
64 maps on 32x32, 16x16, 8x8, global average pool, dense: 6n + 2 layers — resnet20, 32, 44, 56,
110 (n = 3, 5, 7, 9, 18): 269,722, 464,154, 658,586, 853,018 and 1,727,962 parameters at 10
classes (the paper's 0.27 M, 0.46 M, 0.66 M, 0.85 M, 1.7 M).

Deviations, stated: as in torchvision, the bottleneck's stride sits on its 3x3 convolution
(the "v1.5" variant; the paper's Caffe models put it on the first 1x1; same parameter count).
The ImageNet nets are built as torchvision builds them, for 224x224 input, unless
``small_input=True``: then the stem's 7x7 convolution has stride 1 and the max-pool is left out,
so a 32x32 image reaches the last stage as 4x4 rather than 1x1 (the parameter count does not
change). ``nnzoo train`` picks that form for images under 64 pixels
(``nnzoo.train.adapting``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.layers.init import build_initialised
from nnzoo.registry import register_model

# Table 1: blocks per stage.  CIFAR nets: n blocks in each of 3 stages (section 4.2).
IMAGENET_DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
                   50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
                   152: ("bottleneck", (3, 8, 36, 3))}
CIFAR_DEPTHS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}


# ---- helpers ------------------------------------------------------------------------------

def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)


def projection(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """Option B shortcut: 1x1 convolution with stride, then batch norm."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: x subsampled by ``stride``, extra channels zero (no parameters)."""

    type_name = "shortcut (zero pad)"

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.extra, self.stride = c_out - c_in, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # pad the channel dimension at the end


def init_resnet(module: nn.Module) -> None:
    """He et al. 2015 for convolutions (section 3.4: "we initialize the weights as in [13]")."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    else:
        module.reset_parameters()  # dense layer: PyTorch's default, as torchvision


# ---- blocks -------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """y = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)), two 3x3 convolutions."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1, shortcut: nn.Module | None = None):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(c_in, width, stride), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width), nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = shortcut  # torchvision's name for the shortcut; None is the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.relu(self.bn1(self.conv1(x)))
        f = self.bn2(self.conv2(f))
        return self.relu(f + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """y = ReLU(F(x) + shortcut(x)), F = 1x1 reduce → 3x3 (stride) → 1x1 expand to 4·width."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1, shortcut: nn.Module | None = None):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = shortcut  # torchvision's name for the shortcut; None is the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.relu(self.bn1(self.conv1(x)))
        f = self.relu(self.bn2(self.conv2(f)))
        f = self.bn3(self.conv3(f))
        return self.relu(f + (x if self.downsample is None else self.downsample(x)))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def stage(block, c_in: int, width: int, blocks: int, stride: int, option: str) -> nn.Sequential:
    """``blocks`` residual blocks; the first one changes stride and width, with a shortcut to match."""
    c_out = width * block.expansion
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = projection(c_in, c_out, stride) if option == "B" \
            else ZeroPadShortcut(c_in, c_out, stride)
    layers = [block(c_in, width, stride, shortcut)]
    layers += [block(c_out, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


# ---- models -------------------------------------------------------------------------------

class ResNet(nn.Module):
    """ImageNet ResNet (Table 1), torchvision's module names."""

    def __init__(self, kind: str, depths, num_classes: int = 1000, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        block = BLOCKS[kind]
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 1 if small_input else 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = None if small_input else nn.MaxPool2d(3, 2, padding=1)
        c = 64
        for i, (width, blocks) in enumerate(zip((64, 128, 256, 512), depths), start=1):
            setattr(self, f"layer{i}", stage(block, c, width, blocks, 1 if i == 1 else 2, "B"))
            c = width * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))                # (N, 64, H/2, W/2); H, W if small
        if self.maxpool is not None:
            x = self.maxpool(x)                               # (N, 64, H/4, W/4)
        x = self.layer2(self.layer1(x))                       # (N, 128·e, H/8, W/8)
        x = self.layer4(self.layer3(x))                       # (N, 512·e, H/32, W/32)
        return self.fc(self.avgpool(x).flatten(1))           # (N, classes)


class CifarResNet(nn.Module):
    """The CIFAR-10 ResNets of section 4.2: 6n + 2 layers, option A shortcuts."""

    def __init__(self, n: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = stage(BasicBlock, 16, 16, n, 1, "A")
        self.layer2 = stage(BasicBlock, 16, 32, n, 2, "A")
        self.layer3 = stage(BasicBlock, 32, 64, n, 2, "A")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))  # (N, 16, 32, 32)
        x = self.layer1(x)                      # (N, 16, 32, 32)
        x = self.layer3(self.layer2(x))         # (N, 64, 8, 8)
        return self.fc(self.avgpool(x).flatten(1))


def resnet(depth: int, num_classes: int, in_channels: int, small_input: bool) -> ResNet:
    kind, depths = IMAGENET_DEPTHS[depth]
    return build_initialised(
        lambda: ResNet(kind, depths, num_classes, in_channels, small_input), init_resnet)


def cifar_resnet(depth: int, num_classes: int, in_channels: int) -> CifarResNet:
    return build_initialised(
        lambda: CifarResNet(CIFAR_DEPTHS[depth], num_classes, in_channels), init_resnet)


# ---- factories ----------------------------------------------------------------------------

PAPER = "He, Zhang, Ren & Sun 2016, CVPR"
# Section 3.4 (ImageNet) and 4.2 (CIFAR): SGD, momentum 0.9, L2 1e-4, learning rate 0.1.
TRAINING = {"epochs": 30, "lr": 0.1, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 1e-4,
            "batch_size": 128, "schedule": "cosine"}
IMAGENET_SHAPE, CIFAR_SHAPE = (3, 224, 224), (3, 32, 32)  # Table 1's nets; section 4.2's


def _register(name: str, params: int, shape: tuple[int, int, int] = IMAGENET_SHAPE):
    return register_model(name, family="convolutional", paper=PAPER, input_shape=shape,
                          dataset="cifar10", params=params, defaults=TRAINING)


@_register("resnet18", params=11_181_642)
def resnet18(*, num_classes: int = 10, in_channels: int = 3, small_input: bool = False) -> ResNet:
    """ResNet-18: basic blocks 2-2-2-2 (11,689,512 parameters at 1000 classes)."""
    return resnet(18, num_classes, in_channels, small_input)


@_register("resnet34", params=21_289_802)
def resnet34(*, num_classes: int = 10, in_channels: int = 3, small_input: bool = False) -> ResNet:
    """ResNet-34: basic blocks 3-4-6-3 (21,797,672 parameters at 1000 classes)."""
    return resnet(34, num_classes, in_channels, small_input)


@_register("resnet50", params=23_528_522)
def resnet50(*, num_classes: int = 10, in_channels: int = 3, small_input: bool = False) -> ResNet:
    """ResNet-50: bottlenecks 3-4-6-3 (25,557,032 parameters at 1000 classes)."""
    return resnet(50, num_classes, in_channels, small_input)


@_register("resnet101", params=42_520_650)
def resnet101(*, num_classes: int = 10, in_channels: int = 3, small_input: bool = False) -> ResNet:
    """ResNet-101: bottlenecks 3-4-23-3 (44,549,160 parameters at 1000 classes)."""
    return resnet(101, num_classes, in_channels, small_input)


@_register("resnet152", params=58_164_298)
def resnet152(*, num_classes: int = 10, in_channels: int = 3, small_input: bool = False) -> ResNet:
    """ResNet-152: bottlenecks 3-8-36-3 (60,192,808 parameters at 1000 classes)."""
    return resnet(152, num_classes, in_channels, small_input)


@_register("resnet20", shape=CIFAR_SHAPE, params=269_722)
def resnet20(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-20 for CIFAR-10 (n = 3, option A shortcuts; 0.27 M parameters)."""
    return cifar_resnet(20, num_classes, in_channels)


@_register("resnet32", shape=CIFAR_SHAPE, params=464_154)
def resnet32(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-32 for CIFAR-10 (n = 5, option A shortcuts; 0.46 M parameters)."""
    return cifar_resnet(32, num_classes, in_channels)


@_register("resnet44", shape=CIFAR_SHAPE, params=658_586)
def resnet44(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-44 for CIFAR-10 (n = 7, option A shortcuts; 0.66 M parameters)."""
    return cifar_resnet(44, num_classes, in_channels)


@_register("resnet56", shape=CIFAR_SHAPE, params=853_018)
def resnet56(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-56 for CIFAR-10 (n = 9, option A shortcuts; 0.85 M parameters)."""
    return cifar_resnet(56, num_classes, in_channels)


@_register("resnet110", shape=CIFAR_SHAPE, params=1_727_962)
def resnet110(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-110 for CIFAR-10 (n = 18, option A shortcuts; 1.7 M parameters)."""
    return cifar_resnet(110, num_classes, in_channels)
