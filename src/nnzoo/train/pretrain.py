"""Greedy layer-wise pre-training of an MLP with autoencoders, before fine-tuning with labels.

Bengio, Lamblin, Popovici & Larochelle, "Greedy layer-wise training of deep networks", NeurIPS
2007 (and Hinton & Salakhutdinov 2006, with RBMs in place of autoencoders): each hidden layer in
turn is trained, without labels, as the encoder of a one-layer autoencoder on the codes of the
layers below it, which stay fixed:

    h⁰ = x
    for m = 1..M-1:   train  W^(m), b^(m), W', b'  to minimise  (1/n) Σ ‖ g(W' f(W^(m) h̃^(m-1) + b^(m)) + b') - h^(m-1) ‖²
                      h^(m) = f(W^(m) h^(m-1) + b^(m))

where f is the layer's own activation, g the logistic when h^(m-1) lies in [0, 1] (pixels,
logistic units) and the identity otherwise, and h̃ = h (plain autoencoders) or a corrupted copy
(stacked *denoising* autoencoders, Vincent et al. 2008). The decoders W', b' are thrown away; the
output layer keeps its random initialisation, and the whole network is then fine-tuned with
labels by ``nnzoo.fit``. Each decoder starts from the transpose of its encoder's weights (the
tied weights of Vincent et al.) and is then trained freely, so no random numbers but the
shuffling and the noise enter, and a layer's result does not depend on the layers above it.

    >>> model = nnzoo.create("mlp", hidden=(128, 64), activation="logistic")
    >>> errors = pretrain_layers(model, data.train.x, epochs=20)     # doctest: +SKIP
    >>> nnzoo.fit(model, data, epochs=50)                             # doctest: +SKIP
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.models.autoencoder import check_noise, corrupt
from nnzoo.models.mlp import MLP
from nnzoo.train.optim import make_optimizer


def hidden_layers(model: MLP) -> list[tuple[nn.Linear, nn.Module]]:
    """(dense layer, its activation) for each hidden layer of an nnzoo MLP, bottom to top."""
    if not isinstance(model, MLP):
        raise NnzooError(f"Layer-wise pre-training works on an nnzoo MLP (nnzoo.create('mlp')); "
                         f"got a {type(model).__name__}.")
    modules = [m for m in model.layers if not isinstance(m, nn.Dropout)]
    return [(m, modules[i + 1]) for i, m in enumerate(modules[:-1]) if isinstance(m, nn.Linear)]


def train_layer(linear: nn.Linear, activation: nn.Module, h: torch.Tensor, *, epochs: int,
                batch_size: int, lr: float, noise: str | None, noise_level: float,
                generator: torch.Generator) -> float:
    """Train ``linear`` as the encoder of an autoencoder on ``h``; returns its final MSE."""
    decoder = nn.Linear(linear.out_features, linear.in_features).to(h.device)
    with torch.no_grad():  # start from tied weights W' = Wᵀ (Vincent et al.), then train freely
        decoder.weight.copy_(linear.weight.T)
        decoder.bias.zero_()
    squash = torch.sigmoid if h.min() >= 0 and h.max() <= 1 else (lambda a: a)
    params = [*linear.parameters(), *decoder.parameters()]
    opt = make_optimizer(params, "adam", lr)

    def reconstruct(inputs: torch.Tensor) -> torch.Tensor:
        return squash(decoder(activation(linear(inputs))))  # (B, in_features)

    for _ in range(epochs):
        order = torch.randperm(len(h), generator=generator, device=h.device)
        for start in range(0, len(h), batch_size):
            batch = h[order[start:start + batch_size]]
            loss = F.mse_loss(reconstruct(corrupt(batch, noise, noise_level, generator)), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        return F.mse_loss(reconstruct(h), h).item()


def pretrain_layers(model: MLP, x: torch.Tensor, *, epochs: int = 20, batch_size: int = 64,
                    lr: float = 1e-2, noise: str | None = None, noise_level: float = 0.0,
                    seed: int = 0) -> list[float]:
    """Initialise the hidden layers of ``model`` greedily, bottom to top, as autoencoders on
    the unlabelled inputs ``x``; returns each layer's reconstruction MSE after its training.

    ``noise`` (``masking`` or ``gaussian``, with ``noise_level``) makes them denoising
    autoencoders. The model's output layer is left as it is.
    """
    check_noise(noise, noise_level)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.train()
    h = x.to(device).flatten(1)  # (N, in_features)
    errors = []
    for linear, activation in hidden_layers(model):
        errors.append(train_layer(linear, activation, h, epochs=epochs, batch_size=batch_size,
                                  lr=lr, noise=noise, noise_level=noise_level,
                                  generator=generator))
        with torch.no_grad():
            h = activation(linear(h))  # (N, out_features): the next layer's data
    model.train(was_training)
    return errors
