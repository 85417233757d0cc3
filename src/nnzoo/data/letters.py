"""Capital letters as 10x10 bitmaps, the patterns of the classic Hopfield-network lecture demo.

Each letter is written literally below, one string per row, ``#`` for an "on" pixel and ``.``
for an "off" one. They are not a registered dataset (a handful of patterns, no split); the
``hopfield`` demo stores a few of them and recalls them from damaged copies.

    >>> letter_bitmaps("TX").shape
    torch.Size([2, 10, 10])
"""

from __future__ import annotations

import torch

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
