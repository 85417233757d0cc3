"""LeNet-5 as published: LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11):2278-2324, 1998, section II-B.

What differs from the lectures' table (``lenet5`` in ``lenet.py``):

- **Squashing** (appendix A): f(a) = A·tanh(S·a) with A = 1.7159, S = 2/3, so f(±1) = ±1.
- **Subsampling S2, S4**: the four inputs of a 2x2 window are *added*, multiplied by a trainable
  coefficient and shifted by a trainable bias, one of each per map, then squashed:
  ``y = f(β_c · Σ_window x + b_c)``.
- **C3's connection table** (Table I): C3 map k reads only some S2 maps, which breaks symmetry
  and saves connections: 60 of the 96 (map, map) pairs, each a 5x5 kernel, plus 16 biases.
- **RBF output layer**: y_i = Σ_j (x_j − w_ij)², the squared Euclidean distance of F6's 84 units
  to the class's centre ("prototype"). The smallest y_i is the answer.
- **Input normalisation** (section II-B): background −0.1 and foreground 1.175, so that the mean
  is about 0 and the variance about 1; pixels in [0, 1] are mapped by x ↦ 1.275·x − 0.1.
- **Initialisation** (appendix C): weights uniform in ±2.4/F_i, F_i the unit's fan-in.

    layer   type                 maps  size    kernel  parameters
    C1      convolution + f      6     28x28   5x5     156
    S2      subsampling + f      6     14x14   2x2     12
    C3      partial conv. + f    16    10x10   5x5     1,516
    S4      subsampling + f      16    5x5     2x2     32
    C5      convolution + f      120   1x1     5x5     48,120
    F6      dense + f            84                    10,164
    output  Euclidean RBF        10                    840
                                                total  60,840

Deviations, stated: the RBF centres of the paper were fixed ±1 bitmaps of stylised characters
(7x12 images, Figure 3); here they start as random ±1 codes (seeded) and are trainable, which
gives the paper's 840 output parameters (``fixed_codes=True`` freezes them). The paper trained
with the MAP criterion (equation 9), E = y_D + log(e^−j + Σ_i e^−y_i): softmax cross-entropy
over the logits −y_i, plus a constant "rubbish" class. The trainer uses cross-entropy, so the
model returns the logits **−y_i / T**: the RBF output read as the negative log-likelihood of a
Gaussian of variance σ² = T/2 around each centre (the paper's own reading, section II-B).
T = 1 is the paper's MAP term without the rubbish class. The default T = 30 is measured: with
T = 1 the logit gaps reach hundreds, the softmax saturates, and on the 1,259 embedded training
digits the net fits the training set in a few epochs and stops improving (96.1-96.4 % test over
3 seeds, Adam 2e-3, cosine, 30 epochs) against 97.5-98.1 % with T = 30 (4 seeds); T from 20
to 50 gives the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.layers.activations import fast_tanh
from nnzoo.layers.conv import Conv2d
from nnzoo.layers.pooling import sum_pool2d
from nnzoo.registry import register_model

# Table I of the paper: column k says which of the 6 S2 maps (rows) feed C3 map k.
#            C3 map: 0123456789012345
C3_TABLE = ("X...XXX..XXXX.XX",  # S2 map 0
            "XX...XXX..XXXX.X",  # S2 map 1
            "XXX...XXX..X.XXX",  # S2 map 2
            ".XXX..XXXX..X.XX",  # S2 map 3
            "..XXX..XXXX.XX.X",  # S2 map 4
            "...XXX..XXXX.XXX")  # S2 map 5


def connections(table=C3_TABLE) -> list[tuple[int, int]]:
    """(output map, input map) pairs of a connection table, output-major."""
    return [(k, j) for k in range(len(table[0])) for j in range(len(table)) if table[j][k] == "X"]


def init_lecun(*tensors: torch.Tensor, fan_in: int) -> None:
    """Appendix C: uniform in [−2.4/F_i, 2.4/F_i]."""
    for t in tensors:
        nn.init.uniform_(t, -2.4 / fan_in, 2.4 / fan_in)


# ---- blocks -------------------------------------------------------------------------------

class ScaledTanh(nn.Tanh):
    """f(a) = 1.7159 · tanh(2a/3) (appendix A): f(±1) = ±1, and f'' is largest at ±1."""

    A, S = 1.7159, 2.0 / 3.0
    type_name = "scaled tanh"  # the activation column of `nnzoo summary`

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.A * fast_tanh(self.S * a)

    def extra_repr(self) -> str:
        return "A=1.7159, S=2/3"


class Subsampling(nn.Module):
    """S2/S4 before squashing: y_c = β_c · Σ_{2x2} x_c + b_c, a coefficient and bias per map."""

    type_name = "subsampling"

    def __init__(self, channels: int, kernel_size: int = 2):
        super().__init__()
        self.kernel_size = self.stride = kernel_size
        self.out_channels = channels
        self.weight = nn.Parameter(torch.empty(channels))  # β, the trainable coefficient
        self.bias = nn.Parameter(torch.empty(channels))
        init_lecun(self.weight, self.bias, fan_in=kernel_size * kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summed = sum_pool2d(x, self.kernel_size)                    # (N, C, H/2, W/2)
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv2d(nn.Module):
    """A convolution whose output map k reads only the input maps its connection table lists.

    Only the listed kernels are parameters (one (k, k) kernel per connection), so the count is
    the paper's: 60 x 25 + 16 = 1,516 for C3. They are scattered into a dense, mostly-zero
    (out, in, k, k) weight for one fused ``conv2d``.
    """

    type_name = "conv (partial table)"

    def __init__(self, table, kernel_size: int = 5):
        super().__init__()
        pairs = connections(table)
        self.in_channels, self.out_channels = len(table), len(table[0])
        self.kernel_size = (kernel_size, kernel_size)
        self.stride = (1, 1)
        self.register_buffer("out_index", torch.tensor([k for k, _ in pairs]), persistent=False)
        self.register_buffer("in_index", torch.tensor([j for _, j in pairs]), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        fan_in = [sum(1 for k, _ in pairs if k == out) for out in range(self.out_channels)]
        with torch.no_grad():
            for n, (k, _) in enumerate(pairs):
                init_lecun(self.weight[n], fan_in=fan_in[k] * kernel_size ** 2)
            for k in range(self.out_channels):
                init_lecun(self.bias[k], fan_in=fan_in[k] * kernel_size ** 2)

    def dense_weight(self) -> torch.Tensor:
        """The (out, in, k, k) weight with zeros where the table has no connection."""
        w = self.weight.new_zeros(self.out_channels, self.in_channels, *self.kernel_size)
        return w.index_put((self.out_index, self.in_index), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"connections={self.weight.shape[0]}"


class EuclideanRBF(nn.Module):
    """y_i = Σ_j (x_j − w_ij)², one centre w_i per class; returns the distances (N, classes)."""

    type_name = "RBF"

    def __init__(self, in_features: int, num_classes: int, *, fixed_codes: bool = False, seed: int = 0):
        super().__init__()
        self.in_features, self.out_features = in_features, num_classes
        g = torch.Generator().manual_seed(seed)
        codes = torch.randint(0, 2, (num_classes, in_features), generator=g).float() * 2 - 1
        self.weight = nn.Parameter(codes, requires_grad=not fixed_codes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(1) - self.weight).pow(2).sum(-1)  # (N, classes)


# ---- model --------------------------------------------------------------------------------

class LeNet5_1998(nn.Module):
    """LeNet-5 as in the 1998 paper; ``forward`` returns −(RBF distances)/T as logits."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, fixed_codes: bool = False,
                 rbf_temperature: float = 30.0):
        super().__init__()
        self.rbf_temperature = rbf_temperature
        self.C1 = nn.Sequential(nn.Conv2d(in_channels, 6, 5), ScaledTanh())
        self.S2 = nn.Sequential(Subsampling(6), ScaledTanh())
        self.C3 = nn.Sequential(PartialConv2d(C3_TABLE, 5), ScaledTanh())
        self.S4 = nn.Sequential(Subsampling(16), ScaledTanh())
        self.C5 = nn.Sequential(Conv2d(16, 120, 5), ScaledTanh())  # 5x5 on 5x5: one matmul
        self.F6 = nn.Sequential(nn.Linear(120, 84), ScaledTanh())
        self.output = EuclideanRBF(84, num_classes, fixed_codes=fixed_codes)
        for layer, fan_in in ((self.C1[0], in_channels * 25), (self.C5[0], 16 * 25),
                              (self.F6[0], 120)):
            init_lecun(layer.weight, layer.bias, fan_in=fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = 1.275 * x - 0.1          # pixels [0, 1] -> [-0.1, 1.175] (section II-B)
        x = self.S2(self.C1(x))      # (N, 6, 14, 14)
        x = self.S4(self.C3(x))      # (N, 16, 5, 5)
        x = self.C5(x).flatten(1)    # (N, 120)
        x = self.F6(x)               # (N, 84)
        return -self.output(x) / self.rbf_temperature  # (N, classes): −distance² / T


# ---- factory ------------------------------------------------------------------------------

@register_model("lenet5-1998", family="convolutional",
                paper="LeCun, Bottou, Bengio & Haffner 1998, Proc. IEEE 86(11)",
                input_shape=(1, 32, 32), dataset="digits", params=60_840,
                defaults={"epochs": 30, "lr": 2e-3, "optimizer": "adam", "batch_size": 64})
def lenet5_1998(*, num_classes: int = 10, in_channels: int = 1, fixed_codes: bool = False,
                rbf_temperature: float = 30.0) -> LeNet5_1998:
    """LeNet-5 of the 1998 paper (trainable subsampling, C3 table, RBF output; 60,840 parameters).

    Args:
        fixed_codes: freeze the RBF centres (the paper kept its ±1 codes fixed); 60,000 trainable.
        rbf_temperature: T in logits = −y_i / T (1 is the paper's MAP criterion; see module doc).
    """
    return LeNet5_1998(num_classes, in_channels, fixed_codes, rbf_temperature)
