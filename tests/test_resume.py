"""kill -9 and SIGTERM, mid-epoch and at an epoch's end, then ``nnzoo train --resume``: every
learner family ends with the weights of an uninterrupted run, bit for bit.

The signal is sent by the run itself after a chosen training step (``tests/_signal_run.py``),
in a child process; the reference and the resumed runs go through ``nnzoo.cli.main.main``.
"""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nnzoo.cli.main import main

SIGNAL_RUN = Path(__file__).with_name("_signal_run.py")

# family: its training arguments. Small, so that each run takes seconds, with at least three
# epochs and several steps an epoch where the learner has steps.
FAMILIES = {
    "gradient": ["mlp", "--data", "blobs", "--batch-size", "100", "--epochs", "4"],
    "early-stopping": ["mlp", "--data", "blobs", "--batch-size", "100", "--epochs", "8",
                       "--lr", "0.05", "--optimizer", "sgd", "--patience", "2"],
    "bptt": ["char-lm", "-o", "hidden_size=8", "--batch-size", "64", "--epochs", "3",
             "-d", "seq_len=100"],
    "gan": ["gan", "-o", "z_dim=8", "-o", "width=4", "--batch-size", "400", "--epochs", "3"],
    "boltzmann": ["boltzmann", "--epochs", "8"],
    "rbm": ["rbm", "-o", "hidden=16", "--epochs", "4"],
    "perceptron": ["perceptron", "--data", "xor", "--epochs", "8"],
    "backprop": ["mlp-backprop", "--epochs", "40"],
}


def weights(run: Path) -> dict:
    return load_file(str(run / "weights.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    different = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not different, f"weights differ from the uninterrupted run's: {different}"


def signalled_run(signame: str, where: str, args: list[str], out: Path):
    return subprocess.run([sys.executable, str(SIGNAL_RUN), signame, where, "train", *args,
                           "--out", str(out), "--no-progress"], capture_output=True, text=True,
                          timeout=600)


def steps_per_epoch(reference: Path) -> int:
    from nnzoo.runs.checkpoint import load_checkpoint

    return load_checkpoint(reference / "checkpoint.safetensors")["steps_per_epoch"]


def history_without_times(run: Path) -> list[dict]:
    rows = json.loads((run / "metrics.json").read_text())["history"]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The uninterrupted run of each family, made once."""
    made = {}

    def reference(family: str) -> Path:
        if family not in made:
            out = tmp_path_factory.mktemp(family) / "uninterrupted"
            assert main(["train", *FAMILIES[family], "--out", str(out), "--no-progress"]) == 0
            made[family] = out
        return made[family]

    return reference


def resume_and_compare(out: Path, reference: Path) -> None:
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert_same_weights(out, reference)
    assert history_without_times(out) == history_without_times(reference)


# early stopping's state is checked by the SIGTERM test; one signal test of it is enough here
@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "early-stopping"])
def test_kill_9_mid_epoch_then_resume_ends_bit_identical(family, references, tmp_path):
    reference = references(family)
    steps = steps_per_epoch(reference)
    out = tmp_path / "run"
    # mid-epoch 2 (a rule with one step per epoch: after epoch 2's work, before its checkpoint)
    killed = signalled_run("SIGKILL", f"step:{steps + max(1, steps // 2)}", FAMILIES[family], out)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "weights.safetensors").exists()
    resume_and_compare(out, reference)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_sigterm_at_an_epoch_end_keeps_the_epochs_exits_143_then_resume_ends_bit_identical(
        family, references, tmp_path):
    reference = references(family)
    out = tmp_path / "run"
    stopped = signalled_run("SIGTERM", "epoch:2", FAMILIES[family], out)
    assert stopped.returncode == 143, stopped.stderr
    assert re.search(r"interrupted in epoch 3 of \d+ by SIGTERM; kept the 2 epochs", stopped.stderr)
    assert "--resume" in stopped.stderr and "Traceback" not in stopped.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted_in_epoch"] == 3 and metrics["epochs"] == 2
    resume_and_compare(out, reference)


# (SIGINT is Ctrl-C, which tests/test_interrupt.py covers for every learner in-process)
@pytest.mark.parametrize("signame, where, exit_status", [("SIGTERM", "step:6", 143),
                                                          ("SIGKILL", "epoch:2", -9)])
def test_the_other_signals_and_places_for_gradient_descent(signame, where, exit_status,
                                                           references, tmp_path):
    reference = references("gradient")
    out = tmp_path / "run"
    stopped = signalled_run(signame, where, FAMILIES["gradient"], out)
    assert stopped.returncode == exit_status, stopped.stderr
    if exit_status > 0:  # mid-epoch 2: epoch 1 is kept, and its weights are those written
        assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
    resume_and_compare(out, reference)


def test_a_one_step_learner_stopped_in_its_step_leaves_the_folder_free(tmp_path):
    for args in (["hopfield"],):
        out = tmp_path / args[0]
        stopped = signalled_run("SIGTERM", "step:1", args, out)
        assert stopped.returncode == 143, stopped.stderr
        assert "interrupted by SIGTERM" in stopped.stderr and "Traceback" not in stopped.stderr
        assert main(["train", *args, "--out", str(out), "--no-progress"]) == 0  # the same --out
