"""`nnzoo show filters` and `nnzoo show maps` on tiny run folders the tests write themselves."""

import json

import matplotlib.image
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError
from nnzoo.explain.filters import (filter_tiles, filters_figure, first_conv, first_layer_weights,
                                   image_shape, mosaic, pick, stage_maps)
from nnzoo.runs import RunFolder


def make_run(path, model_name, **options):
    torch.manual_seed(0)
    model = nnzoo.create(model_name, **options)
    channels = options.get("in_channels", nnzoo.get_entry(model_name).input_shape[0])
    config = {"model": model_name, "model_options": options, "data": "digits",
              "data_options": {}, "input_shape": [channels, 32, 32], "task": "classify"}
    folder = RunFolder(path)
    folder.write_json("config.json", config)
    folder.save_weights(model, config)
    return model


def read_png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 100
    return image


def test_filters_of_a_grey_run(tmp_path, capsys):
    make_run(tmp_path / "run", "lenet5-1998")
    assert main(["show", "filters", str(tmp_path / "run")]) == 0
    assert "filters.png" in capsys.readouterr().out
    read_png(tmp_path / "run" / "filters.png")


def test_filters_of_an_rgb_run_to_another_folder(tmp_path):
    make_run(tmp_path / "run", "resnet20")
    assert main(["show", "filters", str(tmp_path / "run"), "--out", str(tmp_path / "pics")]) == 0
    read_png(tmp_path / "pics" / "filters.png")


def test_rgb_tiles_are_kernels_scaled_to_their_own_range():
    weight = torch.randn(5, 3, 4, 4) * torch.arange(1, 6).view(5, 1, 1, 1)
    tiles, columns, _ = filter_tiles(weight)
    assert len(tiles) == 5 and columns == 5
    for k, tile in enumerate(tiles):
        assert tile.shape == (4, 4, 3)
        assert tile.min() == 0 and tile.max() == 1
        np.testing.assert_allclose(tile[..., 1], (weight[k, 1] - weight[k].min()).numpy()
                                   / float(weight[k].max() - weight[k].min()), rtol=1e-5)
    grey, columns, _ = filter_tiles(torch.randn(4, 2, 3, 3))  # rows = outputs, columns = inputs
    assert len(grey) == 8 and columns == 2 and grey[0].shape == (3, 3)
    canvas = mosaic([np.zeros((2, 2))] * 3, 2, border=1, fill=0.5)
    assert canvas.shape == (2 * 5 - 1, 2 * 5 - 1)
    assert canvas[1, 1] == 0 and canvas[0, 0] == 0.5 and canvas[-1, -1] == 1.0  # empty cell white


def test_stage_maps_follow_the_layers_after_their_activation():
    model = nnzoo.create("lenet5-1998").eval()
    x = torch.rand(1, 1, 32, 32)
    stages = stage_maps(model, x)
    assert [name for name, _ in stages] == ["C1", "S2", "C3", "S4", "C5"]
    assert [tuple(m.shape) for _, m in stages] == [(6, 28, 28), (6, 14, 14), (16, 10, 10),
                                                  (16, 5, 5), (120, 1, 1)]
    with torch.no_grad():
        torch.testing.assert_close(stages[0][1], model.C1(1.275 * x - 0.1)[0])  # after the squashing
    assert [name for name, _ in pick(stages, 3)] == ["C1", "C3", "S4"]  # 1x1 maps are not shown


def test_maps_from_a_test_index_a_png_and_an_npy(tmp_path, capsys):
    make_run(tmp_path / "run", "lenet5-1998")
    assert main(["show", "maps", str(tmp_path / "run"), "--input", "7"]) == 0
    read_png(tmp_path / "run" / "maps-7.png")
    digit = np.zeros((20, 20), dtype=np.float32)
    digit[4:16, 9:11] = 1.0  # a "1"
    matplotlib.image.imsave(tmp_path / "one.png", digit, cmap="gray")
    np.save(tmp_path / "one.npy", digit * 255)
    out = tmp_path / "pics" / "maps.png"
    (tmp_path / "pics").mkdir()
    assert main(["show", "maps", str(tmp_path / "run"), "--input", str(tmp_path / "one.png"),
                 "--out", str(out), "--maps", "4"]) == 0
    read_png(out)
    assert main(["show", "maps", str(tmp_path / "run"), "--input", str(tmp_path / "one.npy")]) == 0
    read_png(tmp_path / "run" / "maps-one.png")
    assert "wrote" in capsys.readouterr().out


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    make_run(tmp_path / "run", "lenet5-1998")
    (tmp_path / "broken.npy").write_bytes(b"not an array")
    for argv in (["show", "filters", str(tmp_path / "missing")],
                 ["show", "maps", str(tmp_path / "run"), "--input", "100000"],
                 ["show", "maps", str(tmp_path / "run"), "--input", str(tmp_path / "nope.png")],
                 ["show", "maps", str(tmp_path / "run"), "--input", str(tmp_path / "broken.npy")],
                 ["show", "filters", str(tmp_path / "run"), "--out", str(tmp_path / "x.jpg")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("nnzoo: error:") and "Traceback" not in err
    assert not (tmp_path / "x.jpg").exists()
    with pytest.raises(NnzooError, match="no 2-D convolution"):
        first_conv(nnzoo.create("mlp"))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"] == "lenet5-1998"


def make_dense_run(path, model_name, input_shape, **options):
    torch.manual_seed(0)
    model = nnzoo.create(model_name, **options)
    config = {"model": model_name, "model_options": options, "data": "digits",
              "data_options": {}, "input_shape": list(input_shape), "task": "classify"}
    folder = RunFolder(path)
    folder.write_json("config.json", config)
    folder.save_weights(model, config)
    return model


def test_dense_first_layers_on_images_are_drawn_unit_by_unit(tmp_path, capsys):
    mlp = make_dense_run(tmp_path / "mlp", "mlp", [64], in_features=64, hidden=[12])
    name, weight, what = first_layer_weights(mlp, (64,))
    assert what == "units" and weight.shape == (12, 1, 8, 8)
    torch.testing.assert_close(weight[3, 0].flatten(), mlp.layers[0].weight[3])
    assert main(["show", "filters", str(tmp_path / "mlp")]) == 0
    read_png(tmp_path / "mlp" / "filters.png")

    rbm = nnzoo.create("rbm", visible=49, hidden=5)  # an RBM's units are the columns of W
    name, weight, what = first_layer_weights(rbm, (49,))
    assert (name, what, weight.shape) == ("W", "units", (5, 1, 7, 7))
    torch.testing.assert_close(weight[2].flatten(), rbm.weight[:, 2].detach())

    many = filters_figure(torch.randn(300, 1, 4, 4), title="wide", what="units")
    assert "first 256 of 300 units" in many.axes[0].get_title()


def test_filters_of_a_model_that_reads_no_image_is_a_clear_error(tmp_path, capsys):
    make_dense_run(tmp_path / "points", "mlp", [2], in_features=2, hidden=[4])
    make_dense_run(tmp_path / "rows", "lstm-classifier", [8, 8])
    for run, reason in (("points", "are not an image"), ("rows", "not a dense layer")):
        assert main(["show", "filters", str(tmp_path / run)]) == 2
        err = capsys.readouterr().err
        assert reason in err and "Traceback" not in err
        assert not (tmp_path / run / "filters.png").exists()
    assert image_shape((9,)) == (1, 3, 3) and image_shape((40,)) is None
    assert image_shape((28, 28)) == (1, 28, 28) and image_shape((3, 32, 32)) == (3, 32, 32)
