"""The readers' limits (nnzoo.data._limits): bombs and oversized inputs are refused unread, with
messages that name the file and the limit; good files still read as before."""

import csv
import io
import os
import struct
import subprocess
import sys
import tarfile
import zlib

import numpy as np
import pytest
from PIL import Image

import nnzoo
from nnzoo.data import _files, _limits, cifar, text, timeseries
from nnzoo.data.cifar import RECORD, TEST_FILES, TRAIN_FILES
from nnzoo.data.idx import read_idx, write_idx
from nnzoo.data.own_images import read_image
from nnzoo.errors import NnzooError


def idx_header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def gzip_of_zeros(head: bytes, mib: int) -> bytes:
    """A gzip file of ``head`` then ``mib`` MiB of zero bytes, about 1 KB a MiB, made in
    milliseconds: after a full flush deflate starts afresh, so every further MiB of zeros
    compresses to the same block, which is repeated. The CRC is left 0: the reader must refuse
    the file long before the trailer."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    first = deflate.compress(head + zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()[:-8]  # the final, empty block; the trailer is written here
    size = (len(head) + (mib << 20)) & 0xFFFFFFFF
    return first + block * (mib - 1) + end + struct.pack("<II", 0, size)


def png_declaring(width, height, depth=1, colour=0) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height``, with one tiny IDAT: enough for a reader
    that checks the size before decoding, as one that does not would allocate it all."""
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64)))
            + chunk(b"IEND", b""))


# ---- memory: bombs are refused in a small process ----------------------------------------------

CHILD = """
import resource, sys
from nnzoo.data.idx import read_idx
from nnzoo.data.own_images import read_image
from nnzoo.errors import NnzooError
readers = [(read_idx, p) for p in sys.argv[1:3]] + [(read_image, p) for p in sys.argv[3:]]
for reader, path in readers:
    try:
        reader(path)
        print("read", path)
    except NnzooError as err:
        print("refused", err)
# The peak of this process's own memory: VmHWM starts afresh at exec, while ru_maxrss can
# carry the parent's size at fork (a large pytest process would fail the test by itself).
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("max_rss_kib", peak)
"""


