"""Bad input, as a careless or hostile user gives it: every case is refused before any work
starts, with one paragraph on stderr and exit status 2 from the CLI, and never a traceback.

The declarations (``nnzoo.settings``, ``nnzoo.option_types``, ``nnzoo.run_config``) are
checked to cover every option of every registered model and dataset; the readers' own limits
are tested in ``test_reader_limits.py`` and ``test_fuzz_readers.py``.
"""

import dataclasses
import errno
import functools
import inspect
import json
import math
import os

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo import registry
from nnzoo.cli.main import main
from nnzoo.data import DataBundle, Split, dataset_entry, list_datasets, load_dataset
from nnzoo.data.idx import write_idx
from nnzoo.errors import NnzooError
from nnzoo.option_types import DATA_OPTIONS, MODEL_OPTIONS, SIZES, declared
from nnzoo.os_errors import explain
from nnzoo.run_config import check_config
from nnzoo.settings import Range

# -- every option is declared ------------------------------------------------------------------


def _numeric_or_unknown(default) -> bool:
    """An option whose values are numbers or may be (None, a tuple of sizes): it must have a
    declared range; flags and names are checked by their kind and their owner."""
    return not isinstance(default, (bool, str))


def test_every_model_option_has_a_declared_range():
    missing = [f"{name}.{key}" for name in nnzoo.list_models()
               for key, default in nnzoo.get_entry(name).options().items()
               if _numeric_or_unknown(default) and declared(name, key, MODEL_OPTIONS) is None]
    assert missing == []


def test_every_dataset_option_has_a_declared_range():
    missing = []
    for name in list_datasets():
        for key, p in inspect.signature(dataset_entry(name).loader).parameters.items():
            default = None if p.default is inspect.Parameter.empty else p.default
            if key not in ("input_shape", "data_dir") and _numeric_or_unknown(default) \
                    and declared(name, key, DATA_OPTIONS) is None:
                missing.append(f"{name}.{key}")
    assert missing == []


BAD_VALUES = ("abc", -1, 0, math.nan, math.inf, 10 ** 12, True, (0, 4))


def test_every_model_refuses_out_of_range_options_before_building(monkeypatch):
    """For each model and option, values that the declaration refuses raise NnzooError from
    the check alone: the factory is never called with them."""
    refused = 0
    for name in nnzoo.list_models():
        entry = nnzoo.get_entry(name)

        @functools.wraps(entry.factory)  # the same signature, so the same options
        def never(_name=name, **options):
            raise AssertionError(f"{_name} was built with {options}")

        monkeypatch.setitem(registry._REGISTRY, name, dataclasses.replace(entry, factory=never))
        for key in entry.options():
            spec = declared(name, key, MODEL_OPTIONS)
            if spec is None or isinstance(spec, str) and spec != SIZES:
                continue
            for value in BAD_VALUES:
                if isinstance(spec, Range) and spec.accepts(value):
                    continue  # in range (0 for a dropout, 10**12 for a temperature)
                with pytest.raises(NnzooError, match=f"option {key}"):
                    nnzoo.create(name, **{key: value})
                refused += 1
    assert refused > 300


def test_every_named_choice_refuses_a_name_it_does_not_know():
    """A name option (an activation, a cell, a decoder...) checks its value against its own
    list: a wrong one is an NnzooError that names it, whatever the model."""
    checked = 0
    for name in nnzoo.list_models():
        for key, default in nnzoo.get_entry(name).options().items():
            if isinstance(default, str) or declared(name, key, MODEL_OPTIONS) == "text" \
                    and key != "alphabet":  # any text is an alphabet
                with pytest.raises(NnzooError, match="junk"):
                    nnzoo.create(name, **{key: "junk"})
                checked += 1
    assert checked >= 15


def test_a_threshold_is_a_number_or_one_per_unit():
    assert nnzoo.create("hopfield", size=4, threshold=torch.zeros(4)) is not None
    for bad in (torch.tensor([0.0, math.nan, 0.0, 0.0]), "abc", [1, math.inf]):
        with pytest.raises(NnzooError, match="option threshold must be a finite number, or one"):
            nnzoo.create("hopfield", size=4, threshold=bad)


def test_a_model_that_cannot_be_built_from_its_options_says_so():
    with pytest.raises(NnzooError, match="cannot be built with options"):
        nnzoo.create("googlenet", num_classes=10, in_channels=3, branch3_kernel=10 ** 6)


@pytest.mark.parametrize("name, options, words", [
    ("sine", {"length": -5}, "option length must be a whole number >= 1"),
    ("sine", {"noise": "nan"}, "option noise must be a number"),
    ("csv", {"delimiter": "ab"}, "option delimiter must be one character"),
    ("letters", {"noise": 1.5}, "option noise must be a finite number >= 0 and <= 1"),
    ("moons", {"noise": -0.1}, "option noise must be a finite number >= 0"),
    ("sine", {"window": 5000}, "too short for windows of 5000"),
])
def test_dataset_options_are_refused_before_reading(name, options, words):
    with pytest.raises(NnzooError, match=words):
        load_dataset(name, **options)


