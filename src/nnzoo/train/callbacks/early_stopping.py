"""Early stopping on validation loss, restoring the best weights (Prechelt 1998)."""

from __future__ import annotations

import copy


class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    The weights of the best epoch are kept (a copy of the state dict) and put back at the end,
    so the returned model is the one that did best on validation data, not the last one. Its
    state (the best value, epoch and weights) goes into the run's checkpoint, so a resumed run
    stops where an uninterrupted one would.
    """

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 restore_best: bool = True):
        self.patience = patience
        self.monitor = monitor
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.best = float("inf")
        self.best_epoch = 0
        self.best_state = None
        self.stopped_epoch: int | None = None
        self.restored = False  # whether on_train_end put the best weights back

    def on_epoch_end(self, state) -> None:
        value = state.history[-1][self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, state.epoch
            self.best_state = copy.deepcopy(state.model.state_dict())
        elif state.epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop = True

    def on_train_end(self, state) -> None:
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)
            self.restored = True
        state.best_epoch = self.best_epoch

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "best_state": self.best_state,
                "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.best_state, self.stopped_epoch = state["best_state"], state["stopped_epoch"]
