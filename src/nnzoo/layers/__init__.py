"""Building blocks shared by several architectures: activations, pooling, recurrent layers…

Every public layer is here by name (``nnzoo.layers.LSTM``, ``nnzoo.layers.SumPool2d``) and
imported on first use, so ``import nnzoo`` stays quick and ``nnzoo.layers.X`` works without
importing a submodule first. The submodules themselves (``nnzoo.layers.pooling``…) are there too.
"""

# layer class -> the submodule that defines it (functions stay in their submodules:
# nnzoo.layers.pooling.sum_pool2d)
_LAZY = {
    # recurrent layers and their cells
    "RNN": "recurrent", "LSTM": "recurrent", "GRU": "recurrent", "Recurrence": "recurrent",
    "JordanRNN": "recurrent",
    "ElmanCell": "cells", "JordanCell": "cells", "GRUCell": "cells",
    "LSTMCell": "cells_lstm", "PeepholeLSTMCell": "cells_lstm", "CoupledLSTMCell": "cells_lstm",
    "ClockworkCell": "clockwork", "ClockworkRNN": "clockwork",
    "ConvLSTMCell": "convlstm", "ConvLSTM": "convlstm",
    # pooling: max, average, sum and min, 1-D and 2-D
    "MaxPool1d": "pooling", "MaxPool2d": "pooling", "AvgPool1d": "pooling", "AvgPool2d": "pooling",
    "SumPool1d": "pooling", "SumPool2d": "pooling", "MinPool1d": "pooling", "MinPool2d": "pooling",
    # locally-connected layers (unshared weights)
    "LocallyConnected1d": "local", "LocallyConnected2d": "local",
    # max-pooling with switches and max-unpooling
    "SwitchMaxPool2d": "unpool", "MaxUnpool2d": "unpool",
    # convolution and activations
    "Conv2d": "conv",
    "Activation": "activations", "PReLU": "activations", "Tanh": "activations",
}
_SUBMODULES = ("activations", "cell_names", "cells", "cells_lstm", "clockwork", "conv",
               "convlstm", "init", "local", "pooling", "recurrent", "unpool")

__all__ = sorted(_LAZY)  # noqa: PLE0605 - the names above, one list


def __getattr__(name):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(f"nnzoo.layers.{_LAZY[name]}"), name)
        globals()[name] = value  # looked up once
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"nnzoo.layers.{name}")
    raise AttributeError(f"module 'nnzoo.layers' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
