"""The compiled time loops (layers/native/recurrent.cpp) against the Python loops they
replace, and the Python loops' fallback when the compiled ones are off."""

import pytest
import torch

from nnzoo import layers
from nnzoo.layers import _native

LAYERS = {
    "lstm": lambda: layers.LSTM(3, 5, explicit=True),
    "peephole": lambda: layers.LSTM(3, 5, peephole=True),
    "coupled": lambda: layers.LSTM(3, 5, coupled=True),
    "gru": lambda: layers.GRU(3, 5, explicit=True),
}


def outputs_and_gradients(layer, x, lengths, python_loops, monkeypatch):
    if python_loops:
        monkeypatch.setitem(_native._state, "ops", None)
        monkeypatch.setitem(_native._state, "status", "off (test)")
    layer.zero_grad()
    x = x.clone().requires_grad_()
    out, _ = layer(x, lengths=lengths)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out.detach(), x.grad] + [p.grad.clone() for p in layer.parameters()]


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_compiled_loops_equal_the_python_loops(name, dtype, tolerance, monkeypatch):
    if _native.native_ops() is None:
        pytest.skip(f"compiled loops unavailable: {_native.native_status()}")
    torch.manual_seed(0)
    layer = LAYERS[name]().to(dtype)
    x = torch.randn(7, 4, 3, dtype=dtype) * 2
    lengths = torch.tensor([7, 3, 5, 1])
    for given in (None, lengths):
        compiled = outputs_and_gradients(layer, x, given, False, monkeypatch)
        python = outputs_and_gradients(layer, x, given, True, monkeypatch)
        monkeypatch.undo()
        for a, b in zip(compiled, python):
            torch.testing.assert_close(a, b, atol=tolerance, rtol=tolerance)


def test_float_sigmoid_is_accurate_and_passes_nan(monkeypatch):
    """The float32 loops' own e^x: the gates of extreme and NaN pre-activations."""
    if _native.native_ops() is None:
        pytest.skip(f"compiled loops unavailable: {_native.native_status()}")
    layer = layers.LSTM(1, 1, explicit=True, bias=False)
    with torch.no_grad():
        layer.weight_ih_l0.fill_(1.0)
        layer.weight_hh_l0.zero_()
    x = torch.tensor([-200.0, -30.0, -1.0, 0.0, 1e-3, 2.0, 40.0, 200.0, float("nan")]).view(-1, 1, 1)
    out, _ = layer(x)
    i = f = o = torch.sigmoid(x.view(-1))
    g = torch.tanh(x.view(-1))
    c = torch.zeros(())
    expected = []
    for t in range(len(g)):
        c = f[t] * c + i[t] * g[t]
        expected.append(o[t] * torch.tanh(c))
    torch.testing.assert_close(out.view(-1)[:-1], torch.stack(expected)[:-1], atol=1e-6, rtol=1e-5)
    assert torch.isnan(out.view(-1)[-1])


def test_native_off_runs_the_python_loops(monkeypatch):
    monkeypatch.setenv("NNZOO_NATIVE", "0")
    monkeypatch.setattr(_native, "_state", {})
    assert _native.native_ops() is None
    assert _native.native_status().startswith("off")
    layer = layers.LSTM(3, 4, explicit=True)
    out, _ = layer(torch.randn(5, 2, 3))
    out.sum().backward()
    assert layer.weight_hh_l0.grad is not None


def test_a_failed_build_falls_back_with_its_reason(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("NNZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_native.shutil, "which", lambda name: None)
    monkeypatch.setattr(_native, "_state", {})
    assert _native.native_ops() is None
    assert "no C++ compiler" in _native.native_status()
    assert "Python loops" in capsys.readouterr().err
