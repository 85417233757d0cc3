"""The IDX file format, and the datasets stored in it: MNIST, Fashion-MNIST, Kuzushiji-MNIST.

IDX is the format LeCun, Cortes & Burges published MNIST in (http://yann.lecun.com/exdb/mnist/):

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte  3     number of dimensions d
    4 bytes × d the size of each dimension, big-endian unsigned
    then        the elements, big-endian, last dimension fastest (C order)

Files may be gzip-compressed; that is recognised by the gzip magic bytes, not by the name. The
reader checks every field and that the payload holds exactly the product of the dimensions, so a
truncated or padded file is an error, never a silently wrong array. It reads any well-formed IDX
file (EMNIST, KMNIST, a user's own), whatever the sample count.

The header is read first and its declared size checked before anything is allocated: a raw
file must hold exactly that many bytes; a gzip file is decompressed in 1 MiB chunks up to the
declared size and no further (whatever follows is refused after a 1 MiB probe), and a declared
size that no gzip file of its size can hold (deflate expands at most 1032:1), or that only a
decompression bomb expands to (``nnzoo.data._limits``), is refused unread.

The datasets (train / validation / test):

    mnist, fashion-mnist, kmnist   54,000 / 6,000 / 10,000 images of 28x28, ten classes

The official test set is the test split; validation is the last 10 % of a fixed permutation of
the official training set (``torch.randperm`` seeded with ``VAL_SEED``, stored in ``info``).
Pixels are scaled to [0, 1]. For a square field larger than 28x28 the image is not stretched
but centred on a zero margin, as LeCun et al. (1998, section III-A) fed LeNet-5 a 28x28 MNIST
digit inside a 32x32 field.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.data._files import SOURCES, dataset_folder, find_file, missing_files_error
from nnzoo.data._limits import (
    DEFLATE_MAX_RATIO,
    EXTRA_PROBE,
    GZIP_MAX_RATIO,
    LARGE_PAYLOAD,
    count_following,
    read_into,
)
from nnzoo.data._shaping import fit_images
from nnzoo.errors import NnzooError

# IDX element types: code -> big-endian numpy dtype.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
VAL_SEED = 20260102
VAL_FRACTION = 0.1


def _header(stream, source: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Read and check an IDX header from ``stream``: ``(shape, big-endian dtype, its length)``."""
    start = stream.read(4)
    if len(start) < 4:
        raise NnzooError(f"{source} is {len(start)} bytes long, shorter than the 4-byte IDX magic "
                         f"number; expected an IDX file (0x00 0x00 type ndim, then sizes, data).")
    zero, code, ndim = start[:2], start[2], start[3]
    if zero != b"\x00\x00":
        raise NnzooError(f"{source} does not start with the IDX magic bytes 0x00 0x00 (it starts "
                         f"with {start.hex(' ')}); it is not an IDX file or it is damaged.")
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise NnzooError(f"{source} has IDX element type 0x{code:02X}; expected one of {known}.")
    if ndim == 0:
        raise NnzooError(f"{source} declares 0 dimensions; an IDX array needs at least one.")
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise NnzooError(f"{source} is truncated inside its header: {ndim} dimension sizes need "
                         f"{4 + 4 * ndim} bytes, the file has {4 + len(sizes)}.")
    shape = tuple(int(s) for s in np.frombuffer(sizes, dtype=">u4"))
    return shape, np.dtype(IDX_TYPES[code]), 4 + 4 * ndim


def _size_error(source, shape, dtype, expected: int, payload: int, more: bool = False):
    what = ("truncated" if payload < expected else
            f"followed by {'at least ' if more else ''}{payload - expected} extra bytes")
    return NnzooError(f"{source} is {what}: its header declares shape {shape} of {dtype.name} "
                      f"({expected} bytes of data), but {'at least ' if more else ''}{payload} "
                      f"bytes follow the header.")


