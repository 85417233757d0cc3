"""Convolutional autoencoder: convolution and max-pooling down, transposed convolution or
max-unpooling back up.

Masci, Meier, Cireşan & Schmidhuber, "Stacked convolutional auto-encoders for hierarchical
feature extraction", ICANN 2011: the encoder is convolution + max-pooling, the decoder maps the
feature maps back to an image of the input's size, trained on squared error.

    layer      type                         maps  size (28x28 input)
    conv1      3x3 convolution, ReLU        16    28x28
    pool1      2x2 max-pooling (switches)   16    14x14
    conv2      3x3 convolution, ReLU        32    14x14
    pool2      2x2 max-pooling (switches)   32    7x7
    code       dense, linear                      code_size
    ---------  decoder  -----------------------------------------------------------
    expand     dense, ReLU                  32    7x7
    up2        transpose: 4x4 stride-2 transposed conv, ReLU   | unpool: unpool2 + 3x3 conv, ReLU
    up1        transpose: 4x4 stride-2 transposed conv → 1 map | unpool: unpool1 + 3x3 conv → 1
    output     logistic                     1     28x28, each pixel in (0, 1)

Two decoders, chosen by ``decoder=``:

- ``"transpose"``: transposed ("fractionally strided") convolutions, each doubling the size.
- ``"unpool"``: max-unpooling with the encoder's switches (Zeiler, Taylor & Fergus 2011), each
  maximum put back where it was found, zeros elsewhere, then a 3x3 convolution. The decoder
  needs the switches of the image being decoded, so ``decode(code)`` alone works only for the
  transpose decoder.

Deviation from Masci et al.: a dense code layer of ``code_size`` units sits between encoder and
decoder (their code is the pooled maps themselves), so the code can be made as small as 2 and
plotted; and the decoder has its own weights rather than the encoder's flipped filters.

    >>> cae = ConvAutoencoder(code_size=8, decoder="unpool")
    >>> cae(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
"""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers.unpool import MaxUnpool2d, SwitchMaxPool2d
from nnzoo.losses import mean_squared_error
from nnzoo.models.autoencoder import check_noise, corrupt
from nnzoo.registry import register_model

DECODERS = ("transpose", "unpool")


class ConvAutoencoder(nn.Module):
    """conv-pool-conv-pool → dense code → dense → two up-sampling stages → logistic image.

    Args:
        in_channels, image_size: the input (C, S, S); S must be divisible by 4.
        widths: maps of the two convolution stages.
        code_size: units of the linear code.
        decoder: ``"transpose"`` or ``"unpool"`` (see the module docstring).
        noise, noise_level: corruption for denoising training, as in ``Autoencoder``.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, widths=(16, 32),
                 code_size: int = 16, decoder: str = "transpose", noise: str | None = None,
                 noise_level: float = 0.0):
        super().__init__()
        if decoder not in DECODERS:
            raise NnzooError(f"Unknown decoder {decoder!r}; expected one of {', '.join(DECODERS)}.")
        if image_size % 4:
            raise NnzooError(f"The convolutional autoencoder pools twice by 2, so image_size must "
                             f"be divisible by 4; got {image_size}.")
        check_noise(noise, noise_level)
        c1, c2 = widths
        self.input_shape = (in_channels, image_size, image_size)
        self.decoder_kind, self.noise, self.noise_level = decoder, noise, float(noise_level)
        self.small = (c2, image_size // 4, image_size // 4)  # maps after pool2
        flat = c2 * (image_size // 4) ** 2
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU())
        self.pool1 = SwitchMaxPool2d(2)
        self.conv2 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU())
        self.pool2 = SwitchMaxPool2d(2)
        self.code = nn.Linear(flat, code_size)
        self.expand = nn.Sequential(nn.Linear(code_size, flat), nn.ReLU())
        if decoder == "transpose":
            self.up2 = nn.Sequential(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU())
            self.up1 = nn.ConvTranspose2d(c1, in_channels, 4, stride=2, padding=1)
        else:
            self.unpool2, self.unpool1 = MaxUnpool2d(2), MaxUnpool2d(2)
            self.up2 = nn.Sequential(nn.Conv2d(c2, c1, 3, padding=1), nn.ReLU())
            self.up1 = nn.Conv2d(c1, in_channels, 3, padding=1)

    def encode_with_switches(self, x: torch.Tensor):
        """The code and the two pooling layers' switches (needed by the unpool decoder)."""
        a, s1 = self.pool1(self.conv1(x))  # (N, c1, S/2, S/2)
        a, s2 = self.pool2(self.conv2(a))  # (N, c2, S/4, S/4)
        return self.code(a.flatten(1)), (s1, s2)  # (N, code_size)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_with_switches(x)[0]

    def decode(self, code: torch.Tensor, switches=None) -> torch.Tensor:
        a = self.expand(code).view(-1, *self.small)  # (N, c2, S/4, S/4)
        if self.decoder_kind == "transpose":
            return torch.sigmoid(self.up1(self.up2(a)))  # (N, C, S, S)
        if switches is None:
            raise NnzooError("The unpool decoder puts each maximum back where the encoder's "
                             "max-pooling found it, so it needs those switches: call the model "
                             "on an image, or build it with decoder='transpose' to decode codes.")
        s1, s2 = switches
        a = self.up2(self.unpool2(a, s2))  # (N, c1, S/2, S/2)
        return torch.sigmoid(self.up1(self.unpool1(a, s1)))  # (N, C, S, S)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code, switches = self.encode_with_switches(x)
        return self.decode(code, switches)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor):
        """Squared error of the reconstruction of a corrupted ``x`` against the clean ``y``."""
        out = self(corrupt(x, self.noise, self.noise_level))
        return mean_squared_error(out, y), out  # y reshaped to out: a mismatch fails, never broadcasts


def _count(c: int = 1, s: int = 28, c1: int = 16, c2: int = 32, code: int = 16,
           decoder: str = "transpose") -> int:
    flat = c2 * (s // 4) ** 2
    encoder = (c * c1 * 9 + c1) + (c1 * c2 * 9 + c2) + (flat * code + code)
    k = 16 if decoder == "transpose" else 9
    return encoder + (code * flat + flat) + (c2 * c1 * k + c1) + (c1 * c * k + c)


@register_model("conv-autoencoder", family="generative",
                paper="Masci, Meier, Cireşan & Schmidhuber 2011", input_shape=(1, 28, 28),
                dataset="digits-reconstruct", task="reconstruct", params=_count(),
                defaults={"epochs": 30, "lr": 2e-3, "optimizer": "adam", "batch_size": 64})
def conv_autoencoder(*, in_channels: int = 1, image_size: int = 28, widths=(16, 32),
                     code_size: int = 16, decoder: str = "transpose", noise: str | None = None,
                     noise_level: float = 0.0) -> ConvAutoencoder:
    """Convolutional autoencoder, 28x28 → 16-unit code → 28x28 (decoder=transpose|unpool)."""
    return ConvAutoencoder(in_channels, image_size, tuple(widths), code_size, decoder, noise,
                           noise_level)
