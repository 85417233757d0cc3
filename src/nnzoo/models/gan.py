"""Generative adversarial network, DCGAN style.

Goodfellow et al., "Generative adversarial nets", NeurIPS 2014: a generator G maps noise z to an
image, a discriminator D gives the probability that an image is real, and the two play

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

Trained by alternating steps (``nnzoo.train.gan.GANLearner``):

    discriminator:  J_D = -log D(x) - log(1 - D(G(z)))      (real → 1, generated → 0)
    generator:      J_G = -log D(G(z))                        (the "non-saturating" loss)

The paper's own generator loss log(1 - D(G(z))) saturates when D rejects the samples early on;
maximising log D(G(z)) instead has the same fixed point and strong gradients (section 3).

Radford, Metz & Chintala, "Unsupervised representation learning with deep convolutional
generative adversarial networks", ICLR 2016 (DCGAN) give the architecture:

- G: z (a 1x1 "image" of z_dim channels) → transposed convolutions, each doubling the size,
  with batch normalisation and ReLU → a last transposed convolution with tanh (pixels in [-1, 1]);
- D: strided 4x4 convolutions (no pooling) with leaky ReLU (slope 0.2), batch normalisation
  everywhere but the first layer, → one logit;
- weights drawn from N(0, 0.02), batch-norm scales from N(1, 0.02); Adam, α = 2e-4, β1 = 0.5.

    layer (32x32, width w = 16)      generator                 discriminator
    4x4      ConvT z→4w, k4 s1, BN, ReLU  4w x 4x4      Conv 4w→1, k4 s1 (logit)
    8x8      ConvT 4w→2w, k4 s2, BN, ReLU 2w x 8x8      Conv 2w→4w, k4 s2, BN, lReLU
    16x16    ConvT 2w→w, k4 s2, BN, ReLU  w x 16x16     Conv w→2w, k4 s2, BN, lReLU
    32x32    ConvT w→C, k4 s2, tanh       C x 32x32     Conv C→w, k4 s2, lReLU  (input)

The image side S is halved down to a base of 4 (32, 64) or 7 (28); the first layer of G projects z
to that base and D's last layer reads it. Deviation: the paper's sizes (z of 100, w = 128 for
64x64) are scaled down to z of 64 and w = 16 (150k parameters), so that one CPU core trains the
model on the embedded digits in under two minutes (60 epochs) to samples that read as digits.

``forward(x)`` is the discriminator's logit, so the model reads images like a classifier;
``sample(n)`` draws images from the generator.

    >>> gan = GAN(z_dim=64, image_size=32)
    >>> gan.sample(4).shape, gan(torch.zeros(4, 1, 32, 32)).shape
    (torch.Size([4, 1, 32, 32]), torch.Size([4]))
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.registry import register_model


def doublings(image_size: int) -> tuple[int, int]:
    """(base, n): the side S halved n times down to a base of at most 7 (32 → 4 after 3)."""
    base, n = image_size, 0
    while base % 2 == 0 and base > 7:
        base, n = base // 2, n + 1
    if n == 0 or not 3 <= base <= 7:
        raise NnzooError(f"A DCGAN generator doubles a small base image up to the image size; "
                         f"{image_size} is not a base of 3 to 7 pixels doubled one or more times "
                         f"(e.g. 28, 32, 64).")
    return base, n


class Generator(nn.Module):
    """z (N, z_dim) → image (N, C, S, S) in [-1, 1]."""

    def __init__(self, z_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        base, n = doublings(image_size)
        maps = [width * 2 ** (n - 1 - i) for i in range(n)]  # 4w, 2w, w for 32x32
        layers = [nn.ConvTranspose2d(z_dim, maps[0], base, 1, 0, bias=False),
                  nn.BatchNorm2d(maps[0]), nn.ReLU()]
        for fan_in, fan_out in itertools.pairwise(maps):
            layers += [nn.ConvTranspose2d(fan_in, fan_out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(fan_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(maps[-1], channels, 4, 2, 1), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z[:, :, None, None])  # (N, z_dim, 1, 1) → (N, C, S, S)


class Discriminator(nn.Module):
    """image (N, C, S, S) → logit (N,) of "real"; D(x) = σ(logit)."""

    def __init__(self, channels: int, image_size: int, width: int):
        super().__init__()
        base, n = doublings(image_size)
        maps = [width * 2 ** i for i in range(n)]  # w, 2w, 4w for 32x32
        layers = [nn.Conv2d(channels, maps[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for fan_in, fan_out in itertools.pairwise(maps):
            layers += [nn.Conv2d(fan_in, fan_out, 4, 2, 1, bias=False), nn.BatchNorm2d(fan_out),
                       nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(maps[-1], 1, base, 1, 0))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten()  # (N, 1, 1, 1) → (N,)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv weights ~ N(0, 0.02), BN scales ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class GAN(nn.Module):
    """A generator and a discriminator, trained against each other by ``nnzoo.fit``."""

    def __init__(self, z_dim: int = 64, in_channels: int = 1, image_size: int = 32,
                 width: int = 16):
        super().__init__()
        self.z_dim = z_dim
        self.input_shape = (in_channels, image_size, image_size)
        self.generator = Generator(z_dim, in_channels, image_size, width)
        self.discriminator = Discriminator(in_channels, image_size, width)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x)  # (N,) logits of "real"

    def summary_parts(self, input_shape):
        """For ``nnzoo summary``: the generator from z, then the discriminator from an image."""
        return [("generator", self.generator, (self.z_dim,), "z"),
                ("discriminator", self.discriminator, tuple(input_shape), "image")]

    def noise(self, n: int, generator: torch.Generator | None = None,
              device=None) -> torch.Tensor:
        """z ~ N(0, I), shape (n, z_dim)."""
        device = device or next(self.parameters()).device
        return torch.randn(n, self.z_dim, generator=generator, device=device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated images (n, C, S, S) in [-1, 1]."""
        return self.generator(self.noise(n, generator))


def _count(z: int = 64, c: int = 1, s: int = 32, w: int = 16) -> int:
    base, n = doublings(s)
    g_maps = [w * 2 ** (n - 1 - i) for i in range(n)]
    g = z * g_maps[0] * base * base + 2 * g_maps[0]
    g += sum(a * b * 16 + 2 * b for a, b in itertools.pairwise(g_maps))
    g += g_maps[-1] * c * 16 + c
    d_maps = [w * 2 ** i for i in range(n)]
    d = c * d_maps[0] * 16 + d_maps[0]
    d += sum(a * b * 16 + 2 * b for a, b in itertools.pairwise(d_maps))
    d += d_maps[-1] * base * base + 1
    return g + d


@register_model("gan", family="generative",
                paper="Goodfellow et al. 2014; Radford, Metz & Chintala 2016 (DCGAN)",
                input_shape=(1, 32, 32), dataset="digits", task="generate", params=_count(),
                defaults={"epochs": 60, "lr": 2e-4,
                          "batch_size": 64})
def gan(*, z_dim: int = 64, in_channels: int = 1, image_size: int = 32, width: int = 16) -> GAN:
    """DCGAN: transposed-conv generator and strided-conv discriminator for 32x32 images."""
    return GAN(z_dim, in_channels, image_size, width)
