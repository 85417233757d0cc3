"""On-device batching: the whole split is a tensor on the device, shuffled and sliced there.

This replaces ``DataLoader(TensorDataset(...), shuffle=True)`` for data that fits in memory: one
``randperm`` per epoch and one gather per batch, with no per-sample Python work and no copies
from host memory during training.
"""

from __future__ import annotations

from typing import Iterator

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


def shard(split: Split, rank: int, world_size: int) -> Split:
    """Rows ``rank, rank + world, …`` of ``split``: each data-parallel worker trains on its own."""
    if world_size <= 1:
        return split
    return split.take(torch.arange(rank, len(split), world_size, device=split.y.device))
