"""The step regularisers (input noise, input dropout, weight noise, FGSM adversarial training)
each change a step as its equation says, checked against a loop written from the equations; an
FGSM-trained net is measurably more robust; and the two second runs after early stopping."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

import nnzoo
from nnzoo.data import DataBundle, Split
from nnzoo.errors import NnzooError
from nnzoo.train.scoring import evaluate_fgsm

N, D, K, BATCH, LR, SEED = 24, 5, 3, 8, 0.1, 7


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    y = torch.randint(0, K, (N,), generator=g)
    split = Split(x, y)
    return DataBundle("toy", split, Split(x[:6], y[:6]), Split(x[:6], y[:6]), num_classes=K,
                      input_shape=(D,))


def _model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(D, 4), nn.Tanh(), nn.Linear(4, K)).double()


def _fit(model, data, epochs=2, **regularise):
    nnzoo.fit(model, data, epochs=epochs, batch_size=BATCH, lr=LR, optimizer="sgd", momentum=0.0,
              seed=SEED, progress=None, device="cpu", **regularise)
    return model


def _reference(model, data, epochs=2, input_noise=0.0, input_dropout=0.0, weight_noise=0.0,
               adversarial=0.0):
    """Minibatch SGD written from the equations, drawing from a generator seeded as fit's."""
    g = torch.Generator().manual_seed(SEED)

    def loss_of(inputs, y):
        return nn.functional.cross_entropy(model(inputs), y)
    x_all, y_all = data.train.x, data.train.y
    for _ in range(epochs):
        order = torch.randperm(N, generator=g)
        for start in range(0, N, BATCH):
            x, y = x_all[order[start:start + BATCH]], y_all[order[start:start + BATCH]]
            if input_noise:  # x̃ = x + σε
                x = x + torch.empty_like(x).normal_(0.0, input_noise, generator=g)
            if input_dropout:  # x̃ = x ⊙ m / (1 − p)
                x = x * torch.empty_like(x).bernoulli_(1 - input_dropout, generator=g) \
                    / (1 - input_dropout)
            clean = [p.detach().clone() for p in model.parameters()]
            if weight_noise:  # the gradient is taken at w + σε
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(torch.empty_like(p).normal_(0.0, weight_noise, generator=g))
            if adversarial:  # J̃ = ½J(x) + ½J(x + ε sign ∇ₓJ)
                x_req = x.clone().requires_grad_(True)
                (gx,) = torch.autograd.grad(loss_of(x_req, y), x_req)
                x_adv = x + adversarial * gx.sign()
                loss = 0.5 * loss_of(x, y) + 0.5 * loss_of(x_adv, y)
            else:
                loss = loss_of(x, y)
            grads = torch.autograd.grad(loss, list(model.parameters()))
            with torch.no_grad():  # ... and applied to the clean w
                for p, w, grad in zip(model.parameters(), clean, grads):
                    p.copy_(w - LR * grad)
    return model


@pytest.mark.parametrize("flag, value", [("input_noise", 0.5), ("input_dropout", 0.3),
                                         ("weight_noise", 0.2), ("adversarial", 0.25)])
def test_each_regulariser_is_its_equation(flag, value):
    data = _data()
    trained = _fit(_model(), data, **{flag: value})
    expected = _reference(_model(), data, **{flag: value})
    plain = _fit(_model(), data)
    for got, want, base in zip(trained.parameters(), expected.parameters(), plain.parameters()):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    assert any(not torch.allclose(a, b) for a, b in zip(trained.parameters(), plain.parameters()))


def test_no_regulariser_is_plain_sgd():
    data = _data()
    for got, want in zip(_fit(_model(), data).parameters(), _reference(_model(), data).parameters()):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_regularisers_are_recorded_and_leave_batch_norm_statistics_alone(tmp_path):
    data = _data()
    model = nn.Sequential(nn.Linear(D, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, K)).double()
    nnzoo.fit(model, data, epochs=1, batch_size=N, lr=LR, optimizer="sgd", momentum=0.0,
              progress=None, out=tmp_path / "run", adversarial=0.1, weight_noise=0.01,
              input_noise=0.1, input_dropout=0.2)
    training = json.loads((tmp_path / "run" / "config.json").read_text())["training"]
    assert (training["adversarial"], training["weight_noise"], training["input_noise"],
            training["input_dropout"]) == (0.1, 0.01, 0.1, 0.2)
    assert int(model[1].num_batches_tracked) == 1  # one step: the FGSM pass did not count


def test_fgsm_training_makes_a_net_more_robust():
    data = nnzoo.load_dataset("digits", input_shape=(64,))
    robust = {}
    for eps in (0.0, 0.2):
        torch.manual_seed(0)
        model = nnzoo.create("mlp", in_features=64, num_classes=10)
        result = nnzoo.fit(model, data, epochs=8, lr=3e-3, progress=None, adversarial=eps)
        assert result.test["top1"] > 0.85  # it still learns the clean task
        robust[eps] = evaluate_fgsm(model, data.test, eps=0.2)["top1"]
    assert robust[0.2] > robust[0.0] + 0.2, robust


