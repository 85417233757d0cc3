"""The convolutional zoo: exact parameter counts (the papers' and torchvision's), the ImageNet
nets built by default as torchvision builds them (its shapes at 224x224), the 1998 LeNet-5's
parts against their equations, GoogLeNet's auxiliary loss, ResNet's shortcuts, and every
architecture's small form training on 32x32 input and running at 28x28."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nnzoo
from nnzoo.models.lenet1998 import (
    C3_TABLE,
    PartialConv2d,
    ScaledTanh,
    Subsampling,
    connections,
)
from nnzoo.models.resnet import BasicBlock, ZeroPadShortcut

# name -> trainable parameters at 1000 classes (torchvision's counts where it has the model)
IMAGENET_COUNTS = {
    "alexnet": 61_100_840, "alexnet-2012": 60_965_224,
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
}
VGG_BN_COUNTS = {"vgg11": 132_868_840, "vgg13": 133_053_736, "vgg16": 138_365_992,
                 "vgg19": 143_678_248}
CIFAR_RESNET_COUNTS = {"resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586,
                       "resnet56": 853_018, "resnet110": 1_727_962}
SMALL = ("lenet5-1998", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "googlenet")
# The larger small forms take one SGD step here; the rest only have their shapes checked, on the
# meta device (test_registry runs every net's forward and backward at its registered size).
ONE_STEP = ("alexnet", "resnet18")
# The output of one stage at 224x224 in torchvision's nets (their 1000-class forms).
TORCHVISION_224 = {
    "alexnet": ("features", (256, 6, 6)), "alexnet-2012": ("features", (256, 6, 6)),
    "vgg11": ("features", (512, 7, 7)), "vgg13": ("features", (512, 7, 7)),
    "vgg16": ("features", (512, 7, 7)), "vgg19": ("features", (512, 7, 7)),
    "resnet18": ("layer4", (512, 7, 7)), "resnet34": ("layer4", (512, 7, 7)),
    "resnet50": ("layer4", (2048, 7, 7)), "resnet101": ("layer4", (2048, 7, 7)),
    "resnet152": ("layer4", (2048, 7, 7)), "googlenet": ("inception5b", (1024, 7, 7)),
}
SMALL_INPUT = sorted(n for n in nnzoo.list_models("convolutional")
                     if "small_input" in nnzoo.get_entry(n).options())


def count(name, **config):
    with torch.device("meta"):  # shapes only: counting needs no random numbers
        return nnzoo.count_params(nnzoo.create(name, **config))


@pytest.mark.parametrize("name", sorted(IMAGENET_COUNTS))
def test_imagenet_parameter_counts(name):
    assert count(name, num_classes=1000) == IMAGENET_COUNTS[name]
    assert count(name, num_classes=1000, small_input=False) == IMAGENET_COUNTS[name]


@pytest.mark.parametrize("name", sorted(VGG_BN_COUNTS))
def test_vgg_batch_norm_counts(name):
    assert count(name, num_classes=1000, batch_norm=True) == VGG_BN_COUNTS[name]


@pytest.mark.parametrize("name", sorted(CIFAR_RESNET_COUNTS))
def test_cifar_resnet_counts(name):
    assert count(name) == CIFAR_RESNET_COUNTS[name]


def test_googlenet_counts():
    assert count("googlenet", num_classes=1000, aux_logits=False) == 6_624_904  # the figure
    assert count("googlenet", num_classes=1000, aux_logits=True) == 13_004_888
    assert count("googlenet", num_classes=1000, aux_logits=False, branch3_kernel=5) == 7_005_832
    assert count("googlenet", num_classes=1000, aux_logits=False, batch_norm=False,
                 branch3_kernel=5) == 6_998_552


def test_every_small_input_net_is_torchvisions_224_form_by_default():
    assert SMALL_INPUT == sorted(TORCHVISION_224)  # a new ImageNet net gets its row here
    for name in SMALL_INPUT:
        entry = nnzoo.get_entry(name)
        assert entry.input_shape == (3, 224, 224) and entry.options()["small_input"] is False


def _stage_output(name, stage, shape, **config):
    """(C, H, W) of ``stage``'s output for one input of ``shape``, on the meta device."""
    seen = []
    with torch.device("meta"), torch.no_grad():
        model = nnzoo.create(name, **config).eval()
        dict(model.named_modules())[stage].register_forward_hook(
            lambda module, args, out: seen.append(tuple(out.shape[1:])))
        assert model(torch.empty(1, *shape)).shape == (1, config.get("num_classes", 10))
    return seen[0]


