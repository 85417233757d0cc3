"""nnzoo: the classic neural-network architectures, faithful to their papers, on PyTorch.

    >>> import nnzoo
    >>> model = nnzoo.create("lenet5")
    >>> nnzoo.count_params(model)
    61706
    >>> nnzoo.list_models("resnet1*")
    ['resnet101', 'resnet110', 'resnet152', 'resnet18']
    >>> data = nnzoo.load_dataset("digits", input_shape=(1, 32, 32))
    >>> result = nnzoo.fit(model, data, epochs=5, out="runs/lenet")      # doctest: +SKIP
    >>> model, config = nnzoo.load("runs/lenet")                         # doctest: +SKIP
    >>> nnzoo.predict(model, data.test.x[:4]).shape                     # doctest: +SKIP
    torch.Size([4, 10])
    >>> nnzoo.export("runs/lenet", "lenet.onnx")                        # doctest: +SKIP

Everything but the registry is imported on first use, so ``import nnzoo`` stays light;
``nnzoo.layers.LSTM`` and the like work with ``import nnzoo`` alone.
"""

from nnzoo.errors import NnzooError
from nnzoo.registry import count_params, create, get_entry, list_models, register_model

__version__ = "0.1.0"

# name -> (module, attribute) for what is imported on first use
_LAZY = {
    "load_dataset": ("nnzoo.data", "load_dataset"),
    "list_datasets": ("nnzoo.data", "list_datasets"),
    "fit": ("nnzoo.train", "fit"),
    "evaluate": ("nnzoo.train", "evaluate"),
    "export": ("nnzoo.interop.onnx", "export"),
    "Estimator": ("nnzoo.interop.arrays", "Estimator"),
    "layers": ("nnzoo.layers", None),
}

__all__ = ["Estimator", "NnzooError", "__version__", "count_params", "create", "evaluate",
           "export", "fit", "get_entry", "layers", "list_datasets", "list_models", "load",
           "load_dataset", "predict", "register_model"]


def load(run):
    """``(model, config)`` of a run folder or weights file: the model rebuilt by name with its
    trained weights, in eval mode on the CPU, and the run's complete config.

    >>> model, config = nnzoo.load("runs/lenet")                      # doctest: +SKIP
    """
    from nnzoo.runs import load_run

    return load_run(run)


def predict(model_or_run, inputs, **options):
    """What a model (or the model of a run folder) makes of ``inputs``.

    - a tensor or array (N, ...): class probabilities (N, C) for a classifier, the class ids
      for a learner with its own decision rule (a perceptron), else the model's outputs;
    - picture files (a path or a list of paths): each picture's most probable classes, as
      ``nnzoo predict RUN IMAGE...`` prints them (:func:`nnzoo.explain.predictions.predict`;
      ``top=``, ``data_dir=``).
    """
    import os

    if isinstance(inputs, (str, os.PathLike)) or (
            isinstance(inputs, (list, tuple)) and inputs
            and all(isinstance(p, (str, os.PathLike)) for p in inputs)):
        from nnzoo.explain.predictions import predict as predict_pictures

        if not isinstance(model_or_run, (str, os.PathLike)):
            raise NnzooError("Predicting picture files needs the run folder (or weights file), "
                             "not a model: each picture is prepared the way the run's dataset "
                             "images were, which the run records. Pass the run's path, or "
                             "give the model a tensor of inputs.")

        return predict_pictures(model_or_run, [inputs] if isinstance(inputs, (str, os.PathLike))
                                else inputs, **options)
    from nnzoo.interop.arrays import predict_tensor

    return predict_tensor(model_or_run, inputs, **options)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        found = importlib.import_module(module)
        return found if attribute is None else getattr(found, attribute)
    raise AttributeError(f"module 'nnzoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
