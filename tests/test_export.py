"""ONNX export: every exportable registered model runs in onnxruntime to the model's outputs.

Each model is exported by ``nnzoo.export`` without its own check, and this file runs the file
in onnxruntime on random inputs of another batch size (and sequence length, where the axis is
dynamic) than the traced ones, against the original model (nnzoo's fast-path layers included).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError

onnxruntime = pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed")

# Small configurations of the models whose default is big; the rest export as they are.
SMALL = {
    "mlp": {"hidden": (16,)}, "mlp-backprop": {}, "perceptron": {}, "rbf": {}, "rbm": {},
    "autoencoder": {"hidden": (16,), "code_size": 4},
    "denoising-autoencoder": {"hidden": (16,), "code_size": 4},
    "conv-autoencoder": {"widths": (4, 8), "code_size": 4},
    "gan": {"z_dim": 8, "width": 4},
    "lenet5": {}, "lenet5-1998": {},
    "rnn-classifier": {"hidden_size": 8}, "lstm-classifier": {"hidden_size": 8},
    "gru-classifier": {"hidden_size": 8, "bidirectional": True, "num_layers": 2},
    "forecaster": {"hidden_size": 8, "window": 6}, "char-lm": {"hidden_size": 8, "steps": 6},
    # no option shrinks these: one CIFAR ResNet, GoogLeNet without the training-only heads
    "resnet20": {}, "googlenet": {"aux_logits": False},
}
# No option shrinks them, and each takes 1 to 15 s to export on a shared 2-core CPU (ONNX's
# shape inference over tens of millions of weights, or a hundred layers): they run when asked.
LARGE = ("alexnet", "alexnet-2012", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet32",
         "resnet34", "resnet44", "resnet50", "resnet56", "resnet101", "resnet110", "resnet152")
# The deeper VGGs have VGG-11's layers, only more of them, and take 13-16 s each to export: CI
# exports VGG-11 and every other large model (about 40 s); these run with the flag set.
DEEPER = ("vgg13", "vgg16", "vgg19")
LARGE_FLAG = "NNZOO_TEST_LARGE_EXPORTS"
REFUSED = {"hopfield": "recall", "boltzmann": "annealing", "seq2seq": "decoding"}
# Recurrent variants whose cells run step by step (the trace unrolls them: a fixed length).
VARIANTS = [("lstm-classifier", {"cell": "peephole"}), ("lstm-classifier", {"cell": "coupled"}),
            ("rnn-classifier", {"cell": "jordan"}), ("rnn-classifier", {"cell": "clockwork"}),
            ("gru-classifier", {"per_step": True}), ("conv-autoencoder", {"decoder": "unpool"})]


def test_every_registered_model_is_exported_here_or_refused():
    assert set(SMALL).isdisjoint(LARGE) and set(SMALL).isdisjoint(REFUSED)
    assert sorted([*SMALL, *LARGE, *REFUSED]) == nnzoo.list_models()


def reference(module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return module(x).numpy()


def check_with_onnxruntime(path, module, written: dict, vocab: int | None = None) -> None:
    """Run the file on a batch of 5 (traced: 2), and 11 steps where the steps are dynamic."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    shape = [{"batch": 5, "steps": 11}.get(d, d) for d in written["inputs"][0]["shape"]]
    generator = torch.Generator().manual_seed(7)
    x = (torch.randint(0, vocab, shape, generator=generator) if vocab
         else torch.rand(shape, generator=generator))
    (got,) = session.run(None, {graph_input.name: x.numpy()})
    want = reference(module, x)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale)


def export_and_check(tmp_path, name: str, options: dict) -> list[dict]:
    model = nnzoo.create(name, **options).eval()
    entry_parts = {"gan": ("generator", "discriminator"),
                   "autoencoder": ("model", "encoder", "decoder"),
                   "denoising-autoencoder": ("model", "encoder", "decoder"),
                   "conv-autoencoder": ("model", "encoder")
                   if options.get("decoder") == "unpool" else ("model", "encoder", "decoder")}
    done = []
    for part in entry_parts.get(name, ("model",)):
        path = tmp_path / f"{name}-{part}.onnx"
        written = nnzoo.export(model, path, part=part, check=False)
        assert written["part"] == part and path.stat().st_size > 0
        module = {"model": model, "encoder": getattr(model, "encode", None),
                  "decoder": getattr(model, "decode", None),
                  "generator": getattr(model, "generator", None),
                  "discriminator": getattr(model, "discriminator", None)}[part]
        check_with_onnxruntime(path, module, written,
                               getattr(model, "vocab_size", None) if part == "model" else None)
        done.append(written)
    return done