def test_regularising_token_ids_is_refused():
    x = torch.randint(0, 5, (12, 4))
    data = DataBundle("tokens", Split(x, torch.randint(0, 2, (12,))),
                      Split(x[:4], torch.zeros(4, dtype=torch.long)),
                      Split(x[:4], torch.zeros(4, dtype=torch.long)), num_classes=2,
                      input_shape=(4,))
    model = nn.Sequential(nn.Embedding(5, 3), nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(NnzooError, match="Input noise perturb real-valued inputs.*token ids"):
        nnzoo.fit(model, data, epochs=1, progress=None, input_noise=0.1)


@pytest.mark.parametrize("setting, value, words", [
    ("input_dropout", 1.0, "input_dropout must be a finite number >= 0 and < 1"),
    ("weight_noise", -0.1, "weight_noise must be a finite number >= 0"),
    ("adversarial", float("nan"), "adversarial must be a finite number >= 0"),
    ("second_run", "again", "second_run must be one of fresh, continue")])
def test_declared_ranges(setting, value, words):
    with pytest.raises(NnzooError, match=words):
        nnzoo.fit(_model(), _data(), epochs=1, progress=None, **{setting: value})


# -- the second run --------------------------------------------------------------------------

def _digits():
    return nnzoo.load_dataset("digits", input_shape=(64,))


def _first(tmp_path, mode, name="run", **more):
    torch.manual_seed(0)
    model = nnzoo.create("mlp", in_features=64, num_classes=10)
    initial = copy.deepcopy(model.state_dict())
    result = nnzoo.fit(model, _digits(), epochs=30, patience=2, lr=0.01, progress=None,
                       second_run=mode, out=tmp_path / name, **more)
    return model, initial, result


def test_fresh_second_run_trains_train_and_validation_for_the_best_epoch_count(tmp_path):
    _, initial, result = _first(tmp_path, "fresh")
    second = result.second_run
    assert second["epochs"] == result.best_epoch and second["trained_on"] == 1438
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["second_run"] == second and saved["best_epoch"] == result.best_epoch
    # the same as a plain run from the first run's initial weights on the merged data
    from nnzoo.train.second_run import with_validation_merged

    again = nnzoo.create("mlp", in_features=64, num_classes=10)
    again.load_state_dict(initial)
    nnzoo.fit(again, with_validation_merged(_digits()), epochs=result.best_epoch, lr=0.01,
              progress=None)
    second_model, config = nnzoo.load(tmp_path / "run" / "second_run")
    assert config["training"]["mode"] == "fresh"
    for (name, got), want in zip(second_model.state_dict().items(), again.state_dict().values()):
        torch.testing.assert_close(got, want, msg=name)


def test_continued_second_run_stops_below_the_best_validation_loss(tmp_path):
    _, _, result = _first(tmp_path, "continue")
    second = result.second_run
    target = result.history[result.best_epoch - 1]["val_loss"]
    assert second["target_loss"] == target and second["reached_target"]
    history = json.loads((tmp_path / "run" / "second_run" / "metrics.json").read_text())["history"]
    assert history[-1]["loss"] < target <= min(row["loss"] for row in history[:-1] or [{"loss": 1e9}])
    assert "val_loss" not in history[-1]  # the validation data were training data


def test_second_run_needs_early_stopping(tmp_path, capsys):
    with pytest.raises(NnzooError, match="needs early stopping: give patience"):
        nnzoo.fit(_model(), _data(), epochs=1, progress=None, second_run="fresh")
    from nnzoo.cli.main import main

    assert main(["train", "mlp", "--second-run", "continue", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "needs early stopping" in err and "training mlp" not in err  # refused before the data
    assert not (tmp_path / "r").exists()


def test_an_interrupted_second_run_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    from nnzoo.train import second_run

    _first(tmp_path, "continue", name="whole")
    calls = {"n": 0}
    original = second_run.StopBelow.on_epoch_end

    def interrupt_once(self, state):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        original(self, state)

    monkeypatch.setattr(second_run.StopBelow, "on_epoch_end", interrupt_once)
    from nnzoo.train.lifecycle import TrainingInterrupted

    with pytest.raises(TrainingInterrupted):
        _first(tmp_path, "continue", name="cut")
    assert "second_run" not in json.loads((tmp_path / "cut" / "metrics.json").read_text())
    monkeypatch.setattr(second_run.StopBelow, "on_epoch_end", original)
    torch.manual_seed(0)
    model = nnzoo.create("mlp", in_features=64, num_classes=10)
    nnzoo.fit(model, _digits(), epochs=30, patience=2, lr=0.01, progress=None,
              second_run="continue", resume=tmp_path / "cut")
    whole = nnzoo.load(tmp_path / "whole" / "second_run")[0].state_dict()
    cut = nnzoo.load(tmp_path / "cut" / "second_run")[0].state_dict()
    for name in whole:
        assert torch.equal(whole[name], cut[name]), name
    metrics = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert metrics["second_run"]["epochs"] == \
        json.loads((tmp_path / "whole" / "metrics.json").read_text())["second_run"]["epochs"]


def test_nnzoo_eval_attack_fgsm_reports_accuracy_under_attack(tmp_path, capsys):
    from nnzoo.cli.main import main

    for model in ("mlp", "perceptron"):
        assert main(["train", model, "--epochs", "2", "--out", str(tmp_path / model),
                     "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "mlp"), "--attack", "fgsm", "--eps", "0.3", "--json",
                 "--no-per-class"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["fgsm_eps"] == 0.3 and scores["fgsm_top1"] < scores["top1"] - 0.1
    assert main(["eval", str(tmp_path / "perceptron"), "--attack", "fgsm"]) == 2
    assert "has none to follow" in capsys.readouterr().err
