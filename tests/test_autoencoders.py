import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError
from nnzoo.explain.reconstructions import reconstruction_errors, reconstruction_pictures
from nnzoo.models.autoencoder import corrupt
from nnzoo.models.conv_autoencoder import _count
from nnzoo.runs import RunFolder


@pytest.fixture(scope="module")
def digits():
    return nnzoo.load_dataset("digits-reconstruct")


def _mean_image_mse(data):
    return ((data.test.y - data.train.y.mean(0)) ** 2).mean().item()


def test_reconstruct_dataset_targets_are_the_inputs_and_keeps_labels(digits):
    assert digits.task == "reconstruct" and digits.input_shape == (64,)
    assert digits.train.y is digits.train.x
    assert digits.info["image_shape"] == (1, 8, 8)
    labels = digits.info["labels"]["test"]
    assert labels.shape == (len(digits.test),) and set(labels.tolist()) == set(range(10))
    conv = nnzoo.load_dataset("digits-reconstruct", input_shape=(1, 28, 28))
    assert conv.train.x.shape[1:] == (1, 28, 28) and conv.info["image_shape"] == (1, 28, 28)


@pytest.mark.parametrize("decoder", ["transpose", "unpool"])
def test_conv_autoencoder_shapes_range_and_parameter_count(decoder):
    model = nnzoo.create("conv-autoencoder", decoder=decoder, code_size=2)
    x = torch.rand(3, 1, 28, 28)
    out = model(x)
    assert out.shape == x.shape and ((out > 0) & (out < 1)).all()
    assert model.encode(x).shape == (3, 2)
    assert nnzoo.count_params(model) == _count(code=2, decoder=decoder)


def test_dense_encode_decode_compose_to_forward():
    model = nnzoo.create("autoencoder", code_size=2, hidden=(32,))
    x = torch.rand(5, 64)
    code = model.encode(x)
    assert code.shape == (5, 2)
    torch.testing.assert_close(model.decode(code), model(x))
    assert model(x.view(5, 1, 8, 8)).shape == (5, 1, 8, 8)  # gives back the input's shape


def test_transpose_decoder_decodes_codes_alone_but_unpool_needs_switches():
    x = torch.rand(2, 1, 16, 16)
    transpose = nnzoo.create("conv-autoencoder", image_size=16)
    torch.testing.assert_close(transpose.decode(transpose.encode(x)), transpose(x))
    unpool = nnzoo.create("conv-autoencoder", image_size=16, decoder="unpool")
    code, switches = unpool.encode_with_switches(x)
    torch.testing.assert_close(unpool.decode(code, switches), unpool(x))
    with pytest.raises(NnzooError, match="switches"):
        unpool.decode(code)


def test_bad_options_are_refused_with_the_expected_values():
    with pytest.raises(NnzooError, match="transpose"):
        nnzoo.create("conv-autoencoder", decoder="deconv")
    with pytest.raises(NnzooError, match="divisible by 4"):
        nnzoo.create("conv-autoencoder", image_size=30)
    with pytest.raises(NnzooError, match="masking"):
        nnzoo.create("denoising-autoencoder", noise="salt")
    with pytest.raises(NnzooError, match=r"\[0, 1\)"):  # masking must leave some pixels
        nnzoo.create("denoising-autoencoder", noise_level=1.0)
    with pytest.raises(NnzooError, match="<= 1; got 1.5"):  # no noise_level is more than 1
        nnzoo.create("denoising-autoencoder", noise_level=1.5)


def test_masking_noise_zeros_the_asked_fraction_and_gaussian_has_sigma():
    x = torch.ones(200, 500)
    g = torch.Generator().manual_seed(0)
    masked = corrupt(x, "masking", 0.3, g)
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    noisy = corrupt(x, "gaussian", 0.2, g) - x
    assert noisy.mean().item() == pytest.approx(0.0, abs=0.002)
    assert noisy.std().item() == pytest.approx(0.2, rel=0.01)
    assert corrupt(x, None, 0.5) is x