def _check_gzip_declares(source, shape, dtype, expected: int, file_size: int) -> None:
    """Refuse, before anything is allocated, a declared size no gzip file of ``file_size``
    bytes can hold, or one only a decompression bomb expands to."""
    if expected > DEFLATE_MAX_RATIO * file_size:
        raise NnzooError(f"{source} is damaged: its header declares shape {shape} of "
                         f"{dtype.name} ({expected} bytes of data), more than a gzip file of "
                         f"{file_size} bytes can hold (deflate expands at most "
                         f"{DEFLATE_MAX_RATIO}:1).")
    if expected > max(LARGE_PAYLOAD, GZIP_MAX_RATIO * file_size):
        raise NnzooError(f"{source} declares shape {shape} of {dtype.name} ({expected:,} bytes), "
                         f"{expected // file_size:,} times the {file_size:,} bytes of its gzip "
                         f"file: refused unread as a decompression bomb (nnzoo reads gzip IDX "
                         f"files that expand at most {GZIP_MAX_RATIO}x beyond "
                         f"{LARGE_PAYLOAD >> 20} MiB; image data compresses 2-10x). If the file "
                         f"is genuine, gunzip it: a raw IDX file is checked against its own "
                         f"size.")


def _read_idx_stream(stream, source: str, file_size: int, compressed: bool) -> np.ndarray:
    """The array of an IDX stream whose file is ``file_size`` bytes: the payload is read only
    once its declared size is known to fit the file, and never beyond that size."""
    shape, dtype, header = _header(stream, source)
    expected = math.prod(shape) * dtype.itemsize
    if not compressed and file_size - header != expected:
        raise _size_error(source, shape, dtype, expected, file_size - header)
    if compressed:
        _check_gzip_declares(source, shape, dtype, expected, file_size)
    payload = bytearray(expected)
    got = read_into(stream, payload)
    if got < expected:
        raise _size_error(source, shape, dtype, expected, got)
    extra = count_following(stream)
    if extra:
        raise _size_error(source, shape, dtype, expected, expected + extra,
                          more=extra >= EXTRA_PROBE)
    data = np.frombuffer(payload, dtype=dtype).reshape(shape)  # writable: it owns the buffer
    if not dtype.isnative:
        data.byteswap(inplace=True)  # big-endian to this machine's order, without a copy
    return data.view(dtype.newbyteorder("="))


