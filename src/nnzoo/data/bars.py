"""Bars and stripes: the small binary distribution Boltzmann machines are tested on (MacKay,
"Information Theory, Inference, and Learning Algorithms", 2003).

On a ``side`` x ``side`` grid of pixels, an image is "bars" when every column is all on or all
off, and "stripes" when every row is; the all-off and all-on images are both, so there are
2 · 2^side - 2 of them: 14 at side 3 (9 pixels), 30 at side 4. The dataset is the uniform
distribution over them. A model of the 9 pixels has to put its probability on 14 of the 2^9 = 512
images, and no product of independent pixels can: the pixels of a bar are all on or all off
together.

Each split holds every image once (the distribution itself: there is nothing held out), as 0/1
rows; the targets are the images too. The default side follows the model's input (9 pixels:
side 3).

    >>> load_dataset("bars-and-stripes").train.x.shape
    torch.Size([14, 9])
"""

from __future__ import annotations

import itertools
import math

import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.errors import NnzooError


def bars_and_stripes(side: int = 3) -> torch.Tensor:
    """The 2 · 2^side - 2 distinct bars-and-stripes images as 0/1 rows (M, side²), sorted."""
    rows = []
    for bits in itertools.product((0.0, 1.0), repeat=side):
        line = torch.tensor(bits)
        rows.append(line[None, :].expand(side, side).reshape(-1))  # bars: columns on or off
        rows.append(line[:, None].expand(side, side).reshape(-1))  # stripes: rows on or off
    return torch.unique(torch.stack(rows), dim=0)


MAX_SIDE = 8  # 510 images of 64 pixels; side 32 (LeNet-5's 1024 inputs) would be 2^33 images


def _side(input_shape, side) -> int:
    """The grid side: ``side`` when given, else the square root of the model's input size."""
    pixels = math.prod(input_shape) if input_shape else None
    given = side is not None
    if side is None:
        side = math.isqrt(pixels) if pixels else 3
        if pixels is not None and side * side != pixels:
            raise NnzooError(f"Bars and stripes are square images; a model taking {pixels} inputs "
                             f"cannot hold them. Give it a square number of visible units (9 for "
                             f"3x3, 16 for 4x4), e.g. for boltzmann -o visible=9.")
    side = int(side)
    if not 2 <= side <= MAX_SIDE:
        wanted = f"got side={side}" if given else f"a model taking {pixels} inputs asks for side {side}"
        raise NnzooError(f"Bars and stripes have a side from 2 to {MAX_SIDE} (2·2^side - 2 images of "
                         f"side² pixels: {2 * 2 ** MAX_SIDE - 2} at side {MAX_SIDE}); {wanted}. "
                         f"Use a model with 4 to {MAX_SIDE ** 2} inputs, or -d side=N.")
    if pixels is not None and pixels != side * side:
        raise NnzooError(f"Bars and stripes of side {side} have {side * side} pixels, but the model "
                         f"takes {pixels} inputs. Set its visible units to match (for boltzmann "
                         f"-o visible={side * side} -o size={side * side + 4}), or leave out -d side.")
    return side


@register_dataset("bars-and-stripes", task="distribution",
                  description="the 14 bars-and-stripes 3x3 binary images, a distribution to learn "
                              "(-d side=4 for 30 of 4x4)")
def load_bars_and_stripes(*, input_shape=None, side: int | None = None) -> DataBundle:
    """Every bars-and-stripes image once in each split, shaped ``input_shape``."""
    side = _side(input_shape, side)
    images = bars_and_stripes(side)
    shape = tuple(input_shape) if input_shape else (side * side,)
    x = images.reshape(-1, *shape)
    splits = [Split(x.clone(), x.clone()) for _ in range(3)]
    return DataBundle("bars-and-stripes", *splits, task="distribution", input_shape=shape,
                      info={"side": side, "patterns": len(images),
                            "uniform_mass": len(images) / 2 ** (side * side)})
