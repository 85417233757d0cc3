"""Pictures of generative models: reconstructions, the code space, samples, GAN curves.

After ``nnzoo train`` on a ``reconstruct`` dataset the run folder gets:

    reconstructions.png   one test digit of each class: inputs above, reconstructions below
                          (a denoising model: clean, corrupted, and the corrupted one cleaned)
    latent.png            the test codes coloured by class (the two principal components when
                          the code has more than two units)
    reconstruction.json   test MSE against the MSE of always answering the mean training image

The GAN's training loop (``nnzoo.train.gan``) draws its sample grids with :func:`sample_grid`
and its curves with :func:`plot_gan_curves`.
"""

from __future__ import annotations

import math

import torch

from nnzoo.explain import register_run_picture


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _as_images(x: torch.Tensor, image_shape) -> torch.Tensor:
    return x.detach().float().cpu().reshape(x.shape[0], *image_shape)  # (N, C, H, W)


def _image_shape(data, x: torch.Tensor) -> tuple[int, ...]:
    """(C, H, W) to draw a sample as: the dataset's own, else one channel of a square (a flat
    row of 9 pixels is 3x3), else a one-pixel-high strip."""
    shape = tuple(data.info.get("image_shape") or x.shape[1:])
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return (1, side, side) if side * side == shape[0] else (1, 1, shape[0])
    return (1, *shape) if len(shape) == 2 else shape


def _targets_are_inputs(data):
    """``data`` with each split's targets set to its inputs, and its class ids (if it had
    them as targets) kept as labels: a classification dataset seen by a reconstructing model
    (``nnzoo train rbm --data digits``)."""
    if data.test.y.shape == data.test.x.shape:
        return data
    from dataclasses import replace

    from nnzoo.data import Split

    labels = {name: getattr(data, name).y for name in ("train", "val", "test")}
    return replace(data, train=Split(data.train.x, data.train.x),
                   val=Split(data.val.x, data.val.x), test=Split(data.test.x, data.test.x),
                   info={**data.info, "labels": data.info.get("labels", labels)})


def _show(ax, image: torch.Tensor, lo: float, hi: float) -> None:
    """One (C, H, W) image on ``ax``: grey for one channel, RGB for three."""
    image = ((image - lo) / (hi - lo)).clamp(0, 1)
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def image_rows(rows: list[torch.Tensor], names: list[str], title: str = "",
               value_range=(0.0, 1.0)):
    """A figure with one row of images per tensor in ``rows`` (each (N, C, H, W)), named."""
    plt = _plt()
    n = rows[0].shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.0 * n + 1.2, 1.05 * len(rows) + 0.5),
                             squeeze=False)
    for r, (images, name) in enumerate(zip(rows, names)):
        for c in range(n):
            _show(axes[r, c], images[c], *value_range)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def tile(images: torch.Tensor, nrow: int, pad: int = 1, value: float = 0.0) -> torch.Tensor:
    """Images (N, C, H, W) tiled into one (C, rows·(H+pad)+pad, nrow·(W+pad)+pad) picture."""
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    canvas = images.new_full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), value)
    for i in range(n):
        top, left = pad + (i // nrow) * (h + pad), pad + (i % nrow) * (w + pad)
        canvas[:, top:top + h, left:left + w] = images[i]
    return canvas


def sample_grid(images: torch.Tensor, title: str = "", nrow: int = 8, value_range=(-1.0, 1.0)):
    """A figure of generated images (N, C, H, W) in a grid ``nrow`` wide."""
    plt = _plt()
    images = images.detach().float().cpu()
    canvas = tile(images, nrow, value=value_range[0])
    side = 0.75 * nrow
    fig, ax = plt.subplots(figsize=(side, side * canvas.shape[1] / canvas.shape[2] + 0.4))
    _show(ax, canvas, *value_range)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def latent_scatter(codes: torch.Tensor, labels: torch.Tensor | None, class_names=None,
                   title: str = ""):
    """Codes (N, 2) or more (then their two principal components), coloured by class."""
    plt = _plt()
    codes = codes.detach().float().cpu()
    axis = ("code unit 1", "code unit 2")
    if codes.shape[1] > 2:
        centred = codes - codes.mean(0)
        _, _, v = torch.linalg.svd(centred, full_matrices=False)
        codes = centred @ v[:2].T
        axis = (f"principal component 1 of the {v.shape[1]}-D codes", "principal component 2")
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=8, alpha=0.7)
    else:
        labels = labels.cpu()
        cmap = plt.get_cmap("tab10")
        for k in labels.unique().tolist():
            pick = labels == k
            name = class_names[k] if class_names else str(k)
            ax.scatter(codes[pick, 0], codes[pick, 1], s=9, alpha=0.75, color=cmap(k % 10),
                       label=name)
        ax.legend(fontsize=8, markerscale=1.8, loc="best", ncol=2)
    ax.set_xlabel(axis[0])
    ax.set_ylabel(axis[1])
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_gan_curves(history: list[dict], title: str = ""):
    """Generator and discriminator losses (left), mean D(x) and D(G(z)) (right), per epoch."""
    plt = _plt()
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, [r["g_loss"] for r in history], marker="o", ms=3, label="generator  -log D(G(z))")
    left.plot(epochs, [r["d_loss"] for r in history], marker="o", ms=3,
              label="discriminator  -log D(x) - log(1 - D(G(z)))")
    left.set_ylabel("loss")
    right.plot(epochs, [r["d_real"] for r in history], marker="o", ms=3, label="D(x), real images")
    right.plot(epochs, [r["d_fake"] for r in history], marker="o", ms=3, label="D(G(z)), samples")
    right.axhline(0.5, color="grey", linestyle=":", label="D = 1/2 (the equilibrium)")
    right.set_ylim(0, 1)
    right.set_ylabel("discriminator output")
    for ax in (left, right):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ---- after `nnzoo train` on a reconstruct dataset -------------------------------------------

