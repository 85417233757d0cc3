"""One line per epoch, for logs and terminals without a progress bar (Keras' ``verbose=2``)."""

from __future__ import annotations

import sys

SHOWN = ("loss", "top1", "val_loss", "val_top1")


def format_row(row: dict, epochs: int) -> str:
    """``epoch 3/10  loss 0.4123  top1 0.8811  val_loss 0.4410  val_top1 0.8702  (2.1 s)``: the
    usual metrics first, then any other number the learner reports."""
    shown = [k for k in SHOWN if k in row] + \
        [k for k in row if k not in SHOWN and k not in ("epoch", "seconds", "lr")
         and isinstance(row[k], (int, float)) and not isinstance(row[k], bool)]
    values = "  ".join(f"{k} {row[k]:.4f}" if k in SHOWN else
                       f"{k} {row[k]:.4g}" if isinstance(row[k], float) else f"{k} {row[k]}"
                       for k in shown)
    return f"epoch {row['epoch']}/{epochs}  {values}  ({row.get('seconds', 0.0):.1f} s)"


class EpochLog:
    """Print each finished epoch's metrics as one line, flushed at once."""

    def __init__(self, file=None):
        self.file = file

    def on_epoch_end(self, state) -> None:
        out = self.file or sys.stderr
        print(format_row(state.history[-1], state.epochs), file=out, flush=True)
