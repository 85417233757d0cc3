"""Synthetic sequence tasks: two long-range memory benchmarks and three small seq2seq problems.

Memory benchmarks (a sequence model must carry information across T steps):

    adding   Hochreiter & Schmidhuber (1997), experiment 4, in the form of Le, Jaitly & Hinton
             (2015): x (N, T, 2), channel 0 values uniform in [0, 1], channel 1 a marker that
             is 1 at two steps (one in each half of the sequence) and 0 elsewhere; the target
             (N, 1) is the sum of the two marked values. Task ``regress``. Always answering
             E[sum] = 1 scores MSE = Var(u1 + u2) = 2/12 ≈ 0.167: a model must beat that.
    copy     Hochreiter & Schmidhuber (1997) / Arjovsky, Shah & Bengio (2016): ten symbols
             from {1..8}, T - 1 blanks (0), a delimiter (9), then ten blanks; one-hot inputs
             (N, T + 20, 10). The target at every step is blank, except the last ten steps,
             which must repeat the ten symbols. Task ``classify`` with per-step targets (N, T + 20).
             A memoryless model scores cross-entropy 10 log 8 / (T + 20) ≈ 0.173 at T = 100.

Seq2seq problems over digit strings, sharing one vocabulary ``TOKENS`` (pad, start, end,
0-9, +). ``x`` is the pair ``(src, tgt_in)`` and ``y`` is ``tgt_out``, for teacher forcing:

    src      (N, S)  source tokens, padded with PAD
    tgt_in   (N, U)  BOS followed by the target, padded with PAD
    tgt_out  (N, U)  the target followed by EOS, padded with -100 (ignored by the loss)

    reversal      "31415" → "51413"  (lengths ``min_len``..``max_len``)
    seq2seq-copy  "31415" → "31415"
    addition      "123+45" → "168"   (operands of 1..``digits`` digits)

Every split is generated from a fixed seed; seq2seq test and validation sources never occur in
the training split, so exact-match on them is measured on held-out sequences.
"""

from __future__ import annotations

import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.errors import NnzooError

IGNORE_INDEX = -100
TOKENS = ("<pad>", "<s>", "</s>", *"0123456789+")
PAD, BOS, EOS = 0, 1, 2
_INDEX = {t: i for i, t in enumerate(TOKENS)}


def _check_positive(name: str, **values) -> None:
    for key, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise NnzooError(f"Dataset {name!r}: option {key} must be a positive integer; "
                             f"got {value!r}.")


# ---- memory benchmarks ------------------------------------------------------------------------

