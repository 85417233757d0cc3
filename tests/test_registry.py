"""Tests generated from the registry: every model builds, runs, and has its recorded size."""

import pytest
import torch

import nnzoo
from nnzoo.registry import FAMILIES

ALL = nnzoo.list_models()
# Too slow for a forward+backward on a 2-core CI machine; they still build and are counted.
FORWARD_ONLY = {"vgg19", "vgg19-bn", "resnet152", "resnet101"}


def test_registry_is_not_empty_and_families_are_known():
    assert "lenet5" in ALL and "mlp" in ALL
    for name in ALL:
        assert nnzoo.get_entry(name).family in FAMILIES


@pytest.mark.parametrize("name", ALL)
def test_model_builds_with_recorded_parameter_count(name):
    entry = nnzoo.get_entry(name)
    model = nnzoo.create(name)
    assert isinstance(model, torch.nn.Module)
    assert entry.paper, f"{name} must cite its paper"
    if entry.params is not None:
        assert nnzoo.count_params(model) == entry.params


@pytest.mark.parametrize("name", [n for n in ALL if nnzoo.get_entry(n).task == "classify"])
def test_classifier_runs_forward_and_backward(name):
    entry = nnzoo.get_entry(name)
    torch.manual_seed(0)
    # the ImageNet nets in their small-input form: gradients flow the same way, at a fraction
    # of the cost (their 224 form is checked against torchvision in test_cnn_models)
    small = "small_input" in entry.options()
    model = nnzoo.create(name, small_input=True) if small else nnzoo.create(name)
    if not any(p.requires_grad for p in model.parameters()):
        pytest.skip("learns without gradients")
    shape = (3, 32, 32) if small else tuple(getattr(model, "input_shape", None) or entry.input_shape)
    x = torch.rand(2, *shape)
    if name in FORWARD_ONLY:
        model.eval()
        with torch.no_grad():
            out = model(x)
    else:
        model.train()
        out = model(x)
        if isinstance(out, tuple):
            out = out[0]
        out.float().sum().backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert any(g is not None for g in grads)
        assert all(torch.isfinite(g).all() for g in grads if g is not None)
    assert torch.isfinite(out).all()
    assert out.shape[0] == 2


def test_lenet5_has_the_lecture_parameter_count():
    assert nnzoo.count_params(nnzoo.create("lenet5")) == 61_706


@pytest.mark.parametrize("channels_last", [False, True])
def test_lenet5_equals_the_same_network_in_torch_nn_modules(channels_last):
    # nnzoo's LeNet-5 runs a faster tanh (in place after C1 and C3), pooling and C5: the
    # numbers must be those of torch.nn's own layers with the same weights.
    from torch import nn

    torch.manual_seed(0)
    model = nnzoo.create("lenet5")
    plain = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2, 2),
                          nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2, 2),
                          nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),
                          nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
    plain.load_state_dict(dict(zip(plain.state_dict(), model.state_dict().values())))
    x = torch.randn(64, 1, 32, 32)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(
            memory_format=torch.channels_last)
    out, expected = model(x), plain(x)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    out.square().sum().backward()
    expected.square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_unknown_model_names_the_closest():
    with pytest.raises(ValueError, match="lenet5"):
        nnzoo.create("lenet-5")


@pytest.mark.parametrize("name, cell", [("lstm", "lstm"), ("Elman", "rnn"), ("cwrnn", "clockwork")])
def test_a_cell_name_as_a_model_says_how_to_train_the_cell(name, cell):
    with pytest.raises(nnzoo.NnzooError, match=f"-o cell={cell}`"):
        nnzoo.create(name)


def test_unknown_option_lists_accepted_ones():
    with pytest.raises(ValueError, match="num_classes"):
        nnzoo.create("lenet5", width=3)


def test_list_models_by_family():
    assert "lenet5" in nnzoo.list_models("convolutional")
    assert "lenet5" not in nnzoo.list_models("feed-forward")
    with pytest.raises(ValueError):
        nnzoo.list_models("quantum")


def test_count_params_ignores_frozen():
    model = nnzoo.create("mlp")
    total = nnzoo.count_params(model)
    model.layers[0].weight.requires_grad_(False)
    assert nnzoo.count_params(model) == total - 64 * 128


def test_mlp_depth_width_activation_dropout():
    model = nnzoo.create("mlp", hidden=(32, 16, 8), activation="tansig", dropout=0.5)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [32, 16, 8, 10]
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 3


def test_option_values_must_be_of_the_kind_of_their_default():
    """true/false for a flag, whole numbers for counts, numbers for rates, names for names."""
    with pytest.raises(nnzoo.NnzooError, match="reverse_source must be true or false"):
        nnzoo.create("seq2seq", reverse_source="maybe")
    with pytest.raises(nnzoo.NnzooError, match="hidden_size must be a whole number"):
        nnzoo.create("seq2seq", hidden_size=12.5)
    with pytest.raises(nnzoo.NnzooError, match="cell must be a name"):
        nnzoo.create("seq2seq", cell=3)
    with pytest.raises(nnzoo.NnzooError, match="dropout must be a number"):
        nnzoo.create("seq2seq", dropout=True)
    assert nnzoo.create("seq2seq", dropout=0, hidden_size=16).decoder is not None  # 0 is a number
