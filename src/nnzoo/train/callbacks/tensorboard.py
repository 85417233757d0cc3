"""TensorBoard scalars (``--tensorboard``): every number of each epoch's row, under the run
folder's ``tensorboard/``. Needs the optional ``tensorboard`` package (``pip install
nnzoo[tensorboard]``)."""

from __future__ import annotations

from nnzoo.errors import NnzooError


class TensorBoardScalars:
    def __init__(self, logdir):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise NnzooError("--tensorboard needs the tensorboard package, which is not "
                             "installed; install it with `pip install tensorboard` (or "
                             "`pip install nnzoo[tensorboard]`), or leave the flag out.") from None
        self.writer = SummaryWriter(str(logdir))

    def on_epoch_end(self, state) -> None:
        row = state.history[-1]
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                group = "val" if key.startswith("val_") else "train"
                self.writer.add_scalar(f"{group}/{key.removeprefix('val_')}", value, row["epoch"])
        self.writer.flush()

    def on_train_end(self, state) -> None:
        self.writer.close()
