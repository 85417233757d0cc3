"""The limits nnzoo's file readers hold every input to, and bounded reads from a stream.

A reader compares what a file declares (an IDX header's dimensions, a picture's width and
height, a ``.npy`` header's shape, a tar member's size) with these limits and with the file's
own size *before* it allocates anything, and reads compressed data in fixed-size chunks up to
the declared size only. A small file that claims or expands to gigabytes (a decompression
bomb) is therefore refused in a few megabytes of memory, with a message naming the limit.
"""

from __future__ import annotations

CHUNK = 1 << 20  # bytes per read from a (decompressing) stream

# Deflate's largest expansion: a 258-byte match coded in 2 bits at best, so 1032:1. An IDX
# header that declares more than that many times its gzip file's size cannot be true.
DEFLATE_MAX_RATIO = 1032
# A gzip file that declares more than this many times its size (and more than LARGE_PAYLOAD)
# is refused as a bomb: image and label data compress 2-10x (MNIST 5x, Fashion-MNIST 1.8x);
# only long runs of one value compress 100x and beyond.
GZIP_MAX_RATIO = 100
LARGE_PAYLOAD = 64 << 20  # below this any ratio is accepted (blank test files compress 1000x)
EXTRA_PROBE = 1 << 20  # bytes read past a declared payload to count what follows it

# Pictures: 50 megapixels (an 8,660 x 5,773 photo). Pillow's own check warns at 89 M and
# refuses at 179 M; reading a 49 M-pixel RGBA PNG to float32 peaks at 1.3 GB (an RGB JPEG 0.9).
MAX_IMAGE_PIXELS = 50_000_000
MAX_NPY_HEADER = 10_000  # bytes of a .npy header: numpy's own default, ample for any array

MAX_CSV_BYTES = 256 << 20  # a CSV file
MAX_CSV_ROWS = 2_000_000  # rows of a CSV file (a series of 2 M values)
MAX_TEXT_BYTES = 32 << 20  # a text corpus (War and Peace is 3.2 MB); 8 bytes a character once read

MAX_CIFAR_BATCH_BYTES = 64 << 20  # a CIFAR-10 batch file is 30.7 MB
MAX_CIFAR_META_BYTES = 64 << 10  # batches.meta.txt: ten class names
MAX_ARCHIVE_MEMBERS = 1_000  # the CIFAR-10 archive has 8


def read_into(stream, buffer) -> int:
    """Fill ``buffer`` from ``stream`` in CHUNK-sized reads; the number of bytes read (fewer
    than ``len(buffer)`` only at the end of the stream)."""
    view, filled = memoryview(buffer), 0
    while filled < len(view):
        got = stream.readinto(view[filled:filled + CHUNK])
        if not got:
            break
        filled += got
    return filled


def count_following(stream, limit: int = EXTRA_PROBE) -> int:
    """How many bytes are left in ``stream``, counting (and decompressing) at most ``limit``."""
    counted = 0
    while counted < limit:
        got = len(stream.read(min(CHUNK, limit - counted)))
        if not got:
            break
        counted += got
    return counted


def non_utf8_position(path) -> tuple[int, int] | None:
    """``(line, byte in that line)``, both from 0, of the first byte of the file at ``path``
    that is not UTF-8; None when it is all UTF-8. (No UTF-8 sequence holds a newline byte, so
    the file can be checked a line at a time.)"""
    with open(path, "rb") as fh:
        for line, raw in enumerate(fh):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                return line, err.start
    return None
