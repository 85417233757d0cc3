"""`nnzoo predict` and the preparation of your own pictures (nnzoo.data.own_images)."""

import json
import shutil
from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nnzoo
from nnzoo.cli.main import main
from nnzoo.data.own_images import as_dataset_image, prepare_for_run, read_image
from nnzoo.errors import NnzooError
from nnzoo.runs import load_run


def draw_on_paper(digit_8x8: torch.Tensor, path, *, top=30, left=20, scale=12):
    """A test digit as someone would photograph it: large, dark ink on white paper, off-centre,
    on a canvas of another shape, saved as an RGB PNG."""
    big = F.interpolate(digit_8x8.view(1, 1, 8, 8), scale_factor=scale, mode="bilinear")[0, 0]
    canvas = torch.ones(160, 140)
    canvas[top:top + 8 * scale, left:left + 8 * scale] = 1 - big
    matplotlib.image.imsave(path, canvas.numpy(), cmap="gray", vmin=0, vmax=1)


@pytest.fixture(scope="module")
def digits():
    return nnzoo.load_dataset("digits", input_shape=(1, 32, 32)), nnzoo.load_dataset("digits")


def test_a_digit_on_paper_becomes_the_datasets_own_image(tmp_path, digits):
    lenet_data, raw = digits
    for i in range(4):
        draw_on_paper(raw.test.x[i], tmp_path / f"d{i}.png", top=10 + 10 * i, left=5 + 5 * i)
        x, notes = prepare_for_run(read_image(tmp_path / f"d{i}.png"), lenet_data, (1, 32, 32))
        assert x.shape == (1, 1, 32, 32) and notes == ["inverted (light background)"]
        own = lenet_data.test.x[i].flatten()
        assert np.corrcoef(x.flatten().numpy(), own.numpy())[0, 1] > 0.85, i
        assert x[..., :4, :].abs().max() == 0  # LeNet-5's blank margin, as in the dataset


def test_flat_and_row_inputs_get_the_datasets_shaping(tmp_path, digits):
    _, raw = digits
    draw_on_paper(raw.test.x[0], tmp_path / "d.png")
    picture = read_image(tmp_path / "d.png")
    for shape in ((64,), (8, 8)):
        data = nnzoo.load_dataset("digits", input_shape=shape)
        x, _ = prepare_for_run(picture, data, shape)
        assert x.shape == (1, *shape)
        assert np.corrcoef(x.flatten().numpy(), data.test.x[0].flatten().numpy())[0, 1] > 0.85


def test_mnist_form_boxes_the_ink_in_20x20_and_centres_its_mass():
    canvas = torch.zeros(1, 1, 90, 120)
    canvas[..., 10:70, 80:95] = 1.0  # a bright bar near the right edge, on black
    image, notes = as_dataset_image(canvas, "mnist")
    assert image.shape == (1, 1, 28, 28) and notes == []
    rows, cols = torch.nonzero(image[0, 0] > 0.05, as_tuple=True)
    assert int(rows.max() - rows.min()) + 1 <= 21 and int(cols.max() - cols.min()) + 1 <= 8
    mass = image[0, 0] / image.sum()
    cy = float((mass.sum(1) * torch.arange(28)).sum())
    cx = float((mass.sum(0) * torch.arange(28)).sum())
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def test_thin_strokes_are_thickened_to_the_datasets_ink():
    canvas = torch.ones(1, 1, 200, 200)
    canvas[..., 20:180, 99:101] = 0.0   # a "1" drawn with a fine pen
    canvas[..., 20:22, 60:140] = 0.0    # and a bar across its top
    image, notes = as_dataset_image(canvas, "digits")
    assert image.shape == (1, 1, 8, 8) and "strokes thickened" in notes
    assert image.mean() > 0.1


def test_cifar_pictures_are_resized_in_colour_and_standardised_like_the_run():
    picture = torch.rand(1, 3, 48, 64)
    data = SimpleNamespace(name="cifar10", info={"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
                                                 "pixel_range": "normalised per channel"})
    x, notes = prepare_for_run(picture, data, (3, 32, 32))
    expected = (F.interpolate(picture, size=(32, 32), mode="bilinear", antialias=True)
                - torch.tensor([0.5, 0.4, 0.3]).view(3, 1, 1)) / torch.tensor([0.2, 0.25, 0.3]).view(3, 1, 1)
    torch.testing.assert_close(x, expected)
    assert notes == []
    data.info["pixel_range"] = "[0, 1]"
    assert prepare_for_run(picture, data, (3, 32, 32))[0].min() >= 0


def test_a_drawing_with_a_transparent_background_is_on_white(tmp_path):
    rgba = np.zeros((30, 30, 4), dtype=np.float32)  # transparent black everywhere...
    rgba[5:25, 14:16] = (0, 0, 0, 1)                # ...but an opaque black stroke
    matplotlib.image.imsave(tmp_path / "t.png", rgba)
    picture = read_image(tmp_path / "t.png")
    assert picture.shape == (1, 3, 30, 30)
    assert float(picture[0, :, 2, 2].min()) == 1.0 and float(picture[0, :, 10, 14].max()) == 0.0
    assert as_dataset_image(picture, "digits")[1][0] == "inverted (light background)"


