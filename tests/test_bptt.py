"""Truncated BPTT: columns and chunks, state detached at chunk boundaries, a model that learns."""

import functools
import json

import pytest
import torch
from torch import nn

import nnzoo
from nnzoo.layers import LSTM
from nnzoo.train.bptt import (BPTTLearner, batchify, bptt_step, chunks, detach_state,
                              evaluate_stream)

fit_bptt = functools.partial(nnzoo.fit, learner=BPTTLearner)


class FloatStreamModel(nn.Module):
    """Real-valued inputs, so the test can ask for the gradient with respect to them."""

    def __init__(self):
        super().__init__()
        self.rnn = LSTM(3, 5, batch_first=True)
        self.head = nn.Linear(5, 4)

    def forward_state(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


def test_batchify_and_chunks_cover_the_stream_one_step_ahead():
    stream = torch.arange(23)
    columns = batchify(stream, 3)                    # 3 columns of 7, the last 2 steps dropped
    assert columns.tolist()[1] == list(range(7, 14))
    pieces = list(chunks(columns, 3))
    assert [x.shape[1] for x, _ in pieces] == [3, 3]  # 6 inputs: the 7th value is only a target
    for x, y in pieces:
        assert torch.equal(y, x + 1)
    assert torch.equal(torch.cat([x for x, _ in pieces], 1), columns[:, :-1])
    assert list(chunks(columns, 3, offset=2))[0][0].tolist()[0] == [2, 3, 4]
    with pytest.raises(ValueError, match="too short"):
        batchify(torch.arange(5), 4)


def test_gradient_does_not_flow_past_the_chunk_boundary():
    torch.manual_seed(0)
    model = FloatStreamModel()
    x1 = torch.randn(2, 4, 3, requires_grad=True)
    x2 = torch.randn(2, 4, 3)
    y2 = torch.randint(0, 4, (2, 4))
    _, state = model.forward_state(x1)
    loss, _, _ = bptt_step(model, x2, y2, detach_state(state))
    loss.backward()
    assert x1.grad is None                       # nothing reached the first chunk
    truncated = [p.grad.clone() for p in model.parameters()]
    # The same gradients as chunk 2 alone, started from the state's values as constants.
    model.zero_grad()
    frozen = tuple(s.detach().clone() for s in state)
    bptt_step(model, x2, y2, frozen)[0].backward()
    assert all(torch.allclose(a, p.grad) for a, p in zip(truncated, model.parameters()))
    # Control: without the detach, the loss of chunk 2 does depend on chunk 1's inputs.
    model.zero_grad()
    _, state = model.forward_state(x1)
    scores, _ = model.forward_state(x2, state)
    nn.functional.cross_entropy(scores.flatten(0, 1), y2.flatten()).backward()
    assert x1.grad is not None and x1.grad.abs().sum() > 0


def test_carried_state_makes_chunked_evaluation_equal_one_pass():
    torch.manual_seed(0)
    model = nnzoo.create("char-lm", num_classes=6, hidden_size=8)
    stream = torch.randint(0, 6, (61,))
    by_chunks = evaluate_stream(model, stream, k=7)
    whole = evaluate_stream(model, stream, k=60)
    assert by_chunks["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert by_chunks["bpc"] == pytest.approx(whole["loss"] / 0.6931471805599453, rel=1e-5)


def test_char_lm_learns_the_corpus_and_writes_a_run(tmp_path):
    torch.manual_seed(0)
    data = nnzoo.load_dataset("text", seq_len=50)
    model = nnzoo.create("char-lm", num_classes=data.num_classes, hidden_size=64)
    result = fit_bptt(model, data, epochs=4, batch_size=16, lr=1e-2, progress=False,
                      out=tmp_path / "run", config={"model": "char-lm", "model_options": {
                          "num_classes": data.num_classes, "hidden_size": 64}})
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < losses[0] - 0.3 and result.test["loss"] < 3.3  # uniform: ln 58 = 4.06
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4] and result.epochs == 4
    assert all(row["seconds"] > 0 and "val_loss" in row and "lr" in row for row in result.history)
    assert {"config.json", "metrics.json", "weights.safetensors", "curves.png"} <= \
        {p.name for p in (tmp_path / "run").iterdir()}
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "test_bpc" in metrics and metrics["epochs"] == 4
    assert model.alphabet == data.info["alphabet"]  # set by the trainer, saved with the weights
    from nnzoo.runs import load_run

    loaded, _ = load_run(tmp_path / "run")
    assert loaded.sample("The ", 20, 0.0) == model.cpu().sample("The ", 20, 0.0)


def test_fit_bptt_refuses_what_it_cannot_train():
    data = nnzoo.load_dataset("digits", input_shape=(8, 8))
    with pytest.raises(ValueError, match="forward_state"):
        fit_bptt(nnzoo.create("lstm-classifier"), data, progress=False)
    with pytest.raises(ValueError, match="stream of token ids"):
        fit_bptt(nnzoo.create("char-lm"), data, progress=False)
    with pytest.raises(ValueError, match="loss"):
        fit_bptt(nnzoo.create("char-lm"), nnzoo.load_dataset("text"), loss="mse", progress=False)
