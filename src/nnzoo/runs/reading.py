"""Reading a run back: its config, its weights, its model."""

from __future__ import annotations

import json
from pathlib import Path

from nnzoo.errors import NnzooError
from nnzoo.runs._files import utf8_path


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

        with utf8_path(weights) as name, safe_open(name, framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for a bad header
        raise NnzooError(f"Cannot read weights file {str(weights)!r}: it is not a valid "
                         f"safetensors file ({err}). Expected weights written by `nnzoo train`.") from None
    from nnzoo.run_config import check_config, read_config_file

    if config_file.exists():
        return read_config_file(config_file), weights
    config = None
    if "nnzoo_config" in meta:
        try:
            config = json.loads(meta["nnzoo_config"])
        except json.JSONDecodeError as err:
            raise NnzooError(f"The nnzoo config in the metadata of {str(weights)!r} is not "
                             f"valid JSON ({err}); expected weights written by `nnzoo train`.") from None
    if config is None:
        raise NnzooError(f"{str(path)!r} does not say which model its weights belong to: no "
                         f"config.json beside it and no nnzoo config in the file's metadata.")
    return check_config(config, f"The metadata of {str(weights)!r}"), weights


def run_input_shape(config: dict) -> tuple[int, ...]:
    """The input shape (one sample) a run was trained with: its config's, else its model's
    default."""
    import nnzoo

    return tuple(config.get("input_shape") or nnzoo.get_entry(config["model"]).input_shape)


def load_run_data(config: dict, data_dir=None, input_shape=None):
    """The dataset a run was trained on, loaded as it was: its name, options and input shape
    (``input_shape`` when given), from ``data_dir`` or else the folder the run recorded."""
    import nnzoo

    return nnzoo.load_dataset(config["data"], input_shape=input_shape or run_input_shape(config),
                              data_dir=data_dir or config.get("data_dir"),
                              **config.get("data_options", {}))


def load_run(path):
    """Rebuild the model of a run folder (or weights file) with its trained weights.

    Returns ``(model, config)``; the model is in eval mode on the CPU.
    """
    from safetensors.torch import load_file

    import nnzoo

    config, weights = read_config(path)
    model = nnzoo.create(config["model"], **config.get("model_options", {}))
    try:
        with utf8_path(weights) as name:
            state = load_file(name)
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise NnzooError(f"Cannot read weights file {str(weights)!r} ({err}).") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise NnzooError(f"The weights in {str(weights)!r} do not fit model {config['model']!r} "
                         f"with options {config.get('model_options', {})}: "
                         f"{_mismatches(err)}") from None
    return model.eval(), config


def _mismatches(err: RuntimeError, shown: int = 3) -> str:
    """The first ``shown`` lines of what ``load_state_dict`` found wrong (its first line only
    names the model), on one line."""
    lines = [line.strip().rstrip(".") for line in str(err).splitlines()[1:] if line.strip()]
    more = f"; and {len(lines) - shown} more" if len(lines) > shown else ""
    return "; ".join(lines[:shown]) + more + "." if lines else str(err)
