"""The run folder: one writer at a time, every file written whole.

    runs/lenet5-digits-20261201-101500/
        config.json              the complete configuration: model, data, training, seed
        checkpoint.safetensors   after every epoch: all a resume needs (weights, optimizer,
                                 schedule, early stopping, every random stream, the history)
        history.csv              one row per finished epoch, rewritten after each
        metrics.json             test_top1, test_loss, epochs, train_seconds, samples_per_second
        weights.safetensors      the weights kept (no pickle), the config in its metadata
        curves.png, ...          loss and accuracy per epoch; the task's pictures

A writer holds an exclusive ``flock`` on the folder for as long as it is open, so a second
writer is refused at once, and the lock goes with the process however it ends (``kill -9``
included). Files are written by :func:`~nnzoo.runs._files.write_durably`; temporary files a
killed writer left are removed by the next one. Under ``torch.distributed`` only rank 0 writes;
the other ranks' writes are no-ops.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import shutil
from pathlib import Path

from nnzoo.errors import NnzooError
from nnzoo.os_errors import describe, explain
from nnzoo.runs._files import atomic_write_bytes, dumps, remove_stale, write_durably

CHECKPOINT = "checkpoint.safetensors"
RUN_MARKERS = ("config.json", "metrics.json", "weights.safetensors", CHECKPOINT)
# What a run writes besides its markers; ``--overwrite`` clears these and nothing else.
RUN_OUTPUTS = ("history.csv",)
RUN_OUTPUT_SUFFIXES = (".png",)
RUN_OUTPUT_FOLDERS = ("tensorboard", "second_run")


def is_main_process() -> bool:
    """Rank 0 of a distributed run (torchrun sets RANK before the process group exists), or
    the only process: the one that writes the run."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank() == 0
    except ImportError:  # pragma: no cover
        pass
    return os.environ.get("RANK", "0") == "0"


