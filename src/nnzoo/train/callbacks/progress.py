"""A progress bar over all training steps, with loss and accuracy after each epoch."""

from __future__ import annotations

import sys


class ProgressBar:
    """tqdm bar on stderr; the postfix is refreshed once per epoch (no per-step host sync)."""

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self.bar = None

    def on_train_begin(self, state) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.epochs * state.steps_per_epoch, unit="step", file=self.file,
                        initial=state.epoch * state.steps_per_epoch,  # a resumed run
                        desc=f"epoch {state.epoch + 1}/{state.epochs}", dynamic_ncols=True,
                        leave=True)

    def on_step_end(self, state) -> None:
        self.bar.update(1)

    def on_epoch_end(self, state) -> None:
        row = state.history[-1]
        shown = {k: f"{row[k]:.4f}" for k in ("loss", "val_loss", "top1", "val_top1") if k in row}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.set_description(f"epoch {min(state.epoch + 1, state.epochs)}/{state.epochs}")

    def on_train_end(self, state) -> None:
        if self.bar is not None:
            if state.stop:  # early stop: show the bar as ended where it ended
                self.bar.total = self.bar.n
            self.bar.close()
