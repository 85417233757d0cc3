import pytest
import torch
import torch.nn.functional as F

from nnzoo.layers.conv import Conv2d


@pytest.mark.parametrize("size,channels_last", [(5, False), (5, True), (9, False), (9, True)])
def test_equals_torch_conv_in_values_and_gradients(size, channels_last):
    """5x5 kernels on 5x5 maps take the matrix-product path, 9x9 maps the convolution."""
    torch.manual_seed(0)
    conv = Conv2d(16, 12, 5)
    x = torch.randn(3, 16, size, size)
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    weight = conv.weight.detach().clone().requires_grad_()
    bias = conv.bias.detach().clone().requires_grad_()
    out, ref = conv(x), F.conv2d(x_ref, weight, bias)
    assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-5)
    grad = torch.randn_like(ref)
    out.backward(grad)
    ref.backward(grad)
    assert torch.allclose(x.grad, x_ref.grad, atol=1e-5)
    assert torch.allclose(conv.weight.grad, weight.grad, atol=1e-4)
    assert torch.allclose(conv.bias.grad, bias.grad, atol=1e-4)


def test_padded_or_grouped_convolutions_keep_torch_path():
    conv = Conv2d(4, 4, 3, padding=1, groups=2)
    x = torch.randn(2, 4, 3, 3)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1, groups=2))
    assert isinstance(conv, torch.nn.Conv2d)


def test_mixed_memory_formats_give_the_same_product():
    """A channels_last kernel on a contiguous input (or the reverse) still sums the same terms."""
    torch.manual_seed(0)
    conv = Conv2d(16, 12, 5)
    x = torch.randn(3, 16, 5, 5)
    ref = F.conv2d(x, conv.weight, conv.bias)
    mixed = Conv2d(16, 12, 5).to(memory_format=torch.channels_last)
    mixed.load_state_dict(conv.state_dict())
    assert torch.allclose(mixed(x), ref, atol=1e-5)
    assert torch.allclose(conv(x.contiguous(memory_format=torch.channels_last)), ref, atol=1e-5)
