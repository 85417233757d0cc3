import functools
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import nnzoo
from nnzoo.data import Split
from nnzoo.errors import NnzooError
from nnzoo.models.gan import GAN
from nnzoo.train.gan import GANLearner, gan_losses, to_tanh_range

fit_gan = functools.partial(nnzoo.fit, learner=GANLearner)


@pytest.fixture(scope="module")
def tiny_digits():
    """64 training and 32 test digits at 32x32: one batch of 64 is one step per epoch."""
    data = nnzoo.load_dataset("digits", input_shape=(1, 32, 32))
    return replace(data, train=data.train.take(torch.arange(64)),
                   val=data.val.take(torch.arange(8)), test=data.test.take(torch.arange(32)))


def test_generator_makes_images_in_the_tanh_range_and_discriminator_one_logit():
    torch.manual_seed(0)
    for size, base in ((32, 4), (28, 7), (64, 4)):
        model = GAN(z_dim=16, image_size=size, width=8)
        images = model.sample(5)
        assert images.shape == (5, 1, size, size)
        assert images.min() >= -1 and images.max() <= 1
        assert model(images).shape == (5,)
        assert model.generator.layers[0].kernel_size == (base, base)  # "project and reshape"


def test_parameter_count_of_the_dcgan_table():
    # G: 64·64·4·4 + 2·64 | 64·32·16 + 2·32 | 32·16·16 + 2·16 | 16·1·16 + 1
    g = 64 * 64 * 16 + 128 + 64 * 32 * 16 + 64 + 32 * 16 * 16 + 32 + 16 * 16 + 1
    # D: 1·16·16 + 16 | 16·32·16 + 2·32 | 32·64·16 + 2·64 | 64·4·4 + 1
    d = 16 * 16 + 16 + 16 * 32 * 16 + 64 + 32 * 64 * 16 + 128 + 64 * 16 + 1
    assert nnzoo.count_params(nnzoo.create("gan")) == g + d == 149_426
    assert nnzoo.get_entry("gan").params == g + d


def test_sizes_that_are_not_a_small_base_doubled_are_refused():
    for size in (30, 33, 7):
        with pytest.raises(NnzooError, match="base"):
            GAN(image_size=size)


