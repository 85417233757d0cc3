"""The glibc allocator thresholds fit raises for CPU training (nnzoo.train.host_allocator)."""

import platform

import pytest

import nnzoo
from nnzoo.train import host_allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_thresholds_are_raised_once_on_glibc(monkeypatch):
    monkeypatch.setattr(host_allocator, "_applied", None)
    monkeypatch.delenv("NNZOO_KEEP_FREED_MEMORY", raising=False)
    assert host_allocator.keep_freed_memory() is True
    assert host_allocator._applied is True
    assert host_allocator.keep_freed_memory() is True  # idempotent


def test_the_environment_variable_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setattr(host_allocator, "_applied", None)
    monkeypatch.setenv("NNZOO_KEEP_FREED_MEMORY", "0")
    assert host_allocator.keep_freed_memory() is False


def test_fit_on_the_cpu_raises_them(monkeypatch):
    calls = []
    monkeypatch.setattr("nnzoo.train.scoring.keep_freed_memory", lambda: calls.append(1) or True)
    data = nnzoo.load_dataset("xor")
    nnzoo.fit(nnzoo.create("mlp", in_features=2, hidden=(4,), num_classes=2), data, epochs=1,
              batch_size=4, device="cpu", progress=False)
    assert calls == [1]