def test_gzip_and_png_bombs_are_refused_in_under_1_gb(tmp_path):
    # 3 GiB of zeros in a 3 MB gzip: once as the payload its header declares, once after a
    # header that declares 7,840 bytes; a 30000x30000 PNG (900 M pixels), also named .jpg.
    declared = tmp_path / "declared-idx3-ubyte.gz"
    declared.write_bytes(gzip_of_zeros(idx_header(0x08, (3072, 1024, 1024)), 3072))
    trailing = tmp_path / "trailing-idx3-ubyte.gz"
    trailing.write_bytes(gzip_of_zeros(idx_header(0x08, (10, 28, 28)), 3072))
    assert declared.stat().st_size < 4 << 20
    picture = png_declaring(30000, 30000)
    (tmp_path / "bomb.png").write_bytes(picture)
    (tmp_path / "bomb.jpg").write_bytes(picture)
    paths = [str(tmp_path / n) for n in (declared.name, trailing.name, "bomb.png", "bomb.jpg")]
    done = subprocess.run([sys.executable, "-c", CHILD, *paths], capture_output=True, text=True,
                          check=False, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["refused"] * 4, lines
    assert "decompression bomb" in lines[0] and "extra bytes" in lines[1]
    assert all("50,000,000 pixels" in line for line in lines[2:4])
    max_rss = int(lines[4].split()[1]) * 1024
    assert max_rss < 1 << 30, f"peak resident memory {max_rss / 2**20:.0f} MiB"


# ---- IDX -----------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True])
def test_an_idx_size_field_of_2_32_minus_1_is_refused_before_allocating(tmp_path, compress):
    raw = idx_header(0x0D, (0xFFFFFFFF, 0xFFFFFFFF, 28)) + bytes(64)
    path = tmp_path / "x"
    path.write_bytes(zlib.compress(raw, wbits=31) if compress else raw)
    words = "more than a gzip file of .* bytes can hold" if compress else "truncated"
    with pytest.raises(NnzooError, match=words):
        read_idx(path)


def test_a_gzip_idx_is_read_to_its_declared_size_and_what_follows_is_refused(tmp_path):
    good = np.arange(24, dtype=">i2").reshape(2, 3, 4)
    raw = idx_header(0x0B, (2, 3, 4)) + good.tobytes()
    path = tmp_path / "x.gz"
    path.write_bytes(zlib.compress(raw + bytes(3 << 20), wbits=31))
    with pytest.raises(NnzooError, match="followed by at least 1048576 extra bytes"):
        read_idx(path)
    path.write_bytes(zlib.compress(raw, wbits=31) + zlib.compress(b"", wbits=31))  # 2 members
    back = read_idx(path)
    assert back.dtype == np.int16 and back.flags.writeable
    np.testing.assert_array_equal(back, good)


def test_an_unreadable_idx_path_is_not_called_a_damaged_gzip(tmp_path):
    (tmp_path / "folder.gz").mkdir()
    with pytest.raises(NnzooError, match="could not be read") as err:
        read_idx(tmp_path / "folder.gz")
    assert "gzip" not in str(err.value)


def test_data_verify_stops_at_a_declared_size(tmp_path):
    bomb = tmp_path / "bomb-idx3-ubyte.gz"
    bomb.write_bytes(gzip_of_zeros(idx_header(0x08, (100000, 1000, 1000)), 16))
    assert _files.content_md5(bomb) is None  # more than deflate can expand: not streamed at all
    padded = write_idx(tmp_path / "p-idx1-ubyte", np.zeros(10, np.uint8), compress=False)
    padded.write_bytes(padded.read_bytes() + bytes(5 << 20))
    assert _files.content_md5(padded) is None
    assert _files.content_md5(write_idx(tmp_path / "ok.gz", np.ones((3, 4), np.uint8)))


# ---- pictures ------------------------------------------------------------------------------

def small_picture(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB" if fmt != "GIF" else "P", (3, 2)).save(buffer, fmt)
    return buffer.getvalue()


def declaring(fmt: str, width: int, height: int) -> bytes:
    """A small picture of format ``fmt`` whose header is edited to declare width x height."""
    raw = bytearray(small_picture(fmt))
    if fmt == "PNG":
        return png_declaring(width, height)
    if fmt == "GIF":  # logical screen and first image descriptor, little-endian 16-bit
        raw[6:10] = struct.pack("<HH", width, height)
        at = 13 + (3 << (raw[10] & 7) + 1 if raw[10] & 0x80 else 0)  # past the colour table
        while raw[at] == 0x21:  # extension blocks: label, then sub-blocks up to a 0 length
            at += 2
            while raw[at]:
                at += raw[at] + 1
            at += 1
        assert raw[at] == 0x2C
        raw[at + 5:at + 9] = struct.pack("<HH", width, height)
    elif fmt == "BMP":
        raw[18:26] = struct.pack("<ii", width, height)
    elif fmt == "JPEG":  # the start-of-frame marker: precision, height, width
        at = raw.index(b"\xff\xc0")
        raw[at + 5:at + 9] = struct.pack(">HH", height, width)
    elif fmt == "TIFF":  # little-endian IFD: tags 256 (width) and 257 (height)
        ifd = struct.unpack("<I", raw[4:8])[0]
        for k in range(struct.unpack("<H", raw[ifd:ifd + 2])[0]):
            at = ifd + 2 + 12 * k
            tag, kind = struct.unpack("<HH", raw[at:at + 4])
            if tag in (256, 257):
                value = width if tag == 256 else height
                value = struct.pack("<H" if kind == 3 else "<I", value)
                raw[at + 8:at + 12] = value.ljust(4, b"\0")
    return bytes(raw)


@pytest.mark.parametrize("fmt, suffix", [("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"),
                                         ("TIFF", "tif"), ("BMP", "bmp")])
@pytest.mark.parametrize("side", [8000, 20000])  # 64 M pixels: nnzoo's limit; 400 M: Pillow's
def test_every_picture_format_is_refused_above_the_pixel_limit(tmp_path, fmt, suffix, side):
    path = tmp_path / f"big.{suffix}"
    path.write_bytes(declaring(fmt, side, side))
    with pytest.raises(NnzooError, match=f"at most {_limits.MAX_IMAGE_PIXELS:,} pixels") as err:
        read_image(path)
    assert str(path) in str(err.value)


def test_pictures_of_every_mode_read_through_pillow(tmp_path):
    grey = np.array([[0, 128, 255], [64, 32, 16]], dtype=np.uint8)
    cases = {
        "l.png": (Image.fromarray(grey), grey[None] / 255),
        "one.png": (Image.fromarray(grey > 100), (grey > 100)[None].astype(float)),
        "rgb.bmp": (Image.fromarray(np.stack([grey] * 3, -1)), np.stack([grey] * 3) / 255),
        "sixteen.png": (Image.fromarray(grey.astype(np.uint16) * 257), grey[None] / 255),
        "float.tif": (Image.fromarray(grey.astype(np.float32) / 255), grey[None] / 255),
        "palette.gif": (Image.fromarray(grey).convert("P"), grey[None] / 255),
    }
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red; the rest transparent black, on white paper
    cases["rgba.png"] = (Image.fromarray(rgba), np.ones((3, 2, 3)))
    cases["rgba.png"][1][:, 0, 0] = (1, 0, 0)
    la = Image.fromarray(np.stack([grey, np.full_like(grey, 255)], -1), "LA")
    cases["la.png"] = (la, grey[None] / 255)
    for name, (image, expected) in cases.items():
        image.save(tmp_path / name)
        back = read_image(tmp_path / name)
        if name == "palette.gif":  # a palette holds the greys as RGB
            back = back.mean(1, keepdim=True)
        np.testing.assert_allclose(back[0].numpy(), expected, atol=1 / 255, err_msg=name)


def test_damaged_and_unknown_pictures_are_one_paragraph_errors(tmp_path):
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(NnzooError, match="not a picture Pillow recognises"):
        read_image(tmp_path / "text.png")
    (tmp_path / "cut.png").write_bytes(small_picture("PNG")[:45])  # inside its IDAT
    with pytest.raises(NnzooError, match="Cannot read image .*cut.png"):
        read_image(tmp_path / "cut.png")


def npy_bytes(header: dict, data: bytes, pad_to: int = 64) -> bytes:
    text = repr(header)
    text += " " * (-(10 + len(text) + 1) % pad_to) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data


@pytest.mark.parametrize("make, words", [
    (lambda p: np.save(p, np.zeros((0, 5), np.uint8)), "non-empty"),
    (lambda p: np.save(p, np.zeros((3, 4), [("a", "u1"), ("b", "f4")])), "not records"),
    (lambda p: np.save(p, np.array([[None, 1]], dtype=object)), "not records"),
    (lambda p: np.save(p, np.array([["ab"]])), "not records"),
    (lambda p: np.save(p, np.zeros(5, np.uint8)), "non-empty"),
    (lambda p: p.write_bytes(npy_bytes({"descr": "|u1", "fortran_order": False,
                                        "shape": (100000, 100000)}, bytes(10))), "at most"),
    (lambda p: p.write_bytes(npy_bytes({"descr": "|u1", "fortran_order": False,
                                        "shape": (4, 4)}, bytes(15))), "truncated"),
    (lambda p: p.write_bytes(npy_bytes({"descr": "|u1", "fortran_order": False, "shape": (4, 4),
                                        "x": "y" * 20000}, bytes(16))), "Cannot read image"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x03\x00" + bytes(20)), "version"),
])
def test_npy_headers_are_checked_before_anything_is_loaded(tmp_path, make, words):
    path = tmp_path / "a.npy"
    make(path)
    with pytest.raises(NnzooError, match=words):
        read_image(path)


def test_good_npy_arrays_read_in_either_order(tmp_path):
    a = np.arange(12, dtype=">f8").reshape(3, 4) / 11
    np.save(tmp_path / "c.npy", a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a))
    for name in ("c.npy", "f.npy"):
        np.testing.assert_allclose(read_image(tmp_path / name)[0, 0].numpy(), a, rtol=1e-6)


# ---- CSV and text ----------------------------------------------------------------------------

def test_a_csv_field_beyond_the_csv_limit_names_file_row_and_limit(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("x\n1\n2\n" + "9" * 200_000 + "\n3\n")
    before = csv.field_size_limit()
    with pytest.raises(NnzooError, match=r"row 4: .*at most 131,072 characters") as err:
        timeseries.read_csv_column(path)
    assert str(path) in str(err.value) and csv.field_size_limit() == before


def test_csv_size_rows_encoding_and_delimiter_limits(tmp_path, monkeypatch):
    path = tmp_path / "s.csv"
    path.write_bytes(b"v\n1\n2\n3\n\xff\xfe4\n")
    with pytest.raises(NnzooError, match=r"not UTF-8 text: row 5 .*byte 1 of the row"):
        timeseries.read_csv_column(path)
    path.write_text("v\n" + "\n".join(map(str, range(30))) + "\n")
    monkeypatch.setattr(timeseries, "MAX_CSV_ROWS", 29)
    with pytest.raises(NnzooError, match="more than 29 rows"):
        timeseries.read_csv_column(path)
    monkeypatch.setattr(timeseries, "MAX_CSV_ROWS", 30)
    assert timeseries.read_csv_column(path).tolist() == list(range(30))
    with pytest.raises(NnzooError, match="delimiter 'ab'"):
        timeseries.read_csv_column(path, delimiter="ab")
    monkeypatch.setattr(timeseries, "MAX_CSV_BYTES", 50)
    with pytest.raises(NnzooError, match="is 82 bytes, more than the 50 nnzoo reads"):
        timeseries.read_csv_column(path)


def test_text_corpora_have_a_size_limit_and_name_the_bad_byte(tmp_path, monkeypatch):
    path = tmp_path / "t.txt"
    path.write_bytes(b"first line\nsecond \xc3\xa9\xff\n")  # an "e acute", then a stray byte
    with pytest.raises(NnzooError, match=r"line 2 holds a byte that is not UTF-8 \(byte 10 "):
        text.read_corpus(path)
    path.write_text("a" * 101)
    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 100)
    with pytest.raises(NnzooError, match="larger than the 100 bytes"):
        text.read_corpus(path)
    with pytest.raises(NnzooError, match="Cannot read text file"):
        text.read_corpus(tmp_path)


# ---- CIFAR-10 --------------------------------------------------------------------------------

def cifar_members(records=2):
    batch = bytes(RECORD * records)
    return {name: batch for name in TRAIN_FILES + TEST_FILES}


def write_tar(path, members, extra=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in [*extra, *members.items()]:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def test_cifar_files_and_members_are_size_checked_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "MAX_CIFAR_BATCH_BYTES", 3 * RECORD)
    archive = tmp_path / "cifar10" / "cifar-10-binary.tar.gz"
    write_tar(archive, {**cifar_members(), "test_batch.bin": bytes(4 * RECORD)})
    with pytest.raises(NnzooError, match="member cifar-10-batches-bin/test_batch.bin is 12,292 "
                                         "bytes, more than a CIFAR-10 test_batch.bin holds"):
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    write_tar(archive, cifar_members(), extra=[(f"junk{i}", b"") for i in range(5)])
    monkeypatch.setattr(cifar, "MAX_ARCHIVE_MEMBERS", 4)
    with pytest.raises(NnzooError, match="more than 4 members"):
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    archive.unlink()
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir()
    for name, raw in cifar_members().items():
        (folder / name).write_bytes(raw)
    (folder / "batches.meta.txt").write_bytes(b"x" * (64 << 10 | 1))
    with pytest.raises(NnzooError, match="batches.meta.txt is 65,537 bytes"):
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    (folder / "batches.meta.txt").unlink()
    assert len(nnzoo.load_dataset("cifar10", data_dir=tmp_path).test) == 2
