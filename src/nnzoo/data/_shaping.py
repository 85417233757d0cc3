"""Fit a batch of images to the input shape a model expects.

Images arrive as ``(N, C, H, W)`` floats. A model may want:

- ``(C', H', W')``: resized by bilinear interpolation (8x8 digits become LeNet-5's 32x32),
  a single channel repeated when ``C' = 3``;
- ``(H', W')``: a sequence of ``H'`` rows of ``W'`` grey pixels (an RNN reading the image row by
  row); ``(H', C·W)`` for a colour image of width ``W``: each step one row, pixel by pixel with
  its ``C`` values (R, G, B, R, G, B…);
- ``(F,)``: the image flattened, resized first when ``F = H'·W'·C`` for a square ``H' = W'``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nnzoo.errors import NnzooError


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def _channels(x: torch.Tensor, c: int, dataset: str) -> torch.Tensor:
    if x.shape[1] == c:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, c, -1, -1).contiguous()
    if c == 1:
        return x.mean(dim=1, keepdim=True)  # colour to grey
    raise NnzooError(f"Dataset {dataset!r} has {x.shape[1]} channels; a model taking {c} "
                     f"channels cannot read it (expected 1 or {x.shape[1]} channels).")


def fit_images(x: torch.Tensor, input_shape: tuple[int, ...] | None, dataset: str,
               fill: float = 1.0) -> torch.Tensor:
    """Return ``x`` (N, C, H, W) reshaped to ``(N, *input_shape)``.

    ``fill`` < 1 resizes an image to that fraction of a (C, H, W) field and centres it on a zero
    margin, as LeNet-5 sees MNIST: a 20x20 digit inside the 32x32 input, so that strokes near the
    edge still fall in the middle of the top feature detectors' receptive fields.
    """
    if input_shape is None:
        return x
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3 and fill < 1.0:
        h, w = shape[1:]
        inner_h, inner_w = max(1, round(h * fill)), max(1, round(w * fill))
        top, left = (h - inner_h) // 2, (w - inner_w) // 2
        inner = _resize(_channels(x, shape[0], dataset), (inner_h, inner_w))
        return F.pad(inner, (left, w - inner_w - left, top, h - inner_h - top))
    if len(shape) == 3:
        return _resize(_channels(x, shape[0], dataset), shape[1:])
    if len(shape) == 2:
        steps, features = shape
        c, w = x.shape[1], x.shape[3]
        if c > 1 and features == c * w:  # colour rows, as they are: (N, C, T, W) -> (N, T, W·C)
            return _resize(x, (steps, w)).permute(0, 2, 3, 1).reshape(len(x), steps, features)
        return _resize(_channels(x, 1, dataset), shape)[:, 0]
    if len(shape) == 1:
        (features,) = shape
        c = x.shape[1]
        if features % c == 0 and math.isqrt(features // c) ** 2 == features // c:
            side = math.isqrt(features // c)
            return _resize(x, (side, side)).flatten(1)
        if features == x[0].numel():
            return x.flatten(1)
    raise NnzooError(
        f"Dataset {dataset!r} holds images of shape {tuple(x.shape[1:])} (channels, height, "
        f"width); a model with input shape {shape} cannot read them. Expected (C, H, W), "
        f"(rows, columns) or a flat (C*H*W,) with a square image.")