# -- data values ---------------------------------------------------------------------------------


def _bundle(x_train, y_train, val=4, test=4):
    x = torch.randn(val, *x_train.shape[1:])
    y = torch.zeros(val, dtype=torch.long)
    xt, yt = torch.randn(test, *x_train.shape[1:]), torch.zeros(test, dtype=torch.long)
    return DataBundle("mine", Split(x_train, y_train), Split(x, y), Split(xt, yt),
                      num_classes=2, input_shape=tuple(x_train.shape[1:]))


@pytest.mark.parametrize("make, words", [
    (lambda: _bundle(torch.full((8, 3), math.nan), torch.zeros(8, dtype=torch.long)),
     "24 NaN or infinite values in the inputs of its training split"),
    (lambda: _bundle(torch.randn(8, 3), torch.tensor([0.0] * 7 + [math.inf])),
     "1 NaN or infinite value in the targets of its training split"),
    (lambda: _bundle(torch.randn(8, 3), torch.zeros(8, dtype=torch.long), val=0),
     "empty validation split"),
    (lambda: _bundle(torch.randn(0, 3), torch.zeros(0, dtype=torch.long)),
     "empty training split"),
    (lambda: _bundle(torch.randn(8, 0), torch.zeros(8, dtype=torch.long)),
     r"samples of shape \(0,\)"),
])
def test_fit_refuses_non_finite_or_empty_data(make, words, tmp_path):
    model = nnzoo.create("mlp", in_features=3, hidden=4, num_classes=2)
    with pytest.raises(NnzooError, match=words):
        nnzoo.fit(model, make(), epochs=1, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # nothing was started


def _write_idx_set(folder, train_images, test_images=None, n_test=4):
    folder.mkdir(parents=True)
    test_images = test_images if test_images is not None else \
        np.zeros((n_test, *train_images.shape[1:]), np.uint8)
    for stem, images in (("train", train_images), ("t10k", test_images)):
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", np.zeros(len(images), np.uint8))


@pytest.mark.parametrize("images, words", [
    (np.full((20, 28, 28), np.nan, np.float32), "14,112 NaN or infinite values"),
    (np.zeros((0, 28, 28), np.uint8), "empty"),
    (np.zeros((20, 0, 0), np.uint8), "hold no values|0x0|size"),
])
def test_idx_files_of_nan_or_nothing_are_refused(tmp_path, images, words):
    _write_idx_set(tmp_path / "fashion-mnist", images,
                   np.zeros((4, *images.shape[1:]), images.dtype))
    with pytest.raises(NnzooError, match=words):
        load_dataset("fashion-mnist", data_dir=str(tmp_path))


# -- run configs -----------------------------------------------------------------------------------

GOOD = {"model": "mlp", "model_options": {"hidden": [8], "num_classes": 10}, "data": "digits",
        "data_options": {}, "data_dir": None, "input_shape": [64],
        "training": {"lr": 0.01, "epochs": 1, "optimizer": "adam", "device": "auto"}}


@pytest.mark.parametrize("change, words", [
    (lambda c: [1, 2, 3], "it holds a list"),
    (lambda c: {**c, "model": 5}, '"model" is a number'),
    (lambda c: {**c, "model": "lenet6"}, "Unknown model 'lenet6'"),
    (lambda c: {**c, "model_options": [1]}, '"model_options" is a list'),
    (lambda c: {**c, "training": "fast"}, '"training" is a string'),
    (lambda c: {**c, "input_shape": [-1, 28]}, '"input_shape" is'),
    (lambda c: {**c, "model_options": {"hidden": "abc"}}, "option hidden must be"),
    (lambda c: {**c, "model_options": {"dropout": 2}}, "option dropout must be"),
    (lambda c: {**c, "data_options": {"noise": 1}}, "does not take option"),
    (lambda c: {**c, "training": {"lr": -1}}, "lr must be a finite number > 0"),
    (lambda c: {**c, "training": {"compile": "yes"}}, "compile must be true or false"),
    (lambda c: {**c, "data_dir": 3}, '"data_dir" is a number'),
])
def test_run_configs_are_checked_by_the_same_declarations(change, words):
    assert check_config(dict(GOOD), "config.json") == GOOD
    with pytest.raises(NnzooError, match=words):
        check_config(change(dict(GOOD)), "config.json")


# -- operating-system errors -------------------------------------------------------------------------


@pytest.mark.parametrize("code, words", [
    (errno.EACCES, "permission denied"), (errno.EROFS, "read-only"),
    (errno.ENOSPC, "disk is full"), (errno.ENAMETOOLONG, "name is too long"),
    (errno.ENOTDIR, "is a file, not a folder"), (errno.EMLINK, "too many links"),
])
def test_os_errors_are_explained_with_their_path(code, words):
    message = str(explain(OSError(code, os.strerror(code), "/some/where"), "write"))
    assert message.startswith("Cannot write '/some/where': ") and words in message.lower()


def test_a_read_only_disk_under_a_run_is_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if "ro-disk" in os.fsdecode(path):
            raise OSError(errno.EROFS, "Read-only file system", path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only)
    assert main(["train", "mlp", "--epochs", "1", "--out", "ro-disk/run"]) == 2
    err = capsys.readouterr().err
    assert "ro-disk" in err and "read-only" in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the permissions")
def test_a_folder_without_write_permission_is_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert main(["train", "mlp", "--epochs", "1", "--out", "locked/run"]) == 2
    assert "permission denied" in capsys.readouterr().err


# -- the command line: each bad input exits 2 with one paragraph and no traceback ------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "mlp"
    assert main(["train", "mlp", "-o", "hidden=8", "--epochs", "1", "--no-progress",
                 "--out", str(folder)]) == 0
    return folder


def _with_config(run, tmp_path, text):
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(run, copy)
    (copy / "config.json").write_text(text)
    return str(copy)


BATTERY = [
    ["train", "mlp", "--lr", "nan"], ["train", "mlp", "--lr", "-1"],
    ["train", "mlp", "--weight-decay", "-1"], ["train", "mlp", "--batch-size", "0"],
    ["train", "mlp", "--batch-size", "-8"], ["train", "mlp", "--epochs", "-3"],
    ["train", "mlp", "--seed", "99999999999999999999999"], ["train", "mlp", "--device", "gpu"],
    ["train", "mlp", "--clip-grad-norm", "-1"], ["train", "mlp", "--momentum", "nan"],
    ["train", "mlp", "-o", "hidden=abc"], ["train", "mlp", "-o", "dropout=2"],
    ["train", "mlp", "-o", "hidden=0"], ["train", "lenet5", "-o", "in_channels=0"],
    ["train", "mlp", "-o", "hidden"], ["train", "forecaster", "--data", "csv", "-d",
                                       "delimiter=ab"],
    ["train", "forecaster", "--data", "sine", "-d", "length=-5"],
    ["train", "mlp", "--out", "a" * 300], ["train", "mlp", "--config", "missing.json"],
    ["train", "mlp", "--config", "bad.json"], ["eval", "RUN", "--batch-size", "-1"],
    ["eval", "RUN", "--batch-size", "0"], ["eval", "EDITED"], ["predict", "EDITED", "x.png"],
    ["train", "--resume", "EDITED"], ["train", "forecaster", "--data", "csv", "-d",
                                      "path=nan.csv"],
]


@pytest.mark.parametrize("argv", BATTERY, ids=lambda a: " ".join(a)[:60])
def test_cli_battery(argv, trained_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text('{"model": "mlp", "training": {"lr": "fast"}}')
    (tmp_path / "nan.csv").write_text("t,v\n" + "".join(f"{i},{'nan' if i == 7 else i}\n"
                                                        for i in range(300)))
    edited = _with_config(trained_run, tmp_path, json.dumps(
        {**json.loads((trained_run / "config.json").read_text()), "model_options": [1, 2]}))
    argv = [{"RUN": str(trained_run), "EDITED": edited}.get(a, a) for a in argv]
    if argv[0] == "train" and "--out" not in argv and "--resume" not in argv:
        argv += ["--out", "run", "--epochs", "1"] if "--epochs" not in argv else ["--out", "run"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnzoo") and "error" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one paragraph
    assert not (tmp_path / "run").exists()  # refused before anything was written


NON_UTF8_RUN = """
import sys
from nnzoo.cli.main import main
import nnzoo
run = sys.argv[1]
assert main(["train", "mlp", "-o", "hidden=4", "--epochs", "1", "--no-progress", "--out", run]) == 0
assert main(["eval", run]) == 0
assert main(["train", "--resume", run, "--epochs", "2", "--no-progress"]) == 0
assert nnzoo.runs.load_run(run)[1]["model"] == "mlp"
"""


def test_a_run_under_a_non_utf8_path_is_written_and_read_back(tmp_path):
    """A folder named in another encoding (Latin-1 'é' is the byte 0xE9, not UTF-8): Python
    holds it as a surrogate-escaped string, which safetensors cannot open and a UTF-8 terminal
    cannot print as it is. Run in a child with a UTF-8 locale, as a user's terminal has."""
    import subprocess
    import sys

    run = os.path.join(os.fsencode(tmp_path), b"caf\xe9", b"run")
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-c", NON_UTF8_RUN, run], capture_output=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in done.stderr and b"caf\xe9" in done.stdout


def test_a_csv_cell_of_nan_or_1e300_is_refused_with_its_row(tmp_path):
    """Refused by the reader, which knows the rows: standardised and windowed, the one NaN
    would be counted thousands of times."""
    rows = [f"{i},{'nan' if i == 7 else '1e300' if i == 9 else i % 5}" for i in range(300)]
    (tmp_path / "s.csv").write_text("t,v\n" + "\n".join(rows) + "\n")
    with pytest.raises(NnzooError, match=r"holds 2 values that are NaN.*'nan' in row 9\)"):
        load_dataset("csv", path=str(tmp_path / "s.csv"))
