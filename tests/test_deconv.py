"""`nnzoo show deconv`: Zeiler & Fergus's deconvnet, checked against the deconvnet written out
by hand (unpooling with the switches, rectification, transposed filters), its projections'
support against the receptive field, the registry's convolutional nets, and the command."""

import os

import matplotlib.image
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nnzoo
from nnzoo.cli.main import main
from nnzoo.errors import NnzooError
from nnzoo.explain.deconv import (
    deconv_projections,
    deconvnet_mode,
    layer_maps,
    project,
    resolve_layer,
)


def tiny_net():
    """conv 3x3 -> ReLU -> max-pool 2x2 -> conv 3x3, in float64."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                         nn.Conv2d(4, 5, 3)).double()


def explicit_deconvnet(net, x, channel, h, w):
    """Z&F section 2.1 written out: keep one activation of conv2, then filter with conv2's
    transposed filters, unpool through the recorded switches, rectify, filter with conv1's."""
    conv1, _, _, conv2 = net
    r = F.relu(conv1(x))
    pooled, switches = F.max_pool2d(r, 2, return_indices=True)
    a = conv2(pooled)
    kept = torch.zeros_like(a)
    kept[:, channel, h, w] = a[:, channel, h, w]
    back = F.conv_transpose2d(kept, conv2.weight)                       # (1, 4, 5, 5)
    back = F.max_unpool2d(back, switches, 2, output_size=r.shape[-2:])  # (1, 4, 10, 10)
    return F.conv_transpose2d(F.relu(back), conv1.weight)               # (1, 2, 12, 12)


def test_projections_equal_the_deconvnet_written_out():
    net = tiny_net()
    x = torch.randn(6, 2, 12, 12, dtype=torch.float64)
    found = deconv_projections(net, x, "3", top=3, per_feature=2)
    with torch.no_grad():
        a = net(x)                                                      # (6, 5, 3, 3)
    for k, c in enumerate(found.channels):
        for j in range(2):
            n, (h, w) = int(found.samples[k, j]), found.locations[k, j].tolist()
            assert found.values[k, j] == a[n, c].max() == a[n, c, h, w]  # the strongest one
            want = explicit_deconvnet(net, x[n:n + 1], c, h, w)[0].detach()
            torch.testing.assert_close(found.projections[k, j], want, rtol=0, atol=1e-6)
    assert found.channels == a.amax((0, 2, 3)).topk(3).indices.tolist()
    # not plain backpropagation: that masks by the forward ReLU instead of rectifying
    c, (h, w) = found.channels[0], found.locations[0, 0].tolist()
    n = int(found.samples[0, 0])
    x0 = x[n:n + 1].clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(net(x0)[0, c, h, w] * a[n, c, h, w], x0)
    assert (gradient[0] - found.projections[0, 0]).abs().max() > 1e-3
    assert found.rule.startswith("deconvnet") and net[1].inplace  # ReLU restored in place


def test_local_response_norm_is_stepped_over_as_in_zeiler_and_fergus():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.LocalResponseNorm(3, alpha=1.0),
                        nn.Conv2d(6, 2, 3)).double()
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        a = net(x)
    found = deconv_projections(net, x, "3", top=1, per_feature=1)
    c, (h, w) = found.channels[0], found.locations[0, 0].tolist()
    kept = torch.zeros_like(a)
    kept[0, c, h, w] = a[0, c, h, w]
    want = F.conv_transpose2d(F.relu(F.conv_transpose2d(kept, net[3].weight)), net[0].weight)
    torch.testing.assert_close(found.projections[0, 0], want[0].detach(), rtol=0, atol=1e-6)


def test_a_first_layer_projection_is_its_filter_scaled_by_the_activation():
    net = tiny_net()
    x = torch.randn(1, 2, 12, 12, dtype=torch.float64)
    with deconvnet_mode(net), torch.no_grad():
        a = layer_maps(net, x, "0")                  # conv1 then its ReLU: (1, 4, 10, 10)
    assert (a >= 0).all()
    c, (h, w) = 2, divmod(int(a[0, 2].argmax()), 10)
    p = project(net, x, "0", torch.tensor([c]), torch.tensor([[h, w]]))[0]
    torch.testing.assert_close(p[:, h:h + 3, w:w + 3], a[0, c, h, w] * net[0].weight[c])
    p[:, h:h + 3, w:w + 3] = 0
    assert p.abs().max() == 0


def test_the_support_lies_in_the_receptive_field():
    net = tiny_net()
    x = torch.randn(8, 2, 12, 12, dtype=torch.float64)
    found = deconv_projections(net, x, 2, top=5, per_feature=4)  # the 2nd conv: 8x8 fields
    for k in range(5):
        for j in range(4):
            (h, w), p = found.locations[k, j].tolist(), found.projections[k, j]
            inside = torch.zeros_like(p, dtype=torch.bool)
            inside[:, 2 * h:2 * h + 8, 2 * w:2 * w + 8] = True  # conv 3 + pool 2 + conv 3
            assert p[~inside].abs().max() == 0 and p[inside].abs().max() > 0
            top, left, ph, pw = found.boxes[k, j].tolist()
            assert ph == pw <= 8 and 0 <= top <= 12 - ph and 0 <= left <= 12 - pw
            rows, cols = p.abs().sum(0).nonzero().unbind(1)
            assert top <= rows.min() and rows.max() < top + ph
            assert left <= cols.min() and cols.max() < left + pw


