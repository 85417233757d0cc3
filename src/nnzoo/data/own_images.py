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

import math
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from tokenize import TokenError

import numpy as np
import torch
import torch.nn.functional as F

from nnzoo.data._limits import MAX_IMAGE_PIXELS, MAX_NPY_HEADER
from nnzoo.errors import NnzooError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".npy")
# What Pillow may open them as (its JPEG reader also opens phones' MPO files); no other
# decoder is ever tried.
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF")
INK = 0.35  # a pixel at or above this share of the brightest is ink (cropping, thresholding)


def read_image(path) -> torch.Tensor:
    """An image file (PNG, JPEG, BMP, GIF, TIFF or a .npy array) as a (1, C, H, W) float tensor
    in [0, 1], C = 1 or 3 (with an alpha channel, composited on white).

    Pictures are opened only through Pillow and ``.npy`` arrays only after their header is
    checked; either is refused before it is decoded when it holds more than
    ``MAX_IMAGE_PIXELS`` pixels, so a small file that expands to gigabytes never does."""
    path = Path(path)
    if not path.is_file():
        raise NnzooError(f"Image {str(path)!r} does not exist; expected an image file "
                         f"({', '.join(IMAGE_SUFFIXES)}).")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise NnzooError(f"Image {str(path)!r} is not a file type nnzoo reads; expected one of "
                         f"{', '.join(IMAGE_SUFFIXES)}.")
    a = channels_first(read_npy_image(path)) if suffix == ".npy" else read_picture(path)
    if a.ndim != 3 or a.shape[0] not in (1, 3) or min(a.shape[1:]) < 1 or not np.isfinite(a).all():
        raise NnzooError(f"Image {str(path)!r} has shape {a.shape}; expected (H, W), (C, H, W) "
                         f"or (H, W, C) with 1 or 3 channels (and alpha) and finite values.")
    return torch.from_numpy(np.ascontiguousarray(a)).clamp_(0.0, 1.0)[None]


def channels_first(a: np.ndarray) -> np.ndarray:
    """An array image (H, W), (C, H, W) or (H, W, C) as (C, H, W), alpha composited on white."""
    if a.ndim == 3 and a.shape[-1] in (2, 4) and a.shape[0] not in (1, 3):
        # transparent pixels show the paper: a drawing with no background is on white
        a = a[..., :-1] * a[..., -1:] + (1.0 - a[..., -1:])
    if a.ndim == 3 and a.shape[-1] in (1, 3) and a.shape[0] not in (1, 3):
        a = a.transpose(2, 0, 1)  # (H, W, C) -> (C, H, W)
    return a[None] if a.ndim == 2 else a


def _too_many_pixels(path: Path, what: str) -> NnzooError:
    return NnzooError(f"Image {str(path)!r} {what}; nnzoo decodes pictures of at most "
                      f"{MAX_IMAGE_PIXELS:,} pixels (nnzoo.data._limits.MAX_IMAGE_PIXELS) and "
                      f"refuses larger ones unread, as possible decompression bombs. Scale the "
                      f"picture down first.")


def read_picture(path: Path) -> np.ndarray:
    """A picture as (C, H, W) float32 in [0, 1], C = 1 or 3 (alpha composited on white),
    decoded by Pillow only after its declared size is checked."""
    from PIL import Image, UnidentifiedImageError

    kind = path.suffix[1:].upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Pillow's notes on damaged metadata (EXIF, TIFF tags) are not printed: the
            # picture either decodes or is refused below with one message
            warnings.simplefilter("ignore", UserWarning)
            with Image.open(path, formats=PILLOW_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _too_many_pixels(path, f"declares {width} x {height} = "
                                                 f"{width * height:,} pixels")
                return _unit_pixels(image)
    except NnzooError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(path, f"declares more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                                     f"(Pillow's own check)") from None
    except UnidentifiedImageError:
        raise NnzooError(f"Cannot read image {str(path)!r}: it is not a picture Pillow "
                         f"recognises as {', '.join(PILLOW_FORMATS)}; expected a well-formed "
                         f"{kind} file.") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error) as err:
        # what Pillow's decoders raise on damaged files
        raise NnzooError(f"Cannot read image {str(path)!r} ({err or type(err).__name__}); "
                         f"expected a well-formed {kind} file.") from None


def _unit_pixels(image) -> np.ndarray:
    """The first frame of an opened Pillow image as (C, H, W) float32 in [0, 1], C = 1 (grey)
    or 3 (colour); transparent pixels are composited on white, in 8 bits, before the one
    conversion to floats."""
    from PIL import Image

    mode = image.mode
    if mode.startswith("I;16") or mode == "I":  # 16-bit grey
        return np.divide(np.asarray(image), 65535.0, dtype=np.float32)[None]
    if mode == "F":  # floating-point TIFF: the values as they are
        return np.array(image, dtype=np.float32)[None]  # a copy: Pillow's is read-only
    grey = mode in ("1", "L", "LA", "La")
    if mode in ("LA", "La", "RGBA", "RGBa", "PA") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, "white")  # a drawing with no background is on it
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    pixels = np.asarray(image.convert("L" if grey else "RGB"))
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)  # (C, H, W)
    return np.multiply(pixels, 1 / 255, dtype=np.float32, order="C")


def read_npy_image(path: Path) -> np.ndarray:
    """A ``.npy`` array as float32 (8-bit values scaled to [0, 1]), its header checked before
    any data is read: version 1 or 2, a numeric dtype, 2 or 3 non-zero dimensions of at most
    ``MAX_IMAGE_PIXELS`` pixels, and exactly as many data bytes as the shape needs."""
    fmt = np.lib.format
    name = str(path)
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                raise NnzooError(f"Image {name!r} is a .npy file of format version {version}; "
                                 f"expected version 1.0 or 2.0 (a plain numeric array).")
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else \
                fmt.read_array_header_2_0
            shape, fortran_order, dtype = read_header(fh, max_header_size=MAX_NPY_HEADER)
            if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
                raise NnzooError(f"Image {name!r} holds a .npy array of dtype {dtype}; expected "
                                 f"plain numbers (bool, integer or float), not records, objects "
                                 f"or strings.")
            if len(shape) not in (2, 3) or 0 in shape:
                raise NnzooError(f"Image {name!r} holds a .npy array of shape {shape}; expected "
                                 f"a non-empty (H, W), (C, H, W) or (H, W, C) array.")
            if math.prod(shape) > 4 * MAX_IMAGE_PIXELS or \
                    math.prod(sorted(shape)[-2:]) > MAX_IMAGE_PIXELS:
                raise _too_many_pixels(path, f"declares a .npy array of shape {shape}")
            needed = math.prod(shape) * dtype.itemsize
            left = os.fstat(fh.fileno()).st_size - fh.tell()
            if left != needed:
                raise NnzooError(f"Image {name!r} holds {left} bytes of .npy data, but its "
                                 f"header declares shape {shape} of {dtype} ({needed} bytes); "
                                 f"the file is truncated or damaged.")
            flat = np.frombuffer(fh.read(needed), dtype=dtype)
    except NnzooError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, TokenError) as err:  # numpy's header
        # parser raises these on a damaged header
        raise NnzooError(f"Cannot read image {name!r} ({err}); expected a well-formed .npy "
                         f"file.") from None
    a = flat.reshape(shape, order="F" if fortran_order else "C").astype(np.float32)
    return a / 255.0 if a.max() > 1.5 else a  # 8-bit values


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
    from nnzoo.data._shaping import fit_images
    from nnzoo.data.digits import shape_digits
    from nnzoo.data.idx import shape_idx_images

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
