"""The run folder: everything a training run writes, in one place, written atomically.

    runs/lenet5-digits-20261123-101500/
        config.json           the resolved configuration (model, options, data, training)
        metrics.json          test_top1, test_loss, epochs, train_seconds, samples_per_second, history
        weights.safetensors   the trained weights (no pickle), the config in its metadata
        curves.png            loss and accuracy per epoch, the early-stopping epoch marked

Every file is written to a temporary name and renamed when complete, so an interrupted run never
leaves a half-written file and never clobbers another run's. Under ``torch.distributed`` only
rank 0 writes; the other ranks' writes are no-ops.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path

from nnzoo.errors import NnzooError

RUN_MARKERS = ("config.json", "metrics.json", "weights.safetensors")


def is_main_process() -> bool:
    try:
        import torch.distributed as dist

        return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
    except ImportError:  # pragma: no cover
        return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunFolder:
    """A folder that holds one run. Refuses a folder that already holds another run."""

    def __init__(self, path, *, overwrite: bool = False):
        self.path = Path(path)
        self.active = is_main_process()
        if self.path.exists() and not self.path.is_dir():
            raise NnzooError(f"Output path {str(self.path)!r} exists and is a file; expected a "
                             f"folder for the run (or a new name).")
        taken = [m for m in RUN_MARKERS if (self.path / m).exists()]
        self._held_a_run = bool(taken)
        self._made_folder = False
        self._written: list[str] = []
        if taken and not overwrite:
            raise NnzooError(
                f"Output folder {str(self.path)!r} already holds another run ({', '.join(taken)}); "
                f"nothing was overwritten. Choose a new --out folder, or pass --overwrite to replace it.")
        # The folder itself is made on the first write, so a run that fails before it writes
        # anything (bad data, a model that does not fit) leaves no empty folder behind.

    def _ensure(self) -> None:
        if not self.path.exists():
            self._made_folder = True
        self.path.mkdir(parents=True, exist_ok=True)

    def discard_unstarted(self) -> None:
        """Remove what a run that failed before training wrote (its config.json, nothing else),
        so that the same folder can be used again. A run that got further keeps its files (a
        checkpoint to resume from), and a folder that held a run before is left as it is."""
        if self.active and self._written == ["config.json"] and not self._held_a_run:
            self.file("config.json").unlink(missing_ok=True)
            if self._made_folder and not any(self.path.iterdir()):
                self.path.rmdir()

    def file(self, name: str) -> Path:
        return self.path / name

    def write_bytes(self, name: str, data: bytes) -> Path | None:
        if not self.active:
            return None
        self._ensure()
        atomic_write_bytes(self.file(name), data)
        self._written.append(name)
        return self.file(name)

    def write_text(self, name: str, text: str) -> Path | None:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, obj) -> Path | None:
        return self.write_text(name, json.dumps(obj, indent=2, default=_jsonable) + "\n")

    def save_figure(self, fig, name: str, dpi: int = 120) -> Path | None:
        """Save a matplotlib figure atomically and close it."""
        import io

        import matplotlib.pyplot as plt

        try:
            if not self.active:
                return None
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
            return self.write_bytes(name, buffer.getvalue())
        finally:
            plt.close(fig)

    def save_result(self, model, config: dict, metrics: dict, **details) -> None:
        """The end of a run: weights.safetensors (the run's config and ``metrics`` in its
        header), then metrics.json (``metrics`` and ``details``, such as the history)."""
        self.save_weights(model, {**config, "result": metrics})
        self.write_json("metrics.json", {**metrics, **details})

    def save_weights(self, model, config: dict | None = None,
                     name: str = "weights.safetensors") -> Path | None:
        """The model's state dict as safetensors, with ``config`` as JSON in the metadata."""
        if not self.active:
            return None
        from safetensors.torch import save_file

        self._ensure()
        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        metadata = {"nnzoo_config": json.dumps(config or {}, default=_jsonable)}
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.path)
        os.close(fd)
        try:
            save_file(state, tmp, metadata=metadata)
            os.replace(tmp, self.file(name))
            self._written.append(name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.file(name)


def discards_unstarted(trainer):
    """Decorate a trainer taking ``out=`` (a path or a RunFolder) and ``overwrite=``: when it
    fails or is interrupted having written nothing but ``config.json``, that file goes again
    (:meth:`RunFolder.discard_unstarted`), so the same ``out`` can be used for the next try."""

    @functools.wraps(trainer)
    def run(*args, out=None, overwrite: bool = False, **kwargs):
        folder = out if out is None or isinstance(out, RunFolder) else RunFolder(out, overwrite=overwrite)
        try:
            return trainer(*args, out=folder, overwrite=overwrite, **kwargs)
        except BaseException:
            if folder is not None:
                folder.discard_unstarted()
            raise

    return run


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def read_config(path) -> tuple[dict, Path]:
    """The config of a run folder or of a weights file; returns (config, weights path)."""
    path = Path(path)
    if path.is_dir():
        weights = path / "weights.safetensors"
        config_file = path / "config.json"
    else:
        weights = path
        config_file = path.parent / "config.json"
    if not weights.exists():
        raise NnzooError(f"No weights at {str(weights)!r}; expected a run folder written by "
                         f"`nnzoo train` or a .safetensors file.")
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception as err:  # safetensors raises several types for a bad header
        raise NnzooError(f"Cannot read weights file {str(weights)!r}: it is not a valid "
                         f"safetensors file ({err}). Expected weights written by `nnzoo train`.") from None
    config = None
    if config_file.exists():
        try:
            config = json.loads(config_file.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise NnzooError(f"Cannot read {str(config_file)!r}: {err}. Expected the JSON "
                             f"config written by `nnzoo train`.") from None
    elif "nnzoo_config" in meta:
        config = json.loads(meta["nnzoo_config"])
    if not config or "model" not in config:
        raise NnzooError(f"{str(path)!r} does not say which model its weights belong to: no "
                         f"config.json beside it and no nnzoo config in the file's metadata.")
    return config, weights


def run_input_shape(config: dict) -> tuple[int, ...]:
    """The input shape (one sample) a run was trained with: its config's, else its model's
    default."""
    import nnzoo

    return tuple(config.get("input_shape") or nnzoo.get_entry(config["model"]).input_shape)


def load_run(path):
    """Rebuild the model of a run folder (or weights file) with its trained weights.

    Returns ``(model, config)``; the model is in eval mode on the CPU.
    """
    from safetensors.torch import load_file

    import nnzoo

    config, weights = read_config(path)
    model = nnzoo.create(config["model"], **config.get("model_options", {}))
    try:
        state = load_file(str(weights))
    except Exception as err:
        raise NnzooError(f"Cannot read weights file {str(weights)!r} ({err}).") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0] if str(err) else ""
        raise NnzooError(f"The weights in {str(weights)!r} do not fit model {config['model']!r} "
                         f"with options {config.get('model_options', {})}: {first}") from None
    return model.eval(), config
