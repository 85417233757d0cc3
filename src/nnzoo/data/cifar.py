"""CIFAR-10 from its binary distribution (Krizhevsky 2009, "Learning multiple layers of features
from tiny images"; https://www.cs.toronto.edu/~kriz/cifar.html).

``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/`` with ``data_batch_1.bin`` …
``data_batch_5.bin`` (10,000 images each), ``test_batch.bin`` and ``batches.meta.txt`` (the
class names, one per line). Each record is 3,073 bytes:

    byte 0          label, 0..9
    bytes 1..3072   the 32x32 image: 1,024 red, then 1,024 green, then 1,024 blue bytes, rows
                    top to bottom, each row left to right

We read this binary version, never the pickled "python version" (unpickling can run code). The
archive is read as it is (members read into memory, nothing extracted to disk), or the extracted
folder; every member and file has its type and size checked before it is read
(``nnzoo.data._limits``). A file whose length is not a whole number of records, or a label
outside 0..9, is an error that names the file.

Splits: train 45,000 · validation 5,000 (the last 10 % of a fixed permutation of the five
training batches, seed in ``info``) · test 10,000 (``test_batch.bin``). Pixels in [0, 1];
``info`` holds the per-channel mean and standard deviation of the training split, and
``normalize=True`` applies them. Training batches are augmented on the device with random
4-pixel shifts and horizontal flips (``nnzoo.data.augment``), as He et al. (2016) trained
their CIFAR ResNets; ``augment=False`` turns that off.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.data._files import CIFAR_ARCHIVE as ARCHIVE
from nnzoo.data._files import CIFAR_FOLDER as FOLDER
from nnzoo.data._files import CIFAR_META_FILE as META_FILE
from nnzoo.data._files import CIFAR_TEST_FILES as TEST_FILES
from nnzoo.data._files import CIFAR_TRAIN_FILES as TRAIN_FILES
from nnzoo.data._files import SOURCES, dataset_folder, missing_files_error
from nnzoo.data._limits import (
    MAX_ARCHIVE_MEMBERS,
    MAX_CIFAR_BATCH_BYTES,
    MAX_CIFAR_META_BYTES,
)
from nnzoo.data._shaping import fit_images
from nnzoo.data.augment import random_crop_flip
from nnzoo.data.idx import VAL_FRACTION, VAL_SEED, check_labels, validation_split
from nnzoo.errors import NnzooError

SIDE, CHANNELS, NUM_CLASSES = 32, 3, 10
RECORD = 1 + CHANNELS * SIDE * SIDE  # 3,073 bytes: label, then the image
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]


def parse_cifar_batch(raw: bytes, source: str = "CIFAR-10 data") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of one binary batch."""
    if len(raw) == 0 or len(raw) % RECORD:
        raise NnzooError(f"{source} is {len(raw)} bytes long, which is not a whole number of "
                         f"CIFAR-10 records of {RECORD} bytes (1 label + 3x32x32 pixels); the file "
                         f"is truncated, padded or not a CIFAR-10 binary batch.")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    check_labels(labels, NUM_CLASSES, len(labels), source)
    return records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE).copy(), labels.astype(np.int64)


def write_cifar_batch(path, images, labels) -> Path:
    """Write ``images`` (N, 3, 32, 32) uint8 and ``labels`` (N,) as a CIFAR-10 binary batch."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.shape[1:] != (CHANNELS, SIDE, SIDE) or images.dtype != np.uint8 \
            or labels.shape != images.shape[:1]:
        raise NnzooError(f"A CIFAR-10 batch holds uint8 images of shape (N, 3, 32, 32) and N "
                         f"labels; got {images.dtype} {images.shape} and labels {labels.shape}.")
    records = np.concatenate([labels.astype(np.uint8)[:, None], images.reshape(len(images), -1)],
                             axis=1)
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    temp.write_bytes(records.tobytes())
    os.replace(temp, path)
    return path


def _limit(name: str) -> int:
    """The most bytes file ``name`` of the distribution may hold."""
    return MAX_CIFAR_META_BYTES if name == META_FILE else MAX_CIFAR_BATCH_BYTES


def _too_large(where: str, size: int, name: str) -> NnzooError:
    return NnzooError(f"{where} is {size:,} bytes, more than a CIFAR-10 {name} holds (at most "
                      f"{_limit(name):,}); it is not the CIFAR-10 binary distribution.")


def _read_file(path: Path) -> bytes:
    """One file of the extracted distribution, its size checked before it is read."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= _limit(path.name):
                raw = fh.read(_limit(path.name) + 1)  # bounded even if the file grows meanwhile
                size = len(raw)
    except OSError as err:
        raise NnzooError(f"Cannot read the CIFAR-10 file {path} ({err.strerror or err}).") from None
    if size > _limit(path.name):
        raise _too_large(str(path), size, path.name)
    return raw


