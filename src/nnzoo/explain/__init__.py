"""Pictures and tables that explain a model or a run.

After ``nnzoo train``, the CLI calls every picture function registered for the data's task:

    @register_run_picture("classify")
    def confusion(model, data, folder) -> list[Path]: ...
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

_RUN_PICTURES: dict[str, list[Callable]] = {}


def register_run_picture(task: str):
    """Register ``fn(model, data, folder) -> list[Path]`` to run after training on ``task``."""

    def decorate(fn):
        _RUN_PICTURES.setdefault(task, []).append(fn)
        return fn

    return decorate


def run_pictures(task: str) -> list[Callable]:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return list(_RUN_PICTURES.get(task, []))