def claim_new_folder(base: Path) -> Path:
    """A folder that did not exist, made now: ``base``, else ``base-2``, ``base-3``... Two runs
    started in the same second with the same default name get two folders (``mkdir`` is atomic)."""
    base = Path(base)
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        for number in range(1, 10_000):
            path = base if number == 1 else base.with_name(f"{base.name}-{number}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
    except OSError as err:
        raise explain(err, "make a run folder", err.filename or base) from None
    raise NnzooError(f"Could not find a free run folder name beside {str(base)!r}.")


def _disk_error(err: Exception, what: str, path: Path) -> NnzooError:
    code = getattr(err, "errno", None)
    if code is None:  # safetensors' "... I/O error: File too large (os error 27)"
        found = re.search(r"os error (\d+)", str(err))
        code = int(found.group(1)) if found else None
    reason = describe(OSError(code, str(err)))[0] if code else str(err)
    return NnzooError(f"Could not write {what} {str(path)!r}: {reason}. Files already written "
                      f"in the run folder were kept whole; put that right (free some space, "
                      f"make the folder writable) and resume the run with `nnzoo train --resume "
                      f"{path.parent}`.")


class RunFolder:
    """A folder holding one run, locked for this writer.

    ``resume=False`` refuses a folder that already holds a run unless ``overwrite``; the old
    run's files are cleared only when the new run writes its first file after its config (its
    first checkpoint, or a GAN's first sample grid), so a new run that fails its checks or is
    stopped in its first epoch leaves the old one as it was. ``resume=True`` requires a checkpoint.
    ``made=True`` says the caller just made the (empty) folder, which :meth:`discard_unstarted`
    may then remove.
    """

    def __init__(self, path, *, overwrite: bool = False, resume: bool = False, made: bool = False):
        self.path = Path(path)
        self.active = is_main_process()
        self.overwrite = overwrite
        self._made_folder = made
        self._written: list[str] = []
        self._lock_fd: int | None = None
        self._pending_config: dict | None = None  # under overwrite: written with the first file
        try:
            is_file = self.path.exists() and not self.path.is_dir()
        except OSError as err:  # a name too long, a folder that may not be searched
            raise explain(err, "use the run folder", self.path) from None
        if is_file:
            raise NnzooError(f"Output path {str(self.path)!r} exists and is a file; expected a "
                             f"folder for the run (or a new name).")
        if not self.active:
            return
        if resume:
            self._require_checkpoint()  # before the lock, which would make a missing folder
        self._lock()
        taken = [] if resume else self.held_run()
        if taken and not overwrite:
            self.close()
            raise NnzooError(
                f"Output folder {str(self.path)!r} already holds another run ({', '.join(taken)}); "
                f"nothing was overwritten. Choose a new --out folder, pass --overwrite to replace "
                f"it, or --resume it to continue its training.")
        self.stale_removed = remove_stale(self.path)

    # -- the lock ------------------------------------------------------------------------------
    def _lock(self) -> None:
        if not self.path.exists():
            try:
                self.path.mkdir(parents=True)
                self._made_folder = True
            except FileExistsError:
                pass
            except OSError as err:
                raise explain(err, "make the run folder", self.path) from None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as err:
            raise explain(err, "open the run folder", self.path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise NnzooError(f"Run folder {str(self.path)!r} is being written by another nnzoo "
                             f"process; a run folder has one writer at a time. Wait for it to "
                             f"finish, or choose another --out folder.") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Give up the lock (also done when the process ends, however it ends)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what the folder holds -----------------------------------------------------------------
    def held_run(self) -> list[str]:
        """The run files the folder holds. A config.json alone is a run stopped before its
        first epoch finished (``kill -9`` early, a crash): nothing to keep, so it does not
        count, and a new run may take the folder."""
        held = [m for m in RUN_MARKERS if (self.path / m).exists()]
        return [] if held == ["config.json"] else held

    def _require_checkpoint(self) -> None:
        if not (self.path / CHECKPOINT).exists():
            held = self.held_run() if self.path.is_dir() else []
            started = (self.path / "config.json").exists()
            what = (f"holds a run without a checkpoint ({', '.join(held)}), written before nnzoo "
                    f"wrote checkpoints" if held else
                    "holds a run stopped before its first epoch finished; start it again with "
                    "the same command" if started else "holds no run")
            self.close()
            raise NnzooError(f"Cannot resume {str(self.path)!r}: it {what}. Expected a run "
                             f"folder with the {CHECKPOINT} that `nnzoo train` writes after "
                             f"every epoch.")

    def file(self, name: str) -> Path:
        return self.path / name

    def start(self, config: dict) -> None:
        """Begin a new run: write its config.json, or under ``overwrite`` of a folder holding a
        run, keep it until the new run's first other file (:meth:`_replace_old_run`)."""
        if not self.active:
            return
        if self.overwrite and self.held_run():
            self._pending_config = config
        else:
            self.write_json("config.json", config)

    def _replace_old_run(self) -> None:
        config, self._pending_config = self._pending_config, None
        for path in self.path.iterdir():
            if path.is_file() and (path.name in RUN_MARKERS + RUN_OUTPUTS
                                   or path.suffix in RUN_OUTPUT_SUFFIXES):
                path.unlink()
            elif path.is_dir() and path.name in RUN_OUTPUT_FOLDERS:
                shutil.rmtree(path)
        self.write_json("config.json", config)

    def discard_unstarted(self) -> None:
        """Remove what a run that failed before its first checkpoint wrote (its config.json),
        and the folder if this run made it, so the same folder can be used again. A run that
        got further keeps its files (a checkpoint to resume from)."""
        if not self.active or not self.path.is_dir():
            return
        if set(self._written) <= {"config.json"}:
            if self._written:
                self.file("config.json").unlink(missing_ok=True)
            if self._made_folder and not any(self.path.iterdir()):
                self.path.rmdir()

    # -- writing -------------------------------------------------------------------------------
    def _write(self, name: str, what: str, write) -> Path | None:
        if not self.active:
            return None
        if self._pending_config is not None:
            self._replace_old_run()
        try:
            write(self.file(name))
        except Exception as err:  # safetensors reports a failed write as its own error type
            if not isinstance(err, OSError) and "os error" not in str(err):
                raise
            raise _disk_error(err, what, self.file(name)) from None
        self._written.append(name)
        return self.file(name)

    def write_bytes(self, name: str, data: bytes) -> Path | None:
        return self._write(name, "file", lambda path: atomic_write_bytes(path, data))

    def write_text(self, name: str, text: str) -> Path | None:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, obj) -> Path | None:
        """Strict JSON: a NaN or infinity is written as null."""
        return self.write_text(name, dumps(obj))

    def save_figure(self, fig, name: str, dpi: int = 120) -> Path | None:
        """Save a matplotlib figure atomically and close it."""
        import matplotlib.pyplot as plt

        try:
            if not self.active:
                return None
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
            return self.write_bytes(name, buffer.getvalue())
        finally:
            plt.close(fig)

    def save_weights(self, model, config: dict | None = None,
                     name: str = "weights.safetensors") -> Path | None:
        """The model's state dict as safetensors, with ``config`` as JSON in the metadata."""
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        metadata = {"nnzoo_config": dumps(config or {})}
        return self._write(name, "weights", lambda path: write_durably(
            path, lambda tmp: save_file(state, tmp, metadata=metadata)))

    def save_result(self, model, config: dict, metrics: dict, **details) -> None:
        """The end of a run: weights.safetensors (the run's config and ``metrics`` in its
        header), then metrics.json (``metrics`` and ``details``, such as the history)."""
        self.save_weights(model, {**config, "result": metrics})
        self.write_json("metrics.json", {**metrics, **details})

    def save_checkpoint(self, snapshot, **extra) -> Path | None:
        """Write a :class:`~nnzoo.runs.checkpoint.Snapshot` (with ``extra`` entries) as the
        run's checkpoint."""
        return self._write(CHECKPOINT, "the checkpoint", lambda path: snapshot.save(path, **extra))

    def load_checkpoint(self, *, progress_only: bool = False) -> dict:
        from nnzoo.runs.checkpoint import load_checkpoint

        return load_checkpoint(self.file(CHECKPOINT), progress_only=progress_only)