def _read_archive(path: Path, wanted: set[str]) -> dict[str, bytes]:
    """The members named in ``wanted`` (by base name), read into memory once each member's
    type and declared size are checked; nothing is extracted, and reading stops once all are
    found or after MAX_ARCHIVE_MEMBERS members."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_ARCHIVE_MEMBERS:
                    raise NnzooError(f"{path} holds more than {MAX_ARCHIVE_MEMBERS} members; the "
                                     f"CIFAR-10 archive holds 8. It is not CIFAR-10.")
                name = PurePosixPath(member.name).name
                if not member.isfile() or name not in wanted or name in found:
                    continue  # links, devices and other files are never touched
                if member.size > _limit(name):
                    raise _too_large(f"{path} member {member.name}", member.size, name)
                found[name] = archive.extractfile(member).read(member.size)
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise NnzooError(f"The archive {path} could not be read ({err}); it is damaged or "
                         f"incomplete. `nnzoo data verify cifar10` checks it against the "
                         f"published checksum.") from None
    return found


def read_cifar10(data_dir=None) -> tuple[dict[str, bytes], str]:
    """The raw batch files (and the meta file, if present) and where they came from.

    Looks in ``<data folder>/cifar10/`` for the extracted ``cifar-10-batches-bin/`` folder, the
    batch files themselves, or ``cifar-10-binary.tar.gz``, in that order. Every file's size is
    checked before it is read (``nnzoo.data._limits``).
    """
    folder = dataset_folder("cifar10", data_dir)
    needed = TRAIN_FILES + TEST_FILES
    for candidate in (folder / FOLDER, folder):
        if all((candidate / f).is_file() for f in needed):
            files = {f: _read_file(candidate / f) for f in needed}
            if (candidate / META_FILE).is_file():
                files[META_FILE] = _read_file(candidate / META_FILE)
            return files, str(candidate)
    if (folder / ARCHIVE).is_file():
        files = _read_archive(folder / ARCHIVE, set(needed) | {META_FILE})
        absent = [f for f in needed if f not in files]
        if absent:
            raise NnzooError(f"The archive {folder / ARCHIVE} lacks {', '.join(absent)}; expected "
                             f"the CIFAR-10 binary distribution ({FOLDER}/ with five data "
                             f"batches and test_batch.bin). An archive damaged part-way also "
                             f"ends early: `nnzoo data verify cifar10` checks it.")
        return files, str(folder / ARCHIVE)
    raise missing_files_error("cifar10", folder, [ARCHIVE, f"or the extracted {FOLDER}/"], False,
                              data_dir)


def class_names_from(meta: bytes | None) -> list[str]:
    names = [line.strip() for line in (meta or b"").decode("utf-8", "replace").splitlines()]
    names = [n for n in names if n]
    return names if len(names) == NUM_CLASSES else list(CLASS_NAMES)


@register_dataset("cifar10", task="classify",
                  description="CIFAR-10 colour images, 60,000 32x32 in 10 classes (binary version, "
                              "download)")
def load_cifar10(*, input_shape=None, data_dir=None, augment: bool = True,
                 normalize: bool = False) -> DataBundle:
    files, where = read_cifar10(data_dir)

    def stack(names):
        parts = [parse_cifar_batch(files[n], f"CIFAR-10 file {n} (from {where})") for n in names]
        images = torch.from_numpy(np.concatenate([p[0] for p in parts])).float().div_(255.0)
        return images, torch.from_numpy(np.concatenate([p[1] for p in parts]))

    x_train, y_train = stack(TRAIN_FILES)  # (50000, 3, 32, 32)
    x_test, y_test = stack(TEST_FILES)     # (10000, 3, 32, 32)
    shape = tuple(input_shape) if input_shape is not None else None
    x_train, x_test = (fit_images(x, shape, "cifar10") for x in (x_train, x_test))
    train_idx, val_idx = validation_split(len(y_train))
    train = Split(x_train[train_idx], y_train[train_idx])
    val = Split(x_train[val_idx], y_train[val_idx])
    del x_train  # 600 MB as float32; keep one copy of the pixels, not two
    info = {"source": SOURCES["cifar10"].homepage, "files": where, "pixel_range": "[0, 1]",
            "val_seed": VAL_SEED, "val_fraction": VAL_FRACTION}
    if train.x.dim() == 4:
        mean, std = train.x.mean(dim=(0, 2, 3)), train.x.std(dim=(0, 2, 3))  # per channel
        info.update(mean=[round(float(m), 4) for m in mean], std=[round(float(s), 4) for s in std])
        if normalize:
            for x in (train.x, val.x, x_test):
                x.sub_(mean[:, None, None]).div_(std[:, None, None])
            info["pixel_range"] = "normalised per channel (mean 0, std 1 on the training split)"
    use_augment = augment and train.x.dim() == 4
    if use_augment:
        info["augment"] = "random crop with 4-pixel zero padding, random horizontal flip"
    return DataBundle(
        "cifar10", train, val, Split(x_test, y_test), task="classify",
        num_classes=NUM_CLASSES, class_names=class_names_from(files.get(META_FILE)),
        input_shape=tuple(train.x.shape[1:]),
        augment=partial(random_crop_flip, padding=4) if use_augment else None, info=info)
