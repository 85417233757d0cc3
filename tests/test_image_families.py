"""Every family on every image dataset (issue 19, items 4 and 5): MNIST, Fashion-MNIST,
Kuzushiji-MNIST and CIFAR-10 on small files written here, each family's model fitted to them
(``nnzoo.train.adapting``) and trained one epoch; the ImageNet nets' small-input form chosen
for small images; and the warning when training diverges."""

import json
import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.cli.main import main
from nnzoo.data._shaping import fit_images
from nnzoo.data.cifar import TEST_FILES, TRAIN_FILES, write_cifar_batch
from nnzoo.data.idx import write_idx
from nnzoo.train.adapting import build_model_and_data, image_options, input_size_options
from nnzoo.train.checks import DIVERGENCE_RATIO, DivergenceWarning, warn_if_diverging

IDX_DATASETS = ("mnist", "fashion-mnist", "kmnist")
DATASETS = (*IDX_DATASETS, "cifar10")
SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "kmnist": (1, 28, 28),
          "cifar10": (3, 32, 32)}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A few dozen images of each dataset, in its distribution's format."""
    root = tmp_path_factory.mktemp("image-datasets")
    rng = np.random.default_rng(0)
    for name in IDX_DATASETS:
        folder = root / name
        folder.mkdir()
        for part, n in (("train", 24), ("t10k", 8)):
            write_idx(folder / f"{part}-images-idx3-ubyte.gz",
                      rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
            write_idx(folder / f"{part}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    folder = root / "cifar10"
    folder.mkdir()
    for k, name in enumerate(TRAIN_FILES + TEST_FILES):
        images = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
        write_cifar_batch(folder / name, images, (k + np.arange(4)) % 10)
    return str(root)


# family representative: (its options, kept tiny; what it must have read from C x H x W images)
FAMILIES = {
    "autoencoder": ({"hidden": 8, "code_size": 2},
                    lambda c, h, w: {"in_features": c * h * w}),
    "denoising-autoencoder": ({"hidden": 8, "code_size": 2},
                              lambda c, h, w: {"in_features": c * h * w}),
    "conv-autoencoder": ({"widths": (2, 4), "code_size": 2},
                         lambda c, h, w: {"in_channels": c, "image_size": h}),
    "gan": ({"width": 2, "z_dim": 4}, lambda c, h, w: {"in_channels": c, "image_size": h}),
    "rbm": ({"hidden": 4}, lambda c, h, w: {"visible": c * h * w}),
    "mlp": ({"hidden": (8,)}, lambda c, h, w: {"in_features": c * h * w}),
    "lenet5": ({}, lambda c, h, w: {"in_channels": c}),
    "resnet20": ({}, lambda c, h, w: {"in_channels": c}),
    "gru-classifier": ({"hidden_size": 4}, lambda c, h, w: {"steps": h, "input_size": c * w}),
}
RECONSTRUCTING = ("autoencoder", "denoising-autoencoder", "conv-autoencoder", "rbm")


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_trains_on_every_image_dataset(family, dataset, data_dir):
    given, expected = FAMILIES[family]
    c, h, w = SHAPES[dataset]
    torch.manual_seed(0)
    model, data, options, data_name, data_options = build_model_and_data(
        family, given, dataset, {}, data_dir)
    read = {k: options.get(k, nnzoo.get_entry(family).options().get(k)) for k in expected(c, h, w)}
    assert read == expected(c, h, w)
    if family in RECONSTRUCTING:  # the images are their own targets
        assert data_name == f"{dataset}-reconstruct" and data.task == "reconstruct"
        assert torch.equal(data.train.x, data.train.y)
    if family == "rbm":  # binary units: binary pixels
        assert data_options == {"binarize": True}
        assert set(data.train.x.unique().tolist()) == {0.0, 1.0}
    if family == "lenet5":  # LeNet-5 is 32x32: MNIST's 28x28 on a margin, as LeCun padded it
        assert data.input_shape == (c, 32, 32)
        if h == 28:
            assert data.train.x[:, :, :2].abs().sum() == 0
    elif family == "gru-classifier":  # rows, each a row's pixels with their C values
        assert data.input_shape == (h, c * w)
    result = nnzoo.fit(model, data, epochs=1, batch_size=8, progress=None)
    assert all(math.isfinite(v) for v in result.test.values() if isinstance(v, float))


def test_colour_rows_are_each_pixels_values_in_turn():
    x = torch.rand(2, 3, 4, 5)
    rows = fit_images(x, (4, 15), "colour")  # 4 steps of 5 pixels x 3 values
    assert rows.shape == (2, 4, 15)
    torch.testing.assert_close(rows[1, 2, 3 * 4 + 1], x[1, 1, 2, 4])  # row 2, pixel 4, green
    grey = fit_images(x, (4, 5), "colour")  # a row of 5 values: the grey image
    torch.testing.assert_close(grey, x.mean(1))


def test_input_size_options_read_one_sample_and_keep_what_was_given():
    mlp = nnzoo.get_entry("mlp").options()
    assert input_size_options(mlp, {}, (2,)) == {"in_features": 2}
    assert input_size_options(mlp, {}, (3, 32, 32)) == {"in_features": 3072}
    assert input_size_options(mlp, {}, (1, 8, 8), (64,)) == {}  # the default already fits
    assert input_size_options(mlp, {"in_features": 5}, (2,)) == {}
    lstm = nnzoo.get_entry("lstm-classifier").options()
    assert input_size_options(lstm, {}, (1, 28, 28)) == {"input_size": 28, "steps": 28}  # rows
    assert input_size_options(lstm, {}, (3, 32, 32)) == {"input_size": 96, "steps": 32}
    assert input_size_options(lstm, {"steps": 8}, (100, 2)) == {"input_size": 2}


@pytest.mark.parametrize("name, sample, found, own, field, small", [
    ("resnet18", (1, 28, 28), {"in_channels": 1, "small_input": True}, (1, 28, 28), (1, 32, 32),
     True),
    ("resnet18", (3, 32, 32), {"small_input": True}, None, (3, 32, 32), True),
    ("resnet18", (1, 8, 8), {"in_channels": 1, "small_input": True}, None, (1, 32, 32), True),
    ("resnet18", (3, 224, 224), {}, None, (3, 224, 224), False),  # torchvision's form, as it is
    ("alexnet", (3, 64, 80), {}, (3, 64, 80), (3, 224, 224), False),
    ("lenet5", (1, 28, 28), {}, (1, 28, 28), (1, 32, 32), False),
    ("lenet5", (3, 32, 32), {"in_channels": 3}, None, (3, 32, 32), False),
    ("gan", (1, 28, 28), {"image_size": 28}, (1, 28, 28), (1, 32, 32), False),
    ("gan", (1, 8, 8), {}, None, (1, 32, 32), False),  # the embedded digits, scaled up as before
    ("conv-autoencoder", (3, 30, 20), {"in_channels": 3}, None, (3, 28, 28), False),  # not square
])
def test_image_options_follow_the_data(name, sample, found, own, field, small):
    entry = nnzoo.get_entry(name)
    options, tried, fallback, note = image_options(name, entry, {}, sample)
    assert (options, tried, fallback, note is not None) == (found, own, field, small)
    if small:
        assert "small_input=true" in note and "-o small_input=false" in note
    given = {"in_channels": 3, "small_input": False}  # what was given is kept, and not said
    if "small_input" in entry.options():
        options, _, _, note = image_options(name, entry, given, sample)
        assert note is None and not ({"in_channels", "small_input"} & set(options))


def test_a_model_built_for_its_field_gets_the_data_fitted_to_it(data_dir, tmp_path):
    """LeNet-5 cannot read 28x28 (its C5 would see 4x4): it reads them on a 32x32 margin. A
    convolutional autoencoder of a side not divisible by 4 cannot be built: 28x28 it is."""
    _, data, options, _, _ = build_model_and_data("lenet5", {}, "mnist", {}, data_dir)
    assert data.input_shape == (1, 32, 32) and options == {"num_classes": 10}
    own = nnzoo.load_dataset("mnist", data_dir=data_dir)
    torch.testing.assert_close(data.train.x[:, :, 2:30, 2:30], own.train.x)
    folder = tmp_path / "kmnist"
    folder.mkdir()
    for part in ("train", "t10k"):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz", np.zeros((4, 30, 30), np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    model, data, options, _, _ = build_model_and_data("conv-autoencoder", {"widths": (2, 4)},
                                                      "kmnist", {}, str(tmp_path))
    assert "image_size" not in options and model.input_shape == data.input_shape == (1, 28, 28)


def test_nnzoo_train_says_it_chose_the_small_input_form(tmp_path, capsys):
    folder = tmp_path / "data" / "fashion-mnist"  # 6 images: ResNet-18 is costly
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for part, n in (("train", 6), ("t10k", 2)):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
    out = tmp_path / "run"
    assert main(["train", "resnet18", "--data", "fashion-mnist", "--data-dir",
                 str(tmp_path / "data"), "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "small-input" in line]
    assert len(said) == 1 and said[0].startswith("nnzoo: resnet18: the images are 28x28")
    config = json.loads((out / "config.json").read_text())
    assert config["model_options"] == {"in_channels": 1, "small_input": True, "num_classes": 10}
    assert config["input_shape"] == [1, 28, 28]


@pytest.mark.parametrize("family", ["mlp", "gru-classifier"])
def test_a_resumed_or_retrained_run_reads_its_data_in_the_recorded_shape(family, data_dir,
                                                                         tmp_path):
    """An MLP's recorded in_features=784 (a GRU's input_size=28) is not the model's default
    field: resuming or training its config.json again reads the images as the run did."""
    out, options = tmp_path / "run", FAMILIES[family][0]
    flags = [f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in options.items()]
    common = ["--data-dir", data_dir, "--no-progress"]
    assert main(["train", family, "--data", "mnist", "--epochs", "1", "--out", str(out),
                 *sum((["-o", f] for f in flags), []), *common]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", *common]) == 0
    assert main(["train", "--config", str(out / "config.json"), "--out", str(tmp_path / "again"),
                 *common]) == 0
    shapes = {json.loads((folder / "config.json").read_text())["input_shape"][0]
              for folder in (out, tmp_path / "again")}
    assert shapes == {784 if family == "mlp" else 28}


# ---- the divergence warning --------------------------------------------------------------

def _learner(num_classes, lr=0.1, model=None):
    return SimpleNamespace(data=SimpleNamespace(num_classes=num_classes),
                           settings=lambda: {"lr": lr}, model=model or torch.nn.Linear(2, 2))


def test_a_runaway_loss_is_warned_of_once_naming_the_learning_rate():
    chance = math.log(10)
    high = DIVERGENCE_RATIO * chance * 1.01
    history = [{"epoch": 1, "loss": 2.0, "val_loss": 2.1}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to say
        warn_if_diverging(history, _learner(10))
        history.append({"epoch": 2, "loss": 3.0, "val_loss": DIVERGENCE_RATIO * chance * 0.99})
        warn_if_diverging(history, _learner(10))
    history.append({"epoch": 3, "loss": 3.0, "val_loss": high})
    with pytest.warns(DivergenceWarning, match=r"validation loss of epoch 3 .* lr=0\.1; try a "
                                               r"smaller one, e\.g\. --lr 0\.01"):
        warn_if_diverging(history, _learner(10))
    history.append({"epoch": 4, "loss": 3.0, "val_loss": high * 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        warn_if_diverging(history, _learner(10))
    normalised = _learner(10, model=torch.nn.Sequential(torch.nn.BatchNorm1d(2)))
    with pytest.warns(DivergenceWarning, match="batch normalisation's running statistics"):
        warn_if_diverging(history[:3], normalised)  # a sane training loss: say what else it can be


def test_without_classes_the_first_validation_loss_is_the_start():
    history = [{"epoch": 1, "loss": 1e-3, "val_loss": 1e-3}]
    history.append({"epoch": 2, "loss": 1.0, "val_loss": 1e-3 * DIVERGENCE_RATIO * 2})
    with pytest.warns(DivergenceWarning, match="first epoch's validation loss"):
        warn_if_diverging(history, _learner(None, lr=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a GAN's rows have no loss to compare
        warn_if_diverging([{"epoch": 1, "d_loss": 1e9}], _learner(None))


def test_fit_warns_when_sgd_runs_away():
    torch.manual_seed(0)
    data = nnzoo.load_dataset("digits", input_shape=(64,))
    model = nnzoo.create("mlp", hidden=(32,))
    with pytest.warns(DivergenceWarning, match=r"training loss of epoch 1 .*lr=100"):
        nnzoo.fit(model, data, epochs=1, optimizer="sgd", lr=100.0, progress=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        nnzoo.fit(nnzoo.create("mlp", hidden=(32,)), data, epochs=1, progress=None)
