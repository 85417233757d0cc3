import pytest
import torch

import nnzoo


def test_digits_split_is_fixed_and_documented():
    data = nnzoo.load_dataset("digits")
    assert (len(data.train), len(data.val), len(data.test)) == (1259, 179, 359)
    assert data.num_classes == 10 and data.input_shape == (1, 8, 8)
    again = nnzoo.load_dataset("digits")
    assert torch.equal(data.test.x, again.test.x) and torch.equal(data.test.y, again.test.y)
    for split in (data.train, data.val, data.test):  # stratified: every class in every split
        assert set(split.y.tolist()) == set(range(10))
    assert 0.0 <= data.train.x.min() and data.train.x.max() <= 1.0


def test_digits_for_lenet_sit_in_a_32x32_field_with_a_margin():
    x = nnzoo.load_dataset("digits", input_shape=(1, 32, 32)).train.x
    assert x.shape[1:] == (1, 32, 32)
    assert x[:, :, :4].abs().max() == 0 and x[:, :, -4:].abs().max() == 0
    assert x[:, :, 4:28, 4:28].max() > 0.9


@pytest.mark.parametrize("shape,expected", [((64,), (64,)), ((8, 8), (8, 8)),
                                            ((3, 32, 32), (3, 32, 32)), ((256,), (256,))])
def test_digits_fit_the_model_input(shape, expected):
    assert nnzoo.load_dataset("digits", input_shape=shape).train.x.shape[1:] == expected


def test_digits_refuse_a_shape_they_cannot_fit():
    with pytest.raises(ValueError, match="input shape"):
        nnzoo.load_dataset("digits", input_shape=(50,))


@pytest.mark.parametrize("name", ["xor", "blobs", "moons", "circles", "spirals"])
def test_toy_sets(name):
    data = nnzoo.load_dataset(name)
    assert data.train.x.shape[1:] == (2,) and data.num_classes == 2
    assert set(data.train.y.tolist()) == {0, 1}
    assert torch.equal(data.train.x, nnzoo.load_dataset(name).train.x)  # seeded


def test_xor_truth_table():
    data = nnzoo.load_dataset("xor")
    for (a, b), y in zip(data.train.x.tolist(), data.train.y.tolist()):
        assert y == (int(a) ^ int(b))


def test_unknown_dataset_and_option():
    with pytest.raises(ValueError, match="digits"):
        nnzoo.load_dataset("digit")
    with pytest.raises(ValueError, match="noise"):
        nnzoo.load_dataset("moons", nois=0.3)


def test_dataset_option_values_must_be_of_the_kind_of_their_default():
    with pytest.raises(nnzoo.NnzooError, match="Dataset 'sine' option noise must be a number"):
        nnzoo.load_dataset("sine", noise="abc")
    with pytest.raises(nnzoo.NnzooError, match="n_train must be a whole number"):
        nnzoo.load_dataset("reversal", n_train=100.5)
