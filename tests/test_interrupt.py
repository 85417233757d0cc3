"""Ctrl-C during training keeps the epochs already finished, in every epoch-based trainer."""

import json
from dataclasses import replace

import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.train import TrainingInterrupted


class CtrlC:
    """A callable that raises KeyboardInterrupt on its ``at``-th call and passes the others
    on to ``wrapped``: Ctrl-C at a chosen training step."""

    def __init__(self, wrapped, at: int):
        self.wrapped, self.at, self.calls = wrapped, at, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.wrapped(*args, **kwargs)


class CtrlCAtStep:
    """A training callback: Ctrl-C after the ``at``-th optimizer step."""

    def __init__(self, at: int):
        self.on_step_end = CtrlC(lambda state: None, at)


def interrupt_cli_training(monkeypatch, at: int):
    """Ctrl-C as ``nnzoo train`` takes its ``at``-th training batch (shuffled batches only:
    evaluation takes its batches in order)."""
    import nnzoo.train.gradient as gradient

    batches, taken = gradient.iterate_batches, CtrlC(lambda: None, at)

    def with_ctrl_c(split, batch_size, **kwargs):
        for batch in batches(split, batch_size, **kwargs):
            if kwargs.get("shuffle"):
                taken()
            yield batch

    monkeypatch.setattr(gradient, "iterate_batches", with_ctrl_c)


def blobs_mlp():
    torch.manual_seed(0)
    return nnzoo.create("mlp", in_features=2, hidden=(8,), num_classes=2), nnzoo.load_dataset("blobs")


