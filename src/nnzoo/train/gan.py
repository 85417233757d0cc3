"""The GAN's training loop: alternate a discriminator step and a generator step.

Goodfellow et al. (2014), Algorithm 1 with k = 1, and the non-saturating generator loss; the
DCGAN settings of Radford et al. (2016): Adam with α = 2e-4 and β1 = 0.5, images scaled to the
generator's tanh range [-1, 1]. For each batch of m real images x and m noise vectors z:

    D step:  J_D = -(1/m) Σ [log D(x) + log(1 - D(G(z)))]     (G's output held fixed)
    G step:  J_G = -(1/m) Σ log D(G(z))                         (D held fixed)

with D(·) = σ(logit), computed as binary cross-entropy on the logits (the stable form).

``fit_gan`` has ``nnzoo.fit``'s signature, so ``nnzoo train gan`` calls it through the model
entry's ``defaults["trainer"]``. The run folder gets ``samples_epoch_NNN.png`` (the same 64
noise vectors each time, so the grids show one set of samples taking shape), ``samples.png``
(the last), ``curves.png`` (losses, D(x) and D(G(z)) per epoch), ``metrics.json`` and the weights.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from nnzoo.data import DataBundle
from nnzoo.errors import NnzooError
from nnzoo.train.loop import FitResult, TrainingInterrupted, training_device
from nnzoo.train.run_folder import RunFolder, discards_unstarted

NOT_FOR_GANS = ("momentum", "weight_decay", "schedule", "schedule_c", "schedule_step",
                "patience", "loss", "clip_grad_norm", "callbacks", "channels_last")


def to_tanh_range(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Pixels in [lo, hi] mapped linearly to [-1, 1], the range of the generator's tanh."""
    return (x - lo) * (2.0 / max(hi - lo, 1e-12)) - 1.0


def _images(data: DataBundle, model) -> tuple[torch.Tensor, float, float]:
    x = data.train.x
    if isinstance(x, tuple) or x.dim() != 4:
        raise NnzooError(f"A GAN learns images (N, C, H, W); dataset {data.name!r} gives "
                         f"samples of shape {tuple(x[0].shape) if isinstance(x, tuple) else tuple(x.shape[1:])}.")
    if tuple(x.shape[1:]) != tuple(model.input_shape):
        raise NnzooError(f"Dataset {data.name!r} gives images of shape {tuple(x.shape[1:])}, but the "
                         f"GAN generates {tuple(model.input_shape)}; build it with matching "
                         f"in_channels and image_size.")
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0.0 and hi <= 1.0:  # the usual [0, 1] pixels
        lo, hi = 0.0, 1.0
    return to_tanh_range(x, lo, hi), lo, hi