@pytest.mark.parametrize("name", sorted(TORCHVISION_224))
def test_the_default_form_has_torchvisions_shapes_at_224(name):
    stage, shape = TORCHVISION_224[name]
    assert _stage_output(name, stage, (3, 224, 224), num_classes=1000) == shape
    small = _stage_output(name, stage, (3, 224, 224), num_classes=1000, small_input=True)
    assert small[0] == shape[0] and small[1:] > shape[1:]  # the small form keeps more pixels


def test_lenet1998_layer_counts_are_the_papers():
    model = nnzoo.create("lenet5-1998")
    per_layer = {name: nnzoo.count_params(layer) for name, layer in model.named_children()}
    assert per_layer == {"C1": 156, "S2": 12, "C3": 1_516, "S4": 32, "C5": 48_120,
                         "F6": 10_164, "output": 840}
    assert nnzoo.count_params(nnzoo.create("lenet5-1998", fixed_codes=True)) == 60_000


def test_c3_table_is_table_one():
    """First six maps read 3 contiguous S2 maps, next six 4 contiguous, three 4 non-contiguous,
    the last all six (section II-B)."""
    reads = {k: sorted(j for kk, j in connections(C3_TABLE) if kk == k) for k in range(16)}
    for k in range(6):
        assert reads[k] == sorted((k + d) % 6 for d in range(3))
        assert reads[6 + k] == sorted((k + d) % 6 for d in range(4))
    assert [reads[12], reads[13], reads[14]] == [[0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5]]
    assert reads[15] == list(range(6))


def test_partial_convolution_is_a_masked_conv2d():
    torch.manual_seed(0)
    layer = PartialConv2d(C3_TABLE, 5)
    mask = torch.tensor([[C3_TABLE[j][k] == "X" for j in range(6)] for k in range(16)])
    dense = layer.dense_weight()
    assert torch.all(dense[~mask] == 0) and torch.all(dense[mask] != 0)
    x = torch.randn(2, 6, 14, 14)
    torch.testing.assert_close(layer(x), F.conv2d(x, dense, layer.bias))
    # a C3 map does not move when an S2 map it does not read changes
    x2 = x.clone()
    x2[:, 3] += 1.0  # S2 map 3 feeds C3 maps 1, 2, 3, 6, 7, 8, 9, 12, 14, 15 only
    changed = (layer(x2) - layer(x)).abs().flatten(2).amax(-1).amax(0) > 0
    assert changed.nonzero().flatten().tolist() == [1, 2, 3, 6, 7, 8, 9, 12, 14, 15]


def test_subsampling_scaled_tanh_and_rbf_follow_their_equations():
    torch.manual_seed(1)
    s = Subsampling(2)
    x = torch.randn(1, 2, 4, 4)
    expected = torch.stack([s.weight[c] * x[0, c].unfold(0, 2, 2).unfold(1, 2, 2).sum((-1, -2))
                            + s.bias[c] for c in range(2)])
    torch.testing.assert_close(s(x)[0], expected)
    f = ScaledTanh()
    torch.testing.assert_close(f(torch.tensor([1.0, -1.0])), torch.tensor([1.0, -1.0]), atol=1e-4,
                               rtol=0)
    model = nnzoo.create("lenet5-1998", rbf_temperature=1.0)
    h = torch.randn(3, 84)
    distances = torch.stack([((h - model.output.weight[i]) ** 2).sum(1) for i in range(10)], 1)
    torch.testing.assert_close(model.output(h), distances)
    assert model.output.weight.abs().eq(1).all()  # ±1 codes, as in the paper


