"""A run's config, checked by the same declarations as the flags and options that made it.

``config.json`` is written by ``nnzoo train`` and read back by ``eval``, ``show``, ``predict``
and ``--resume``; ``nnzoo train --config FILE`` reads one (JSON, or TOML of the same keys) to
train a run again. A file edited by hand is checked before anything is built from it:

    model           a registered model's name
    model_options   an object of its options (each as ``-o`` accepts it)
    data            a registered dataset's name (default: the model's own)
    data_options    an object of its options (each as ``-d`` accepts it)
    data_dir        a folder, or null
    input_shape     a list of whole numbers >= 1, or null
    training        an object of training settings (each as its flag accepts it)

Other keys (what a run records about itself: versions, the title, the data's description)
are left alone. A failure names the file and what in it is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnzoo.errors import NnzooError

OBJECTS = ("model_options", "data_options", "training")


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def check_config(config, source: str) -> dict:
    """``config`` (parsed from ``source``) when it is a valid run config, else an NnzooError
    naming ``source`` and what is wrong in it."""
    from nnzoo.data import check_dataset_options, dataset_entry
    from nnzoo.registry import check_model_options, get_entry
    from nnzoo.settings import check_settings

    def refuse(what: str) -> NnzooError:
        return NnzooError(f"{source} is not a valid nnzoo run config: {what}")

    if not isinstance(config, dict):
        raise refuse(f"it holds {_kind(config)}; expected a JSON object with at least "
                     f'"model" (as `nnzoo train` writes config.json).')
    model = config.get("model")
    if not isinstance(model, str) or not model:
        raise refuse(f'"model" is {_kind(model)} ({model!r}); expected a model\'s name '
                     f"(`nnzoo list`).")
    for key in OBJECTS:
        if not isinstance(config.get(key, {}), dict):
            raise refuse(f'"{key}" is {_kind(config[key])}; expected an object of names to '
                         f"values.")
    data = config.get("data")
    if data is not None and (not isinstance(data, str) or not data):
        raise refuse(f'"data" is {_kind(data)} ({data!r}); expected a dataset\'s name '
                     f"(`nnzoo data list`).")
    data_dir = config.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise refuse(f'"data_dir" is {_kind(data_dir)}; expected a folder\'s path or null.')
    shape = config.get("input_shape")
    if shape is not None and not (isinstance(shape, list) and shape and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
        raise refuse(f'"input_shape" is {shape!r}; expected a list of whole numbers >= 1 '
                     f"(one sample's shape, e.g. [1, 32, 32]) or null.")
    try:
        get_entry(model)
        check_model_options(model, config.get("model_options", {}))
        if data is not None:
            dataset_entry(data)
            check_dataset_options(data, config.get("data_options", {}))
        check_settings({k: v for k, v in config.get("training", {}).items()})
    except NnzooError as err:
        raise refuse(str(err)) from None
    return config


def read_config_file(path) -> dict:
    """A run's config.json, or a file for ``nnzoo train --config``: JSON, or TOML when its
    name ends in ``.toml``; checked by :func:`check_config`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NnzooError(f"Config file {str(path)!r} does not exist; expected a JSON or TOML "
                         f"file such as a run's config.json.") from None
    except IsADirectoryError:
        raise NnzooError(f"Config file {str(path)!r} is a folder; expected a JSON or TOML file "
                         f"(a run's own is RUN/config.json).") from None
    except UnicodeDecodeError:
        raise NnzooError(f"Config file {str(path)!r} is not UTF-8 text; expected a JSON or TOML "
                         f"file.") from None
    except OSError as err:  # permission denied, an I/O error
        from nnzoo.os_errors import explain

        raise explain(err, "read the config file", path) from None
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # pragma: no cover - Python 3.10
            raise NnzooError(f"Config file {str(path)!r} is TOML, which needs Python 3.11 or "
                             f"later (tomllib); give the same keys as JSON instead.") from None
        try:
            config = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise NnzooError(f"Config file {str(path)!r} is not valid TOML ({err}).") from None
    else:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as err:
            raise NnzooError(f"Config file {str(path)!r} is not valid JSON ({err}); expected "
                             f"an object such as a run's config.json.") from None
    return check_config(config, f"Config file {str(path)!r}")