def parse_idx(raw: bytes, source: str = "IDX data") -> np.ndarray:
    """The array held in the (uncompressed) IDX bytes ``raw``; ``source`` names it in errors."""
    return _read_idx_stream(io.BytesIO(raw), source, len(raw), compressed=False)


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, checking its header against the file's size
    before reading the data (module doc).

    >>> images = read_idx("~/.nnzoo/data/mnist/train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype                                            # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = Path(path).expanduser()
    source = f"IDX file {path}"
    try:
        with open(path, "rb") as fh:
            file_size = os.fstat(fh.fileno()).st_size
            compressed = fh.read(2) == GZIP_MAGIC
            fh.seek(0)
            if not compressed:
                return _read_idx_stream(fh, source, file_size, compressed=False)
            with gzip.GzipFile(fileobj=fh, mode="rb") as stream:
                return _read_idx_stream(stream, source, file_size, compressed=True)
    except FileNotFoundError:
        raise NnzooError(f"{source} does not exist.") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise NnzooError(f"{source} could not be read: it starts with the gzip magic bytes but "
                         f"does not decompress ({err}); the file is damaged or "
                         f"incomplete.") from None
    except OSError as err:  # permission denied, a folder, an I/O error: not a damaged file
        raise NnzooError(f"{source} could not be read ({err.strerror or err}); expected a "
                         f"readable IDX file.") from None


def write_idx(path, array, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``, default: by ``.gz``).

    The file is written to a temporary name and renamed, so a reader never sees half of it.
    """
    path = Path(path).expanduser()
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise NnzooError(f"IDX cannot store {array.dtype}; expected uint8, int8, int16, int32, "
                         f"float32 or float64.")
    if array.ndim == 0 or array.ndim > 255:
        raise NnzooError(f"IDX stores arrays of 1 to 255 dimensions, not {array.ndim}.")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        raw = gzip.compress(raw, mtime=0)
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    temp.write_bytes(raw)
    os.replace(temp, path)
    return path


def validation_split(n: int, seed: int = VAL_SEED, fraction: float = VAL_FRACTION):
    """Indices ``(train, val)`` of a training set of ``n``: val is the last ``fraction`` of a
    fixed permutation, so it is the same on every machine and every run."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(n * fraction)) if n > 1 else 0
    return order[:n - n_val], order[n - n_val:]


def to_unit_float(images: np.ndarray, source: str) -> torch.Tensor:
    """Bytes 0..255 to [0, 1]; float pixels are taken as they are."""
    if images.dtype == np.uint8:
        return torch.from_numpy(images).float().div_(255.0)
    if images.dtype.kind == "f":
        return torch.from_numpy(images.astype(np.float32))
    raise NnzooError(f"{source} holds {images.dtype} pixels; expected unsigned bytes (0..255) or "
                     f"floats in [0, 1].")


def check_labels(labels: np.ndarray, num_classes: int, n: int, source: str) -> torch.Tensor:
    if labels.ndim != 1 or labels.shape[0] != n or labels.dtype.kind not in "iu":
        raise NnzooError(f"{source} holds labels of shape {labels.shape} ({labels.dtype}); "
                         f"expected {n} integer labels, one per image.")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise NnzooError(f"{source} holds the label {int(bad)}; expected class ids 0 to "
                         f"{num_classes - 1}.")
    return torch.from_numpy(labels.astype(np.int64))


def _read_pair(folder: Path, stem: str, raw_ok: bool, num_classes: int):
    paths = [find_file(folder, f"{stem}-{kind}-idx{d}-ubyte.gz", raw_ok)
             for kind, d in (("images", 3), ("labels", 1))]
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3:
        raise NnzooError(f"IDX file {paths[0]} holds an array of shape {images.shape}; expected "
                         f"images of shape (count, height, width).")
    return (to_unit_float(images, f"IDX file {paths[0]}").unsqueeze(1),  # (N, 1, H, W)
            check_labels(labels, num_classes, images.shape[0], f"IDX file {paths[1]}"))


def shape_idx_images(x: torch.Tensor, input_shape, name: str) -> torch.Tensor:
    """IDX images (N, 1, H, W) in [0, 1] shaped for a model: a larger square input gets them
    centred at their own size (28x28 in LeNet-5's 32x32, not stretched), else resized."""
    h, w = x.shape[2:]
    shape = tuple(input_shape) if input_shape is not None else None
    margin = shape is not None and len(shape) == 3 and shape[1] == shape[2] > max(h, w)
    return fit_images(x, shape, name, fill=max(h, w) / shape[1] if margin else 1.0)


def load_idx_dataset(name: str, class_names: list[str], *, input_shape=None,
                     data_dir=None) -> DataBundle:
    """A bundle for one of the MNIST-layout datasets in ``SOURCES``."""
    source = SOURCES[name]
    folder = dataset_folder(name, data_dir)
    missing = [f for f in source.files if find_file(folder, f, source.raw_ok) is None]
    if missing:
        raise missing_files_error(name, folder, missing, source.raw_ok, data_dir)
    k = len(class_names)
    x_train, y_train = _read_pair(folder, "train", source.raw_ok, k)
    x_test, y_test = _read_pair(folder, "t10k", source.raw_ok, k)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise NnzooError(f"Dataset {name!r} in {folder} has training images of size "
                         f"{tuple(x_train.shape[2:])} but test images of size "
                         f"{tuple(x_test.shape[2:])}; expected the same size.")
    x_train, x_test = (shape_idx_images(x, input_shape, name) for x in (x_train, x_test))
    train_idx, val_idx = validation_split(len(y_train))
    return DataBundle(
        name, Split(x_train[train_idx], y_train[train_idx]),
        Split(x_train[val_idx], y_train[val_idx]), Split(x_test, y_test), task="classify",
        num_classes=k, class_names=list(class_names), input_shape=tuple(x_train.shape[1:]),
        info={"source": source.homepage, "folder": str(folder), "pixel_range": "[0, 1]",
              "val_seed": VAL_SEED, "val_fraction": VAL_FRACTION})


@register_dataset("mnist", task="classify",
                  description="MNIST handwritten digits, 70,000 28x28 (IDX files, download)")
def load_mnist(*, input_shape=None, data_dir=None) -> DataBundle:
    return load_idx_dataset("mnist", [str(d) for d in range(10)], input_shape=input_shape,
                            data_dir=data_dir)


@register_dataset("fashion-mnist", task="classify",
                  description="Fashion-MNIST clothing images, 70,000 28x28 (IDX files, download)")
def load_fashion_mnist(*, input_shape=None, data_dir=None) -> DataBundle:
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"]  # Xiao, Rasul & Vollgraf 2017
    return load_idx_dataset("fashion-mnist", names, input_shape=input_shape, data_dir=data_dir)


@register_dataset("kmnist", task="classify",
                  description="Kuzushiji-MNIST cursive Japanese, 70,000 28x28 (IDX files, download)")
def load_kmnist(*, input_shape=None, data_dir=None) -> DataBundle:
    names = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]  # Clanuwat et al. 2018
    return load_idx_dataset("kmnist", names, input_shape=input_shape, data_dir=data_dir)