def test_alexnet_2012_groups_and_local_response_norm():
    with torch.device("meta"):
        model = nnzoo.create("alexnet-2012")
    groups = {n: m.groups for n, m in model.features.named_children() if isinstance(m, nn.Conv2d)}
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}
    # the paper's b = a / (k + α Σ_{5 neighbours} a²)^β with α = 1e-4 (not divided by n)
    norm = nnzoo.create("alexnet-2012").features.norm1
    a = torch.randn(1, 8, 3, 3) * 30
    padded = F.pad(a ** 2, (0, 0, 0, 0, 2, 2))
    sums = torch.stack([padded[:, i:i + 5].sum(1) for i in range(8)], 1)
    torch.testing.assert_close(norm(a), a / (2 + 1e-4 * sums) ** 0.75)


def test_googlenet_training_loss_adds_the_aux_heads():
    torch.manual_seed(2)
    model = nnzoo.create("googlenet")
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([3, 7])
    model.train()
    torch.manual_seed(3)
    loss, _ = model.training_loss(x, y)
    torch.manual_seed(3)  # same dropout masks
    main, aux1, aux2 = model.forward_with_aux(x)
    expected = F.cross_entropy(main, y) + 0.3 * (F.cross_entropy(aux1, y) + F.cross_entropy(aux2, y))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert model.aux1.fc2.weight.grad.abs().sum() > 0 and model.aux2.fc2.weight.grad.abs().sum() > 0
    model.eval()  # at inference the heads are dropped: the loss is the main head's alone
    loss, _ = model.training_loss(x, y)
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y))
    assert nnzoo.create("googlenet", aux_logits=False).aux1 is None


def test_option_a_shortcut_is_parameter_free_zero_padding():
    x = torch.randn(2, 16, 8, 8)
    out = ZeroPadShortcut(16, 32, 2)(x)
    assert out.shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[:, :16], x[:, :, ::2, ::2])
    assert torch.all(out[:, 16:] == 0)
    block = BasicBlock(16, 16)
    nn.init.zeros_(block.bn2.weight)  # F(x) = 0: the block passes ReLU(x) through
    block.eval()
    torch.testing.assert_close(block(x), torch.relu(x))


def _step(model, x, y, lr, momentum=0.9):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = getattr(model, "training_loss", None) or (lambda a, b: (F.cross_entropy(model(a), b), None))
    loss, _ = loss_fn(x, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


@pytest.mark.parametrize("name", [n for n in nnzoo.list_models("convolutional")
                                  if n in IMAGENET_COUNTS or n in SMALL])
def test_small_form_trains_on_32x32_and_runs_on_28x28(name):
    torch.manual_seed(0)
    entry = nnzoo.get_entry(name)
    channels = entry.input_shape[0]
    config = {"small_input": True} if "small_input" in entry.options() else {}
    if name != "lenet5-1998":  # LeNet-5 is 32x32 by design (MNIST's 28x28 on a margin)
        with torch.device("meta"), torch.no_grad():
            model = nnzoo.create(name, **config).eval()
            assert model(torch.empty(1, channels, 28, 28)).shape == (1, 10)
            assert model(torch.empty(1, channels, 32, 32)).shape == (1, 10)
    if name not in SMALL + ONE_STEP:
        return
    model = nnzoo.create(name, **config).train()
    x, y = torch.rand(4 if name in SMALL else 2, channels, 32, 32), torch.tensor([0, 1, 2, 3])
    y = y[:len(x)]
    if name not in SMALL:  # one SGD step: a finite loss, and the weights moved
        before = next(model.parameters()).detach().clone()
        assert torch.isfinite(torch.tensor(_step(model, x, y, lr=1e-3, momentum=0.0)))
        assert not torch.equal(before, next(model.parameters()))
        return
    losses = [_step(model, x, y, lr=0.2 if name == "lenet5-1998" else 0.01) for _ in range(6)]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < 0.85 * losses[0], losses
