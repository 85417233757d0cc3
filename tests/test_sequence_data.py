"""Sequence datasets: shapes, determinism, targets that are right, readers on bad files."""

import math

import pytest
import torch

import nnzoo
from nnzoo.data.sequences import EOS, PAD, TOKENS, decode, encode
from nnzoo.data.text import stream_of
from nnzoo.data.timeseries import mackey_glass, read_csv_column
from nnzoo.errors import NnzooError


def test_adding_problem_targets_are_the_sum_of_the_two_marked_values():
    data = nnzoo.load_dataset("adding", T=30, n_train=200, n_val=10, n_test=10, seed=3)
    x, y = data.train.x, data.train.y
    assert x.shape == (200, 30, 2) and y.shape == (200, 1) and data.task == "regress"
    markers = x[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :15].sum(1) == 1) and torch.all(markers[:, 15:].sum(1) == 1)
    assert torch.allclose((x[..., 0] * markers).sum(1, keepdim=True), y)
    assert x[..., 0].min() >= 0 and x[..., 0].max() <= 1
    # Always answering 1.0 scores about Var(u1 + u2) = 1/6.
    big = nnzoo.load_dataset("adding", T=10, n_train=20_000, n_val=1, n_test=1)
    assert abs(torch.mean((big.train.y - 1) ** 2).item() - 1 / 6) < 0.01


def test_datasets_repeat_for_a_seed_and_differ_across_seeds():
    a = nnzoo.load_dataset("adding", T=20, n_train=50, n_val=5, n_test=5, seed=1)
    b = nnzoo.load_dataset("adding", T=20, n_train=50, n_val=5, n_test=5, seed=1)
    c = nnzoo.load_dataset("adding", T=20, n_train=50, n_val=5, n_test=5, seed=2)
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x, c.train.x)
    r1 = nnzoo.load_dataset("reversal", n_train=100, n_val=10, n_test=10)
    r2 = nnzoo.load_dataset("reversal", n_train=100, n_val=10, n_test=10)
    assert torch.equal(r1.test.x[0], r2.test.x[0]) and torch.equal(r1.test.y, r2.test.y)


def test_copy_task_layout():
    data = nnzoo.load_dataset("copy", T=12, n_train=20, n_val=2, n_test=2)
    x, y = data.train.x, data.train.y
    assert x.shape == (20, 32, 10) and y.shape == (20, 32) and data.num_classes == 10
    ids = x.argmax(-1)
    assert torch.equal(y[:, -10:], ids[:, :10])              # the ten symbols, repeated at the end
    assert torch.all(y[:, :-10] == 0) and torch.all(ids[:, 10 + 12 - 1] == 9)  # blanks, delimiter
    assert torch.all((ids[:, :10] >= 1) & (ids[:, :10] <= 8))


@pytest.mark.parametrize("name,check", [
    ("reversal", lambda s, t: t == s[::-1]),
    ("seq2seq-copy", lambda s, t: t == s),
    ("addition", lambda s, t: t == str(sum(int(v) for v in s.split("+")))),
])
def test_seq2seq_problems_are_right_and_held_out(name, check):
    data = nnzoo.load_dataset(name, n_train=300, n_val=20, n_test=50)
    (src, tgt_in), tgt_out = data.train.x, data.train.y
    assert data.task == "seq2seq" and data.num_classes == len(TOKENS)
    for i in range(len(src)):
        source, target = decode(src[i]), decode(tgt_out[i].clamp_min(PAD))
        assert check(source, target)
        n = len(target)
        assert tgt_out[i, n] == EOS and torch.all(tgt_out[i, n + 1:] == -100)
        assert torch.equal(tgt_in[i, 1:n + 1], tgt_out[i, :n])   # teacher forcing: shifted by one
    train = {decode(s) for s in src}
    assert not train & {decode(s) for s in data.test.x[0]}


def test_encode_decode_round_trip():
    ids = encode(["123+45", "7"])
    assert ids.shape == (2, 6) and ids[1, 1] == PAD
    assert decode(ids[0]) == "123+45" and decode(ids[1]) == "7"


