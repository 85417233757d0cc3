"""A checkpoint: any nest of dicts, lists, tuples, numbers, strings, tensors and numpy arrays,
written as one safetensors file without pickle.

The tensors go into the file's tensor table under generated keys; the nest itself, with each
tensor replaced by its key, is JSON in the file's metadata. Dicts whose keys are not strings (an
optimizer's ``state`` is keyed by parameter index) and tuples keep their types through the round
trip, which a plain ``json.dumps`` would lose:

    {"optimizer": {"state": {0: {"step": tensor(3.)}}}}
    -> tensors {"t0": tensor(3.)}, metadata {"optimizer": {"state": {"__items__": [[0, {"step":
       {"__tensor__": "t0"}}]]}}}
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from nnzoo.errors import NnzooError
from nnzoo.runs._files import write_durably

FORMAT = "nnzoo-checkpoint-1"


def pack(obj, tensors: dict[str, torch.Tensor]):
    """``obj`` as JSON-able data; its tensors are moved (as CPU copies) into ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": key}
    if type(obj).__module__ == "numpy" and hasattr(obj, "dtype") and hasattr(obj, "shape"):
        key = f"t{len(tensors)}"
        tensors[key] = torch.from_numpy(obj.astype("int64") if obj.dtype.kind == "u" else obj.copy())
        return {"__ndarray__": key, "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: pack(v, tensors) for k, v in obj.items()}
        return {"__items__": [[pack(k, tensors), pack(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [pack(v, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if type(obj).__module__ == "numpy":  # numpy scalars
        return obj.item()
    raise TypeError(f"A checkpoint cannot hold {type(obj).__name__} values ({obj!r}).")


def unpack(data, tensors: dict[str, torch.Tensor]):
    """The inverse of :func:`pack`. The tensors returned are those of ``tensors``."""
    if isinstance(data, list):
        return [unpack(v, tensors) for v in data]
    if not isinstance(data, dict):
        return data
    if "__tensor__" in data:
        return tensors[data["__tensor__"]]
    if "__ndarray__" in data:
        return tensors[data["__ndarray__"]].numpy().astype(data["dtype"])
    if "__items__" in data:
        return {_hashable(unpack(k, tensors)): unpack(v, tensors) for k, v in data["__items__"]}
    if "__tuple__" in data:
        return tuple(unpack(v, tensors) for v in data["__tuple__"])
    return {k: unpack(v, tensors) for k, v in data.items()}


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


class Snapshot:
    """A copy of ``state`` taken now (tensors copied to the CPU), to write or to put back."""

    def __init__(self, state: dict):
        self.tensors: dict[str, torch.Tensor] = {}
        self.skeleton = pack(state, self.tensors)

    def state(self) -> dict:
        """The state, with fresh copies of its tensors (loading it never aliases the snapshot)."""
        return unpack(self.skeleton, {k: t.clone() for k, t in self.tensors.items()})

    def save(self, path: Path, **extra) -> None:
        """Write the snapshot, and ``extra`` entries beside its own, to ``path`` durably
        (temporary file, fsync, rename)."""
        from safetensors.torch import save_file

        tensors, skeleton = dict(self.tensors), dict(self.skeleton)
        skeleton.update({key: pack(value, tensors) for key, value in extra.items()})
        metadata = {"format": FORMAT, "state": json.dumps(skeleton)}  # NaN stays NaN: exact
        write_durably(Path(path), lambda tmp: save_file(tensors, tmp, metadata=metadata))


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` (or a :class:`Snapshot`) to ``path`` durably."""
    (state if isinstance(state, Snapshot) else Snapshot(state)).save(path)


def load_checkpoint(path: Path, *, progress_only: bool = False) -> dict:
    """The state :func:`save_checkpoint` wrote to ``path``; a damaged file (a bad header, a
    state record that names tensors the file lacks) is an NnzooError naming it. With
    ``progress_only`` just the state's plain top-level values (the epoch reached, whether it
    stopped early), read from the header without its tensors."""
    from safetensors import safe_open

    from nnzoo.runs._files import utf8_path

    expected = "Expected the checkpoint.safetensors an nnzoo run writes after every epoch."
    try:
        with utf8_path(path) as name, safe_open(name, framework="pt") as fh:
            meta = fh.metadata() or {}
            if meta.get("format") != FORMAT:
                raise NnzooError(f"{str(path)!r} is not an nnzoo checkpoint (no {FORMAT!r} "
                                 f"format mark in its header).")
            tensors = {} if progress_only else \
                {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 - not a dict
    except NnzooError:
        raise
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise NnzooError(f"Cannot read the checkpoint {str(path)!r}: {err}. {expected}") from None
    try:
        state = json.loads(meta["state"])
        if progress_only:
            return {k: v for k, v in state.items() if not isinstance(v, (dict, list))}
        return unpack(state, tensors)
    except KeyError as err:
        raise NnzooError(f"The checkpoint {str(path)!r} is damaged: its state record needs "
                         f"{err}, which the file does not hold. {expected}") from None
    except (ValueError, TypeError, RecursionError, AttributeError) as err:  # bad JSON or nest
        raise NnzooError(f"The checkpoint {str(path)!r} is damaged: its state record cannot be "
                         f"read ({err}). {expected}") from None