def adding_problem(n: int, steps: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` adding-problem sequences: x (n, T, 2) and the sums of the marked values y (n, 1)."""
    values = torch.rand(n, steps, generator=generator)                       # (n, T)
    half = steps // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, steps, (n,), generator=generator)
    marker = torch.zeros(n, steps)
    rows = torch.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)            # (n, 1)
    return torch.stack([values, marker], dim=2), y


def copy_task(n: int, steps: int, generator: torch.Generator, symbols: int = 8,
              length: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` copy-task sequences: one-hot x (n, T + 2·length, symbols + 2), targets (n, T + 2·length)."""
    data = torch.randint(1, symbols + 1, (n, length), generator=generator)
    blank, delimiter = 0, symbols + 1
    total = steps + 2 * length
    ids = torch.full((n, total), blank, dtype=torch.long)
    ids[:, :length] = data
    ids[:, length + steps - 1] = delimiter                                   # after T - 1 blanks
    y = torch.full((n, total), blank, dtype=torch.long)
    y[:, -length:] = data
    return torch.nn.functional.one_hot(ids, symbols + 2).float(), y


def _splits(make, sizes, seed):
    g = torch.Generator().manual_seed(seed)
    return [Split(*make(n, g)) for n in sizes]


@register_dataset("adding", task="regress",
                  description="adding problem (Hochreiter & Schmidhuber 1997): sum of 2 marked values in T")
def load_adding(*, T: int = 100, n_train: int = 10_000, n_val: int = 1_000, n_test: int = 2_000,
                seed: int = 0) -> DataBundle:
    _check_positive("adding", T=T, n_train=n_train, n_val=n_val, n_test=n_test)
    if T < 2:
        raise NnzooError(f"Dataset 'adding': T must be at least 2 (one marker per half); got {T}.")
    parts = _splits(lambda n, g: adding_problem(n, T, g), (n_train, n_val, n_test), seed)
    return DataBundle("adding", *parts, task="regress", input_shape=(T, 2),
                      info={"T": T, "seed": seed, "baseline_mse": 1 / 6,
                            "baseline": "always answer 1.0: MSE = Var(u1 + u2) = 1/6"})


@register_dataset("copy", task="classify",
                  description="copy task: repeat 10 symbols after T blanks (per-step targets)")
def load_copy(*, T: int = 100, n_train: int = 10_000, n_val: int = 1_000, n_test: int = 2_000,
              seed: int = 0) -> DataBundle:
    _check_positive("copy", T=T, n_train=n_train, n_val=n_val, n_test=n_test)
    parts = _splits(lambda n, g: copy_task(n, T, g), (n_train, n_val, n_test), seed)
    names = ["blank", *(str(s) for s in range(1, 9)), "delimiter"]
    return DataBundle("copy", *parts, task="classify", num_classes=10, class_names=names,
                      input_shape=(T + 20, 10),
                      info={"T": T, "seed": seed, "baseline_loss": 10 * torch.log(torch.tensor(8.0)).item() / (T + 20),
                            "baseline": "blanks, then a uniform guess over the 8 symbols"})


# ---- seq2seq problems over digit strings ------------------------------------------------------

def encode(strings: list[str]) -> torch.Tensor:
    """Strings of TOKENS characters → ids (N, max length), padded with PAD."""
    width = max(1, max((len(s) for s in strings), default=1))
    rows = [[_INDEX[c] for c in text] + [PAD] * (width - len(text)) for text in strings]
    return torch.tensor(rows, dtype=torch.long).view(len(strings), width)


def decode(ids) -> str:
    """Token ids → the string they spell, stopping at the first EOS (PAD and BOS skipped)."""
    out = []
    for i in (ids.tolist() if hasattr(ids, "tolist") else ids):
        if i == EOS:
            break
        if i > EOS:
            out.append(TOKENS[i])
    return "".join(out)


def seq2seq_tensors(sources: list[str], targets: list[str]) -> Split:
    """The split ``((src, tgt_in), tgt_out)`` for pairs of strings."""
    src = encode(sources)
    body = encode(targets)                                                   # (N, U - 1)
    n, width = body.shape
    tgt_in = torch.cat([torch.full((n, 1), BOS), body], dim=1)              # (N, U)
    tgt_out = torch.cat([body, torch.full((n, 1), PAD)], dim=1)
    lengths = torch.tensor([len(t) for t in targets])
    tgt_out[torch.arange(n), lengths] = EOS
    tgt_out[torch.arange(width + 1)[None, :] > lengths[:, None]] = IGNORE_INDEX
    return Split((src, tgt_in), tgt_out)


def _digit_strings(g: torch.Generator, n: int, low: int, high: int) -> list[str]:
    """``n`` random digit strings with lengths uniform in ``low``..``high``."""
    lengths = torch.randint(low, high + 1, (n,), generator=g).tolist()
    digits = torch.randint(0, 10, (n, high), generator=g).tolist()
    return ["".join(map(str, row[:k])) for row, k in zip(digits, lengths)]


def _problems(kind: str, g: torch.Generator, n: int, min_len: int, max_len: int,
              digits: int) -> list[tuple[str, str]]:
    if kind == "addition":
        a, b = (map(int, _digit_strings(g, n, 1, digits)) for _ in range(2))
        return [(f"{x}+{y}", str(x + y)) for x, y in zip(a, b)]
    texts = _digit_strings(g, n, min_len, max_len)
    return [(t, t[::-1] if kind == "reversal" else t) for t in texts]


def seq2seq_bundle(kind: str, *, n_train: int, n_val: int, n_test: int, min_len: int = 1,
                   max_len: int = 1, digits: int = 1, seed: int = 0) -> DataBundle:
    """Unique problems of ``kind``; validation and test sources never occur in training."""
    g = torch.Generator().manual_seed(seed)
    wanted, seen = n_train + n_val + n_test, {}
    for _ in range(20):  # draw in batches until enough distinct sources (or give up)
        for src, tgt in _problems(kind, g, wanted, min_len, max_len, digits):
            if len(seen) < wanted:
                seen.setdefault(src, tgt)
        if len(seen) == wanted:
            break
    if len(seen) < wanted:
        raise NnzooError(f"Dataset {kind!r} has only {len(seen)} distinct problems of this size, "
                         f"fewer than the {wanted} asked for; raise max_len / digits or ask for "
                         f"fewer samples.")
    pairs = list(seen.items())  # insertion order: reproducible for a seed
    cuts = (pairs[:n_train], pairs[n_train:n_train + n_val], pairs[n_train + n_val:])
    splits = [seq2seq_tensors([s for s, _ in part], [t for _, t in part]) for part in cuts]
    width = max(s.x[0].shape[1] for s in splits)
    splits = [Split((_pad(s.x[0], width, PAD), s.x[1]), s.y) for s in splits]
    return DataBundle(kind, *splits, task="seq2seq", num_classes=len(TOKENS),
                      class_names=list(TOKENS), input_shape=(width,),
                      info={"tokens": list(TOKENS), "pad": PAD, "bos": BOS, "eos": EOS,
                            "seed": seed, "max_target": max(s.y.shape[1] for s in splits)})


def _pad(ids: torch.Tensor, width: int, value: int) -> torch.Tensor:
    return torch.nn.functional.pad(ids, (0, width - ids.shape[1]), value=value)


@register_dataset("reversal", task="seq2seq", description="seq2seq: reverse a digit string")
def load_reversal(*, min_len: int = 3, max_len: int = 8, n_train: int = 20_000, n_val: int = 500,
                  n_test: int = 1_000, seed: int = 0) -> DataBundle:
    _check_positive("reversal", min_len=min_len, max_len=max_len, n_train=n_train, n_val=n_val,
                    n_test=n_test)
    return seq2seq_bundle("reversal", n_train=n_train, n_val=n_val, n_test=n_test,
                          min_len=min_len, max_len=max(min_len, max_len), seed=seed)


@register_dataset("seq2seq-copy", task="seq2seq", description="seq2seq: copy a digit string")
def load_seq2seq_copy(*, min_len: int = 3, max_len: int = 8, n_train: int = 20_000,
                      n_val: int = 500, n_test: int = 1_000, seed: int = 0) -> DataBundle:
    _check_positive("seq2seq-copy", min_len=min_len, max_len=max_len, n_train=n_train,
                    n_val=n_val, n_test=n_test)
    return seq2seq_bundle("seq2seq-copy", n_train=n_train, n_val=n_val, n_test=n_test,
                          min_len=min_len, max_len=max(min_len, max_len), seed=seed)


@register_dataset("addition", task="seq2seq", description='seq2seq: "123+45" -> "168"')
def load_addition(*, digits: int = 3, n_train: int = 20_000, n_val: int = 500,
                  n_test: int = 1_000, seed: int = 0) -> DataBundle:
    _check_positive("addition", digits=digits, n_train=n_train, n_val=n_val, n_test=n_test)
    return seq2seq_bundle("addition", n_train=n_train, n_val=n_val, n_test=n_test, digits=digits,
                          seed=seed)
