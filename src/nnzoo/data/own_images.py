"""Your own pictures for a model trained on an image dataset.

A network only knows the images it learned from, so a photo or a drawing is prepared the way
its dataset's images were made before the model sees it:

    digits         dark strokes on a light background are inverted (the digits are bright ink on
                   black); cropped to the ink and, keeping its aspect, scaled to fill a 32x32
                   field, thresholded to a bitmap and counted in 4x4 blocks: 8x8 values 0..16, as
                   the UCI set was made from NIST bitmaps (Alpaydin & Kaynak 1998)
    mnist, kmnist  inverted likewise; cropped to the ink, scaled (aspect kept) into a 20x20 box
                   and centred by its centre of mass in a 28x28 field, as LeCun et al. made MNIST
    fashion-mnist  inverted likewise; cropped and scaled (aspect kept) to fill the 28x28 field
    cifar10        the whole picture resized to 32x32 in colour

Strokes far thinner than the dataset's (a fine pen, a font) are thickened a pixel at a time up
to the dataset's usual share of ink (``min_ink``). After that the dataset's own shaping for the
model applies (LeNet-5's margin, flattening for an MLP, rows for an RNN) and, for CIFAR-10 read
with ``normalize``, its per-channel standardisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nnzoo.errors import NnzooError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".npy")
INK = 0.35  # a pixel at or above this share of the brightest is ink (cropping, thresholding)


def read_image(path) -> torch.Tensor:
    """An image file (PNG, JPEG, BMP, GIF, TIFF or a .npy array) as a (1, C, H, W) float tensor
    in [0, 1], C = 1 or 3 (with an alpha channel, composited on white)."""
    path = Path(path)
    if not path.is_file():
        raise NnzooError(f"Image {str(path)!r} does not exist; expected an image file "
                         f"({', '.join(IMAGE_SUFFIXES)}).")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise NnzooError(f"Image {str(path)!r} is not a file type nnzoo reads; expected one of "
                         f"{', '.join(IMAGE_SUFFIXES)}.")
    try:
        if suffix == ".npy":
            a = np.load(path, allow_pickle=False).astype(np.float32)
        else:
            import matplotlib.image  # PNG natively, the others through Pillow

            a = np.asarray(matplotlib.image.imread(path), dtype=np.float32)
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise NnzooError(f"Cannot read image {str(path)!r} ({err}); expected a well-formed "
                         f"{suffix[1:].upper()} file.") from None
    if a.max() > 1.5:
        a = a / 255.0  # 8-bit values
    if a.ndim == 3 and a.shape[-1] in (2, 4) and a.shape[0] not in (1, 3):
        # transparent pixels show the paper: a drawing with no background is on white
        a = a[..., :-1] * a[..., -1:] + (1.0 - a[..., -1:])
    if a.ndim == 3 and a.shape[-1] in (1, 3) and a.shape[0] not in (1, 3):
        a = a.transpose(2, 0, 1)  # (H, W, C) -> (C, H, W)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] not in (1, 3) or min(a.shape[1:]) < 1 or not np.isfinite(a).all():
        raise NnzooError(f"Image {str(path)!r} has shape {a.shape}; expected (H, W), (C, H, W) "
                         f"or (H, W, C) with 1 or 3 channels (and alpha) and finite values.")
    return torch.from_numpy(np.ascontiguousarray(a)).clamp_(0.0, 1.0)[None]


@dataclass(frozen=True)
class ImageForm:
    """How a dataset's images were made: ``field`` pixels square, ``channels``, bright ink on
    black (``ink_on_dark``), and for ink images the ``box`` the cropped ink is scaled into."""

    field: int
    channels: int
    ink_on_dark: bool = False
    box: int | None = None
    centre_of_mass: bool = False
    blocks: int = 1  # UCI digits: a field x field bitmap counted in blocks x blocks cells
    min_ink: float | None = None  # thinner strokes (mean pixel below this) are thickened


FORMS = {
    # min_ink: the 10th percentile of the digits' mean pixel (measured: 0.26; the mean is 0.30)
    "digits": ImageForm(32, 1, ink_on_dark=True, box=32, blocks=4, min_ink=0.26),
    # MNIST's mean pixel is 0.1307; 0.08 only catches pen strokes far thinner than its digits'
    "mnist": ImageForm(28, 1, ink_on_dark=True, box=20, centre_of_mass=True, min_ink=0.08),
    "kmnist": ImageForm(28, 1, ink_on_dark=True, box=20, centre_of_mass=True),
    "fashion-mnist": ImageForm(28, 1, ink_on_dark=True, box=28),
    "cifar10": ImageForm(32, 3),
}


def form_of(dataset: str) -> ImageForm:
    if dataset not in FORMS:
        raise NnzooError(f"Dataset {dataset!r} is not an image dataset nnzoo can prepare a picture "
                         f"for; expected a run trained on one of {', '.join(FORMS)}.")
    return FORMS[dataset]


def _resize(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    return F.interpolate(x, size=(max(1, h), max(1, w)), mode="bilinear", align_corners=False,
                         antialias=True)


def _ink_box(grey: torch.Tensor, name: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels at least INK of the brightest."""
    peak = float(grey.max())
    if peak <= 0.05:
        raise NnzooError(f"Image {name!r} holds no strokes (it is blank once its background is "
                         f"removed); expected a drawing or photo of one object.")
    rows, cols = torch.nonzero(grey >= INK * peak, as_tuple=True)
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


