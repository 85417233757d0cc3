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

:class:`BPTTLearner` is the gradient learner with this epoch; ``nnzoo.fit`` picks it for a
model with ``forward_state(x, state) -> (scores, state)`` (``nnzoo train char-lm``). The data
are consecutive windows (``nnzoo.data.text``), whose length is the truncation length k.
"""

from __future__ import annotations

import math

import torch

from nnzoo.data.text import stream_of
from nnzoo.errors import NnzooError
from nnzoo.losses import softmax_cross_entropy
from nnzoo.train.gradient import GradientLearner
from nnzoo.train.metrics import Tally
from nnzoo.train.regularise import NAMES as REGULARISERS


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


class BPTTLearner(GradientLearner):
    """Truncated BPTT over one stream: ``batch_size`` is the number of columns B and ``bptt``
    the truncation length k (default: the data's window length); the gradient's norm is
    clipped to ``clip_grad_norm`` (default 1)."""

    TAKES = {key: value for key, value in GradientLearner.TAKES.items()
             if key not in ("loss", "channels_last", "compile", "compile_mode", "second_run",
                             *REGULARISERS)}
    TAKES.update(epochs=20, batch_size=16, lr=3e-3, clip_grad_norm=1.0, bptt=None)
    rule = "truncated back-propagation through time"

    def __init__(self, model, data, *, epochs: int, seed: int, bptt=None, **settings):
        super().__init__(model, data, epochs=epochs, seed=seed, loss=None, channels_last=False,
                         compile=False, **settings)
        self.given = {**self.given, "bptt": bptt}
        for key in ("loss", "channels_last", "compile"):
            self.given.pop(key)
        self.bptt = bptt

    def settings(self) -> dict:
        return {"trainer": "bptt", **self.given, "device_used": str(self.device)}

    def prepare(self) -> None:
        model, data = self.model, self.data
        if not callable(getattr(model, "forward_state", None)):
            raise NnzooError(f"Truncated BPTT needs a model with forward_state(x, state) -> "
                             f"(scores, state); {type(model).__name__} has none.")
        x = data.train.x
        if isinstance(x, tuple) or x.dim() != 2 or x.is_floating_point():
            raise NnzooError(f"Truncated BPTT reads a stream of token ids: dataset {data.name!r} "
                             f"must give consecutive windows of ids (N, T), as the 'text' "
                             f"dataset does.")
        self.k = int(self.bptt or x.shape[1])
        if "alphabet" in data.info and isinstance(getattr(type(model), "alphabet", None), property):
            model.alphabet = data.info["alphabet"]  # saved with the weights: the run can write text
        self.columns = batchify(stream_of(data.train), self.s["batch_size"])       # (B, L)
        self.val, self.test_stream = stream_of(data.val), stream_of(data.test)
        self._make_optimizer()
        self.generator = torch.Generator().manual_seed(self.seed)
        self.steps_per_epoch = math.ceil((self.columns.shape[1] - 1) / self.k)
        self.samples_per_epoch = self.columns.shape[0] * (self.columns.shape[1] - 1)

    def epoch(self, state) -> dict:
        tally, carried, k = self._begin_epoch(classify=True), None, self.k
        offset = 0
        if self.columns.shape[1] > 2 * k:
            offset = int(torch.randint(0, k, (1,), generator=self.generator))
        for x, y in chunks(self.columns, k, offset):
            with self.precision.autocast():
                loss, scores, carried = bptt_step(self.model, x, y, carried)
            self._step(loss, scores, y, tally, state)
        return self._end_epoch(tally)

    def validate(self) -> dict:
        return evaluate_stream(self.model, self.val, self.k)

    def test(self) -> dict:
        return evaluate_stream(self.model, self.test_stream, self.k)
