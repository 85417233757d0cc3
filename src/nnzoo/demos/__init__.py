"""One-command demonstrations that write pictures: ``nnzoo demo NAME``.

A demo is a function ``demo(out: pathlib.Path, *, seed: int) -> list[pathlib.Path]`` that writes
PNG files into ``out`` and returns their paths. Register it with:

    @register_demo("perceptron", "the decision line after each epoch until no errors")
    def perceptron_demo(out, *, seed=0): ...

Modules of this package are imported on first use.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from nnzoo.errors import NnzooError


@dataclass(frozen=True)
class Demo:
    name: str
    run: Callable
    description: str


_DEMOS: dict[str, Demo] = {}


def register_demo(name: str, description: str):
    def decorate(fn):
        _DEMOS[name] = Demo(name, fn, description)
        return fn

    return decorate


def list_demos() -> dict[str, str]:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return {n: d.description for n, d in sorted(_DEMOS.items())}


def get_demo(name: str) -> Demo:
    known = list_demos()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise NnzooError(f"Unknown demo {name!r}.{hint} Demos: {', '.join(known) or 'none'}.")
    return _DEMOS[name]
