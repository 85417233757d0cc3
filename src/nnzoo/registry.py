"""The model registry: every architecture is built by name.

A factory is registered with its metadata:

    @register_model("lenet5", family="convolutional", paper="LeCun et al. 1998",
                    input_shape=(1, 32, 32), dataset="digits", params=61_706)
    def lenet5(*, num_classes=10, in_channels=1): ...

``params`` is the trainable-parameter count of the default configuration; the test suite
checks every registered factory against it. Modules under ``nnzoo.models`` are imported on
first use, so a new architecture file registers itself by being there.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from nnzoo.errors import NnzooError
from nnzoo.layers.cell_names import CELL_ALIASES, CELLS
from nnzoo.option_types import MODEL_OPTIONS, check_option

FAMILIES = ("feed-forward", "convolutional", "recurrent", "classic", "generative")


@dataclass(frozen=True)
class ModelEntry:
    """What the registry knows of one architecture."""

    name: str
    factory: Callable[..., Any]
    family: str
    paper: str
    input_shape: tuple[int, ...]  # one sample, without the batch dimension
    dataset: str  # default dataset for `nnzoo train NAME`
    task: str = "classify"  # classify | reconstruct | generate | forecast | language-model | seq2seq | ...
    params: int | None = None  # trainable parameters of the default configuration
    defaults: dict = field(default_factory=dict)  # training defaults (epochs, lr, optimizer...)

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.factory) or ""
        return doc.splitlines()[0] if doc else ""

    def options(self) -> dict[str, Any]:
        """Keyword options the factory takes, with their defaults."""
        sig = inspect.signature(self.factory)
        return {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in sig.parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }


_REGISTRY: dict[str, ModelEntry] = {}
_loaded = False


def register_model(name: str, *, family: str, paper: str, input_shape: tuple[int, ...],
                   dataset: str, task: str = "classify", params: int | None = None,
                   defaults: dict | None = None):
    """Decorator that registers a model factory under ``name``."""
    if family not in FAMILIES:
        raise ValueError(f"family {family!r} is not one of {FAMILIES}")

    def decorate(factory):
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = ModelEntry(name, factory, family, paper, tuple(input_shape), dataset,
                                     task, params, dict(defaults or {}))
        return factory

    return decorate


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    import nnzoo.models as package

    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"nnzoo.models.{module.name}")
    _loaded = True


def get_entry(name: str) -> ModelEntry:
    """The registry entry for ``name``; an unknown name lists the closest ones."""
    _load_all()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    cell = CELL_ALIASES.get(name.lower(), name.lower())
    if cell in CELLS:
        hint = (f" {name} is a recurrent cell: train it inside a sequence model, e.g. `nnzoo train "
                f"rnn-classifier -o cell={cell}` (digits read row by row) or `nnzoo train "
                f"forecaster -o cell={cell}`.")
    raise NnzooError(
        f"Unknown model {name!r}.{hint} `nnzoo list` shows all {len(_REGISTRY)} registered models."
    )


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted. ``pattern`` is a family (``"recurrent"``) or an fnmatch
    wildcard over the names, as timm takes it (``"resnet*"``, ``"vgg1?"``, ``"*lstm*"``)."""
    _load_all()
    if pattern is None:
        return sorted(_REGISTRY)
    if pattern in FAMILIES:
        return sorted(n for n, e in _REGISTRY.items() if e.family == pattern)
    if not any(c in pattern for c in "*?["):
        raise NnzooError(f"Unknown family {pattern!r}; expected one of {', '.join(FAMILIES)}, or "
                         f"a wildcard pattern over the model names such as 'resnet*'.")
    return sorted(fnmatch.filter(_REGISTRY, pattern))


def check_model_options(name: str, options: dict) -> None:
    """Refuse options that model ``name`` does not take, or values outside what is declared
    for them (``nnzoo.option_types``), before anything is built or loaded."""
    accepted = get_entry(name).options()
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise NnzooError(
            f"Model {name!r} does not take option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(accepted) or 'no options'}."
        )
    for key, value in options.items():
        check_option(f"Model {name!r}", name, key, value, accepted[key], MODEL_OPTIONS)


# What a factory raises when options that are each in range do not fit together (a kernel
# larger than the image, say), or when the model they ask for cannot be allocated.
BUILD_ERRORS = (RuntimeError, ValueError, TypeError, ZeroDivisionError, MemoryError)


def create(name: str, **config):
    """Build the registered model ``name`` with keyword ``config``.

    >>> model = create("lenet5", num_classes=10)
    """
    entry = get_entry(name)
    check_model_options(name, config)
    try:
        model = entry.factory(**config)
    except NnzooError:
        raise
    except BUILD_ERRORS as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise NnzooError(f"Model {name!r} cannot be built with options {config}: {first}. "
                         f"`nnzoo info {name}` lists its options and defaults.") from None
    try:  # what a run records, so that its model can be built again by name
        model.nnzoo_created = {"model": name, "options": dict(config)}
    except AttributeError:  # pragma: no cover - a factory returning a frozen object
        pass
    return model


def count_params(model) -> int:
    """Number of trainable parameters (those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
