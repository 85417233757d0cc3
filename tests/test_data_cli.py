"""`nnzoo data list | download | verify | show`: return codes and messages.

Downloads are tested without a network: from a ``.invalid`` host (RFC 2606: never resolves)
and from ``file://`` mirrors written here.
"""

import dataclasses
import hashlib
import time

import numpy as np
import pytest

from nnzoo.cli.main import main
from nnzoo.data import _files
from nnzoo.data.idx import write_idx

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


def write_mnist(folder, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for images, labels, n in ((FILES[0], FILES[1], 30), (FILES[2], FILES[3], 10)):
        write_idx(folder / (images + suffix), rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / (labels + suffix), rng.integers(0, 10, n).astype(np.uint8))
    return folder


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def use_source(monkeypatch, name, **changes):
    monkeypatch.setitem(_files.SOURCES, name, dataclasses.replace(_files.SOURCES[name], **changes))


def test_list_shows_presence_and_folder(tmp_path, capsys):
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"not present (expected in {tmp_path / 'mnist'})" in out and "digits" in out
    write_mnist(tmp_path / "mnist")
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"found in {tmp_path / 'mnist'}" in out
    reconstruct = out[out.index("\nmnist-reconstruct") + 1:].splitlines()[1]
    assert "found in" in reconstruct and "not" not in reconstruct  # it reads the mnist files


def test_verify_reports_each_file(tmp_path, capsys, monkeypatch):
    assert main(["data", "verify", "mnist", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().out.count("missing") >= 4
    folder = write_mnist(tmp_path / "mnist")
    assert main(["data", "verify", "mnist", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out.count("different file") >= 4  # our files are not MNIST
    published = {f + ".gz": md5(folder / (f + ".gz")) for f in FILES}
    published[FILES[0] + ".gz"] = "0" * 32
    use_source(monkeypatch, "mnist", files=published)
    assert main(["data", "verify", "mnist", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count(" ok") == 3 and out.count("different file") >= 1
    published[FILES[0] + ".gz"] = md5(folder / (FILES[0] + ".gz"))
    assert main(["data", "verify", "mnist", "--data-dir", str(tmp_path)]) == 0
    assert "different" not in capsys.readouterr().out


def test_verify_by_content_tells_recompressed_damaged_and_different_files(tmp_path, capsys,
                                                                            monkeypatch):
    import gzip

    folder = write_mnist(tmp_path / "fashion-mnist")
    content = {f + ".gz": hashlib.md5(gzip.decompress((folder / (f + ".gz")).read_bytes()))
               .hexdigest() for f in FILES}
    for f in FILES:  # recompressed: other .gz bytes, the same content
        path = folder / (f + ".gz")
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=7))
    use_source(monkeypatch, "fashion-mnist", files={f + ".gz": "0" * 32 for f in FILES},
               content=content)
    verify = ["data", "verify", "fashion-mnist", "--data-dir", str(tmp_path)]
    assert main(verify) == 0
    assert capsys.readouterr().out.count("identical content (recompressed)") == 5  # 4 + summary
    labels = folder / (FILES[3] + ".gz")
    write_idx(labels, np.full(10, 3, dtype=np.uint8))  # well formed, other labels
    assert main(verify) == 1
    assert "different file" in capsys.readouterr().out
    images = folder / (FILES[0] + ".gz")
    images.write_bytes(images.read_bytes()[:len(images.read_bytes()) // 2])  # truncated
    assert main(verify) == 3
    out = capsys.readouterr().out
    assert "damaged (truncated / corrupt)" in out and "--force" in out


def test_an_idx_file_shorter_than_its_header_says_is_damaged(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 28, 28), np.uint8), compress=False)
    assert _files.content_md5(path) is not None
    path.write_bytes(path.read_bytes()[:-100])  # whole gzip-free bytes, but fewer than declared
    assert _files.content_md5(path) is None


def test_datasets_are_found_in_the_system_folders_after_the_users_own(tmp_path, capsys,
                                                                      monkeypatch):
    import nnzoo

    monkeypatch.setattr(_files, "DEFAULT_ROOT", tmp_path / "home")
    monkeypatch.setattr(_files, "SYSTEM_ROOT", tmp_path / "usr-share-datasets")
    monkeypatch.delenv("NNZOO_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path / "xdg"))
    with pytest.raises(nnzoo.NnzooError, match="apt-get install dataset-fashion-mnist"):
        nnzoo.load_dataset("fashion-mnist")
    write_mnist(tmp_path / "xdg" / "datasets" / "fashion-mnist")
    assert nnzoo.load_dataset("fashion-mnist").info["folder"] == \
        str(tmp_path / "xdg" / "datasets" / "fashion-mnist")
    write_mnist(tmp_path / "usr-share-datasets" / "fashion-mnist")  # before XDG's folders
    assert main(["data", "list"]) == 0
    assert f"found in {tmp_path / 'usr-share-datasets' / 'fashion-mnist'}" in capsys.readouterr().out
    write_mnist(tmp_path / "home" / "fashion-mnist")  # the user's own folder comes first
    assert nnzoo.load_dataset("fashion-mnist").info["folder"] == str(tmp_path / "home" / "fashion-mnist")
    assert _files.download_folder("fashion-mnist") == tmp_path / "home" / "fashion-mnist"


def test_show_loads_files_that_fail_the_checksum(tmp_path, capsys):
    write_mnist(tmp_path / "mnist", gz=False)
    assert main(["data", "show", "mnist", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "train x (27, 1, 28, 28)" in out and "test  x (10, 1, 28, 28)" in out


def test_unreachable_mirror_fails_fast_with_where_to_put_files(tmp_path, capsys, monkeypatch):
    use_source(monkeypatch, "fashion-mnist", mirrors=("http://nnzoo-test.invalid/data/",))
    start = time.perf_counter()
    assert main(["data", "download", "fashion-mnist", "--data-dir", str(tmp_path)]) == 2
    assert time.perf_counter() - start < 15
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot reach http://nnzoo-test.invalid/data/train-images-idx3-ubyte.gz" in err
    assert str(tmp_path / "fashion-mnist") in err and "by hand" in err
    assert not (tmp_path / "fashion-mnist").exists()


def test_download_from_a_mirror_checks_then_renames(tmp_path, capsys, monkeypatch):
    remote = write_mnist(tmp_path / "remote")
    published = {f + ".gz": md5(remote / (f + ".gz")) for f in FILES}
    use_source(monkeypatch, "kmnist", files=published,
               mirrors=("http://nnzoo-test.invalid/", remote.as_uri() + "/"))
    data_dir = tmp_path / "data"
    assert main(["data", "download", "kmnist", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.count("downloaded from file://") == 4
    assert sorted(p.name for p in (data_dir / "kmnist").iterdir()) == sorted(published)
    assert main(["data", "download", "kmnist", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.count("already present") == 4
    assert main(["data", "verify", "kmnist", "--data-dir", str(data_dir)]) == 0


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, capsys, monkeypatch):
    remote = write_mnist(tmp_path / "remote")
    use_source(monkeypatch, "kmnist", files={FILES[0] + ".gz": "0" * 32},
               mirrors=(remote.as_uri() + "/",))
    assert main(["data", "download", "kmnist", "--data-dir", str(tmp_path / "d")]) == 2
    assert "not the published" in capsys.readouterr().err
    assert list((tmp_path / "d" / "kmnist").iterdir()) == []


@pytest.mark.parametrize("argv, words", [
    (["data", "verify", "mnsit"], "Did you mean mnist"),
    (["data", "download", "digits"], "no files"),
])
def test_bad_names(tmp_path, capsys, argv, words):
    assert main(argv + ["--data-dir", str(tmp_path)]) == 2
    assert words in " ".join(capsys.readouterr().err.split())


def test_show_missing_files_says_how_to_get_them(tmp_path, capsys):
    assert main(["data", "show", "cifar10", "--data-dir", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "nnzoo data download cifar10" in err and str(tmp_path / "cifar10") in err


def test_data_alone_prints_help(capsys):
    assert main(["data"]) == 0
    assert "download" in capsys.readouterr().out


def test_verify_cifar_extracted_folder_is_present_but_unchecked(tmp_path, capsys):
    from nnzoo.data.cifar import TEST_FILES, TRAIN_FILES, write_cifar_batch

    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name in TRAIN_FILES + TEST_FILES:
        write_cifar_batch(folder / name, np.zeros((2, 3, 32, 32), np.uint8), [0, 1])
    assert main(["data", "verify", "cifar10", "--data-dir", str(tmp_path)]) == 0
    assert "not checked: the extracted files present" in capsys.readouterr().out
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    assert f"found in {tmp_path / 'cifar10'}" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["copy", "digits", "text", "sine"])
def test_show_every_kind_of_target(name, capsys):
    """Per-step targets (N, T) with -100 padding, class labels, characters and real values."""
    assert main(["data", "show", name]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "test" in out


def test_show_counts_the_tokens_of_a_vocabulary(capsys):
    """A language model's targets are characters: each is counted, and a newline or a space is
    written quoted rather than breaking the line."""
    import re

    assert main(["data", "show", "text"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "training target count" in l)
    assert line.lstrip().startswith("tokens") and "0 '\\n' (" in line and "1 ' ' (" in line
    counts = [int(c) for c in re.findall(r"\((\d+)\)", line)]
    assert min(counts) >= 0 and sum(counts) == 160 * 100  # every target of the 160 windows


def test_a_run_remembers_where_its_data_came_from(tmp_path, capsys, monkeypatch):
    write_mnist(tmp_path / "data" / "fashion-mnist")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert main(["train", "mlp", "--data", "fashion-mnist", "--data-dir", "data", "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    import json

    config = json.loads((out / "config.json").read_text())
    assert config["data_dir"] == str(tmp_path / "data")  # absolute: it works from anywhere
    assert config["data_found_in"] == str(tmp_path / "data" / "fashion-mnist")
    monkeypatch.chdir(tmp_path / "data")
    assert main(["eval", str(out)]) == 0  # no --data-dir: the run's record is used
    capsys.readouterr()
    assert main(["eval", str(out), "--data-dir", str(tmp_path / "nowhere")]) == 2  # it overrides
    assert "nowhere" in capsys.readouterr().err