def test_mackey_glass_is_bounded_deterministic_and_chaotic_not_constant():
    a, b = mackey_glass(600), mackey_glass(600)
    assert torch.equal(a, b)
    assert 0.2 < a.min() and a.max() < 1.5 and a.std() > 0.15
    assert torch.isfinite(a).all()
    # τ = 17 is the chaotic regime: the series does not repeat with a short period.
    assert all(torch.mean((a[p:] - a[:-p]) ** 2) > 1e-3 for p in range(1, 60))


def test_forecasting_windows_and_naive_baseline():
    data = nnzoo.load_dataset("sine", length=1000, window=20)
    x, y = data.train.x, data.train.y
    assert x.shape == (700 - 20, 20, 1) and y.shape == (680, 1)
    assert torch.equal(x[1, :-1], x[0, 1:]) and torch.equal(x[1, -1], y[0])
    assert abs(data.info["naive_mse"]["test"] - torch.mean((data.test.x[:, -1] - data.test.y) ** 2).item()) < 1e-6
    assert abs(x.mean().item()) < 0.1 and abs(x.std().item() - 1) < 0.1     # standardised
    assert nnzoo.load_dataset("mackey-glass", input_shape=(40, 1)).train.x.shape[1:] == (40, 1)


def test_csv_reader_by_name_and_index(tmp_path):
    path = tmp_path / "series.csv"
    rows = ["day,temperature,rain"] + [f"{i},{math.sin(i / 5):.5f},{i % 3}" for i in range(400)]
    path.write_text("\n".join(rows) + "\n")
    by_name = read_csv_column(path, "temperature")
    assert len(by_name) == 400 and abs(by_name[10].item() - math.sin(2.0)) < 1e-4
    assert torch.equal(read_csv_column(path, 1), by_name)
    assert torch.equal(read_csv_column(path), read_csv_column(path, "rain"))  # default: last
    data = nnzoo.load_dataset("csv", path=str(path), column="temperature", window=10)
    assert data.train.x.shape == (280 - 10, 10, 1)
    headerless = tmp_path / "plain.csv"
    headerless.write_text("\n".join(str(i) for i in range(50)) + "\n")
    assert read_csv_column(headerless).tolist() == list(range(50))


def test_csv_errors_name_the_problem(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(NnzooError, match="no column 'c'.*'a', 'b'"):
        read_csv_column(path, "c")
    with pytest.raises(NnzooError, match="row 3.*'oops'"):
        read_csv_column(path, "b")
    with pytest.raises(NnzooError, match="Cannot read CSV"):
        read_csv_column(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(NnzooError, match="empty"):
        read_csv_column(tmp_path / "empty.csv")
    with pytest.raises(NnzooError, match="too short"):
        nnzoo.load_dataset("csv", path=str(path), column="a")
    with pytest.raises(NnzooError, match="path="):
        nnzoo.load_dataset("csv")


def test_text_windows_are_consecutive_and_shifted(tmp_path):
    data = nnzoo.load_dataset("text", seq_len=50)
    x, y = data.train.x, data.train.y
    alphabet = data.info["alphabet"]
    assert x.dtype == torch.long and x.shape[1] == 50 and data.num_classes == len(alphabet)
    assert torch.equal(x[:, 1:], y[:, :-1]) and torch.equal(x[1:, 0], y[:-1, -1])
    stream = stream_of(data.train)
    assert torch.equal(stream[1:], torch.cat([y.reshape(-1)]))
    text = "".join(alphabet[i] for i in stream[:40].tolist())
    assert text.startswith("THE LEARNING MACHINES")
    own = tmp_path / "mine.txt"
    own.write_text("abcab " * 400, encoding="utf-8")
    mine = nnzoo.load_dataset("text", path=str(own), seq_len=20)
    assert mine.info["alphabet"] == " abc"
    with pytest.raises(NnzooError, match="Cannot read text"):
        nnzoo.load_dataset("text", path=str(tmp_path / "none.txt"))
    (tmp_path / "tiny.txt").write_text("ab")
    with pytest.raises(NnzooError, match="too few"):
        nnzoo.load_dataset("text", path=str(tmp_path / "tiny.txt"))
