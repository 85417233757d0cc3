"""The optional hooks a model may offer, named once.

A model is any ``nn.Module``; the trainer, the explainers and the CLI then look for these
attributes with ``getattr`` / ``hasattr`` and fall back to a default when one is absent, so a
model defines only those that apply to it. No model has them all, and nothing checks a model
against these classes at run time: they are the one list of the names, their signatures and
who reads them (``tests/test_layering.py`` checks that every name the code looks up on a model
is declared here). Torch appears only in the annotations, so importing this module is free.

:class:`ModelHooks` are read on the model itself; :class:`LayerHooks` on any of its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import torch
    from torch import nn


class ModelHooks(Protocol):
    """Attributes and methods looked up on a model; each is optional."""

    # ---- shapes and inputs -----------------------------------------------------------------

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape, no batch dimension: the shape ``nnzoo train`` loads the data in
        (cli.cmd_train), ``nnzoo summary`` traces (cli.cmd_summary), and the trainer's hint when
        a dataset does not fit (train.checks); absent: the registry entry's ``input_shape``."""

    @property
    def vocab_size(self) -> int:
        """V for a model that reads token ids: train.checks checks every input is a whole number
        in 0..V-1 before training, instead of failing on the first bad batch."""

    # ---- training --------------------------------------------------------------------------

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, outputs)`` for one batch, replacing ``loss_fn(model(x), y)`` in train.gradient
        (GoogLeNet's auxiliary heads, a denoising autoencoder's corruption); such a model is
        not compiled."""

    def forward_state(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """Scores (N, T, V) for ids x (N, T) from ``state`` (None: zeros), and the final state:
        train.bptt carries it from chunk to chunk of a stream, and refuses a model without it."""

    @property
    def alphabet(self) -> str | None:
        """The characters of the token ids, None until set. Must be a property on the class
        with a setter that keeps it in the state dict: train.bptt sets it from
        ``data.info["alphabet"]`` only then, so that a saved run can still write text;
        explain.sequences reads it (and sets it when unset)."""

    @alphabet.setter
    def alphabet(self, text: str) -> None: ...

    # ---- decisions and scoring -------------------------------------------------------------

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class ids (N,) by the model's own decision rule: train.scoring scores a classifier with
        it when the outputs are not one score per class; explain.decision and
        explain.predictions use it in place of argmax of the outputs."""

    @property
    def outputs_are_class_scores(self) -> bool:
        """False when a classifier's outputs are not one score per class (a binary-coded
        perceptron), so train.scoring scores it by :meth:`predict`; absent: True."""

    # ---- generating ------------------------------------------------------------------------

    def sample(self, seed_text: str, length: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> str:
        """A language model's text: ``seed_text`` and ``length`` characters drawn after it;
        explain.sequences writes ``samples.txt`` with it (and reads the model's ``cell`` and
        :attr:`alphabet`). A GAN's ``sample(n)`` is its own method, looked up by no one."""

    def generate(self, src: torch.Tensor, max_len: int, beam: int = 1) -> torch.Tensor:
        """Decoded token ids (N, <= max_len) of a sequence-to-sequence model, greedy (beam 1)
        or by beam search: explain.sequences reports exact matches on the test split."""

    # ---- autoencoders ----------------------------------------------------------------------

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code (N, code_size) of each input: explain.reconstructions draws the latent
        picture for a reconstructing model that has it."""

    @property
    def noise(self) -> str | None:
        """The corruption a denoising model trains with (``masking``, ``gaussian``) or None:
        explain.reconstructions then also shows and scores corrupted inputs."""

    @property
    def noise_level(self) -> float:
        """The amount of :attr:`noise`; read by explain.reconstructions whenever noise is set."""

    # ---- describing ------------------------------------------------------------------------

    def input_weights(self) -> tuple[str, torch.Tensor]:
        """``(name, W)`` with one row of weights per unit on the inputs, (units, inputs): the
        filters ``nnzoo show filters`` draws (explain.filters), for a model whose first
        ``nn.Linear`` is not it (an RBM's Wᵀ)."""

    def layer_rows(self) -> list[dict]:
        """The model's own rows for ``nnzoo summary``, dicts with the fields of
        ``explain.summary.Row``, for a network that is not a stack of modules run in order
        (explain.summary); cli.cmd_train then counts the weights they show."""

    def summary_parts(self, input_shape: tuple[int, ...]
                      ) -> list[tuple[str, nn.Module, tuple[int, ...], str]]:
        """``(prefix, module, input_shape, input_name)`` for each part explain.summary traces,
        for a model whose forward runs only part of it (a GAN's discriminator)."""

    @property
    def learned_by(self) -> str:
        """What sets the weights of a model with :meth:`layer_rows` and no trainable parameters
        ("Hebbian storage"): the words explain.summary and cli.cmd_train use for its size."""

    # ---- set from outside ------------------------------------------------------------------

    @property
    def nnzoo_created(self) -> dict:
        """``{"model": name, "options": {...}}``, stamped by ``nnzoo.create``, never by the model:
        the trainer (train.fitting) records it so that a run's model can be built again by name."""


class LayerHooks(Protocol):
    """Attributes explain.summary looks up on each module of a model; each is optional."""

    @property
    def type_name(self) -> str:
        """The row's type in ``nnzoo summary`` ("subsampling", "LSTM cell"), in place of torch's
        name for the layer or the class name."""

    @property
    def summary_unit(self) -> bool:
        """True for a layer that runs its cell's equations without calling the cell: one row
        for the layer, none for its children."""
