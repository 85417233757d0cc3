"""On-device batching: the whole split is a tensor on the device, shuffled and sliced there.

This replaces ``DataLoader(TensorDataset(...), shuffle=True)`` for data that fits in memory: one
``randperm`` per epoch and one gather per batch, with no per-sample Python work and no copies
from host memory during training. Under ``torchrun`` every rank draws the same permutation (the
same seeded generator) and trains on its slice of each global batch (:func:`rank_slice`), so the
steps are those of one process with the same ``batch_size``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from nnzoo.data import Split


def _take(x, index):
    return tuple(t[index] for t in x) if isinstance(x, tuple) else x[index]


def iterate_batches(split: Split, batch_size: int, *, shuffle: bool = False,
                    generator: torch.Generator | None = None,
                    drop_last: bool = False) -> Iterator[tuple[object, torch.Tensor]]:
    """Yield ``(x, y)`` batches of ``split``; a fresh permutation per call when ``shuffle``."""
    n = len(split)
    if shuffle:
        order = torch.randperm(n, generator=generator, device=generator.device if generator else "cpu")
        order = order.to(split.y.device)
        for start in range(0, n - (batch_size - 1 if drop_last else 0), batch_size):
            index = order[start:start + batch_size]
            yield _take(split.x, index), split.y[index]
    else:
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            x = tuple(t[sl] for t in split.x) if isinstance(split.x, tuple) else split.x[sl]
            yield x, split.y[sl]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def rank_slice(x, y: torch.Tensor, rank: int, world_size: int):
    """This rank's part of a global batch, for data-parallel training: rows
    [⌊r·n/W⌋, ⌊(r+1)·n/W⌋), so that the ranks' parts, in rank order, are the batch one process
    would take. Returns ``(x, y, share)`` with ``share`` = n_r·W / n, the factor on this part's
    mean loss that makes DistributedDataParallel's average of the ranks' gradients the gradient
    of the global batch's mean loss: (1/W)·Σ_r share_r·∇L_r = Σ_r (n_r/n)·∇L_r = ∇L."""
    n = int(y.shape[0])
    start, end = rank * n // world_size, (rank + 1) * n // world_size
    part = slice(start, end)
    x = tuple(t[part] for t in x) if isinstance(x, tuple) else x[part]
    return x, y[part], (end - start) * world_size / max(n, 1)


