import json
import subprocess
import sys

import pytest

from nnzoo.cli.main import main


def test_help_does_not_import_torch():
    code = ("import sys; from nnzoo.cli.main import build_parser; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for command in ("train", "eval", "list", "info", "summary"):
        assert command in text


def test_summary_prints_the_lecture_table(capsys):
    assert main(["summary", "lenet5"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]
            if line and not line.startswith("-")}
    expected = {"C1": "28x28x6", "S2": "14x14x6", "C3": "10x10x16", "S4": "5x5x16",
                "C5": "1x1x120", "F6": "84", "output": "10"}
    for layer, size in expected.items():
        assert size in rows[layer], rows[layer]
    assert rows["C1"][-1] == "156" and rows["C5"][-1] == "48,120" and rows["total"][-1] == "61,706"



def test_summary_names_custom_layers_as_the_paper_does(capsys):
    import re

    import torch

    from nnzoo.explain.summary import layer_table

    assert main(["summary", "lenet5-1998"]) == 0
    rows = {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip())
                                           for line in capsys.readouterr().out.splitlines()[2:])}
    assert rows["S2"][1] == "subsampling" and rows["C3"][1] == "conv (partial table)"
    assert rows["output"][1] == "RBF" and rows["C5"][1] == "convolution"  # a Conv2d subclass
    assert rows["C1"][5] == "scaled tanh"

    class Doubler(torch.nn.Module):  # no type_name: the class name is shown
        def forward(self, x):
            return torch.cat([x, x], 1)

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), Doubler())
    assert [row.type for row in layer_table(model, (3,))] == ["input", "dense", "Doubler"]

def test_list_and_info(capsys):
    assert main(["list"]) == 0
    assert "lenet5" in capsys.readouterr().out
    assert main(["info", "lenet5"]) == 0
    text = capsys.readouterr().out
    assert "LeCun" in text and "(1, 32, 32)" in text


def test_list_and_info_explain_weights_set_by_a_learning_rule(capsys):
    """Hopfield's and Boltzmann's weights are buffers, not gradient parameters: say so, not just 0."""
    assert main(["list", "--family", "classic"]) == 0
    assert "boltzmann, hopfield learn their weights by their own rule" in capsys.readouterr().out
    assert main(["info", "hopfield"]) == 0
    assert "weight 100x100, threshold 100 set by its own learning rule" in capsys.readouterr().out