def _examples(split, labels, count: int = 10) -> torch.Tensor:
    """Indices of the first test image of each class (or the first ``count``)."""
    if labels is None:
        return torch.arange(min(count, len(split)))
    labels = labels.cpu()
    firsts = [int((labels == k).nonzero()[0]) for k in labels.unique().tolist()[:count]]
    return torch.tensor(firsts)


@torch.no_grad()
def reconstruction_errors(model, data, batch_size: int = 1024, seed: int = 0) -> dict:
    """Test MSE of the model, of the mean training image, and (for a model with ``noise``)
    of the corrupted test images themselves and of their reconstructions."""
    from nnzoo.models.autoencoder import corrupt

    model.eval()
    device = next(model.parameters()).device
    mean_image = data.train.y.to(device).float().mean(0)
    noise = getattr(model, "noise", None)
    generator = torch.Generator(device=device).manual_seed(seed)
    sums = {"test_mse": 0.0, "mean_image_mse": 0.0, "noisy_input_mse": 0.0, "denoised_mse": 0.0}
    for start in range(0, len(data.test), batch_size):
        x = data.test.x[start:start + batch_size].to(device)
        y = data.test.y[start:start + batch_size].to(device)
        size = y.numel()
        sums["test_mse"] += ((model(x) - y) ** 2).sum().item()
        sums["mean_image_mse"] += ((mean_image - y) ** 2).sum().item()
        if noise:
            noisy = corrupt(x, noise, model.noise_level, generator)
            sums["noisy_input_mse"] += ((noisy - y) ** 2).sum().item()
            sums["denoised_mse"] += ((model(noisy) - y) ** 2).sum().item()
    total = data.test.y.numel()
    result = {k: v / total for k, v in sums.items() if noise or k in ("test_mse", "mean_image_mse")}
    result["mse_ratio_to_mean_image"] = result["test_mse"] / max(result["mean_image_mse"], 1e-12)
    if noise:
        result["noise"] = f"{noise} {model.noise_level:g}"
    return result


@torch.no_grad()
def reconstruction_figure(model, data, seed: int = 0):
    from nnzoo.models.autoencoder import corrupt

    model.eval()
    device = next(model.parameters()).device
    labels = data.info.get("labels", {}).get("test")
    pick = _examples(data.test, labels)
    x = data.test.x[pick].to(device)
    shape = _image_shape(data, x)
    noise = getattr(model, "noise", None)
    rows, names = [_as_images(x, shape)], ["clean input" if noise else "input"]
    if noise:
        generator = torch.Generator(device=device).manual_seed(seed)
        x = corrupt(x, noise, model.noise_level, generator)
        rows.append(_as_images(x.clamp(0, 1), shape))
        names.append(f"noisy input\n({noise} {model.noise_level:g})")
    rows.append(_as_images(model(x), shape))
    names.append("output")
    return image_rows(rows, names, f"{type(model).__name__} on {data.name} (test images)")


@torch.no_grad()
def latent_figure(model, data, batch_size: int = 1024):
    model.eval()
    device = next(model.parameters()).device
    codes = torch.cat([model.encode(data.test.x[i:i + batch_size].to(device)).cpu()
                       for i in range(0, len(data.test), batch_size)])
    labels = data.info.get("labels", {}).get("test")
    return latent_scatter(codes, labels, data.info.get("class_names"),
                          f"codes of the {len(codes)} test images ({codes.shape[1]} units)")


@register_run_picture("reconstruct")
def reconstruction_pictures(model, data, folder):
    """``reconstructions.png``, ``latent.png`` (models with ``encode``), ``reconstruction.json``."""
    if len(data.test) == 0:
        return []
    data = _targets_are_inputs(data)
    was_training = model.training
    paths = [folder.write_json("reconstruction.json", reconstruction_errors(model, data)),
             folder.save_figure(reconstruction_figure(model, data), "reconstructions.png")]
    if hasattr(model, "encode"):
        paths.append(folder.save_figure(latent_figure(model, data), "latent.png"))
    model.train(was_training)
    return [p for p in paths if p]
