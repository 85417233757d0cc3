"""nnzoo: the classic neural-network architectures, faithful to their papers, on PyTorch.

    >>> import nnzoo
    >>> model = nnzoo.create("lenet5")
    >>> nnzoo.count_params(model)
    61706
    >>> data = nnzoo.load_dataset("digits", input_shape=(1, 32, 32))
    >>> result = nnzoo.fit(model, data, epochs=5)          # doctest: +SKIP
"""

from nnzoo.errors import NnzooError
from nnzoo.registry import count_params, create, get_entry, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "NnzooError", "count_params", "create", "get_entry", "list_models", "register_model",
    "load_dataset", "list_datasets", "fit", "evaluate", "predict",
]


def __getattr__(name):
    # Data and training are imported on first use so `import nnzoo` stays light.
    if name in ("load_dataset", "list_datasets"):
        from nnzoo import data

        return getattr(data, name)
    if name in ("fit", "evaluate"):
        from nnzoo import train

        return getattr(train, name)
    if name == "predict":
        from nnzoo.explain.predictions import predict

        return predict
    raise AttributeError(f"module 'nnzoo' has no attribute {name!r}")
