"""Dense autoencoders, plain and denoising.

An autoencoder is trained to give back its input through a narrow code layer:

    h = f_θ(x)          encoder: dense layers down to ``code_size`` units (the code is linear)
    x̂ = g_φ(h)          decoder: the mirror image, ending in a logistic  x̂ = σ(W h + b) ∈ (0, 1)
    J = (1/n) Σ (x̂ - x)²

Hinton & Salakhutdinov, "Reducing the dimensionality of data with neural networks", Science 313,
2006: a deep encoder and its mirrored decoder, a linear code layer, logistic pixels; with a 2-unit
code the codes of the test digits, plotted coloured by class, fall into clusters (their Fig. 3).

The **denoising** autoencoder (Vincent, Larochelle, Bengio & Manzagol, "Extracting and composing
robust features with denoising autoencoders", ICML 2008) corrupts the input during training and
asks for the *clean* input back:

    x̃ ~ q(x̃ | x),   J = (1/n) Σ (g_φ(f_θ(x̃)) - x)²
    masking noise:   x̃ = x ⊙ m,  m_i ~ Bernoulli(1 - ν)     (a fraction ν of pixels set to 0)
    Gaussian noise:  x̃ = x + σ ε,  ε ~ N(0, I)

Noise is applied in ``training_loss`` only; ``forward`` (evaluation, pictures) sees the input as
given, so a noisy test image is cleaned by calling the model on it.

Deviations: Hinton & Salakhutdinov pre-train the stack with RBMs and use logistic hidden units
and a cross-entropy loss; here the network is trained end to end with Adam, ReLU hidden units
(``activation`` chooses) and squared error (the ``reconstruct`` task's loss). Vincent et al.
tie the decoder weights to the encoder's (W' = Wᵀ); here they are free. Layer-wise pre-training
as Bengio et al. (2007) describe it is in ``nnzoo.train.pretrain``.

    >>> ae = Autoencoder(64, [128, 64], code_size=2)
    >>> ae.encode(torch.rand(5, 64)).shape, ae(torch.rand(5, 64)).shape
    (torch.Size([5, 2]), torch.Size([5, 64]))
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.layers.activations import activation_module
from nnzoo.losses import mean_squared_error
from nnzoo.registry import register_model

NOISES = ("masking", "gaussian")


def corrupt(x: torch.Tensor, kind: str | None, level: float,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """A draw of x̃ ~ q(x̃ | x): ``masking`` zeros a fraction ``level`` of the values,
    ``gaussian`` adds N(0, level²) noise; ``None`` (or level 0) returns ``x``."""
    if kind is None or level == 0:
        return x
    if kind == "masking":
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= level
        return x * keep
    if kind == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, device=x.device,
                                       dtype=x.dtype)
    raise NnzooError(f"Unknown noise {kind!r}; expected one of {', '.join(NOISES)} (or none).")


def check_noise(kind: str | None, level: float) -> None:
    if kind not in (None, *NOISES):
        raise NnzooError(f"Unknown noise {kind!r}; expected one of {', '.join(NOISES)} (or none).")
    if kind == "masking" and not 0 <= level < 1:
        raise NnzooError(f"Masking noise zeros a fraction of the inputs; noise_level must be in "
                         f"[0, 1), got {level}.")
    if level < 0:
        raise NnzooError(f"noise_level must be >= 0, got {level}.")


def dense_stack(widths: list[int], activation: str) -> list[nn.Module]:
    """Linear layers ``widths[0] → … → widths[-1]``, the activation after each but the last."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(activation_module(activation))
    return layers


class Autoencoder(nn.Module):
    """Dense encoder ``in_features → hidden… → code_size`` and its mirror image as decoder.

    Args:
        in_features: values per sample (an image is flattened; the output has the input's shape).
        hidden: widths of the encoder's hidden layers (the decoder takes them in reverse).
        code_size: units of the linear code layer (2 for a picture of the codes).
        activation: hidden-unit nonlinearity, any name of ``nnzoo.layers.activations``.
        noise, noise_level: corruption for denoising training (``masking`` ν or ``gaussian`` σ).
    """

    def __init__(self, in_features: int, hidden: list[int], code_size: int,
                 activation: str = "relu", noise: str | None = None, noise_level: float = 0.0):
        super().__init__()
        check_noise(noise, noise_level)
        self.input_shape = (in_features,)
        self.noise, self.noise_level = noise, float(noise_level)
        widths = [in_features, *hidden, code_size]
        self.encoder = nn.Sequential(*dense_stack(widths, activation))
        self.decoder = nn.Sequential(*dense_stack(widths[::-1], activation), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))  # (N, code_size)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)  # (N, in_features), each in (0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).view(x.shape)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor):
        """Squared error of the reconstruction of a corrupted ``x`` against the clean ``y``."""
        out = self(corrupt(x, self.noise, self.noise_level))
        return mean_squared_error(out, y), out  # y reshaped to out: a mismatch fails, never broadcasts

    def extra_repr(self) -> str:
        return f"noise={self.noise}, noise_level={self.noise_level}" if self.noise else ""


def _hidden(hidden) -> list[int]:
    return [hidden] if isinstance(hidden, int) else list(hidden)


# 64→128→64→16 and back: (64·128+128) + (128·64+64) + (64·16+16), twice but for the biases
# at each end (the decoder's last bias has 64 units, the encoder's 16).
_DENSE_PARAMS = 2 * (64 * 128 + 128 * 64 + 64 * 16) + (128 + 64 + 16) + (64 + 128 + 64)
_TRAINING = {"epochs": 60, "lr": 2e-3, "optimizer": "adam", "batch_size": 64}


@register_model("autoencoder", family="generative", paper="Hinton & Salakhutdinov 2006",
                input_shape=(64,), dataset="digits-reconstruct", task="reconstruct",
                params=_DENSE_PARAMS, defaults=_TRAINING)
def autoencoder(*, in_features: int = 64, hidden: tuple[int, ...] = (128, 64),
                code_size: int = 16, activation: str = "relu") -> Autoencoder:
    """Dense autoencoder 64-128-64-16-64-128-64 (code_size=2 for a picture of the codes)."""
    return Autoencoder(in_features, _hidden(hidden), code_size, activation)


@register_model("denoising-autoencoder", family="generative",
                paper="Vincent, Larochelle, Bengio & Manzagol 2008", input_shape=(64,),
                dataset="digits-reconstruct", task="reconstruct", params=_DENSE_PARAMS,
                defaults=_TRAINING)
def denoising_autoencoder(*, in_features: int = 64, hidden: tuple[int, ...] = (128, 64),
                          code_size: int = 16, activation: str = "relu", noise: str = "masking",
                          noise_level: float = 0.25) -> Autoencoder:
    """Denoising autoencoder: the dense one trained to undo masking (or Gaussian) noise."""
    return Autoencoder(in_features, _hidden(hidden), code_size, activation, noise, noise_level)
