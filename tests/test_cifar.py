"""CIFAR-10 binary reader, on small batch files and archives written here."""

import io
import tarfile

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.data.cifar import (CLASS_NAMES, RECORD, TEST_FILES, TRAIN_FILES, parse_cifar_batch,
                              write_cifar_batch)
from nnzoo.errors import NnzooError

PER_FILE = 6


def make_batches(seed=0):
    """{file name: (images, labels)}; image pixel (0, 0, 0) carries its row number."""
    rng = np.random.default_rng(seed)
    batches = {}
    for k, name in enumerate(TRAIN_FILES + TEST_FILES):
        images = rng.integers(0, 256, (PER_FILE, 3, 32, 32), dtype=np.uint8)
        images[:, 0, 0, 0] = k * PER_FILE + np.arange(PER_FILE)
        batches[name] = (images, (k + np.arange(PER_FILE)) % 10)
    return batches


def write_folder(folder, batches, meta=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (images, labels) in batches.items():
        write_cifar_batch(folder / name, images, labels)
    if meta is not None:
        (folder / "batches.meta.txt").write_text(meta)
    return folder


def write_archive(path, members):
    """A tar.gz of ``{member name: bytes}``, in memory, as the published archive is laid out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def as_bytes(batches):
    return {n: np.concatenate([lab.astype(np.uint8)[:, None], im.reshape(len(im), -1)], 1).tobytes()
            for n, (im, lab) in batches.items()}


def test_record_layout_is_label_then_red_green_blue_planes():
    raw = bytes([3]) + bytes([10]) * 1024 + bytes([20]) * 1024 + bytes([30]) * 1024
    images, labels = parse_cifar_batch(raw * 2)
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [3, 3]
    assert [int(images[0, c].max()) for c in range(3)] == [10, 20, 30]
    ramp = bytes([1]) + bytes(range(32)) * 96  # each row 0..31 left to right
    assert parse_cifar_batch(ramp)[0][0, 2, 5].tolist() == list(range(32))


@pytest.mark.parametrize("layout", ["extracted", "flat", "archive"])
def test_all_layouts_read_the_same_pixels(tmp_path, layout):
    batches = make_batches()
    root = tmp_path / "cifar10"
    if layout == "extracted":
        write_folder(root / "cifar-10-batches-bin", batches, meta="\n".join("abcdefghij") + "\n")
    elif layout == "flat":
        write_folder(root, batches)
    else:
        write_archive(root / "cifar-10-binary.tar.gz", as_bytes(batches))
    data = nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (27, 3, 6)
    every = np.concatenate([batches[n][0] for n in TRAIN_FILES + TEST_FILES])
    labels = np.concatenate([batches[n][1] for n in TRAIN_FILES + TEST_FILES])
    for split in (data.train, data.val, data.test):
        pixels = torch.round(split.x * 255).to(torch.uint8).numpy()
        rows = pixels[:, 0, 0, 0]
        np.testing.assert_array_equal(pixels, every[rows])
        np.testing.assert_array_equal(split.y.numpy(), labels[rows])
    assert sorted(torch.round(data.test.x[:, 0, 0, 0] * 255).long().tolist()) == list(range(30, 36))
    expected_names = list("abcdefghij") if layout == "extracted" else CLASS_NAMES
    assert data.class_names == expected_names
    assert data.augment is not None and len(data.info["mean"]) == 3


def test_options_normalize_augment_and_grey(tmp_path):
    write_folder(tmp_path / "cifar10", make_batches())
    data = nnzoo.load_dataset("cifar10", data_dir=tmp_path, normalize=True, augment=False)
    assert data.augment is None
    torch.testing.assert_close(data.train.x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(data.train.x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)
    grey = nnzoo.load_dataset("cifar10", data_dir=tmp_path, input_shape=(1, 28, 28))
    assert grey.train.x.shape[1:] == (1, 28, 28)


@pytest.mark.parametrize("damage, words", [
    (lambda raw: raw[:-1], "not a whole number"),
    (lambda raw: raw + b"\x00", "not a whole number"),
    (lambda raw: b"", "0 bytes"),
    (lambda raw: bytes([10]) + raw[1:], "label 10"),
])
def test_corrupt_batch_files_name_the_file(tmp_path, damage, words):
    batches = make_batches()
    folder = write_folder(tmp_path / "cifar10", batches)
    path = folder / "data_batch_3.bin"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(NnzooError, match=words) as err:
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    assert "data_batch_3.bin" in str(err.value)
    assert RECORD == 3073


def test_damaged_or_incomplete_archives(tmp_path):
    members = as_bytes(make_batches())
    archive = write_archive(tmp_path / "cifar10" / "cifar-10-binary.tar.gz", members)
    archive.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(NnzooError, match="damaged or incomplete"):
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    del members["test_batch.bin"]
    write_archive(archive, members)
    with pytest.raises(NnzooError, match="lacks test_batch.bin"):
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)


def test_archive_links_are_never_followed(tmp_path):
    outside = tmp_path / "secret.bin"
    outside.write_bytes(as_bytes(make_batches())["test_batch.bin"])
    members = as_bytes(make_batches())
    del members["test_batch.bin"]
    archive = write_archive(tmp_path / "cifar10" / "cifar-10-binary.tar.gz", members)
    with tarfile.open(archive, "w:gz") as tar:  # rewrite with a symlink in place of the test set
        for name, raw in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
        link = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tar.addfile(link)
    with pytest.raises(NnzooError, match="lacks test_batch.bin"):
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    assert sorted(p.name for p in (tmp_path / "cifar10").iterdir()) == ["cifar-10-binary.tar.gz"]


def test_missing_files_message(tmp_path):
    with pytest.raises(NnzooError, match="cifar-10-binary.tar.gz") as err:
        nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    assert "nnzoo data download cifar10" in str(err.value)


def test_writer_refuses_wrong_shapes(tmp_path):
    with pytest.raises(NnzooError, match=r"\(N, 3, 32, 32\)"):
        write_cifar_batch(tmp_path / "x.bin", np.zeros((2, 3, 28, 28), np.uint8), [0, 1])


def test_trains_with_device_augmentation(tmp_path):
    write_folder(tmp_path / "cifar10", make_batches())
    data = nnzoo.load_dataset("cifar10", data_dir=tmp_path)
    result = nnzoo.fit(nnzoo.create("lenet5", in_channels=3), data, epochs=1, batch_size=8,
                       progress=False)
    assert np.isfinite(result.test["loss"])
