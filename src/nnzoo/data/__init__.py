"""Datasets as tensors: every split lives whole on the training device.

A loader returns a :class:`DataBundle` of train / validation / test :class:`Split` s. The
trainer shuffles and slices them on the device (see ``nnzoo.train.batches``), which is the
fast path that replaces a ``DataLoader`` for data that fits in memory.

Loaders are registered by name:

    @register_dataset("digits", task="classify", description="...")
    def load_digits(*, input_shape=None, data_dir=None): ...

and looked up with ``load_dataset(name, input_shape=..., data_dir=...)``. Modules of this
package (other than ``_private`` ones) are imported on first use, so a new reader registers
itself by being here.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch

from nnzoo.errors import NnzooError
from nnzoo.option_types import DATA_OPTIONS, check_option


@dataclass
class Split:
    """One split: inputs ``x`` (a tensor, or a tuple of tensors) and targets ``y``."""

    x: Any
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device) -> "Split":
        move = (lambda t: t.to(device, non_blocking=True))
        x = tuple(move(t) for t in self.x) if isinstance(self.x, tuple) else move(self.x)
        return Split(x, move(self.y))

    def take(self, index: torch.Tensor) -> "Split":
        """Rows ``index`` of every tensor (used to shard or subsample)."""
        x = tuple(t[index] for t in self.x) if isinstance(self.x, tuple) else self.x[index]
        return Split(x, self.y[index])


@dataclass
class DataBundle:
    """A dataset ready for training: three splits and what they mean.

    ``task`` tells the trainer which loss and metrics apply: ``classify`` (targets are class
    ids), ``regress`` (real targets), ``reconstruct`` (targets are the inputs). ``augment``,
    when set, is ``augment(x_batch, generator) -> x_batch`` and runs on the device on
    training batches only.
    """

    name: str
    train: Split
    val: Split
    test: Split
    task: str = "classify"
    num_classes: int | None = None
    class_names: list[str] | None = None
    input_shape: tuple[int, ...] = ()
    augment: Callable | None = None
    info: dict = field(default_factory=dict)

    def to(self, device) -> "DataBundle":
        return replace(self, train=self.train.to(device), val=self.val.to(device),
                       test=self.test.to(device))

    def description(self) -> dict:
        """What a run records of its data, so that its outputs can be read without the data's
        files: the name, task and classes, and the pixel range with any standardisation."""
        kept = {k: self.info[k] for k in ("pixel_range", "mean", "std") if k in self.info}
        return {"name": self.name, "task": self.task, "num_classes": self.num_classes,
                "class_names": self.class_names, "info": kept}

    def __repr__(self) -> str:
        return (f"DataBundle({self.name!r}, task={self.task}, input_shape={self.input_shape}, "
                f"train={len(self.train)}, val={len(self.val)}, test={len(self.test)})")


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    loader: Callable[..., DataBundle]
    task: str
    description: str


_DATASETS: dict[str, DatasetEntry] = {}
_loaded = False


def register_dataset(name: str, *, task: str, description: str):
    """Decorator registering ``loader(*, input_shape=None, data_dir=None, **opts)``."""

    def decorate(loader):
        _DATASETS[name] = DatasetEntry(name, loader, task, description)
        return loader

    return decorate


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_") and module.ispkg is False:
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def list_datasets() -> dict[str, str]:
    """Registered dataset names with a one-line description."""
    _load_all()
    return {name: e.description for name, e in sorted(_DATASETS.items())}


def dataset_entry(name: str) -> DatasetEntry:
    _load_all()
    if name not in _DATASETS:
        close = difflib.get_close_matches(name, _DATASETS, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise NnzooError(f"Unknown dataset {name!r}.{hint} Known datasets: "
                         f"{', '.join(sorted(_DATASETS))}.")
    return _DATASETS[name]


def check_dataset_options(name: str, options: dict) -> None:
    """Refuse options that dataset ``name`` does not take, or values outside what is declared
    for them (``nnzoo.option_types``), before anything is read."""
    parameters = inspect.signature(dataset_entry(name).loader).parameters
    accepted = set(parameters) - {"input_shape", "data_dir"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise NnzooError(f"Dataset {name!r} does not take option(s) {', '.join(unknown)}; it "
                         f"takes: {', '.join(sorted(accepted)) or 'none'}.")
    for key, value in options.items():
        default = parameters[key].default
        check_option(f"Dataset {name!r}", name, key, value,
                     None if default is inspect.Parameter.empty else default, DATA_OPTIONS)


def load_dataset(name: str, *, input_shape: tuple[int, ...] | None = None,
                 data_dir: str | None = None, **options) -> DataBundle:
    """Load dataset ``name`` shaped for a model taking ``input_shape`` (one sample).

    >>> data = load_dataset("digits", input_shape=(1, 32, 32))
    >>> data.train.x.shape
    torch.Size([1259, 1, 32, 32])
    """
    entry = dataset_entry(name)
    check_dataset_options(name, options)
    accepted = set(inspect.signature(entry.loader).parameters)
    kwargs = dict(options)
    if "input_shape" in accepted:
        kwargs["input_shape"] = tuple(input_shape) if input_shape is not None else None
    if "data_dir" in accepted:
        kwargs["data_dir"] = data_dir
    try:
        bundle = entry.loader(**kwargs)
    except NnzooError:
        raise
    except (RuntimeError, ValueError, IndexError, ZeroDivisionError) as err:
        # options each in range that do not fit together (a window longer than the series)
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise NnzooError(f"Dataset {name!r} cannot be made with options {options}: {first}. "
                         f"`nnzoo data list` describes its options.") from None
    from nnzoo.data._values import check_values

    check_values(bundle)
    # what a run records, so that its data can be loaded again
    bundle.info["loaded_with"] = {"options": dict(options), "data_dir": data_dir and
                                  str(Path(data_dir).expanduser().resolve())}
    return bundle
