"""Mixed precision (--precision), deterministic kernels and compile modes, on the CPU: bf16
and fp16 autocast run here as on a GPU (PyTorch's CPU autocast), so the code paths a GPU run
takes are the ones tested."""

from __future__ import annotations

import json

import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError
from nnzoo.train import TrainingInterrupted
from nnzoo.train.precision import Precision, resolve_precision


class CtrlCAtStep:
    """A training callback: Ctrl-C after the ``at``-th optimizer step."""

    def __init__(self, at: int):
        self.at, self.steps = at, 0

    def on_step_end(self, state) -> None:
        self.steps += 1
        if self.steps == self.at:
            raise KeyboardInterrupt


def _mlp():
    torch.manual_seed(0)
    return nnzoo.create("mlp", in_features=64, num_classes=10)


def _digits():
    return nnzoo.load_dataset("digits", input_shape=(64,))


def test_auto_is_32_on_the_cpu_and_names_are_checked():
    assert resolve_precision("auto", torch.device("cpu")) == "32"
    assert resolve_precision(32, torch.device("cpu")) == "32"
    with pytest.raises(NnzooError, match="precision must be one of auto, 32, bf16, fp16"):
        nnzoo.fit(_mlp(), _digits(), epochs=1, progress=None, precision="fp8")


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_reduced_precision_runs_the_forward_pass_in_it_and_still_learns(precision, dtype):
    model, seen = _mlp(), set()
    model.register_forward_hook(lambda m, i, out: seen.add(out.dtype) if m.training else None)
    result = nnzoo.fit(model, _digits(), epochs=4, lr=3e-3, progress=None, precision=precision)
    assert seen == {dtype}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights
    assert result.test["top1"] > 0.8
    plain = nnzoo.fit(_mlp(), _digits(), epochs=4, lr=3e-3, progress=None, precision="32")
    assert result.history[-1]["loss"] != plain.history[-1]["loss"]
    assert abs(result.history[-1]["loss"] - plain.history[-1]["loss"]) < 0.1


def test_fp16_scales_the_loss_and_skips_an_overflowing_step():
    precision = Precision("fp16", torch.device("cpu"))
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    precision.backward((w * 2.0).sum())
    assert torch.allclose(w.grad, torch.full((3,), 2.0 * 65536))  # scaled by S = 2^16
    precision.step(opt)
    assert torch.allclose(w, torch.full((3,), 0.8))  # the step used the unscaled gradient
    opt.zero_grad()
    precision.backward((w * float("inf")).sum())
    precision.step(opt)  # overflow: skipped, S halved
    assert torch.allclose(w, torch.full((3,), 0.8))
    assert precision.scaler.get_scale() == 32768.0


def test_an_fp16_run_resumes_bit_identical_with_its_loss_scale(tmp_path):
    data = _digits()
    whole = nnzoo.fit(_mlp(), data, epochs=3, progress=None, precision="fp16", out=tmp_path / "a")
    steps = -(-len(data.train) // 64)
    with pytest.raises(TrainingInterrupted):
        nnzoo.fit(_mlp(), data, epochs=3, progress=None, precision="fp16", out=tmp_path / "b",
                  callbacks=[CtrlCAtStep(steps + 3)])
    nnzoo.fit(_mlp(), data, epochs=3, progress=None, precision="fp16", resume=tmp_path / "b")
    a, b = (nnzoo.load(tmp_path / name)[0].state_dict() for name in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)
    config = json.loads((tmp_path / "a" / "config.json").read_text())["training"]
    assert (config["precision"], config["precision_used"]) == ("fp16", "fp16")
    assert whole.test["top1"] > 0.5


def test_deterministic_switches_torch_to_deterministic_algorithms():
    try:
        nnzoo.fit(_mlp(), _digits(), epochs=1, progress=None, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_the_cli_takes_and_records_precision_and_compile_mode(tmp_path, capsys):
    assert main(["train", "mlp", "--epochs", "1", "--precision", "bf16", "--out",
                 str(tmp_path / "run"), "--no-progress"]) == 0
    training = json.loads((tmp_path / "run" / "config.json").read_text())["training"]
    assert training["precision_used"] == "bf16"
    with pytest.raises(SystemExit) as refused:  # argparse's choices: exit 2, with the usage
        main(["train", "mlp", "--compile-mode", "fastest", "--out", str(tmp_path / "x")])
    assert refused.value.code == 2 and "invalid choice: 'fastest'" in capsys.readouterr().err