def test_fit_stopped_in_epoch_3_writes_the_two_finished_epochs(tmp_path):
    model, data = blobs_mlp()
    steps = -(-len(data.train) // 64)
    with pytest.raises(TrainingInterrupted) as stopped:
        nnzoo.fit(model, data, epochs=10, progress=False, out=tmp_path / "run",
                  callbacks=[CtrlCAtStep(2 * steps + 1)])  # the first step of epoch 3
    result = stopped.value.result
    assert (result.interrupted_in, result.epochs, stopped.value.epochs) == (3, 2, 10)
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert 0 <= result.test["top1"] <= 1 and result.samples_per_second > 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["interrupted_in_epoch"] == 3 and metrics["epochs"] == 2
    assert {"weights.safetensors", "curves.png"} <= {p.name for p in (tmp_path / "run").iterdir()}
    assert isinstance(stopped.value, KeyboardInterrupt)  # a script that ignores it still stops


def test_fit_stopped_in_its_first_epoch_raises_keyboard_interrupt_and_writes_no_result(tmp_path):
    model, data = blobs_mlp()
    with pytest.raises(KeyboardInterrupt) as stopped:
        nnzoo.fit(model, data, epochs=10, progress=False, out=tmp_path / "run",
                  callbacks=[CtrlCAtStep(1)])
    assert not isinstance(stopped.value, TrainingInterrupted)
    assert not (tmp_path / "run").exists()  # not even its config.json: the folder is free again
    nnzoo.fit(model, data, epochs=1, progress=False, out=tmp_path / "run")
    assert (tmp_path / "run" / "metrics.json").exists()


def test_trainers_that_fail_their_own_checks_leave_the_folder_free(tmp_path):
    from nnzoo.errors import NnzooError

    data = nnzoo.load_dataset("blobs")
    wrong = replace(data, train=replace(data.train, y=data.train.y.float() + 0.5))
    with pytest.raises(NnzooError, match="labels"):
        nnzoo.fit(nnzoo.create("perceptron"), wrong, epochs=2, out=tmp_path / "p")
    assert not (tmp_path / "p").exists()
    nnzoo.fit(nnzoo.create("perceptron"), data, epochs=2, out=tmp_path / "p")  # same folder
    assert (tmp_path / "p" / "metrics.json").exists()
    digits = nnzoo.load_dataset("digits", input_shape=(1, 32, 32))
    with pytest.raises(NnzooError, match="fewer than one batch"):
        nnzoo.fit(nnzoo.create("gan"), digits, epochs=1, batch_size=5000, progress=False,
                out=tmp_path / "g")
    assert not (tmp_path / "g").exists()


def test_cli_exits_130_and_says_what_was_kept(monkeypatch, tmp_path, capsys):
    interrupt_cli_training(monkeypatch, 2 * 4 + 1)  # moons: 400 samples, 4 batches of 128
    out = tmp_path / "run"
    code = main(["train", "mlp", "--data", "moons", "--epochs", "5", "--batch-size", "128",
                 "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 130
    assert "interrupted in epoch 3 of 5 by SIGINT; kept the 2 epochs that had finished" in captured.err
    assert f"run written to {out}" in captured.out and "Traceback" not in captured.err
    assert (out / "decision_regions.png").exists()  # the task's pictures, as after a full run
    assert main(["eval", str(out)]) == 0  # the kept run is a run like any other


def test_cli_stopped_in_the_first_epoch_leaves_no_folder_behind(monkeypatch, tmp_path, capsys):
    interrupt_cli_training(monkeypatch, 1)
    out = tmp_path / "run"
    assert main(["train", "mlp", "--data", "moons", "--out", str(out), "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists()  # so that the same --out can be used again


def test_truncated_bptt_keeps_finished_epochs(tmp_path):

    torch.manual_seed(0)
    data = nnzoo.load_dataset("text", seq_len=50)
    data = replace(data, train=data.train.take(torch.arange(40)))
    model = nnzoo.create("char-lm", num_classes=data.num_classes, hidden_size=8)
    ctrl_c = CtrlCAtStep(10 ** 6)
    nnzoo.fit(model, data, epochs=1, batch_size=16, progress=False, callbacks=[ctrl_c])
    steps = ctrl_c.on_step_end.calls  # in one epoch
    with pytest.raises(TrainingInterrupted) as stopped:
        nnzoo.fit(model, data, epochs=3, batch_size=16, progress=False, out=tmp_path / "run",
                      callbacks=[CtrlCAtStep(steps + 1)])
    assert (stopped.value.result.interrupted_in, stopped.value.result.epochs) == (2, 1)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["interrupted_in_epoch"] == 2


def test_gan_keeps_finished_epochs(monkeypatch, tmp_path):
    import nnzoo.train.gan as gan

    data = nnzoo.load_dataset("digits", input_shape=(1, 32, 32))
    data = replace(data, train=data.train.take(torch.arange(64)), test=data.test.take(torch.arange(16)))
    torch.manual_seed(0)
    model = nnzoo.create("gan", z_dim=8, width=4)
    monkeypatch.setattr(gan, "gan_losses", CtrlC(gan.gan_losses, 2 * 2 + 1))  # 2 steps an epoch
    with pytest.raises(TrainingInterrupted) as stopped:
        nnzoo.fit(model, data, epochs=4, batch_size=32, progress=False, device="cpu",
                    out=tmp_path / "run")
    result = stopped.value.result
    assert (result.interrupted_in, result.epochs, len(result.history)) == (3, 2, 2)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"] == 2


RULE_LEARNERS = {  # model, data, settings: each with one step per epoch
    "perceptron": (lambda: nnzoo.create("perceptron"), lambda: nnzoo.load_dataset("xor"),
                   {"epochs": 5}),
    "mlp-backprop": (lambda: nnzoo.create("mlp-backprop"), lambda: nnzoo.load_dataset("xor"),
                     {"epochs": 5}),
    "rbm": (lambda: nnzoo.create("rbm", hidden=8), lambda: nnzoo.load_dataset("digits-reconstruct"),
            {"epochs": 5}),
    "boltzmann": (lambda: nnzoo.create("boltzmann"), lambda: nnzoo.load_dataset("bars-and-stripes"),
                  {"epochs": 5}),
}


@pytest.mark.parametrize("name", list(RULE_LEARNERS))
def test_ctrl_c_in_a_rule_learner_keeps_the_finished_epochs_and_their_weights(name, tmp_path):
    from safetensors.torch import load_file

    from nnzoo.runs.checkpoint import load_checkpoint

    make_model, make_data, settings = RULE_LEARNERS[name]
    torch.manual_seed(0)
    with pytest.raises(TrainingInterrupted) as stopped:
        nnzoo.fit(make_model(), make_data(), out=tmp_path / "run", progress=None,
                  callbacks=[CtrlCAtStep(3)], **settings)  # in epoch 3
    result = stopped.value.result
    assert (result.interrupted_in, result.epochs, len(result.history)) == (3, 2, 2)
    kept = load_file(str(tmp_path / "run" / "weights.safetensors"))
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert saved["epoch"] == 2  # the weights kept are those of the last finished epoch
    assert all(torch.equal(kept[k], saved["model"][k]) for k in kept)