def _place(ink: torch.Tensor, field: int, centre_of_mass: bool) -> torch.Tensor:
    """(1, 1, h, w) ink on a black field x field square, centred by box or by mass."""
    h, w = ink.shape[-2:]
    top, left = (field - h) // 2, (field - w) // 2
    if centre_of_mass:
        mass = ink[0, 0].sum().clamp_min(1e-8)
        cy = float((ink[0, 0].sum(1) * torch.arange(h)).sum() / mass)
        cx = float((ink[0, 0].sum(0) * torch.arange(w)).sum() / mass)
        top = min(max(round((field - 1) / 2 - cy), 0), field - h)
        left = min(max(round((field - 1) / 2 - cx), 0), field - w)
    return F.pad(ink, (left, field - w - left, top, field - h - top))


def as_dataset_image(x: torch.Tensor, dataset: str, name: str = "image") -> tuple[torch.Tensor, list]:
    """A picture (1, C, H, W) in [0, 1] made the way ``dataset``'s images were (module doc):
    ``(image (1, C, S, S) in [0, 1] at the dataset's own size, notes on what was done)``."""
    form, notes = form_of(dataset), []
    if form.channels == 3:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return _resize(x, form.field, form.field).clamp(0, 1), notes
    grey = x.mean(dim=1, keepdim=True)
    edge = torch.cat([grey[0, 0, 0], grey[0, 0, -1], grey[0, 0, :, 0], grey[0, 0, :, -1]])
    if form.ink_on_dark and float(edge.mean()) > 0.5:
        grey, edge, notes = 1.0 - grey, 1.0 - edge, ["inverted (light background)"]
    grey = (grey - float(edge.median())).clamp(min=0)  # the background to black
    top, bottom, left, right = _ink_box(grey[0, 0], name)
    ink = grey[..., top:bottom, left:right]
    h, w = ink.shape[-2:]
    scale = form.box / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    # shrinking keeps each cell's strongest ink (a fine pen line does not fade away); enlarging
    # interpolates
    ink = F.adaptive_max_pool2d(ink, size) if scale < 1 else _resize(ink, *size)
    ink = (ink / ink.max().clamp_min(1e-8)).clamp(0, 1)  # full contrast
    image = _place(ink, form.field, form.centre_of_mass)
    if form.blocks > 1:  # UCI: a bitmap (its on-pixels are counted per block below)
        image = (image >= 0.5).float()
    if form.min_ink is not None and float(image.mean()) < form.min_ink:
        for _ in range(3):  # a fine pen or a font: strokes grown a pixel at a time
            image = F.max_pool2d(image, 3, stride=1, padding=1)
            if float(image.mean()) >= form.min_ink:
                break
        notes.append("strokes thickened")
    if form.blocks > 1:
        image = F.avg_pool2d(image, form.blocks)
    return image, notes


def prepare_for_run(x: torch.Tensor, data, input_shape, name: str = "image") -> tuple[torch.Tensor, list]:
    """A picture prepared for a model trained on ``data`` (a DataBundle) with ``input_shape``:
    the dataset's image form, then the dataset's shaping and standardisation."""
    from nnzoo.data.digits import shape_digits
    from nnzoo.data.idx import shape_idx_images
    from nnzoo.data._shaping import fit_images

    image, notes = as_dataset_image(x, data.name, name)
    shape = tuple(input_shape) if input_shape is not None else None
    if data.name == "digits":
        return shape_digits(image, shape), notes
    if data.name != "cifar10":
        return shape_idx_images(image, shape, data.name), notes
    image = fit_images(image, shape, data.name)
    if "mean" in data.info and str(data.info.get("pixel_range", "")).startswith("normalised"):
        mean, std = (torch.tensor(data.info[k]).view(-1, 1, 1) for k in ("mean", "std"))
        image = (image - mean) / std if image.dim() == 4 else image
    return image, notes
