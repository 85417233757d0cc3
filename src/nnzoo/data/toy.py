"""Small 2-D problems for perceptrons, MLPs and decision-boundary pictures.

- ``xor``: the four corners of the unit square, label x1 XOR x2 (not linearly separable).
- ``blobs``: two Gaussian clouds, linearly separable.
- ``moons``: two interleaved half circles.
- ``circles``: a disc inside a ring.
- ``spirals``: two interleaved spirals (hard for shallow nets).

Each is generated from a fixed seed, so every run sees the same points.
"""

from __future__ import annotations

import math

import torch

from nnzoo.data import DataBundle, Split, register_dataset

N_TRAIN, N_VAL, N_TEST = 400, 100, 200


def _bundle(name, make, seed: int, noise: float) -> DataBundle:
    g = torch.Generator().manual_seed(seed)
    parts = [make(n, noise, g) for n in (N_TRAIN, N_VAL, N_TEST)]
    splits = [Split(x.float(), y.long()) for x, y in parts]
    return DataBundle(name, *splits, task="classify", num_classes=2, class_names=["0", "1"],
                      input_shape=(2,), info={"seed": seed, "noise": noise})


def _labels_half(n):
    return torch.arange(n) % 2


def make_blobs(n, noise, g):
    y = _labels_half(n)
    centres = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    return centres[y] + noise * torch.randn(n, 2, generator=g), y


def make_moons(n, noise, g):
    y = _labels_half(n)
    t = math.pi * torch.rand(n, generator=g)
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    x = torch.where(y[:, None] == 0, upper, lower)
    return x + noise * torch.randn(n, 2, generator=g), y


def make_circles(n, noise, g):
    y = _labels_half(n)
    t = 2 * math.pi * torch.rand(n, generator=g)
    r = torch.where(y == 0, torch.tensor(1.0), torch.tensor(0.4))
    x = r[:, None] * torch.stack([torch.cos(t), torch.sin(t)], 1)
    return x + noise * torch.randn(n, 2, generator=g), y


def make_spirals(n, noise, g):
    y = _labels_half(n)
    t = 3 * math.pi * torch.sqrt(torch.rand(n, generator=g)) + 0.5
    sign = 1 - 2 * y
    x = sign[:, None] * torch.stack([t * torch.cos(t), t * torch.sin(t)], 1) / (3 * math.pi)
    return x + noise * torch.randn(n, 2, generator=g), y


@register_dataset("xor", task="classify", description="XOR: the four corners of the unit square")
def load_xor() -> DataBundle:
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1, 0])
    split = Split(x, y)
    return DataBundle("xor", split, split, split, task="classify", num_classes=2,
                      class_names=["0", "1"], input_shape=(2,),
                      info={"note": "train, validation and test are the same four points"})


@register_dataset("blobs", task="classify", description="two separable Gaussian clouds in 2-D")
def load_blobs(*, noise: float = 0.4) -> DataBundle:
    return _bundle("blobs", make_blobs, 1, noise)


@register_dataset("moons", task="classify", description="two interleaved half circles in 2-D")
def load_moons(*, noise: float = 0.1) -> DataBundle:
    return _bundle("moons", make_moons, 2, noise)


@register_dataset("circles", task="classify", description="a disc inside a ring in 2-D")
def load_circles(*, noise: float = 0.08) -> DataBundle:
    return _bundle("circles", make_circles, 3, noise)


@register_dataset("spirals", task="classify", description="two interleaved spirals in 2-D")
def load_spirals(*, noise: float = 0.02) -> DataBundle:
    return _bundle("spirals", make_spirals, 4, noise)
