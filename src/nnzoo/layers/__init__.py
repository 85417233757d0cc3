"""Building blocks shared by several architectures: activations, pooling, recurrent layers…

The recurrent layers and cells are imported on first use (``nnzoo.layers.LSTM``), so importing
one submodule such as ``nnzoo.layers.activations`` stays quick.
"""

_LAZY = {
    "RNN": "recurrent", "LSTM": "recurrent", "GRU": "recurrent", "Recurrence": "recurrent",
    "JordanRNN": "recurrent",
    "ElmanCell": "cells", "JordanCell": "cells", "GRUCell": "cells",
    "LSTMCell": "cells_lstm", "PeepholeLSTMCell": "cells_lstm", "CoupledLSTMCell": "cells_lstm",
    "ClockworkCell": "clockwork", "ClockworkRNN": "clockwork",
    "ConvLSTMCell": "convlstm", "ConvLSTM": "convlstm",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"nnzoo.layers.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'nnzoo.layers' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
