"""The run lifecycle: the lock, durable files, the complete config, the non-finite guard, a full
disk, resume refusals and logs, the same for every learner."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError
from nnzoo.runs import RunFolder, claim_new_folder
from nnzoo.runs.checkpoint import Snapshot, load_checkpoint, save_checkpoint
from nnzoo.train import NonFiniteError


def blobs_mlp(**options):
    torch.manual_seed(0)
    return (nnzoo.create("mlp", in_features=2, hidden=(8,), num_classes=2, **options),
            nnzoo.load_dataset("blobs"))


# -- checkpoints without pickle ----------------------------------------------------------------

def test_a_checkpoint_keeps_int_keys_tuples_numpy_and_exact_floats(tmp_path):
    import numpy as np

    state = {"state": {0: {"step": torch.tensor(3.0), "m": torch.randn(2, 3)}},
             "groups": [{"betas": (0.9, 0.999), "lr": 0.1 + 0.2, "params": [0, 1]}],
             "numpy": np.random.get_state(), "nan": float("nan"), "none": None, "flag": True,
             "__dunder__": 1}
    save_checkpoint(tmp_path / "c.safetensors", state)
    back = load_checkpoint(tmp_path / "c.safetensors")
    assert list(back["state"]) == [0] and torch.equal(back["state"][0]["m"], state["state"][0]["m"])
    assert back["groups"][0]["betas"] == (0.9, 0.999) and back["groups"][0]["lr"] == 0.1 + 0.2
    assert back["numpy"][0] == "MT19937" and back["numpy"][1].dtype == np.uint32
    assert (back["numpy"][1] == state["numpy"][1]).all() and math.isnan(back["nan"])
    assert back["flag"] is True and back["none"] is None and back["__dunder__"] == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_snapshot_is_a_copy_and_putting_it_back_never_aliases_it():
    weights = torch.zeros(3)
    snapshot = Snapshot({"w": weights})
    weights += 1
    first = snapshot.state()["w"]
    first += 5
    assert torch.equal(snapshot.state()["w"], torch.zeros(3))


def test_a_damaged_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "c.safetensors").write_bytes(b"\x10\x00garbage")
    with pytest.raises(NnzooError, match="Cannot read the checkpoint"):
        load_checkpoint(tmp_path / "c.safetensors")


# -- the folder ------------------------------------------------------------------------------

def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    first = RunFolder(tmp_path / "run")
    with pytest.raises(NnzooError, match="being written by another nnzoo process"):
        RunFolder(tmp_path / "run")
    first.close()
    RunFolder(tmp_path / "run").close()  # free again


def test_two_cli_runs_started_together_on_one_folder_one_is_refused_with_exit_2(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "nnzoo", "train", "mlp", "--data", "blobs", "--epochs", "3",
               "--out", str(out), "--no-progress"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert ("being written by another nnzoo process" in refused
            or "already holds another run" in refused) and "Traceback" not in refused
    assert main(["eval", str(out)]) == 0


def test_default_run_names_are_unique_within_one_second(tmp_path):
    base = tmp_path / "runs" / "mlp-blobs-20261201-120000"
    assert [claim_new_folder(base).name for _ in range(3)] == \
        [base.name, f"{base.name}-2", f"{base.name}-3"]


def test_stale_temporary_files_of_a_killed_writer_are_removed_when_the_folder_is_opened(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".weights.safetensors.abc123.tmp").write_bytes(b"x" * 1000)
    folder = RunFolder(out)
    assert folder.stale_removed == [".weights.safetensors.abc123.tmp"] and not list(out.iterdir())
    folder.close()


def test_overwrite_clears_the_old_run_only_when_the_new_one_starts(tmp_path):
    model, data = blobs_mlp()
    nnzoo.fit(model, data, epochs=1, out=tmp_path / "run", progress=None)
    bad = nnzoo.create("mlp", in_features=5, num_classes=2)  # does not fit the data
    with pytest.raises(NnzooError):
        nnzoo.fit(bad, data, epochs=1, out=tmp_path / "run", overwrite=True, progress=None)
    assert (tmp_path / "run" / "weights.safetensors").exists()  # the old run is untouched

    class CtrlCInFirstEpoch:
        def on_step_end(self, state):
            raise KeyboardInterrupt

    old_config = (tmp_path / "run" / "config.json").read_text()
    with pytest.raises(KeyboardInterrupt):
        nnzoo.fit(model, data, epochs=2, out=tmp_path / "run", overwrite=True, progress=None,
                  callbacks=[CtrlCInFirstEpoch()])
    assert (tmp_path / "run" / "config.json").read_text() == old_config  # still the old run
    assert main(["eval", str(tmp_path / "run")]) == 0
    (tmp_path / "run" / "decision_regions.png").write_bytes(b"old picture")
    model, data = blobs_mlp()
    nnzoo.fit(model, data, epochs=2, out=tmp_path / "run", overwrite=True, progress=None,
              config={"title": "second"})
    assert json.loads((tmp_path / "run" / "config.json").read_text())["title"] == "second"
    assert (tmp_path / "run" / "decision_regions.png").read_bytes() != b"old picture"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"] == 2


def test_files_follow_the_umask(tmp_path):
    model, data = blobs_mlp()
    nnzoo.fit(model, data, epochs=1, out=tmp_path / "run", progress=None)
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("config.json", "checkpoint.safetensors", "weights.safetensors"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o666 & ~mask


# -- the complete config -----------------------------------------------------------------------

def test_fit_out_writes_a_run_that_predict_and_eval_read(tmp_path, capsys):
    torch.manual_seed(0)
    model = nnzoo.create("lenet5")
    data = nnzoo.load_dataset("digits", input_shape=(1, 32, 32))
    data = type(data)(**{**data.__dict__, "train": data.train.take(torch.arange(200))})
    nnzoo.fit(model, data, epochs=1, out=tmp_path / "mine", progress=None)
    config = json.loads((tmp_path / "mine" / "config.json").read_text())
    assert config["model"] == "lenet5" and config["data"] == "digits"
    assert config["data_description"]["class_names"][:2] == ["0", "1"]
    assert config["training"]["epochs"] == 1 and config["training"]["seed"] == 0
    image = data.test.x[0, 0].numpy()
    import numpy as np

    np.save(tmp_path / "digit.npy", image)
    top = nnzoo.predict(tmp_path / "mine", [tmp_path / "digit.npy"])[0]["top"]
    probabilities = [p for _, p in top]
    assert len(top) >= 3 and probabilities == sorted(probabilities, reverse=True)
    assert all(0 < p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-6
    assert main(["eval", str(tmp_path / "mine")]) == 0
    assert {"curves.png", "confusion.png", "history.csv"} <= \
        {p.name for p in (tmp_path / "mine").iterdir()}


# -- the non-finite guard and strict JSON ------------------------------------------------------

def test_a_diverging_run_stops_with_exit_2_naming_epoch_and_step(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "mlp", "--data", "blobs", "--lr", "1e30", "--optimizer", "sgd",
                 "--epochs", "5", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Training diverged in epoch 1, step " in err and "Traceback" not in err
    assert not out.exists()  # it diverged before any finite epoch: nothing to keep


def test_non_finite_loss_keeps_the_last_finite_checkpoint(tmp_path):
    model, data = blobs_mlp()

    class Explode:  # the weights become NaN during epoch 3
        def on_step_end(self, state):
            if state.epoch == 2:
                with torch.no_grad():
                    next(state.model.parameters()).fill_(float("nan"))

    with pytest.raises(NonFiniteError, match="epoch 3, step 2.*checkpoint of epoch 2"):
        nnzoo.fit(model, data, epochs=5, out=tmp_path / "run", progress=None,
                  callbacks=[Explode()])
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert saved["epoch"] == 2 and all(t.isfinite().all() for t in saved["model"].values())
    assert all(p.isfinite().all() for p in model.parameters())  # put back, finite


def test_json_never_holds_a_bare_nan(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.write_json("metrics.json", {"loss": float("nan"), "rows": [float("inf"), 1.0]})
    text = (tmp_path / "run" / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "rows": [None, 1.0]}


# -- a full disk -----------------------------------------------------------------------------

FULL_DISK = """
import resource, signal, sys, torch, nnzoo
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
torch.manual_seed(0)
model = nnzoo.create("mlp", in_features=2, hidden=(8,), num_classes=2)
nnzoo.fit(model, nnzoo.load_dataset("blobs"), epochs=1, out=sys.argv[1], progress=None)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # its checkpoint is ~26 kB
from nnzoo.cli.main import main
sys.exit(main(["train", "--resume", sys.argv[1], "--epochs", "2", "--no-progress"]))
"""


def test_a_full_disk_keeps_the_last_checkpoint_and_says_so(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(out)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "disk is full" in done.stderr and "Traceback" not in done.stderr
    assert not list(out.glob(".*.tmp"))  # no temp file left behind
    assert load_checkpoint(out / "checkpoint.safetensors")["epoch"] == 1  # the last good one
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0


# -- resume: what it refuses -------------------------------------------------------------------

def test_resume_refuses_a_finished_run_a_folder_without_a_run_and_changed_settings(tmp_path, capsys):
    model, data = blobs_mlp()
    nnzoo.fit(model, data, epochs=2, out=tmp_path / "run", progress=None)
    assert main(["train", "--resume", str(tmp_path / "run")]) == 2
    assert "already finished all 2 epochs" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    assert "holds no run" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--lr", "0.1"]) == 2
    assert "--lr cannot change" in capsys.readouterr().err
    model, data = blobs_mlp()
    with pytest.raises(NnzooError, match="lr 0.001 -> 0.5"):
        nnzoo.fit(model, data, epochs=3, lr=0.5, resume=tmp_path / "run", progress=None)


def test_resume_with_more_epochs_extends_a_finished_run(tmp_path, capsys):
    model, data = blobs_mlp()
    nnzoo.fit(model, data, epochs=2, out=tmp_path / "run", progress=None)
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "4", "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 4 and [r["epoch"] for r in metrics["history"]] == [1, 2, 3, 4]
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 5


# -- logs and labels ---------------------------------------------------------------------------

def test_without_a_terminal_each_epoch_is_one_line_and_history_csv_follows(tmp_path, capsys):
    assert main(["train", "mlp", "--data", "blobs", "--epochs", "3", "--out",
                 str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"] and "val_loss" in lines[0]
    csv = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,loss,top1") and len(csv) == 4


def test_kept_weights_are_labelled_honestly(tmp_path, capsys):
    assert main(["train", "mlp", "--data", "blobs", "--epochs", "2", "--out",
                 str(tmp_path / "last"), "--no-progress"]) == 0
    assert "weights of the last epoch, 2" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "last" / "metrics.json").read_text())
    assert metrics["weights_kept"] == "last" and metrics["best_epoch"] == 2
    model, data = blobs_mlp()
    result = nnzoo.fit(model, data, epochs=30, lr=0.3, patience=1, progress=None)
    assert result.kept == "best" and result.best_epoch <= result.epochs


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    code = main(["train", "mlp", "--data", "blobs", "--epochs", "1", "--tensorboard",
                 "--out", str(tmp_path / "run"), "--no-progress"])
    assert code == 2 and "pip install tensorboard" in capsys.readouterr().err


def test_tensorboard_scalars_are_written_per_epoch(tmp_path):
    pytest.importorskip("tensorboard")  # an optional extra: nnzoo[tensorboard]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert main(["train", "mlp", "--data", "blobs", "--epochs", "3", "--tensorboard",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert {"train/loss", "val/loss", "val/top1"} <= set(events.Tags()["scalars"])
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())["history"]
    assert [round(e.value, 5) for e in events.Scalars("train/loss")] == \
        [round(row["loss"], 5) for row in history]
