"""Device-side crop-and-flip: every output is a shift of the zero-padded image, or its mirror."""

import torch
import torch.nn.functional as F

from nnzoo.data.augment import random_crop_flip


def batch(n=64, c=3, h=8, w=10, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed))


def crops(image, padding):
    """Every (dy, dx, mirrored) view the augmentation may return for one image."""
    c, h, w = image.shape
    padded = F.pad(image, (padding,) * 4)
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            view = padded[:, dy:dy + h, dx:dx + w]
            yield (dy, dx, False), view
            yield (dy, dx, True), view.flip(-1)


def explain(x, out, padding):
    """For each sample, the (dy, dx, mirrored) that produced it; fails if none does."""
    found = []
    for image, result in zip(x, out):
        matches = [key for key, view in crops(image, padding) if torch.equal(view, result)]
        assert matches, "an output is not a shift (or mirrored shift) of its padded input"
        found.append(matches[0])
    return found


def test_shape_dtype_and_layout_are_kept():
    x = batch()
    out = random_crop_flip(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    cl = x.contiguous(memory_format=torch.channels_last)
    out = random_crop_flip(cl, torch.Generator().manual_seed(1))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_flips_really_flip_and_only_flip():
    x = batch()
    out = random_crop_flip(x, torch.Generator().manual_seed(2), padding=0)
    mirrored = [torch.equal(o, i.flip(-1)) for i, o in zip(x, out)]
    kept = [torch.equal(o, i) for i, o in zip(x, out)]
    assert all(m or k for m, k in zip(mirrored, kept))
    assert 16 < sum(mirrored) < 48  # a fair coin on 64 images


def test_crops_are_shifts_of_the_zero_padded_image():
    x = batch()
    found = explain(x, random_crop_flip(x, torch.Generator().manual_seed(3), padding=4,
                                        flip=False), 4)
    assert not any(m for _, _, m in found)
    assert len({(dy, dx) for dy, dx, _ in found}) > 20  # many of the 81 shifts occur
    assert len({dy for dy, _, _ in found}) >= 7 and len({dx for _, dx, _ in found}) >= 7


def test_crop_and_flip_together_and_zero_fill():
    x = batch() + 1.0  # no zero inside the image: zeros can only come from the padding
    out = random_crop_flip(x, torch.Generator().manual_seed(4), padding=4)
    found = explain(x, out, 4)
    assert any(m for _, _, m in found) and not all(m for _, _, m in found)
    shifted = [i for i, (dy, dx, _) in enumerate(found) if (dy, dx) != (4, 4)]
    assert all((out[i] == 0).any() for i in shifted)


def test_deterministic_given_the_generator():
    x = batch(n=32, h=32, w=32)
    a = random_crop_flip(x, torch.Generator().manual_seed(5))
    b = random_crop_flip(x, torch.Generator().manual_seed(5))
    c = random_crop_flip(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(0)
    assert random_crop_flip(x).shape == x.shape  # the global generator when none is given
