"""A fuzz suite for the file readers: small well-formed files of every format nnzoo reads (IDX raw
and gzip, CIFAR-10 batches and their tar.gz, CSV, .npy, pictures, safetensors weights and
checkpoints), mutated: truncated at several points, one bit flipped at several offsets, and
every size field set to 0, 1 and 2**32-1. Each case must end in NnzooError or a valid result,
never in another exception. Seeded, so every run tries the same cases."""

import gzip
import io
import json
import random
import struct
import tarfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import nnzoo
from nnzoo.data.cifar import RECORD, TEST_FILES, TRAIN_FILES
from nnzoo.data.idx import read_idx
from nnzoo.data.own_images import read_image
from nnzoo.data.timeseries import read_csv_column
from nnzoo.errors import NnzooError
from nnzoo.runs import load_run
from nnzoo.runs.checkpoint import load_checkpoint, save_checkpoint

SIZES = (0, 1, 2**32 - 1)
RANDOM_FLIPS = 48  # beyond the header bytes flipped


def mutants(raw: bytes, *, header: int, fields=(), seed=0, sizes=SIZES, stride=1):
    """``(name, bytes)``: ``raw`` cut at several points, with one bit flipped in every
    ``stride``-th of its first ``header`` bytes and at RANDOM_FLIPS other offsets, and each
    size field ``(offset, struct format)`` set to each of ``sizes`` (capped to what it holds)."""
    rng = random.Random(seed)
    n = len(raw)
    for cut in sorted({0, 1, 2, 4, 8, header // 2, header, header + 1, n // 2, n - 1}):
        if cut < n:
            yield f"cut at {cut}", raw[:cut]
    flips = set(range(0, min(header, n), stride)) | {rng.randrange(n) for _ in range(RANDOM_FLIPS)}
    for at in sorted(flips):
        flipped = bytearray(raw)
        flipped[at] ^= 1 << rng.randrange(8)
        yield f"bit flipped at {at}", bytes(flipped)
    for offset, fmt in fields:
        top = 2 ** (8 * struct.calcsize(fmt) - fmt[-1].islower()) - 1  # i, h, q are signed
        for value in sorted({min(v, top) for v in sizes}):
            changed = bytearray(raw)
            struct.pack_into(fmt, changed, offset, value)
            yield f"field at {offset} = {value}", bytes(changed)


def failures(cases, path, read, check=lambda result: None):
    """The cases (written to ``path``) whose ``read(path)`` raised anything but NnzooError, or
    returned something ``check`` refuses."""
    found = []
    for name, raw in cases:
        path.write_bytes(raw)
        try:
            check(read(path))
        except NnzooError:
            pass
        except Exception as err:  # noqa: BLE001 - the point: no other exception escapes
            found.append(f"{name}: {type(err).__name__}: {err}")
    return found


# ---- IDX ------------------------------------------------------------------------------------

IDX = bytes([0, 0, 0x0B, 3]) + struct.pack(">3I", 2, 3, 4) + np.arange(24, dtype=">i2").tobytes()
IDX_FIELDS = [(4, ">I"), (8, ">I"), (12, ">I")]


def is_idx_array(a):
    assert isinstance(a, np.ndarray) and a.dtype.isnative and a.size * a.itemsize <= 1 << 20


def test_fuzzed_raw_idx_files(tmp_path):
    cases = mutants(IDX, header=16, fields=IDX_FIELDS, seed=1)
    assert not failures(cases, tmp_path / "x-idx3-ubyte", read_idx, is_idx_array)


def test_fuzzed_gzip_idx_files(tmp_path):
    content = [(f"content {name}", gzip.compress(raw, mtime=0))
               for name, raw in mutants(IDX, header=16, fields=IDX_FIELDS, seed=2)]
    packed = gzip.compress(IDX, mtime=0)
    stream = mutants(packed, header=24, fields=[(len(packed) - 4, "<I")], seed=3)  # ISIZE
    path = tmp_path / "x-idx3-ubyte.gz"
    assert not failures([*content, *stream], path, read_idx, is_idx_array)


# ---- CIFAR-10 -------------------------------------------------------------------------------

def cifar_batch(records=2, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 256, (records, RECORD), dtype=np.uint8)
    rows[:, 0] %= 10
    return rows.tobytes()


def loads_cifar(data_dir):
    return lambda path: nnzoo.load_dataset("cifar10", data_dir=data_dir, augment=False)


def test_fuzzed_cifar_batch_files(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    for name in TRAIN_FILES + TEST_FILES:
        (folder / name).write_bytes(cifar_batch())
    batch = cifar_batch()
    label = [(f"label {v}", bytes([v]) + batch[1:]) for v in (1, 10, 255)]
    cases = [*mutants(batch, header=8, seed=4), *label]
    assert not failures(cases, folder / "data_batch_2.bin", loads_cifar(tmp_path))


def cifar_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in (*TRAIN_FILES, *TEST_FILES, "batches.meta.txt"):
            raw = cifar_batch(1) if name.endswith(".bin") else "\n".join("abcdefghij").encode()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def tar_with_size(tar: bytes, member: int, size: int) -> bytes:
    """``tar`` with the size field of its ``member``-th header (each member here is one header
    block and 7 data blocks) set to ``size``, and the header's checksum made right."""
    at = member * 8 * 512
    block = bytearray(tar[at:at + 512])
    block[124:136] = f"{size:011o}".encode() + b"\0"
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}".encode() + b"\0 "
    return tar[:at] + bytes(block) + tar[at + 512:]


def test_fuzzed_cifar_archives(tmp_path):
    tar = cifar_tar()
    sizes = [(f"member {k} size {v}", tar_with_size(tar, k, v)) for k in (0, 5) for v in SIZES]
    content = [(f"tar {name}", gzip.compress(raw, mtime=0))
               for name, raw in [*mutants(tar, header=512, stride=8, seed=5), *sizes]]
    stream = mutants(gzip.compress(tar, mtime=0), header=16, seed=6)
    (tmp_path / "cifar10").mkdir()
    path = tmp_path / "cifar10" / "cifar-10-binary.tar.gz"
    assert not failures([*content, *stream], path, loads_cifar(tmp_path))


# ---- CSV and .npy ---------------------------------------------------------------------------

def test_fuzzed_csv_files(tmp_path):
    raw = ("time,value\n" + "".join(f"{t},{np.sin(t / 3):.4f}\n" for t in range(40))).encode()
    wide = [("a 200,000-character field", raw + b"1" * 200_000 + b"\n")]
    cases = [*mutants(raw, header=16, seed=7), *wide]
    assert not failures(cases, tmp_path / "s.csv", lambda p: read_csv_column(p, "value"))


def npy(array, version=(1, 0)) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def npy_with_shape(shape) -> bytes:
    text = repr({"descr": "|u1", "fortran_order": False, "shape": shape})
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + bytes(30)


def test_fuzzed_npy_files(tmp_path):
    image = np.arange(30, dtype=np.uint8).reshape(6, 5)
    v1, v2 = npy(image), npy(image, (2, 0))
    shapes = [(f"shape {s}", npy_with_shape(s)) for s in [(0, 5), (1, 1), (2**32 - 1, 5)]]
    cases = [*mutants(v1, header=80, fields=[(8, "<H")], seed=8),
             *mutants(v2, header=12, fields=[(8, "<I")], seed=9), *shapes]
    assert not failures(cases, tmp_path / "a.npy", read_image)


# ---- pictures -------------------------------------------------------------------------------

def picture(fmt: str) -> bytes:
    pixels = np.random.default_rng(10).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("P" if fmt == "GIF" else "RGB").save(buffer, fmt)
    return buffer.getvalue()


def png_with_size(raw: bytes, width: int, height: int) -> bytes:
    """``raw`` with its IHDR declaring ``width`` x ``height``, the chunk's CRC made right, so
    the size reaches the decoder instead of stopping at the CRC check."""
    ihdr = bytearray(raw[12:29])
    struct.pack_into(">II", ihdr, 4, width, height)
    return raw[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(ihdr)) + raw[33:]


def is_picture(x):
    assert isinstance(x, torch.Tensor) and x.dim() == 4 and x.shape[1] in (1, 3)
    assert bool(torch.isfinite(x).all()) and 0 <= float(x.min()) and float(x.max()) <= 1


def test_fuzzed_png_files(tmp_path):
    raw = picture("PNG")
    sizes = [(f"IHDR {w}x{h}", png_with_size(raw, w, h))
             for w, h in [(v, 5) for v in SIZES] + [(6, v) for v in SIZES]]
    cases = [*mutants(raw, header=41, fields=[(33, ">I")], seed=11), *sizes]  # IDAT length
    assert not failures(cases, tmp_path / "a.png", read_image, is_picture)


@pytest.mark.parametrize("fmt, suffix, fields", [
    ("JPEG", "jpg", []),
    ("GIF", "gif", [(6, "<H"), (8, "<H")]),      # the logical screen's width, height
    ("BMP", "bmp", [(18, "<i"), (22, "<i"), (2, "<I"), (10, "<I")]),  # size, file size, offset
    ("TIFF", "tif", []),
])
def test_fuzzed_pictures_of_other_formats(tmp_path, fmt, suffix, fields):
    cases = mutants(picture(fmt), header=24, fields=fields, seed=12)
    assert not failures(cases, tmp_path / f"a.{suffix}", read_image, is_picture)


# ---- safetensors ----------------------------------------------------------------------------

def safetensors_mutants(raw: bytes, seed: int):
    """The header-size field (8 bytes, little-endian) set to 0, 1, 2**32-1 and 2**64-1, cuts,
    and flips in every 4th byte of the JSON header and at random offsets."""
    header = 8 + struct.unpack("<Q", raw[:8])[0]
    return mutants(raw, header=header, stride=4, fields=[(0, "<Q")], seed=seed,
                   sizes=(*SIZES, 2**64 - 1))


def test_fuzzed_weights_files(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    options = {"hidden": 8}
    model = nnzoo.create("mlp", **options)
    path = tmp_path / "weights.safetensors"
    save_file(model.state_dict(), str(path))
    (tmp_path / "config.json").write_text(json.dumps({"model": "mlp", "model_options": options}))
    raw = path.read_bytes()

    def is_run(result):
        loaded, config = result
        assert isinstance(loaded, torch.nn.Module) and config["model"] == "mlp"

    assert not failures(safetensors_mutants(raw, 13), path, load_run, is_run)


def test_fuzzed_checkpoints(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    state = {"epoch": 3, "model": {"w": torch.arange(6.0).view(2, 3)},
             "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "lr": 0.1},
             "rng": (np.arange(4, dtype=np.uint32), [1, 2])}
    save_checkpoint(path, state)
    raw = path.read_bytes()

    def is_state(back):  # a flipped key is still a state; what it must hold is the loop's check
        assert isinstance(back, dict)

    assert not failures(safetensors_mutants(raw, 14), path, load_checkpoint, is_state)