@pytest.mark.parametrize("name", sorted(SMALL))
def test_exported_model_agrees_with_onnxruntime(tmp_path, name):
    for written in export_and_check(tmp_path, name, SMALL[name]):
        assert written["inputs"][0]["shape"][0] == "batch"
        assert written["outputs"][0]["shape"][0] == "batch"


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.skipif(
    name in DEEPER and not os.environ.get(LARGE_FLAG),
    reason=f"VGG-11's layers, deeper, 13-16 s to export; set {LARGE_FLAG}=1")) for name in LARGE])
def test_large_model_agrees_with_onnxruntime(tmp_path, name):
    export_and_check(tmp_path, name, {})


@pytest.mark.parametrize("name, options", VARIANTS)
def test_recurrent_and_decoder_variants_agree_with_onnxruntime(tmp_path, name, options):
    export_and_check(tmp_path, name, {"hidden_size": 8, **options}
                     if "classifier" in name else options)


def test_the_sequence_axis_is_dynamic_only_where_the_kernels_are_fused(tmp_path):
    fused = nnzoo.export(nnzoo.create("lstm-classifier", hidden_size=8), tmp_path / "a.onnx",
                         check=False)
    stepped = nnzoo.export(nnzoo.create("lstm-classifier", hidden_size=8, cell="peephole"),
                           tmp_path / "b.onnx", check=False)
    per_step = nnzoo.export(nnzoo.create("rnn-classifier", hidden_size=8, per_step=True),
                            tmp_path / "c.onnx", check=False)
    assert fused["inputs"][0]["shape"] == ["batch", "steps", 8]
    assert stepped["inputs"][0]["shape"] == ["batch", 8, 8]  # unrolled over the traced 8 steps
    assert per_step["outputs"][0]["shape"] == ["batch", "steps", 10]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_model_without_a_tensor_forward_is_refused_with_the_reason(tmp_path, name):
    with pytest.raises(NnzooError, match=f"Cannot export {name} to ONNX: .*{REFUSED[name]}"):
        nnzoo.export(nnzoo.create(name), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_the_unpool_decoder_is_refused_because_it_needs_the_switches(tmp_path):
    model = nnzoo.create("conv-autoencoder", decoder="unpool", widths=(4, 8))
    with pytest.raises(NnzooError, match="decoder of conv-autoencoder.*switches"):
        nnzoo.export(model, tmp_path / "d.onnx", part="decoder")


def test_an_unknown_part_or_format_is_refused(tmp_path):
    with pytest.raises(NnzooError, match="no part 'encoder'.*generator, discriminator"):
        nnzoo.export(nnzoo.create("gan", width=4), tmp_path / "g.onnx", part="encoder")
    with pytest.raises(NnzooError, match="format 'tflite'"):
        nnzoo.export(nnzoo.create("mlp"), tmp_path / "m.tflite", format="tflite")


def test_the_built_in_check_refuses_a_graph_that_froze_the_batch_size(tmp_path):
    class FrozenBatch(torch.nn.Module):  # len(x) is a constant to the trace
        def forward(self, x):
            return x.reshape(len(x), -1) * 2

    with pytest.raises(NnzooError, match="(?i)nothing was written"):
        nnzoo.export(FrozenBatch(), tmp_path / "f.onnx", input_shape=(3,))
    assert not (tmp_path / "f.onnx").exists()


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    data = nnzoo.load_dataset("digits")
    nnzoo.fit(nnzoo.create("mlp", hidden=(16,)), data, epochs=1, out=out, progress=None)
    return out, data


def test_nnzoo_export_writes_a_run_that_onnxruntime_runs_to_the_run_s_outputs(mlp_run, capsys):
    run, data = mlp_run
    assert main(["export", str(run), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["path"] == str(run / "model.onnx") and written["max_difference"] <= 1e-4
    model, _ = nnzoo.load(run)
    session = onnxruntime.InferenceSession(written["path"], providers=["CPUExecutionProvider"])
    x = data.test.x[:7]
    (got,) = session.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, reference(model, x), rtol=0, atol=1e-4)


def test_nnzoo_export_of_a_refused_model_exits_2_with_the_reason(mlp_run, tmp_path, capsys):
    run, _ = mlp_run
    assert main(["export", str(run), "--part", "decoder", "--out", str(tmp_path / "d.onnx")]) == 2
    assert "mlp has no part 'decoder'" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert "No weights at" in capsys.readouterr().err