def test_dcgan_initialisation_has_standard_deviation_0_02():
    weights = torch.cat([m.weight.flatten() for m in GAN(width=32).modules()
                         if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert abs(weights.mean().item()) < 1e-3


def test_discriminator_loss_is_the_minimax_value_and_does_not_reach_the_generator():
    torch.manual_seed(0)
    model = GAN(z_dim=8, width=4)
    x, z = torch.rand(6, 1, 32, 32) * 2 - 1, torch.randn(6, 8)
    _fake, d_loss, real_logit, fake_logit = gan_losses(model, x, z)
    expected = -(torch.sigmoid(real_logit).log().mean()
                 + (1 - torch.sigmoid(fake_logit)).log().mean())
    torch.testing.assert_close(d_loss, expected)
    d_loss.backward()
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())


def test_pixels_are_mapped_to_the_tanh_range():
    x = torch.tensor([0.0, 0.25, 1.0])
    torch.testing.assert_close(to_tanh_range(x, 0.0, 1.0), torch.tensor([-1.0, -0.5, 1.0]))


def test_one_step_of_each_network_changes_all_their_weights(tiny_digits, tmp_path):
    torch.manual_seed(0)
    model = nnzoo.create("gan")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit_gan(model, tiny_digits, epochs=1, batch_size=64, progress=False,
                     device="cpu", out=tmp_path / "run")
    after = model.state_dict()
    for name, p in model.named_parameters():
        assert not torch.equal(before[name], after[name]), name
    assert result.epochs == 1 and len(result.history) == 1
    row = result.history[0]
    assert {"g_loss", "d_loss", "d_real", "d_fake"} <= row.keys()
    assert 0 < row["d_fake"] < 1 and 0 < row["d_real"] < 1
    assert set(result.test) == {"g_loss", "d_loss", "d_real", "d_fake"}


def test_run_folder_holds_sample_grids_curves_metrics_and_weights(tiny_digits, tmp_path):
    out = tmp_path / "run"
    torch.manual_seed(0)
    model = GAN(z_dim=8, width=4)
    fit_gan(model, tiny_digits, epochs=3, batch_size=32, sample_every=2, progress=False,
            device="cpu", out=out)
    names = {p.name for p in out.iterdir()}
    assert {"samples_epoch_002.png", "samples_epoch_003.png", "samples.png", "curves.png",
            "metrics.json", "config.json", "weights.safetensors"} <= names
    assert "samples_epoch_001.png" not in names
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 3 and "test_d_real" in metrics
    state = load_file(out / "weights.safetensors")
    torch.testing.assert_close(state["generator.layers.0.weight"],
                               model.generator.layers[0].weight.detach())


def test_same_seed_gives_the_same_generator(tiny_digits):
    samples = []
    for _ in range(2):
        torch.manual_seed(0)
        model = GAN(z_dim=8, width=4)
        fit_gan(model, tiny_digits, epochs=2, batch_size=32, seed=5, progress=False, device="cpu")
        model.eval()
        samples.append(model.generator(torch.ones(2, 8)))
    torch.testing.assert_close(samples[0], samples[1])


def test_options_that_do_not_apply_and_mismatched_images_are_refused(tiny_digits):
    with pytest.raises(NnzooError, match="patience"):
        fit_gan(GAN(), tiny_digits, epochs=1, patience=3, progress=False)
    with pytest.raises(NnzooError, match=r"\(1, 28, 28\)"):
        fit_gan(GAN(image_size=28), tiny_digits, epochs=1, progress=False)
    flat = replace(tiny_digits, train=Split(tiny_digits.train.x.flatten(1), tiny_digits.train.y))
    with pytest.raises(NnzooError, match="images"):
        fit_gan(GAN(), flat, epochs=1, progress=False)


def test_trains_on_mnist_files_at_28x28(tmp_path):
    from nnzoo.data.idx import write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for part, n in (("train", 70), ("t10k", 10)):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    data = nnzoo.load_dataset("mnist", input_shape=(1, 28, 28), data_dir=tmp_path)
    model = GAN(z_dim=8, image_size=28, width=4)
    result = fit_gan(model, data, epochs=1, batch_size=16, progress=False, device="cpu")
    assert len(result.history) == 1 and 0 < result.test["d_real"] < 1


def test_cli_trains_a_gan_draws_samples_not_a_confusion_matrix_and_evaluates_it(tmp_path, capsys):
    from nnzoo.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "gan", "--epochs", "1", "--batch-size", "256", "-o", "width=8",
                 "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["task"] == "generate"
    assert (out / "samples.png").exists() and not (out / "confusion.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert evaluated[key] == pytest.approx(metrics[f"test_{key}"], rel=1e-4)


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_both_networks_step_in_reduced_precision(tiny_digits, precision, dtype):
    """--precision for the GAN: G and D run under autocast (fp16: a loss scale for each), the
    weights stay float32, and every weight moves in four steps (fp16 skips a step whose
    gradients overflowed at the first loss scale, 2^16, and halves it)."""
    torch.manual_seed(0)
    model = nnzoo.create("gan")
    seen = set()
    for net in (model.generator, model.discriminator):
        net.register_forward_hook(lambda m, i, out: seen.add(out.dtype) if m.training else None)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit_gan(model, tiny_digits, epochs=1, batch_size=16, progress=False, device="cpu",
                     precision=precision)
    assert seen == {dtype} and all(p.dtype == torch.float32 for p in model.parameters())
    assert all(not torch.equal(before[n], p) for n, p in model.named_parameters())
    assert 0 < result.history[0]["d_real"] < 1
