"""Initialise a large model once, not twice.

PyTorch initialises every ``Conv2d`` and ``Linear`` when it is built; a model that then applies
its paper's initialisation pays twice, and drawing random numbers is most of the time it takes
to build VGG-16 (138 M parameters, several seconds on one CPU core). :func:`build_initialised`
builds the model on the ``meta`` device (shapes only, no numbers), allocates it on the real
device, and runs the paper's initialisation once:

    >>> model = build_initialised(lambda: VGG(...), init_vgg)     # doctest: +SKIP

``init(module)`` is called for every ``Conv*`` / ``Linear`` module; every other module with
parameters or buffers must have ``reset_parameters`` (batch norm has), which is called — so
nothing is left uninitialised memory.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


def build_initialised(make: Callable[[], nn.Module], init: Callable[[nn.Module], None],
                      device=None) -> nn.Module:
    """``make()`` on the meta device, then memory on ``device`` and one initialisation."""
    device = torch.device(device or torch.get_default_device())
    with torch.device("meta"):
        model = make()
    if device.type == "meta":  # shapes only (e.g. counting parameters): nothing to initialise
        return model
    model = model.to_empty(device=device)
    with torch.no_grad():
        for module in model.modules():
            holds = any(True for _ in module.parameters(recurse=False)) or \
                any(True for _ in module.buffers(recurse=False))
            if isinstance(module, WEIGHTED):
                init(module)
            elif hasattr(module, "reset_parameters"):
                module.reset_parameters()
            elif holds:
                raise TypeError(f"{type(module).__name__} holds tensors but has no "
                                f"reset_parameters(); build_initialised cannot initialise it")
    return model


def he_normal(module: nn.Module) -> None:
    """He et al. 2015 for ReLU nets: N(0, 2/fan_out) for convolutions, bias 0; N(0, 0.01) for
    dense layers, bias 0 (torchvision's choice for VGG, ResNet)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.01)
    else:
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    if module.bias is not None:
        nn.init.zeros_(module.bias)
