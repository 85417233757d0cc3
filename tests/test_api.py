"""The Python API's habits: lazy ``nnzoo.layers``, ``dir(nnzoo)``, wildcards in ``list_models``,
``nnzoo.load``, ``fit`` on arrays, ``predict`` on tensors, the estimator, ``--version``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError


def test_layers_resolve_with_import_nnzoo_alone():
    code = ("import nnzoo; print(nnzoo.layers.LSTM.__name__, nnzoo.layers.SumPool2d.__name__, "
            "nnzoo.layers.LocallyConnected2d.__name__, nnzoo.layers.MaxUnpool2d.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["LSTM", "SumPool2d", "LocallyConnected2d", "MaxUnpool2d"]


def test_every_public_layer_class_is_exported_from_nnzoo_layers():
    import importlib
    import inspect

    from nnzoo import layers

    for module in ("pooling", "local", "unpool", "recurrent", "cells", "cells_lstm",
                   "clockwork", "convlstm", "conv"):
        found = importlib.import_module(f"nnzoo.layers.{module}")
        for name, value in vars(found).items():
            if inspect.isclass(value) and issubclass(value, torch.nn.Module) \
                    and not name.startswith("_") and value.__module__.startswith("nnzoo"):
                assert getattr(layers, name) is value, name
    assert {"MaxPool2d", "AvgPool1d", "MinPool1d", "LocallyConnected1d"} <= set(dir(layers))


def test_dir_lists_the_api():
    assert {"create", "list_models", "fit", "load_dataset", "predict", "load", "export",
            "Estimator", "layers", "__version__"} <= set(dir(nnzoo))
    for name in nnzoo.__all__:
        assert getattr(nnzoo, name) is not None


def test_list_models_takes_a_family_or_wildcards():
    assert nnzoo.list_models("resnet1*") == ["resnet101", "resnet110", "resnet152", "resnet18"]
    assert nnzoo.list_models("vgg1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert "lstm-classifier" in nnzoo.list_models("recurrent")
    assert nnzoo.list_models("nothing*") == []
    with pytest.raises(NnzooError, match="Unknown family 'resnet'.*wildcard"):
        nnzoo.list_models("resnet")


def test_version():
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0


def blobs(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 4, generator=g) * 0.3 + torch.eye(3, 4)[y] * 3
    return x, y


def test_fit_takes_arrays_and_sets_apart_a_validation_part(tmp_path):
    x, y = blobs()
    model = nnzoo.create("mlp", in_features=4, num_classes=3, hidden=(8,))
    result = nnzoo.fit(model, (x.numpy(), y.numpy()), epochs=15, lr=0.05, progress=None,
                       out=tmp_path / "run")
    assert "val_loss" in result.history[0] and result.test["top1"] >= 0.9
    loaded, config = nnzoo.load(tmp_path / "run")
    assert config["data"] is None and config["model"] == "mlp"  # not a dataset by name
    probabilities = nnzoo.predict(loaded, x[:5])
    assert probabilities.shape == (5, 3)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(5))
    torch.testing.assert_close(nnzoo.predict(tmp_path / "run", x[:5].numpy()), probabilities)
    assert probabilities.argmax(1).tolist() == y[:5].tolist()


def test_fit_refuses_arrays_that_do_not_pair():
    with pytest.raises(NnzooError, match="one row per sample"):
        nnzoo.fit(nnzoo.create("mlp", in_features=4), (torch.zeros(5, 4), torch.zeros(4).long()))


def test_predict_gives_a_regressor_its_outputs():
    model = nnzoo.create("forecaster", window=5, hidden_size=4)
    x = torch.rand(3, 5, 1)
    out = nnzoo.predict(model, x)
    with torch.no_grad():
        torch.testing.assert_close(out, model.eval()(x))
    assert out.shape == (3, 1)


def test_the_estimator_fits_predicts_and_scores_plain_arrays():
    x, y = blobs(150, seed=1)
    estimator = nnzoo.Estimator("mlp", hidden=(8,), settings={"epochs": 15, "lr": 0.05})
    assert estimator.fit(x.numpy(), y.numpy()) is estimator
    test_x, test_y = blobs(60, seed=2)
    assert estimator.predict(test_x.numpy()).tolist()[:3] == test_y.tolist()[:3]
    assert estimator.score(test_x.numpy(), test_y.numpy()) >= 0.9
    assert estimator.predict_proba(test_x.numpy()).shape == (60, 3)
    assert list(estimator.classes_) == [0, 1, 2]
    with pytest.raises(NnzooError, match="not fitted"):
        nnzoo.Estimator("mlp").predict(np.zeros((1, 4)))
