"""Image datasets for autoencoders: the target of every image is the image itself.

An autoencoder learns ``x → code → x̂`` and is scored by the mean squared error between ``x̂``
and ``x``, so each split's ``y`` is its ``x`` (the same tensor, not a copy). The class labels
are not targets here, but they colour the latent-space scatter: they are kept per split in
``info["labels"]`` (``{"train": (N,), "val": …, "test": …}``).

    digits-reconstruct          the embedded 8x8 digits; a dense autoencoder reads them flat at
                                their own resolution, input shape (64,); a convolutional one at
                                (1, 28, 28), a 21x21 digit on a blank margin as in ``digits``
    mnist-reconstruct           MNIST, 28x28, from its IDX files
    fashion-mnist-reconstruct   Fashion-MNIST, 28x28, from its IDX files
    kmnist-reconstruct          Kuzushiji-MNIST, 28x28, from its IDX files
    cifar10-reconstruct         CIFAR-10, 3x32x32, not augmented (a shifted input would no longer
                                be its own target) and not standardised (pixels stay in [0, 1],
                                the range of a logistic output)

``binarize=True`` sets every pixel to 1 where it is above one half and to 0 elsewhere, the
binary data of a binary-binary RBM (as Salakhutdinov & Murray 2008 trained RBMs on MNIST; they
drew the pixels at random, here the threshold is fixed so that every run sees the same data).
``nnzoo train rbm`` asks for it. ``info["image_shape"]`` is the (C, H, W) of one image, so a
flat (F,) sample can be drawn.
"""

from __future__ import annotations

import math

from nnzoo.data import DataBundle, Split, load_dataset, register_dataset
from nnzoo.errors import NnzooError


def image_shape_of(sample_shape: tuple[int, ...], channels: int = 1) -> tuple[int, int, int]:
    """(C, H, W) of a sample shaped (C, H, W), (H, W) or flat (C·S·S,) with a square side S."""
    if len(sample_shape) == 3:
        return tuple(sample_shape)
    if len(sample_shape) == 2:
        return (1, *sample_shape)
    side = math.isqrt(sample_shape[0] // channels)
    if channels * side * side != sample_shape[0]:
        raise NnzooError(f"A flat sample of {sample_shape[0]} values is not a square image of "
                         f"{channels} channel(s); expected C·S·S values.")
    return (channels, side, side)


def binarized(x):
    """1 where a pixel is above one half, else 0 (same shape and dtype)."""
    return (x > 0.5).to(x.dtype)


def as_reconstruction(bundle: DataBundle, name: str, binarize: bool = False,
                      channels: int = 1) -> DataBundle:
    """``bundle`` with every split's target set to its input, task ``reconstruct``; its
    pixels binarized first when ``binarize``. ``channels``: of its images, when a sample is
    flat."""
    if isinstance(bundle.train.x, tuple):
        raise NnzooError(f"Dataset {bundle.name!r} gives several inputs per sample; an "
                         f"autoencoder needs one image per sample.")
    splits = {k: getattr(bundle, k) for k in ("train", "val", "test")}
    if binarize:
        splits = {k: Split(binarized(s.x), s.y) for k, s in splits.items()}
    labels = {k: s.y for k, s in splits.items()}
    channels = channels if len(bundle.input_shape) != 3 else bundle.input_shape[0]
    info = {**bundle.info, "labels": labels, "class_names": bundle.class_names,
            "image_shape": image_shape_of(tuple(bundle.input_shape), channels),
            "source_dataset": bundle.name, "binarized": binarize}
    return DataBundle(name, *(Split(s.x, s.x) for s in splits.values()), task="reconstruct",
                      num_classes=None, class_names=None, input_shape=bundle.input_shape,
                      info=info)


@register_dataset("digits-reconstruct", task="reconstruct",
                  description="the embedded digits as autoencoder targets (y = x), labels kept")
def load_digits_reconstruct(*, input_shape: tuple[int, ...] | None = None,
                            binarize: bool = False) -> DataBundle:
    return as_reconstruction(load_dataset("digits", input_shape=input_shape or (64,)),
                             "digits-reconstruct", binarize)


def register_reconstruction(source: str, what: str, files: str, channels: int = 1, **fixed):
    """Register ``SOURCE-reconstruct``: file-backed dataset ``source`` of images of
    ``channels`` channels, loaded with the options ``fixed``, as autoencoder targets."""
    name = f"{source}-reconstruct"

    @register_dataset(name, task="reconstruct",
                      description=f"{what} as autoencoder targets (y = x), labels kept ({files})")
    def load(*, input_shape: tuple[int, ...] | None = None, data_dir: str | None = None,
             binarize: bool = False) -> DataBundle:
        bundle = load_dataset(source, input_shape=input_shape, data_dir=data_dir, **fixed)
        return as_reconstruction(bundle, name, binarize, channels)

    return load


load_mnist_reconstruct = register_reconstruction("mnist", "MNIST", "IDX files")
load_fashion_mnist_reconstruct = register_reconstruction("fashion-mnist", "Fashion-MNIST",
                                                         "IDX files")
load_kmnist_reconstruct = register_reconstruction("kmnist", "Kuzushiji-MNIST", "IDX files")
load_cifar10_reconstruct = register_reconstruction("cifar10", "CIFAR-10", "binary version",
                                                   channels=3, augment=False)