def test_the_mode_changes_relu_backward_only_inside():
    net = tiny_net()
    with deconvnet_mode(net.train()):
        assert not net.training and not net[1].inplace and "forward" in vars(net[1])
    assert net.training and net[1].inplace and "forward" not in vars(net[1])


def test_layers_are_named_numbered_or_defaulted():
    model = nnzoo.create("lenet5")
    x = torch.rand(1, 1, 32, 32)
    assert resolve_layer(model, x) == "C3.0"  # C5's maps are 1x1
    assert resolve_layer(model, x, 1) == resolve_layer(model, x, "1") == "C1.0"
    assert resolve_layer(model, x, "C3") == "C3"
    with pytest.raises(NnzooError, match=r"Unknown layer 'C4' for lenet5; .* C1, C3, C5, or a "
                                         r"number 1 to 3"):
        resolve_layer(model, x, "C4", "lenet5")
    with pytest.raises(NnzooError, match="3 convolutions"):
        resolve_layer(model, x, 4, "lenet5")
    with pytest.raises(NnzooError, match="deconv needs a convolutional network; mlp has no "
                                         "Conv2d"):
        resolve_layer(nnzoo.create("mlp"), torch.rand(1, 64), None, "mlp")


# One of each kind of graph and layer; NNZOO_TEST_ALL_DECONV=1 runs every registry CNN (the
# VGGs and AlexNets take 1-2 s each just to build their dense layers).
KINDS = ["lenet5", "lenet5-1998", "alexnet-2012", "googlenet", "resnet18", "resnet50", "resnet20",
         "conv-autoencoder", "gan"]
ALL = os.environ.get("NNZOO_TEST_ALL_DECONV")
NETS = sorted({*nnzoo.list_models("convolutional"), *KINDS}) if ALL else KINDS
SMALL = {"conv-autoencoder": {"widths": (4, 8), "code_size": 4, "decoder": "unpool"},
         "gan": {"width": 4, "z_dim": 4}}
RELU_NETS = ("alexnet", "vgg", "googlenet", "resnet", "conv-autoencoder")


@pytest.mark.parametrize("name", NETS)
def test_every_convolutional_net_projects(name):
    entry = nnzoo.get_entry(name)
    small = "small_input" in entry.options()
    torch.manual_seed(0)
    model = nnzoo.create(name, **({"small_input": True} if small else SMALL.get(name, {})))
    shape = (3, 32, 32) if small else tuple(getattr(model, "input_shape", entry.input_shape))
    x = torch.rand(2, *shape)
    found = deconv_projections(model, x, top=2, per_feature=2, model_name=name)
    p = found.projections
    assert p.shape == (2, 2, *shape) and torch.isfinite(p).all()
    assert (p.flatten(2).abs().amax(2) > 0).all(), found.layer
    assert found.rule.startswith("deconvnet") == name.startswith(RELU_NETS), found.rule


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("deconv")
    for model in ("lenet5", "mlp"):
        assert main(["train", model, "--epochs", "1", "--out", str(root / model),
                     "--no-progress"]) == 0
    return root


def test_show_deconv_writes_a_figure(runs, tmp_path, capsys):
    assert main(["show", "deconv", str(runs / "lenet5")]) == 0
    assert f"wrote {runs / 'lenet5' / 'deconv.png'}" in capsys.readouterr().out
    image = matplotlib.image.imread(runs / "lenet5" / "deconv.png")
    assert image.shape[0] > 400 and image.shape[1] > 600
    out = tmp_path / "one.png"
    assert main(["show", "deconv", str(runs / "lenet5"), "--layer", "1", "--input", "3",
                 "--top", "4", "--out", str(out)]) == 0
    assert matplotlib.image.imread(out).shape[1] > 200


@pytest.mark.parametrize("run, options, message", [
    ("lenet5", ["--layer", "conv9"], ("Unknown layer 'conv9' for lenet5; valid layers: a module "
                                      "name as `nnzoo summary lenet5` prints it, e.g. C1, C3, C5")),
    ("lenet5", ["--layer", "F6"], "does not output feature maps"),
    ("lenet5", ["--top", "0"], "--top must be at least 1"),
    ("mlp", [], "deconv needs a convolutional network; mlp has no Conv2d"),
])
def test_show_deconv_refuses_clearly(runs, capsys, run, options, message):
    assert main(["show", "deconv", str(runs / run), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if run == "mlp":
        assert not (runs / run / "deconv.png").exists()
