"""The recurrent cells that sequence models take by name (``-o cell=...``), listed once.

``nnzoo.models.sequence`` builds its layers from this table, the registry's unknown-model hint
recognises a cell name from it, and ``nnzoo show gradients`` offers its names and labels. It
imports nothing, torch least of all, so that ``nnzoo --help`` and the registry can read it
without loading a model module (the registry importing ``nnzoo.models.sequence`` for this list
was an import circle: that module imports the registry to register itself).
"""

from __future__ import annotations

from typing import NamedTuple


class Cell(NamedTuple):
    """One cell: the ``nnzoo.layers`` class that runs it, that class's keyword arguments, and the
    name a picture gives it."""

    layer: str
    options: dict
    label: str


CELLS: dict[str, Cell] = {
    "rnn": Cell("RNN", {}, "Elman RNN (tanh)"),
    "irnn": Cell("RNN", {"nonlinearity": "relu"}, "IRNN (ReLU, W_hh = I)"),
    "lstm": Cell("LSTM", {}, "LSTM"),
    "peephole": Cell("LSTM", {"peephole": True}, "peephole LSTM"),
    "coupled": Cell("LSTM", {"coupled": True}, "coupled-gate LSTM"),
    "gru": Cell("GRU", {}, "GRU"),
    "jordan": Cell("JordanRNN", {}, "Jordan network"),
    "clockwork": Cell("ClockworkRNN", {}, "Clockwork RNN (periods 1-8)"),
}
CELL_NAMES = tuple(CELLS)

# other names people try for a cell, e.g. as a model name: `nnzoo train elman`
CELL_ALIASES = {"elman": "rnn", "cwrnn": "clockwork"}
