"""IDX reader/writer and the MNIST-layout datasets, on small files written here."""

import gzip
import struct

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.data.idx import parse_idx, read_idx, validation_split, write_idx
from nnzoo.errors import NnzooError

NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def write_mnist(folder, n_train=40, n_test=12, gz=True, labels=None):
    """Image i has pixel (0, 0) = i and its label is i % 10, so each row can be traced."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for part, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n)
        y = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
        suffix = ".gz" if gz else ""
        write_idx(folder / (NAMES[part][0] + suffix), images)
        write_idx(folder / (NAMES[part][1] + suffix), y)
    return folder


def idx_bytes(code, shape, payload):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", "<i4", "f4", "f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_every_type_gz_detected_by_magic_not_name(tmp_path, dtype, name, compress):
    a = (np.arange(60).reshape(3, 4, 5) - 20).astype(dtype)
    if dtype == "u1":
        a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    path = write_idx(tmp_path / name, a, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=")
    np.testing.assert_array_equal(a, b)


def test_header_is_lecuns_layout_big_endian():
    # A hand-built file: 2 shorts, big-endian 0x0102 and -2.
    raw = idx_bytes(0x0B, (2,), b"\x01\x02\xff\xfe")
    np.testing.assert_array_equal(parse_idx(raw), [258, -2])
    floats = idx_bytes(0x0D, (1, 2), struct.pack(">2f", 1.5, -0.25))
    np.testing.assert_array_equal(parse_idx(floats), [[1.5, -0.25]])


@pytest.mark.parametrize("raw, words", [
    (b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
    (idx_bytes(0x0A, (2,), b"\x00\x00"), "type 0x0A"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00", "header"),
    (idx_bytes(0x08, (2, 3), bytes(5)), "truncated"),
    (idx_bytes(0x08, (2, 3), bytes(7)), "1 extra bytes"),
    (idx_bytes(0x0C, (2,), bytes(6)), "truncated"),
    (b"\x00\x00", "shorter"),
])
def test_corrupt_headers_and_sizes_are_clear_errors(tmp_path, raw, words):
    path = tmp_path / "bad"
    path.write_bytes(raw)
    with pytest.raises(NnzooError, match=words):
        read_idx(path)
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(NnzooError, match=words):
        read_idx(path)


def test_damaged_gzip_and_missing_file(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((100, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(NnzooError, match="does not decompress"):
        read_idx(path)
    with pytest.raises(NnzooError, match="does not exist"):
        read_idx(tmp_path / "nothing")


def test_any_sample_count_reads(tmp_path):
    # Not 60,000: a user's own or an EMNIST-like file must read all the same.
    a = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "x", a)), a)


def test_mnist_loads_with_lecun_margin_and_fixed_validation(tmp_path):
    write_mnist(tmp_path / "mnist")
    data = nnzoo.load_dataset("mnist", data_dir=tmp_path, input_shape=(1, 32, 32))
    assert (len(data.train), len(data.val), len(data.test)) == (36, 4, 12)
    assert data.train.x.shape[1:] == (1, 32, 32) and data.input_shape == (1, 32, 32)
    assert data.info["val_seed"] and data.num_classes == 10
    raw = read_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz")
    x = data.train.x[:, 0]
    ids = torch.round(x[:, 2, 2] * 255).long()  # pixel (0, 0) sits 2 pixels in
    torch.testing.assert_close(x[:, 2:30, 2:30], torch.from_numpy(raw[ids.numpy()]).float() / 255)
    assert x[:, :2].abs().sum() == 0 and x[:, :, 30:].abs().sum() == 0  # the zero margin
    assert torch.equal(data.train.y, ids % 10)  # images keep their labels
    train, val = validation_split(40)
    assert torch.equal(torch.sort(torch.cat([train, val])).values, torch.arange(40))
    again = nnzoo.load_dataset("mnist", data_dir=tmp_path, input_shape=(1, 32, 32))
    assert torch.equal(again.val.y, data.val.y) and torch.equal(again.val.x, data.val.x)


def test_raw_files_env_var_and_other_shapes(tmp_path, monkeypatch):
    write_mnist(tmp_path / "fashion-mnist", gz=False)
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    data = nnzoo.load_dataset("fashion-mnist")
    assert data.train.x.shape[1:] == (1, 28, 28) and data.class_names[9] == "Ankle boot"
    assert 0.0 <= float(data.train.x.min()) and float(data.train.x.max()) <= 1.0
    assert nnzoo.load_dataset("fashion-mnist", input_shape=(784,)).test.x.shape == (12, 784)
    assert nnzoo.load_dataset("fashion-mnist", input_shape=(28, 28)).test.x.shape == (12, 28, 28)


def test_missing_files_name_folder_files_and_download(tmp_path):
    with pytest.raises(NnzooError) as err:
        nnzoo.load_dataset("kmnist", data_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "kmnist") in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "nnzoo data download kmnist" in message


def test_bad_labels_and_mismatched_counts(tmp_path):
    write_mnist(tmp_path / "mnist", labels=np.full(40, 10, np.uint8), n_test=40)
    with pytest.raises(NnzooError, match="label 10; expected class ids 0 to 9"):
        nnzoo.load_dataset("mnist", data_dir=tmp_path)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(39, np.uint8))
    with pytest.raises(NnzooError, match="expected 40 integer labels"):
        nnzoo.load_dataset("mnist", data_dir=tmp_path)
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", np.zeros((40, 784), np.uint8))
    with pytest.raises(NnzooError, match="count, height, width"):
        nnzoo.load_dataset("mnist", data_dir=tmp_path)


def test_write_refuses_what_idx_cannot_hold(tmp_path):
    with pytest.raises(NnzooError, match="cannot store"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
    assert not list(tmp_path.iterdir())
