"""Character corpora for language models: a text as one long stream of character ids.

    text    ``files/corpus.txt``, "The Learning Machines", about 18 KB of plain English written
            for nnzoo (public domain); or any UTF-8 file given with ``path=``

The alphabet is the sorted set of characters of the whole text (``info["alphabet"]``); class
``k`` is character ``alphabet[k]``. The stream is cut in order into train / validation / test
(90 / 5 / 5 %), and each part into consecutive, non-overlapping windows of ``seq_len`` characters
(default: the model's input length, else 100):

    x[i] = s[i·T : (i+1)·T]          y[i] = s[i·T + 1 : (i+1)·T + 1]       (N, T) int64

so the target at every step is the next character (task ``language-model``: per-step
classification). Because the windows are consecutive, ``nnzoo.train.bptt`` can put the stream
back together (:func:`stream_of`) and train with truncated back-propagation through time,
carrying the state from one window to the next; ``seq_len`` is then the truncation length k.
"""

from __future__ import annotations

from importlib import resources
from itertools import pairwise

import numpy as np
import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.data._limits import MAX_TEXT_BYTES
from nnzoo.errors import NnzooError

CORPUS = "files/corpus.txt"


def read_corpus(path=None) -> tuple[str, str]:
    """The text of ``path`` (or of the shipped corpus) and a name for where it came from."""
    if path is None:
        return resources.files("nnzoo.data").joinpath(CORPUS).read_text(encoding="utf-8"), \
            "nnzoo corpus: The Learning Machines"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_TEXT_BYTES + 1)  # never more than the limit, whatever the file
    except OSError as err:
        raise NnzooError(f"Cannot read text file {str(path)!r}: {err}. Expected a UTF-8 text "
                         f"file.") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise NnzooError(f"Text file {str(path)!r} is larger than the {MAX_TEXT_BYTES:,} bytes "
                         f"nnzoo reads as a corpus (nnzoo.data._limits.MAX_TEXT_BYTES); use a "
                         f"shorter text.")
    try:
        return raw.decode("utf-8"), str(path)
    except UnicodeDecodeError as err:
        line, start = raw.count(b"\n", 0, err.start), raw.rfind(b"\n", 0, err.start) + 1
        raise NnzooError(f"Text file {str(path)!r} is not UTF-8 text: line {line + 1} holds a "
                         f"byte that is not UTF-8 (byte {err.start - start + 1} of the line); "
                         f"expected a UTF-8 text file.") from None


def encode_text(text: str, alphabet: str) -> torch.Tensor:
    """Characters → ids in ``alphabet``; a character outside it is an error. (Vectorised over
    the code points: a corpus of tens of millions of characters encodes in a second.)"""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")  # one code point a character
    table = np.frombuffer(alphabet.encode("utf-32-le"), dtype="<u4")
    lookup = np.full(int(max(codes.max(initial=0), table.max(initial=0))) + 1, -1, np.int64)
    lookup[table] = np.arange(len(table))  # code point -> id; -1 outside the alphabet
    ids = lookup[codes]
    if (ids < 0).any():
        missing = "".join(map(chr, np.unique(codes[ids < 0])))
        raise NnzooError(f"Characters {missing!r} are not in the model's alphabet "
                         f"{alphabet!r}; use only characters of the training text.")
    return torch.from_numpy(ids)


def decode_text(ids, alphabet: str) -> str:
    return "".join(alphabet[i] for i in (ids.tolist() if hasattr(ids, "tolist") else ids))


def consecutive_windows(ids: torch.Tensor, seq_len: int) -> Split:
    """Non-overlapping windows of ``ids`` and their next-character targets, in order."""
    n = (len(ids) - 1) // seq_len
    x = ids[:n * seq_len].view(n, seq_len)
    y = ids[1:n * seq_len + 1].view(n, seq_len)
    return Split(x.clone(), y.clone())


def stream_of(split: Split) -> torch.Tensor:
    """The character stream behind consecutive windows: x flattened plus the last target."""
    return torch.cat([split.x.reshape(-1), split.y[-1:, -1]])


@register_dataset("text", task="language-model",
                  description="characters of a text (the shipped corpus, or -d path=FILE)")
def load_text(*, input_shape=None, path: str | None = None, seq_len: int | None = None) -> DataBundle:
    if seq_len is None:  # a model reading windows of T characters sets T
        seq_len = int(input_shape[0]) if input_shape else 100
    if not isinstance(seq_len, int) or seq_len < 2:
        raise NnzooError(f"Dataset 'text': seq_len must be an integer >= 2; got {seq_len!r}.")
    text, source = read_corpus(path)
    alphabet = "".join(sorted(set(text)))
    ids = encode_text(text, alphabet)
    cuts = (0, int(0.9 * len(ids)), int(0.95 * len(ids)), len(ids))
    parts = [consecutive_windows(ids[a:b], seq_len) for a, b in pairwise(cuts)]
    if min(len(p) for p in parts) < 1:
        raise NnzooError(f"Text {source!r} has {len(ids)} characters, too few for windows of "
                         f"{seq_len} in each of its 90/5/5 % parts (need about "
                         f"{20 * (seq_len + 1)}); use a longer text or a smaller seq_len.")
    return DataBundle("text", *parts, task="language-model", num_classes=len(alphabet),
                      class_names=list(alphabet), input_shape=(seq_len,),
                      info={"alphabet": alphabet, "source": source, "characters": len(ids),
                            "seq_len": seq_len})
