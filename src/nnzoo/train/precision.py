"""The arithmetic a training step runs in: ``precision`` 32, bf16 or fp16 (mixed precision).

- ``32``: float32 throughout.
- ``bf16``: the forward pass and the loss under ``torch.autocast(dtype=bfloat16)``: matrix
  products and convolutions in bfloat16, reductions and the loss in float32; the weights, their
  gradients and the optimizer stay float32. bfloat16 keeps float32's exponent range, so no loss
  scaling is needed.
- ``fp16``: autocast to float16 with dynamic loss scaling (``torch.amp.GradScaler``,
  Micikevicius et al. 2018): the loss is multiplied by S before backward so that small
  gradients do not underflow, the gradients are divided by S before clipping and the step, a
  step whose gradients overflowed is skipped and S halved, and S doubles after 2000 clean steps.
  The scaler's state goes into the checkpoint.
- ``auto`` (the default): bf16 on a CUDA GPU that supports it, else 32.

Validation and test run under the same autocast as training.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from nnzoo.settings import check_setting

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(precision, device: torch.device) -> str:
    """"32", "bf16" or "fp16" for ``precision`` (auto, 32, bf16 or fp16; 32 also as a number)
    on ``device``."""
    check_setting("precision", precision)
    precision = str(precision if precision is not None else "auto")
    if precision != "auto":
        return precision
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "32"


class Precision:
    """The autocast context and, for fp16, the loss scaler of one run."""

    def __init__(self, precision, device: torch.device):
        self.name = resolve_precision(precision, device)
        self.device_type = device.type
        self.dtype = DTYPES.get(self.name)
        self.scaler = torch.amp.GradScaler(device.type) if self.name == "fp16" else None

    @property
    def reduced(self) -> bool:
        return self.dtype is not None

    def autocast(self):
        """The context a forward pass and its loss run in."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer, clip=None) -> None:
        """The optimizer's step on the (unscaled) gradients, ``clip()`` called on them first."""
        if self.scaler is None:
            if clip is not None:
                clip()
            optimizer.step()
            return
        if clip is not None:
            self.scaler.unscale_(optimizer)
            clip()
        self.scaler.step(optimizer)  # skipped when a gradient overflowed
        self.scaler.update()

    def state_dict(self) -> dict:
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])


def set_deterministic(on: bool) -> None:
    """Bit-reproducible kernels (``--deterministic``): PyTorch's deterministic algorithms
    (an operation without one raises), cuDNN's autotuner off, and the cuBLAS workspace that
    makes its reductions repeatable. It holds for the rest of the process."""
    import os

    if not on:
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
