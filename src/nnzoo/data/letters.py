"""Capital letters as 10x10 bitmaps, the patterns of the classic Hopfield-network lecture demo.

Each letter is written literally below, one string per row, ``#`` for an "on" pixel and ``.``
for an "off" one. The ``hopfield`` demo stores a few of them and recalls them from damaged copies.

They are also the dataset ``letters`` (task ``associative-memory``, the default of ``nnzoo train
hopfield``): the train split holds the letters to store, the validation and test splits hold
``copies`` copies of each with a fraction ``noise`` of its 100 pixels flipped (exactly
round(noise·100) pixels, chosen at random, seeded). The targets ``y`` are always the clean
letters, so recall is scored by comparing the settled state with ``y``. Options:
``-d letters=AHTX -d noise=0.2 -d copies=25 -d seed=0``.

    >>> letter_bitmaps("TX").shape
    torch.Size([2, 10, 10])
"""

from __future__ import annotations

import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.errors import NnzooError

SIDE = 10

LETTERS: dict[str, tuple[str, ...]] = {
    "A": ("....##....",
          "...####...",
          "..##..##..",
          ".##....##.",
          ".##....##.",
          ".########.",
          ".########.",
          ".##....##.",
          ".##....##.",
          ".##....##."),
    "C": ("..######..",
          ".########.",
          "##......##",
          "##........",
          "##........",
          "##........",
          "##........",
          "##......##",
          ".########.",
          "..######.."),
    "E": ("##########",
          "##########",
          "##........",
          "##........",
          "########..",
          "########..",
          "##........",
          "##........",
          "##########",
          "##########"),
    "H": ("##......##",
          "##......##",
          "##......##",
          "##......##",
          "##########",
          "##########",
          "##......##",
          "##......##",
          "##......##",
          "##......##"),
    "L": ("##........",
          "##........",
          "##........",
          "##........",
          "##........",
          "##........",
          "##........",
          "##........",
          "##########",
          "##########"),
    "O": ("..######..",
          ".########.",
          "##......##",
          "##......##",
          "##......##",
          "##......##",
          "##......##",
          "##......##",
          ".########.",
          "..######.."),
    "T": ("##########",
          "##########",
          "....##....",
          "....##....",
          "....##....",
          "....##....",
          "....##....",
          "....##....",
          "....##....",
          "....##...."),
    "X": ("##......##",
          ".##....##.",
          "..##..##..",
          "...####...",
          "....##....",
          "....##....",
          "...####...",
          "..##..##..",
          ".##....##.",
          "##......##"),
}


def letter_bitmaps(names: str) -> torch.Tensor:
    """The letters ``names`` (e.g. ``"THX"``) as a (k, 10, 10) float tensor of 0/1 pixels."""
    unknown = sorted(set(names) - set(LETTERS))
    if unknown or not names:
        raise NnzooError(f"No 10x10 bitmap for letter(s) {', '.join(unknown) or '(none given)'}; "
                         f"the letters drawn are {''.join(LETTERS)}.")
    return torch.tensor([[[float(c == "#") for c in row] for row in LETTERS[n]] for n in names])


SHAPES = {(SIDE * SIDE,), (SIDE, SIDE), (1, SIDE, SIDE)}


def flip_pixels(patterns: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Copies of 0/1 rows ``patterns`` (M, N) with exactly ``count`` pixels of each flipped."""
    chosen = torch.rand(patterns.shape, generator=generator).argsort(-1)[:, :count]
    flipped = patterns.clone()
    flipped.scatter_(-1, chosen, 1 - patterns.gather(-1, chosen))
    return flipped


def _noisy_split(patterns: torch.Tensor, copies: int, count: int, seed: int) -> Split:
    clean = patterns.repeat(copies, 1)  # copy c of letter i is row c·P + i
    return Split(flip_pixels(clean, count, torch.Generator().manual_seed(seed)), clean)


@register_dataset("letters", task="associative-memory",
                  description="10x10 letters to store, and copies with flipped pixels to recall "
                              "(-d letters=AHTX -d noise=0.2)")
def load_letters(*, input_shape=None, letters: str = "AHTX", noise: float = 0.2, copies: int = 25,
                 seed: int = 0) -> DataBundle:
    """The letters ``letters`` as 0/1 rows to store; validation and test copies with a fraction
    ``noise`` of the pixels flipped (seeds ``seed + 1`` and ``seed``), targets the clean rows."""
    shape = tuple(input_shape) if input_shape is not None else (SIDE * SIDE,)
    if shape not in SHAPES:
        raise NnzooError(f"The letters are {SIDE}x{SIDE} bitmaps ({SIDE * SIDE} pixels); a model "
                         f"taking inputs of shape {shape} cannot hold them (for hopfield, "
                         f"-o size={SIDE * SIDE}).")
    if not 0 <= float(noise) <= 1 or int(copies) < 1:
        raise NnzooError(f"Letters take 0 <= noise <= 1 (the fraction of pixels flipped) and "
                         f"copies >= 1; got noise={noise}, copies={copies}.")
    letters = str(letters).upper()
    patterns = letter_bitmaps(letters).reshape(len(letters), SIDE * SIDE)
    count = round(float(noise) * SIDE * SIDE)
    splits = [Split(patterns, patterns.clone()), _noisy_split(patterns, int(copies), count, seed + 1),
              _noisy_split(patterns, int(copies), count, seed)]
    splits = [Split(split.x.reshape(-1, *shape), split.y.reshape(-1, *shape)) for split in splits]
    info = {"letters": letters, "noise": float(noise), "flipped": count, "copies": int(copies),
            "seed": seed, "side": SIDE}
    return DataBundle("letters", *splits, task="associative-memory", input_shape=shape, info=info)
