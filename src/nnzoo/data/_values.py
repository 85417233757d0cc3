"""What every dataset's values must be before a model sees them: finite, and not empty.

A NaN or an infinity in one input poisons every weight it reaches on the first step, and the
run then reports a loss of nan; an empty split trains nothing or scores a mean over nothing.
Both are refused when a dataset is loaded and when a run starts, naming the dataset (and the
file it came from), the split and the count:

    Dataset 'csv' (read from series.csv) has 3 NaN or infinite values in the inputs of its
    training split; expected finite numbers.
"""

from __future__ import annotations

import torch

from nnzoo.errors import NnzooError

SPLITS = (("train", "training"), ("val", "validation"), ("test", "test"))


def _where(bundle) -> str:
    """" (read from FILE)" when the bundle says which file or folder it came from."""
    info = bundle.info or {}
    origin = info.get("path") or info.get("file") or info.get("folder")
    return f" (read from {origin})" if origin else ""


def _tensors(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def non_finite_count(t: torch.Tensor) -> int:
    """How many values of ``t`` are NaN or infinite (0 for integer tensors)."""
    if not torch.is_tensor(t) or not (t.is_floating_point() or t.is_complex()):
        return 0
    return int(t.numel() - torch.isfinite(t).sum().item())


def check_values(bundle) -> None:
    """Refuse a bundle with an empty split, zero-sized samples, or NaN / infinite values in
    any split's inputs or targets."""
    name, where = bundle.name, _where(bundle)
    for attr, words in SPLITS:
        split = getattr(bundle, attr)
        if len(split) == 0:
            raise NnzooError(f"Dataset {name!r}{where} has an empty {words} split (0 samples); "
                             f"expected at least one sample in each of the training, validation "
                             f"and test splits.")
        for t in _tensors(split.x):
            if t.dim() > 1 and t[0].numel() == 0:
                raise NnzooError(f"Dataset {name!r}{where} has samples of shape "
                                 f"{tuple(t.shape[1:])} in its {words} split: they hold no "
                                 f"values. Expected samples with at least one value.")
        for part, tensors in (("inputs", _tensors(split.x)), ("targets", (split.y,))):
            bad = sum(non_finite_count(t) for t in tensors)
            if bad:
                raise NnzooError(f"Dataset {name!r}{where} has {bad:,} NaN or infinite "
                                 f"value{'s' if bad != 1 else ''} in the {part} of its {words} "
                                 f"split; expected finite numbers. Remove or fill them before "
                                 f"training.")
