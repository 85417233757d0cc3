"""The GAN's training loop: alternate a discriminator step and a generator step.

Goodfellow et al. (2014), Algorithm 1 with k = 1, and the non-saturating generator loss; the
DCGAN settings of Radford et al. (2016): Adam with α = 2e-4 and β1 = 0.5, images scaled to the
generator's tanh range [-1, 1]. For each batch of m real images x and m noise vectors z:

    D step:  J_D = -(1/m) Σ [log D(x) + log(1 - D(G(z)))]     (G's output held fixed)
    G step:  J_G = -(1/m) Σ log D(G(z))                         (D held fixed)

with D(·) = σ(logit), computed as binary cross-entropy on the logits (the stable form).

:class:`GANLearner` is what ``nnzoo.fit`` (and ``nnzoo train gan``) runs for a GAN. The run
folder gets ``samples_epoch_NNN.png`` (the same 64 noise vectors each time, so the grids show one
set of samples taking shape), ``samples.png`` (the last), ``curves.png`` (losses, D(x) and
D(G(z)) per epoch), ``metrics.json`` and the weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nnzoo.data import DataBundle
from nnzoo.errors import NnzooError
from nnzoo.runs import RunFolder
from nnzoo.train.scoring import training_device


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


class GANLearner:
    """Algorithm 1 of Goodfellow et al. with k = 1: per batch a D step, then a G step, each by
    Adam with β1 = ``beta1`` (DCGAN's 0.5). Settings: ``epochs``, ``batch_size``, ``lr``,
    ``beta1``, ``seed``, ``device``, ``precision`` (auto | 32 | bf16 | fp16, as for gradient
    descent; under fp16 each network's step has its own loss scale), ``sample_every`` (epochs
    between sample grids; default about a dozen grids per run, and always the last epoch)."""

    TAKES = {"epochs": 60, "batch_size": 64, "lr": 2e-4, "beta1": 0.5, "seed": 0,
             "device": "auto", "sample_every": None, "precision": "auto"}
    rule = "non-saturating GAN"
    task = "generate"

    def __init__(self, model, data: DataBundle, *, epochs: int, seed: int, batch_size: int,
                 lr: float, beta1: float, device, sample_every, precision="auto"):
        from nnzoo.train.precision import Precision

        self.device = training_device(device)
        self.d_precision, self.g_precision = (Precision(precision, self.device) for _ in "dg")
        self.model, self.data = model.to(self.device), data
        self.epochs, self.seed, self.batch_size, self.lr, self.beta1 = epochs, seed, batch_size, lr, beta1
        self.given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "beta1": beta1,
                      "seed": seed, "device": device, "sample_every": sample_every,
                      "precision": precision}
        self.every = sample_every or max(1, epochs // 12)

    def settings(self) -> dict:
        return {"trainer": "gan", "optimizer": "adam", "loss": self.rule, **self.given,
                "device_used": str(self.device), "precision_used": self.d_precision.name}

    def prepare(self) -> None:
        model, device = self.model, self.device
        real, lo, hi = _images(self.data, model)
        real = real.to(device)
        if device.type == "cpu":  # measured: one CPU core trains the DCGAN ~1.3x faster this way
            model.to(memory_format=torch.channels_last)
            real = real.contiguous(memory_format=torch.channels_last)
        if len(real) < self.batch_size:
            raise NnzooError(f"Dataset {self.data.name!r} has {len(real)} training images, fewer "
                             f"than one batch of {self.batch_size}; lower --batch-size.")
        self.real = real
        test = self.data.test
        self.test_images = to_tanh_range(test.x, lo, hi).to(device) if len(test) else real[:0]
        self.g_opt = torch.optim.Adam(model.generator.parameters(), lr=self.lr,
                                      betas=(self.beta1, 0.999))
        self.d_opt = torch.optim.Adam(model.discriminator.parameters(), lr=self.lr,
                                      betas=(self.beta1, 0.999))
        self.generator = torch.Generator(device=device).manual_seed(self.seed)
        self.fixed_z = model.noise(64, torch.Generator(device=device).manual_seed(self.seed + 1))
        self.steps_per_epoch = len(real) // self.batch_size  # whole batches: batch norm wants them
        self.samples_per_epoch = self.steps_per_epoch * self.batch_size

    def epoch(self, state) -> dict:
        model, m = self.model, self.batch_size
        model.train()
        sums = torch.zeros(4, device=self.device)
        order = torch.randperm(len(self.real), generator=self.generator, device=self.device)
        for step in range(self.steps_per_epoch):
            x = self.real[order[step * m:(step + 1) * m]]  # (m, C, S, S)
            z = model.noise(m, self.generator)  # (m, z_dim)
            with self.d_precision.autocast():
                fake, d_loss, real_logit, fake_logit = gan_losses(model, x, z)
            self.d_opt.zero_grad(set_to_none=True)
            self.d_precision.backward(d_loss)
            self.d_precision.step(self.d_opt)
            with self.g_precision.autocast():
                gen_logit = model.discriminator(fake)  # the updated D judges the same samples
                g_loss = F.binary_cross_entropy_with_logits(gen_logit, torch.ones_like(gen_logit))
            self.g_opt.zero_grad(set_to_none=True)
            self.g_precision.backward(g_loss)
            self.g_precision.step(self.g_opt)
            sums += torch.stack([g_loss.float(), d_loss.float(),
                                 torch.sigmoid(real_logit).mean().float(),
                                 torch.sigmoid(fake_logit).mean().float()]).detach()
            state.step_done()
        g, d, d_real, d_fake = (sums / self.steps_per_epoch).tolist()  # one host sync per epoch
        epoch = state.epoch + 1
        if state.folder and (epoch % self.every == 0 or epoch == self.epochs):
            _save_samples(model, self.fixed_z, state.folder, epoch, self.epochs)
        return {"g_loss": g, "d_loss": d, "d_real": d_real, "d_fake": d_fake}

    def validate(self) -> dict:
        return {}

    def test(self) -> dict:
        return evaluate_gan(self.model, self.test_images, self.seed)

    def state_dict(self) -> dict:
        return {"g_opt": self.g_opt.state_dict(), "d_opt": self.d_opt.state_dict(),
                "generator": self.generator.get_state(),
                "precision": {"d": self.d_precision.state_dict(),
                              "g": self.g_precision.state_dict()}}

    def load_state_dict(self, state: dict) -> None:
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.generator.set_state(state["generator"])
        scales = state.get("precision", {})
        self.d_precision.load_state_dict(scales.get("d", {}))
        self.g_precision.load_state_dict(scales.get("g", {}))

    def curves(self, result, title):
        from nnzoo.explain.reconstructions import plot_gan_curves

        return plot_gan_curves(result.history, title or "")


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