def gan_losses(model, x: torch.Tensor, z: torch.Tensor):
    """G(z), the discriminator's loss J_D, and D's logits on the real and the generated images."""
    fake = model.generator(z)
    real_logit, fake_logit = model.discriminator(x), model.discriminator(fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
              + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
    return fake, d_loss, real_logit, fake_logit


@discards_unstarted
def fit_gan(model, data: DataBundle, *, epochs: int = 60, batch_size: int = 64, lr: float = 2e-4,
            beta1: float = 0.5, optimizer: str = "adam", seed: int = 0, device="auto",
            progress: bool = True, out=None, overwrite: bool = False, config: dict | None = None,
            sample_every: int | None = None, **others) -> FitResult:
    """Train ``model`` (a :class:`nnzoo.models.gan.GAN`) on the images of ``data.train``.

    ``sample_every`` epochs (default: about a dozen grids per run, and always the last epoch) a
    grid of samples from a fixed noise batch is saved in ``out``. Returns a ``FitResult`` whose
    history rows hold ``g_loss``, ``d_loss``, ``d_real`` = mean D(x) and ``d_fake`` = mean
    D(G(z)), and whose ``test`` holds the same on the test images and fresh noise.
    """
    unused = sorted(k for k, v in others.items() if v not in (None, 0, 0.0, "constant", ()))
    if unused or optimizer != "adam":
        what = ", ".join(unused) or f"optimizer {optimizer}"
        raise NnzooError(f"The GAN's training loop takes epochs, batch size, learning rate, seed "
                         f"and device (Adam with β1 = {beta1}, as in DCGAN); it does not take "
                         f"{what}.")
    device = training_device(device)
    torch.manual_seed(seed)
    folder = out  # a RunFolder or None: @discards_unstarted opened it
    run_config = dict(config or {})
    run_config.setdefault("training", {}).update(
        trainer="nnzoo.train.gan:fit_gan", epochs=epochs, batch_size=batch_size, lr=lr,
        optimizer="adam", beta1=beta1, loss="non-saturating GAN", device=str(device), seed=seed)
    if folder:
        folder.write_json("config.json", run_config)

    model.to(device)
    real, lo, hi = _images(data, model)
    real = real.to(device)
    if device.type == "cpu":  # measured: one CPU core trains the DCGAN ~1.3x faster this way
        model.to(memory_format=torch.channels_last)
        real = real.contiguous(memory_format=torch.channels_last)
    test = to_tanh_range(data.test.x, lo, hi).to(device) if len(data.test) else real[:0]
    if len(real) < batch_size:
        raise NnzooError(f"Dataset {data.name!r} has {len(real)} training images, fewer than one "
                         f"batch of {batch_size}; lower --batch-size.")
    g_opt = torch.optim.Adam(model.generator.parameters(), lr=lr, betas=(beta1, 0.999))
    d_opt = torch.optim.Adam(model.discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
    generator = torch.Generator(device=device).manual_seed(seed)
    fixed_z = model.noise(64, torch.Generator(device=device).manual_seed(seed + 1))
    every = sample_every or max(1, epochs // 12)
    steps = len(real) // batch_size  # whole batches only: batch norm wants full ones
    bar = _progress_bar(epochs * steps) if progress else None

    history, train_seconds, interrupted_in = [], 0.0, None
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            sums = torch.zeros(4, device=device)
            start = time.perf_counter()
            order = torch.randperm(len(real), generator=generator, device=device)
            for step in range(steps):
                x = real[order[step * batch_size:(step + 1) * batch_size]]  # (m, C, S, S)
                z = model.noise(batch_size, generator)  # (m, z_dim)
                fake, d_loss, real_logit, fake_logit = gan_losses(model, x, z)
                d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                d_opt.step()
                gen_logit = model.discriminator(fake)  # the updated D judges the same samples
                g_loss = F.binary_cross_entropy_with_logits(gen_logit, torch.ones_like(gen_logit))
                g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                g_opt.step()
                sums += torch.stack([g_loss, d_loss, torch.sigmoid(real_logit).mean(),
                                     torch.sigmoid(fake_logit).mean()]).detach()
                if bar is not None:
                    bar.update(1)
            g, d, d_real, d_fake = (sums / steps).tolist()  # one host sync per epoch
            train_seconds += time.perf_counter() - start
            history.append({"epoch": epoch, "g_loss": g, "d_loss": d, "d_real": d_real,
                            "d_fake": d_fake})
            if bar is not None:
                bar.set_description(f"epoch {epoch}/{epochs}")
                bar.set_postfix({k: f"{v:.3f}" for k, v in history[-1].items() if k != "epoch"},
                                refresh=False)
            if folder and (epoch % every == 0 or epoch == epochs):
                _save_samples(model, fixed_z, folder, epoch, epochs)
    except KeyboardInterrupt:  # Ctrl-C: keep the epochs already finished
        if not history:
            raise
        interrupted_in = len(history) + 1
    finally:
        if bar is not None:
            bar.close()

    finished = len(history)
    result = FitResult(history, evaluate_gan(model, test, seed), finished, finished, train_seconds,
                       finished * steps * batch_size / max(train_seconds, 1e-9),
                       folder.path if folder else None, interrupted_in)
    if folder:
        folder.save_result(model, run_config, result.metrics, history=history)
        from nnzoo.explain.reconstructions import plot_gan_curves

        folder.save_figure(plot_gan_curves(history, run_config.get("title", "")), "curves.png")
    if interrupted_in is not None:
        raise TrainingInterrupted(result, epochs)
    return result


@torch.no_grad()
def evaluate_gan(model, images: torch.Tensor, seed: int = 0) -> dict:
    """D's losses and mean outputs on ``images`` (scaled to [-1, 1]) and as many samples.

    Both networks are in eval mode (batch norm with its running statistics), so the numbers
    differ from the training-time ones of the history, which use each batch's statistics.
    """
    if len(images) == 0:
        return {}
    model.eval()
    z = model.noise(len(images), torch.Generator(device=images.device).manual_seed(seed + 2))
    fake, d_loss, real_logit, fake_logit = gan_losses(model, images, z)
    g_loss = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
    model.train()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logit).mean().item(),
            "d_fake": torch.sigmoid(fake_logit).mean().item()}


def evaluate_gan_split(model, split, seed: int = 0) -> dict:
    """``evaluate_gan`` on a data split's images, mapped to [-1, 1] as in training."""
    x = split.x
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    device = next(model.parameters()).device
    with torch.no_grad():
        return evaluate_gan(model, to_tanh_range(x, lo, hi).to(device), seed)


@torch.no_grad()
def _save_samples(model, z: torch.Tensor, folder: RunFolder, epoch: int, epochs: int) -> None:
    from nnzoo.explain.reconstructions import sample_grid

    model.eval()  # batch norm with its running statistics, as the samples of a trained G
    images = model.generator(z)
    model.train()
    figure = sample_grid(images, f"generator samples after epoch {epoch} (fixed noise)")
    folder.save_figure(figure, f"samples_epoch_{epoch:03d}.png")
    if epoch == epochs:
        folder.save_figure(sample_grid(images, f"generator samples after {epoch} epochs"),
                           "samples.png")


def _progress_bar(total: int):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True, leave=True)