def test_denoising_loss_compares_the_corrupted_input_s_reconstruction_with_the_clean_target():
    model = nnzoo.create("denoising-autoencoder", noise="masking", noise_level=0.5)
    x = torch.rand(8, 64)
    torch.manual_seed(3)
    loss, out = model.training_loss(x, x)
    torch.manual_seed(3)
    expected = model(corrupt(x, "masking", 0.5))
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(loss, F.mse_loss(expected, x))
    assert not torch.allclose(out, model(x))  # the input really was corrupted
    model.eval()
    torch.testing.assert_close(model(x), model(x))  # no noise outside training


@pytest.fixture(scope="module")
def trained(digits):
    """A plain and a denoising autoencoder, same architecture, same 40 epochs."""
    models = {}
    for name in ("autoencoder", "denoising-autoencoder"):
        torch.manual_seed(0)
        model = nnzoo.create(name)
        result = nnzoo.fit(model, digits, epochs=40, lr=2e-3, progress=False)
        models[name] = (model.eval(), result)
    return models


def test_training_reconstructs_far_better_than_the_mean_image(digits, trained):
    _model, result = trained["autoencoder"]
    assert result.history[-1]["loss"] < 0.5 * result.history[0]["loss"]
    assert result.test["loss"] < 0.3 * _mean_image_mse(digits)


def test_denoising_autoencoder_cleans_masked_digits_better_than_the_plain_one(digits, trained):
    x = digits.test.x
    noisy = corrupt(x, "masking", 0.25, torch.Generator().manual_seed(1))
    with torch.no_grad():
        errors = {name: F.mse_loss(model(noisy), x).item() for name, (model, _) in trained.items()}
    assert errors["denoising-autoencoder"] < 0.8 * errors["autoencoder"]
    assert errors["denoising-autoencoder"] < 0.5 * F.mse_loss(noisy, x).item()


def test_pictures_and_errors_written_to_the_run_folder(digits, trained, tmp_path):
    model, result = trained["denoising-autoencoder"]
    paths = reconstruction_pictures(model, digits, RunFolder(tmp_path))
    assert {p.name for p in paths} == {"reconstruction.json", "reconstructions.png", "latent.png"}
    errors = json.loads((tmp_path / "reconstruction.json").read_text())
    assert errors["test_mse"] == pytest.approx(result.test["loss"], rel=1e-4)
    assert errors["mean_image_mse"] == pytest.approx(_mean_image_mse(digits), rel=1e-5)
    assert errors["denoised_mse"] < errors["noisy_input_mse"]
    assert reconstruction_errors(trained["autoencoder"][0], digits).keys() == {
        "test_mse", "mean_image_mse", "mse_ratio_to_mean_image"}


@pytest.mark.parametrize("name,options", [("autoencoder", {"code_size": 2}),
                                          ("conv-autoencoder", {"decoder": "unpool",
                                                                "image_size": 16})])
def test_safetensors_round_trip_gives_the_same_reconstructions(tmp_path, name, options):
    torch.manual_seed(0)
    model = nnzoo.create(name, **options).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "w.safetensors")
    torch.manual_seed(1)
    copy = nnzoo.create(name, **options).eval()
    copy.load_state_dict(load_file(tmp_path / "w.safetensors"))
    x = torch.rand(4, *model.input_shape)
    torch.testing.assert_close(copy(x), model(x))


def test_cli_trains_a_two_unit_code_and_draws_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "autoencoder", "-o", "code_size=2", "--epochs", "3", "--no-progress",
                 "--out", str(out)]) == 0
    assert f"run written to {out}" in capsys.readouterr().out
    for name in ("reconstructions.png", "latent.png", "reconstruction.json", "weights.safetensors"):
        assert (out / name).exists(), name


def test_mnist_reconstruct_reads_idx_files_with_labels_kept(tmp_path):
    import numpy as np

    from nnzoo.data.idx import write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for part, n in (("train", 30), ("t10k", 10)):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    data = nnzoo.load_dataset("mnist-reconstruct", input_shape=(1, 28, 28), data_dir=tmp_path)
    assert data.task == "reconstruct" and data.test.y is data.test.x
    assert data.test.x.shape == (10, 1, 28, 28)
    assert data.info["labels"]["test"].tolist() == list(range(10))
    model = nnzoo.create("conv-autoencoder")
    assert model(data.test.x).shape == data.test.x.shape
