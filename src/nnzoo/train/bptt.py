"""Truncated back-propagation through time over one long stream (char language models).

Back-propagation through time (Werbos 1990; Rumelhart, Hinton & Williams 1986) unrolls a
recurrent network over the whole sequence. For a stream of a million characters that is neither
possible nor needed; truncated BPTT (Williams & Peng 1990; Elman 1990; Mikolov 2012) cuts it:

1. ``batchify``: the stream s becomes B parallel columns, each a contiguous stretch (B, L).
2. Every update reads the next k steps of all columns (``chunks``): x = s[t : t+k], targets
   y = s[t+1 : t+k+1], from the state the previous chunk ended in.
3. The loss is the per-step cross-entropy of the chunk; its gradient flows back through these k
   steps only, because the carried state is ``detach_state``-ed: the values go on, the graph
   does not. The network still *uses* information from before the chunk (through the state) but
   learns to keep it only from dependencies up to k steps long.
4. The gradient's norm is clipped (Pascanu, Mikolov & Bengio 2013) before the optimiser step.

Each epoch starts the chunks at a random offset in [0, k), so chunk boundaries fall at
different characters, and starts every column from the zero state. Validation and test run
the whole stream the same way (state carried, no gradient), in one column for streams up to
50,000 characters, so only the first characters are read without context.

``fit_bptt`` has ``nnzoo.fit``'s signature (``nnzoo train char-lm`` calls it through the entry's
``defaults["trainer"]``). The model must have ``forward_state(x, state) -> (scores, state)``; the
data are consecutive windows (``nnzoo.data.text``), whose length is the truncation length k.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from nnzoo.data import DataBundle
from nnzoo.data.text import stream_of
from nnzoo.errors import NnzooError
from nnzoo.train.callbacks import EarlyStopping, ProgressBar
from nnzoo.train.loop import (FitResult, TrainState, _notify, descend, end_epoch, finish_run,
                              interruptible, training_device)
from nnzoo.train.losses import softmax_cross_entropy
from nnzoo.train.metrics import Tally
from nnzoo.train.optim import make_optimizer, make_schedule
from nnzoo.train.run_folder import discards_unstarted


def batchify(stream: torch.Tensor, columns: int) -> torch.Tensor:
    """(B, L): ``stream`` cut into B contiguous columns of equal length (the tail is dropped)."""
    length = len(stream) // columns
    if length < 2:
        raise NnzooError(f"A stream of {len(stream)} steps is too short for {columns} columns; "
                         f"lower the batch size.")
    return stream[:columns * length].view(columns, length)


def chunks(columns: torch.Tensor, k: int, offset: int = 0):
    """Consecutive ``(x, y)`` chunks (B, ≤ k) of the columns, y one step ahead of x."""
    last = columns.shape[1] - 1
    for t in range(offset, last, k):
        end = min(t + k, last)
        yield columns[:, t:end], columns[:, t + 1:end + 1]


def detach_state(state):
    """The state's values without its history: gradients stop at the chunk boundary."""
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def bptt_step(model, x, y, state):
    """Loss and scores of one chunk from ``state``, and the detached state to carry on."""
    scores, state = model.forward_state(x, state)                 # (B, k, V)
    return softmax_cross_entropy(scores, y), scores, detach_state(state)


