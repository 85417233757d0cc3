"""Save the weights at the end of every ``every``-th epoch (for inspection or a restart)."""

from __future__ import annotations


class Checkpoint:
    """Write ``checkpoint.safetensors`` into the run folder; the epoch is in its metadata."""

    def __init__(self, folder, every: int = 1, name: str = "checkpoint.safetensors"):
        self.folder = folder
        self.every = every
        self.name = name
        self.saved_epochs: list[int] = []

    def on_epoch_end(self, state) -> None:
        if state.epoch % self.every == 0:
            self.folder.save_weights(state.model, {**state.config, "epoch": state.epoch}, self.name)
            self.saved_epochs.append(state.epoch)