def test_jpeg_npy_and_png_read_alike(tmp_path):
    a = np.zeros((30, 40), dtype=np.float32)
    a[5:25, 10:14] = 1.0
    matplotlib.image.imsave(tmp_path / "a.png", a, cmap="gray")
    matplotlib.image.imsave(tmp_path / "a.jpg", a, cmap="gray")
    np.save(tmp_path / "a.npy", (a * 255).astype(np.uint8))
    images = [read_image(tmp_path / f"a.{ext}") for ext in ("png", "jpg", "npy")]
    assert [tuple(i.shape) for i in images] == [(1, 3, 30, 40), (1, 3, 30, 40), (1, 1, 30, 40)]
    for image in images:
        assert abs(float(image.mean(1)[0, 15, 12]) - 1) < 0.1 and float(image.mean(1)[0, 2, 2]) < 0.1


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "lenet"
    assert main(["train", "lenet5", "--epochs", "4", "--out", str(out), "--no-progress"]) == 0
    return out


def test_predict_agrees_with_the_model_on_the_datasets_own_images(lenet_run, tmp_path, digits,
                                                                  capsys):
    lenet_data, raw = digits
    model, _ = load_run(lenet_run)
    with torch.no_grad():
        own = model(lenet_data.test.x[:8]).argmax(1).tolist()
    files = []
    for i in range(8):
        draw_on_paper(raw.test.x[i], tmp_path / f"d{i}.png", top=5 + 6 * i)
        files.append(str(tmp_path / f"d{i}.png"))
    capsys.readouterr()
    assert main(["predict", str(lenet_run), *files, "--json", "--top", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == files
    assert all(len(line["top"]) == 2 and line["top"][0]["probability"] >= line["top"][1]["probability"]
               for line in lines)
    predicted = [int(line["top"][0]["class"]) for line in lines]
    assert sum(p == o for p, o in zip(predicted, own)) >= 7, (predicted, own)
    picture = matplotlib.image.imread(lenet_run / "predictions.png")
    assert picture.shape[0] > 500  # one row per picture


def test_predict_prints_classes_and_where_the_picture_went(lenet_run, tmp_path, digits, capsys):
    draw_on_paper(digits[1].test.x[3], tmp_path / "mine.png")
    out = tmp_path / "pictures"
    assert main(["predict", str(lenet_run), str(tmp_path / "mine.png"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{tmp_path / 'mine.png'}: ") and "%" in printed
    assert "[inverted (light background)]" in printed
    assert f"wrote {out / 'predictions.png'}" in printed and (out / "predictions.png").exists()


def test_predict_from_python(lenet_run, tmp_path, digits):
    draw_on_paper(digits[1].test.x[2], tmp_path / "six.png")
    (found,) = nnzoo.predict(lenet_run, [tmp_path / "six.png"], top=4)
    assert found["image"] == str(tmp_path / "six.png") and len(found["top"]) == 4
    assert sum(p for _, p in found["top"]) <= 1.0 + 1e-6
    assert found["seen"].shape == (1, 32, 32) and found["notes"] == ["inverted (light background)"]


def test_predict_reads_the_classes_and_standardisation_the_run_recorded(lenet_run, tmp_path,
                                                                       digits, monkeypatch):
    # A run folder copied to a machine without the dataset's files still reads pictures; a run
    # from before the config recorded its data falls back to loading the dataset.
    draw_on_paper(digits[1].test.x[2], tmp_path / "six.png")
    with_files = nnzoo.predict(lenet_run, [tmp_path / "six.png"])[0]["top"]
    config = json.loads((lenet_run / "config.json").read_text())
    assert config["data_description"]["class_names"] == [str(d) for d in range(10)]
    assert config["data_description"]["info"] == {"pixel_range": "[0, 1]"}

    def no_files(*args, **kwargs):
        raise NnzooError("no dataset files on this machine")

    monkeypatch.setattr(nnzoo, "load_dataset", no_files)
    assert nnzoo.predict(lenet_run, [tmp_path / "six.png"])[0]["top"] == with_files
    old = tmp_path / "old-run"
    shutil.copytree(lenet_run, old)
    del config["data_description"]
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(NnzooError, match="no dataset files"):
        nnzoo.predict(old, [tmp_path / "six.png"])
    monkeypatch.undo()
    assert nnzoo.predict(old, [tmp_path / "six.png"])[0]["top"] == with_files


def test_bad_pictures_and_runs_are_one_paragraph_errors(lenet_run, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    matplotlib.image.imsave(tmp_path / "blank.png", np.ones((20, 20)), cmap="gray", vmin=0, vmax=1)
    (tmp_path / "notes.txt").write_text("7")
    assert main(["train", "mlp", "--data", "moons", "--epochs", "1", "--out",
                 str(tmp_path / "moons"), "--no-progress"]) == 0
    capsys.readouterr()
    cases = {"broken.png": [str(lenet_run), str(tmp_path / "broken.png")],
             "holds no strokes": [str(lenet_run), str(tmp_path / "blank.png")],
             "does not exist": [str(lenet_run), str(tmp_path / "missing.png")],
             "not a file type": [str(lenet_run), str(tmp_path / "notes.txt")],
             "image dataset": [str(tmp_path / "moons"), str(tmp_path / "blank.png")],
             "--top": [str(lenet_run), str(tmp_path / "blank.png"), "--top", "0"]}
    for expected, argv in cases.items():
        assert main(["predict", *argv]) == 2, expected
        err = capsys.readouterr().err
        assert err.startswith("nnzoo: error:") and expected in err and "Traceback" not in err, err
    with pytest.raises(NnzooError, match="not an image dataset"):
        as_dataset_image(torch.ones(1, 1, 8, 8), "moons")