def test_train_then_eval(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "mlp", "--epochs", "2", "--no-progress", "--out", str(out),
                 "-o", "hidden=32"]) == 0
    assert f"run written to {out}" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and 0 <= metrics["test_top1"] <= 1
    assert json.loads((out / "config.json").read_text())["model_options"]["hidden"] == 32
    assert (out / "confusion.png").stat().st_size > 0
    assert main(["eval", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["top1"] == pytest.approx(metrics["test_top1"])
    assert [row["class"] for row in evaluated["per_class"]] == [str(d) for d in range(10)]
    recall = sum(r["recall"] * r["support"] for r in evaluated["per_class"]) / 359
    assert recall == pytest.approx(metrics["test_top1"])  # support-weighted recall is accuracy
    assert main(["eval", str(out / "weights.safetensors")]) == 0  # weights alone also work
    table = capsys.readouterr().out.splitlines()
    assert table[1].split() == ["class", "precision", "recall", "f1", "support"]
    assert [line.split()[0] for line in table[2:13]] == [*map(str, range(10)), "macro"]
    assert main(["eval", str(out), "--no-per-class"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.parametrize("argv,needle", [
    (["train", "lenet"], "lenet5"),
    (["train", "mlp", "--data", "digitz"], "digits"),
    (["train", "mlp", "-o", "widht=3"], "hidden"),
    (["train", "mlp", "-o", "hidden"], "KEY=VALUE"),
    (["train", "lenet5", "--data", "xor", "--epochs", "1"], "cannot take"),
    (["train", "perceptron", "--compile", "--optimizer", "sgd"], "--optimizer, --compile"),
    (["train", "hopfield", "--epochs", "3"], "--epochs"),
    (["train", "seq2seq", "-o", "reverse_source=maybe"], "true or false"),
    (["train", "mlp", "--data", "sine", "--epochs", "1"], "cannot be scored against"),
    (["train", "autoencoder", "--data", "moons", "--epochs", "1"], "cannot be scored against"),
    (["train", "perceptron", "--data", "digits", "-o", "classes=2"], "2-class perceptron"),
    (["train", "seq2seq", "--data", "xor", "--epochs", "1"], "Expected a seq2seq dataset"),
    (["train", "char-lm", "--data", "moons", "--epochs", "1"], "Expected a language-model"),
    (["train", "mlp", "--data", "reversal", "--epochs", "1"], "cannot take"),  # (src, tgt) pairs
    (["train", "lenet5", "--data", "bars-and-stripes", "--epochs", "1"], "side from 2 to 8"),
    (["summary", "nope"], "nnzoo list"),
    (["info", "lenet-5"], "lenet5"),
])
def test_bad_input_exits_2_with_one_paragraph(argv, needle, capsys, tmp_path):
    assert main([*argv, *(["--out", str(tmp_path / "r")] if argv[0] == "train" else [])]) == 2
    err = capsys.readouterr().err  # at most a "training ..." line, then the error
    assert err.splitlines()[-1].startswith("nnzoo: error:") and needle in err.splitlines()[-1]
    assert "Traceback" not in err and len(err.splitlines()) <= 2
    assert not (tmp_path / "r").exists()  # a run that never started leaves no folder behind


def test_a_model_takes_its_input_size_from_the_data(tmp_path, capsys):
    out = tmp_path / "mlp-moons"  # the MLP's default in_features is 64 (the digits)
    assert main(["train", "mlp", "--data", "moons", "--epochs", "30", "--no-progress",
                 "--out", str(out)]) == 0
    options = json.loads((out / "config.json").read_text())["model_options"]
    assert options == {"in_features": 2, "num_classes": 2}
    assert json.loads((out / "metrics.json").read_text())["test_top1"] > 0.8
    assert main(["eval", str(out), "--json"]) == 0  # the model is rebuilt from the config
    out = tmp_path / "forecaster-adding"  # window 40 of 1 value by default; T steps of 2 here
    assert main(["train", "forecaster", "--data", "adding", "-d", "T=12", "-d", "n_train=64",
                 "-d", "n_val=16", "-d", "n_test=16", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 0
    options = json.loads((out / "config.json").read_text())["model_options"]
    assert options == {"input_size": 2, "window": 12}
    out = tmp_path / "perceptron-digits"  # one unit by default; a unit per class for ten
    assert main(["train", "perceptron", "--data", "digits", "--epochs", "2", "--no-progress",
                 "--out", str(out)]) == 0
    options = json.loads((out / "config.json").read_text())["model_options"]
    assert options == {"in_features": 64, "classes": 10}


def test_eval_on_data_of_another_task_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "mlp", "--data", "moons", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 0
    assert main(["eval", str(out), "--data", "circles"]) == 0  # 2-D points with 2 classes too
    capsys.readouterr()
    assert main(["eval", str(out), "--data", "sine"]) == 2  # windows of 2 values, real targets
    err = capsys.readouterr().err
    assert "as a classify task" in err and "Traceback" not in err


def test_eval_of_a_learner_with_its_own_metrics_checks_the_input_too(tmp_path, capsys):
    out = tmp_path / "hopfield"
    assert main(["train", "hopfield", "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--data", "reversal"]) == 2  # (source, target) id pairs
    err = capsys.readouterr().err
    assert "one state per sample" in err and "Traceback" not in err


def test_a_reconstructing_model_draws_labelled_and_flat_data(tmp_path):
    """rbm on the digits (class ids as targets) and on 8x8 bars-and-stripes rows of 64 pixels:
    the pictures reconstruct the inputs and draw the rows as square images."""
    for data in ("digits", "bars-and-stripes"):
        out = tmp_path / data
        assert main(["train", "rbm", "--data", data, "--epochs", "1", "--no-progress",
                     "--out", str(out)]) == 0
        assert (out / "reconstructions.png").stat().st_size > 0
        errors = json.loads((out / "reconstruction.json").read_text())
        assert 0 < errors["test_mse"] < 1  # pixels against pixels, not against class ids


def test_unreadable_weights_and_existing_run(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    assert main(["eval", str(bad)]) == 2
    assert "not a valid safetensors" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"mine": 1}')
    assert main(["train", "mlp", "--epochs", "1", "--out", str(run), "--no-progress"]) == 2
    assert "already holds another run" in capsys.readouterr().err
    assert (run / "metrics.json").read_text() == '{"mine": 1}'


def test_console_script_exit_status(tmp_path):
    result = subprocess.run([sys.executable, "-m", "nnzoo.cli.main", "train", "nope"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_closed_pipe_stops_quietly():
    """`nnzoo list | head`: the reader has gone before nnzoo writes; no traceback, status 141."""
    proc = subprocess.Popen([sys.executable, "-m", "nnzoo.cli.main", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the only read end: every write nnzoo makes now fails with EPIPE
    err = proc.stderr.read()
    assert proc.wait() == 141 and err == ""


def test_eval_of_a_single_output_learner_uses_its_own_rule(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "perceptron", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["top1"] == 1.0  # blobs are separable


def test_a_binary_coded_perceptron_trains_draws_and_evaluates(tmp_path, capsys):
    # Its 4 units code 16 ids for the 10 digits: a loss on the units means nothing, and an
    # unused code is a decision for no class (the matrix's last column).
    out = tmp_path / "run"
    assert main(["train", "perceptron", "--data", "digits", "-o", "encoding=binary",
                 "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    assert (out / "confusion.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert sum(row["support"] for row in evaluated["per_class"]) == 359
    assert set(evaluated) >= {"top1", "per_class", "most_confused"} and "loss" not in evaluated


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("nnzoo.train.fit", interrupted)
    assert main(["train", "mlp", "--out", str(tmp_path / "r"), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "\nnnzoo: error: interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "weights.safetensors").exists()


def test_info_names_the_learner_that_trains_each_model(capsys):
    expected = {"perceptron": "Rosenblatt's perceptron rule", "char-lm": "BPTTLearner",
                "gan": "GANLearner", "hopfield": "HebbianLearner", "lenet5": "GradientLearner",
                "rbm": "RBMLearner"}
    for model, words in expected.items():
        assert main(["info", model]) == 0
        assert words in capsys.readouterr().out


@pytest.mark.parametrize("flags, words", [
    (["--lr", "nan"], "--lr must be a finite number > 0; got nan"),
    (["--lr", "-1"], "--lr must be a finite number > 0; got -1.0"),
    (["--weight-decay", "-1"], "--weight-decay must be a finite number >= 0"),
    (["--batch-size", "0"], "--batch-size must be a whole number >= 1; got 0"),
    (["--batch-size", "-8"], "--batch-size must be a whole number >= 1; got -8"),
    (["--epochs", "-3"], "--epochs must be a whole number >= 1"),
    (["--momentum", "nan"], "--momentum must be a finite number >= 0 and < 1"),
    (["--clip-grad-norm", "-1"], "--clip-grad-norm must be a finite number > 0"),
    (["--seed", "99999999999999999999999"], "--seed must be a whole number >= 0"),
    (["--device", "gpu"], "--device must be cpu, cuda, cuda:N, mps or auto; got 'gpu'"),
])
def test_training_flags_out_of_range_exit_2_before_any_work(flags, words, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "mlp", "--data", "blobs", *flags, "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert words in err and "Traceback" not in err and "training mlp" not in err
    assert not out.exists()


def test_fit_refuses_settings_out_of_range_in_the_same_words():
    import nnzoo

    with pytest.raises(nnzoo.NnzooError, match="lr must be a finite number > 0; got nan"):
        nnzoo.fit(nnzoo.create("mlp", in_features=2, num_classes=2), nnzoo.load_dataset("blobs"),
                  lr=float("nan"), progress=None)


def test_eval_batch_size_must_be_positive(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nowhere"), "--batch-size", "-1"]) == 2
    assert "--batch-size must be a whole number >= 1; got -1" in capsys.readouterr().err