@torch.no_grad()
def evaluate_stream(model, stream: torch.Tensor, k: int) -> dict:
    """Loss, top-1 and bits per character of ``model`` reading all of ``stream``."""
    was_training = model.training
    model.eval()
    columns = batchify(stream, max(1, len(stream) // 50_000))
    tally, state = Tally(stream.device, classify=True, top5=False), None
    for x, y in chunks(columns, k):
        loss, scores, state = bptt_step(model, x, y, state)
        tally.add(loss, scores, y)
    model.train(was_training)
    result = tally.result()
    result["bpc"] = result["loss"] / math.log(2)
    return result


@discards_unstarted
def fit_bptt(model: nn.Module, data: DataBundle, *, epochs: int = 20, batch_size: int = 16,
             lr: float = 3e-3, optimizer: str = "adam", momentum: float = 0.9,
             weight_decay: float = 0.0, schedule: str = "constant", schedule_c: float = 1.0,
             schedule_step: int = 10, patience: int | None = None,
             clip_grad_norm: float | None = 1.0, device="auto", seed: int = 0,
             progress: bool = True, out=None, overwrite: bool = False, callbacks=(),
             config: dict | None = None, bptt: int | None = None, **unused) -> FitResult:
    """Train a stream model with truncated BPTT; ``batch_size`` is the number of columns B and
    ``bptt`` the truncation length k (default: the data's window length)."""
    taken = sorted(key for key, value in unused.items() if value is not None)
    if taken:
        raise NnzooError(f"Truncated BPTT (fit_bptt) does not take {', '.join(taken)}: its loss "
                         f"is the per-step cross-entropy of the next token.")
    if not callable(getattr(model, "forward_state", None)):
        raise NnzooError(f"Truncated BPTT needs a model with forward_state(x, state) -> (scores, "
                         f"state); {type(model).__name__} has none.")
    if isinstance(data.train.x, tuple) or data.train.x.dim() != 2 or data.train.x.is_floating_point():
        raise NnzooError(f"Truncated BPTT reads a stream of token ids: dataset {data.name!r} must "
                         f"give consecutive windows of ids (N, T), as the 'text' dataset does.")
    k = int(bptt or data.train.x.shape[1])
    device = training_device(device)
    torch.manual_seed(seed)
    folder = out  # a RunFolder or None: @discards_unstarted opened it
    run_config = dict(config or {})
    run_config.setdefault("training", {}).update(
        trainer="nnzoo.train.bptt:fit_bptt", epochs=epochs, batch_size=batch_size, bptt=k, lr=lr,
        optimizer=optimizer, momentum=momentum, weight_decay=weight_decay, schedule=schedule,
        patience=patience, clip_grad_norm=clip_grad_norm, device=str(device), seed=seed)
    if folder:
        folder.write_json("config.json", run_config)
    if "alphabet" in data.info and isinstance(getattr(type(model), "alphabet", None), property):
        model.alphabet = data.info["alphabet"]  # saved with the weights: the run can write text

    model.to(device)
    train = batchify(stream_of(data.train).to(device), batch_size)       # (B, L)
    val, test = (stream_of(s).to(device) for s in (data.val, data.test))
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer, lr,
                         momentum=momentum, weight_decay=weight_decay)
    scheduler = make_schedule(opt, schedule, epochs, c=schedule_c, step=schedule_step)
    generator = torch.Generator().manual_seed(seed)
    cbs = list(callbacks) + ([EarlyStopping(patience)] if patience is not None else []) \
        + ([ProgressBar()] if progress else [])
    state = TrainState(model, opt, epochs, math.ceil((train.shape[1] - 1) / k), run_config)
    _notify(cbs, "on_train_begin", state)

    seen = 0
    with interruptible(state, cbs):
        for epoch in range(epochs):
            model.train()
            tally, carried = Tally(device, classify=True, top5=False), None
            offset = 0
            if train.shape[1] > 2 * k:
                offset = int(torch.randint(0, k, (1,), generator=generator))
            start, epoch_seen = time.perf_counter(), 0
            for x, y in chunks(train, k, offset):
                loss, scores, carried = bptt_step(model, x, y, carried)
                descend(opt, loss, model, clip_grad_norm)
                tally.add(loss, scores, y)
                epoch_seen += y.numel()
                _notify(cbs, "on_step_end", state)
            row = {"epoch": epoch + 1, **tally.result(), "seconds": time.perf_counter() - start}
            seen += epoch_seen
            if end_epoch(state, cbs, row, scheduler, lambda: evaluate_stream(model, val, k)):
                break
    _notify(cbs, "on_train_end", state)
    train_seconds = sum(row["seconds"] for row in state.history)
    return finish_run(state, evaluate_stream(model, test, k), train_seconds, seen, folder,
                      run_config)
