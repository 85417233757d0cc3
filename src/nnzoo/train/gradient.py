"""The gradient learner: a loss, an optimizer and a schedule, one epoch of minibatch steps.

Batches are sliced from tensors already on the device (``batches.py``); losses and hits are
summed on the device and read once per epoch (``metrics.py``). Under ``torchrun`` each rank
draws the same shuffled order, takes its slice of each global batch (``batch_size`` is the
global batch) and weighs its mean loss by its slice's share, so that DistributedDataParallel's
average of the gradients is the gradient one process takes on the whole batch: N processes end
where one ends, to float tolerance. (Random draws inside the model, dropout or a denoising
autoencoder's corruption, differ per rank; batch normalisation normalises each rank's slice.)
"""

from __future__ import annotations

import torch
from torch import nn

from nnzoo.data import DataBundle, Split
from nnzoo.errors import NnzooError
from nnzoo.losses import get_loss
from nnzoo.train.batches import iterate_batches, num_batches, rank_slice
from nnzoo.train.checks import call_model, check_input_fits, check_targets_fit
from nnzoo.train.metrics import Tally
from nnzoo.train.optim import make_optimizer, make_schedule
from nnzoo.train.precision import Precision, set_deterministic
from nnzoo.train.regularise import ADVERSARIAL_ALPHA, StepRegularisers
from nnzoo.train.regularise import NAMES as REGULARISERS
from nnzoo.train.scoring import CLASSIFY_TASKS, evaluate, training_device


def refuse_regularising_inputs(regularisers, x, name: str) -> None:
    """Noise, dropout and FGSM act on real-valued inputs: token ids or several inputs (a
    sequence-to-sequence pair) are refused, naming the regularisers asked for."""
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return
    asked = [k.replace("_", " ") for k in ("input_noise", "input_dropout", "adversarial")
             if getattr(regularisers, k)]
    if not asked:
        return
    what = "several input tensors" if isinstance(x, tuple) else f"{x.dtype} values (token ids)"
    raise NnzooError(f"{' and '.join(asked).capitalize()} perturb real-valued inputs, but dataset "
                     f"{name!r} gives {what}. Expected a dataset of real-valued inputs (images, "
                     f"features, series); weight noise, L2 and dropout still apply here.")


class _TrainingLoss(nn.Module):
    """forward(x, y) = model.training_loss(x, y): the loss and the outputs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        return self.model.training_loss(x, y)


def _use_channels_last(model: nn.Module, x, device: torch.device, reduced: bool) -> bool:
    # Measured on a 2-core CPU: LeNet-5 trains ~1.5x faster with channels_last. On a GPU it is
    # what the tensor cores' bf16/fp16 convolutions read (NHWC), so there it goes with reduced
    # precision; float32 on a GPU keeps the default layout (not measured: no GPU was lent).
    return ((device.type == "cpu" or (device.type == "cuda" and reduced))
            and isinstance(x, torch.Tensor) and x.dim() == 4
            and any(isinstance(m, nn.Conv2d) for m in model.modules()))


class StepLosses:
    """Each step's loss of an epoch, kept on the device (one copy per step, no host sync), so
    that the non-finite guard can name the first step whose loss was NaN or infinite."""

    def __init__(self, steps: int, device):
        self.losses = torch.zeros(max(steps, 1), device=device)
        self.count = 0

    def add(self, loss: torch.Tensor) -> None:
        if self.count < len(self.losses):
            self.losses[self.count] = loss.detach()
        self.count += 1

    def first_non_finite(self) -> int | None:
        bad = (~self.losses[:min(self.count, len(self.losses))].isfinite()).nonzero()
        return int(bad[0, 0]) + 1 if len(bad) else None


class GradientLearner:
    """Minibatch gradient descent on ``model.training_loss(x, y)`` or ``loss(model(x), y)``.

    Settings: ``batch_size``, ``lr``, ``optimizer`` (sgd with ``momentum``, adam, adamw,
    rmsprop), ``weight_decay`` (L2), ``schedule`` (constant | inverse α0/(i + c) | step |
    cosine) with ``schedule_c`` and ``schedule_step``, ``loss`` (a name or a function; default
    by the data's task), ``clip_grad_norm``, ``device``, ``channels_last`` (default: on the CPU
    for convolutional networks) and ``compile`` (``torch.compile``; every step then has the same
    shape, so the last partial batch of each epoch is left out; ``compile_mode``
    reduce-overhead uses CUDA graphs), ``precision`` (auto | 32 | bf16 | fp16:
    :mod:`nnzoo.train.precision`) and ``deterministic``. The step regularisers
    ``input_noise``, ``input_dropout``, ``weight_noise`` and ``adversarial`` (FGSM) are
    :mod:`nnzoo.train.regularise`'s; each is off at 0. ``second_run`` (fresh | continue) trains
    again on training + validation data after early stopping (:mod:`nnzoo.train.second_run`).
    """

    TAKES = {"epochs": 10, "batch_size": 64, "lr": 1e-3, "optimizer": "adam", "momentum": 0.9,
             "weight_decay": 0.0, "schedule": "constant", "schedule_c": 1.0, "schedule_step": 10,
             "patience": None, "loss": None, "clip_grad_norm": None, "device": "auto",
             "seed": 0, "channels_last": None, "compile": False, "input_noise": 0.0,
             "input_dropout": 0.0, "weight_noise": 0.0, "adversarial": 0.0, "second_run": None,
             "precision": "auto", "deterministic": False, "compile_mode": None}
    rule = "gradient descent"

    def __init__(self, model: nn.Module, data: DataBundle, *, epochs: int, seed: int, **settings):
        self.given = {**settings, "epochs": epochs, "seed": seed}
        self.s = settings
        self.epochs, self.seed = epochs, seed
        self.device = training_device(settings["device"])
        self.model = model.to(self.device)
        self.data = data.to(self.device)
        self.loss_fn = get_loss(settings["loss"], data.task)
        self.precision = Precision(settings.get("precision"), self.device)
        set_deterministic(bool(settings.get("deterministic")))

    def settings(self) -> dict:
        loss = self.s["loss"]
        return {**self.given, "device_used": str(self.device),
                "precision_used": self.precision.name,
                "loss": loss if isinstance(loss, (str, type(None))) else
                getattr(loss, "__name__", "custom")}

    def prepare(self) -> None:
        check_input_fits(self.model, self.data.train, self.data.name)
        check_targets_fit(self.model, self.data.train, self.data.name, self.data.task, self.loss_fn)
        self._set_up()
        self.regularisers = StepRegularisers(
            self.generator, **{k: self.s.get(k) for k in REGULARISERS})
        if self.regularisers.any:
            refuse_regularising_inputs(self.regularisers, self.train.x, self.data.name)

    def _set_up(self) -> None:
        model, train, s = self.model, self.data.train, self.s
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank, self.world_size = ((torch.distributed.get_rank(),
                                       torch.distributed.get_world_size()) if distributed
                                      else (0, 1))
        channels_last = s["channels_last"]
        if channels_last is None:
            channels_last = _use_channels_last(model, train.x, self.device,
                                               self.precision.reduced)
        if channels_last:
            model.to(memory_format=torch.channels_last)
            train = Split(train.x.contiguous(memory_format=torch.channels_last), train.y)
        self.train = train
        custom_loss = getattr(model, "training_loss", None)
        self.custom_loss = custom_loss is not None
        # A model with its own training_loss (GoogLeNet's auxiliary heads) is stepped through a
        # module whose forward is that loss, so that under torchrun DDP wraps what is called.
        stepped = model if custom_loss is None else _TrainingLoss(model)
        if distributed:  # gradients averaged over the ranks in backward
            ids = [self.device.index or 0] if self.device.type == "cuda" else None
            stepped = nn.parallel.DistributedDataParallel(stepped, device_ids=ids)
        self.step_model = stepped
        compile = bool(s["compile"] or s.get("compile_mode")) and custom_loss is None
        if compile:
            self.step_model = torch.compile(self.step_model, dynamic=False,
                                            mode=s.get("compile_mode") or None)
        self._make_optimizer()
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        self.drop_last = compile and len(train) >= s["batch_size"]
        self.steps_per_epoch = num_batches(len(train), s["batch_size"], self.drop_last)
        self.samples_per_epoch = (self.steps_per_epoch * s["batch_size"] if self.drop_last
                                  else len(train))

    def _make_optimizer(self) -> None:
        """The optimizer over the trainable parameters, and its learning-rate schedule."""
        s = self.s
        self.optimizer = make_optimizer([p for p in self.model.parameters() if p.requires_grad],
                                        s["optimizer"], s["lr"], momentum=s["momentum"],
                                        weight_decay=s["weight_decay"])
        self.scheduler = make_schedule(self.optimizer, s["schedule"], self.epochs,
                                       c=s["schedule_c"], step=s["schedule_step"])

    def _begin_epoch(self, classify: bool) -> Tally:
        self.model.train()
        self.step_losses = StepLosses(self.steps_per_epoch, self.device)
        return Tally(self.device, classify=classify, top5=False)

    def _step(self, loss, outputs, y, tally: Tally, state, share: float = 1.0) -> None:
        """Descend on one batch's loss (times this rank's ``share`` of the global batch, under
        torchrun) and count it."""
        self._backward(loss * share if share != 1.0 else loss)
        self._update(loss, outputs, y, tally, state)

    def _backward(self, loss) -> None:
        """∇J into each parameter's ``.grad`` (scaled, in fp16), the last step's cleared first."""
        self.optimizer.zero_grad(set_to_none=True)
        self.precision.backward(loss)

    def _end_epoch(self, tally: Tally) -> dict:
        """The epoch's training metrics (over every rank's slices) and learning rate; the
        schedule moves on."""
        if getattr(self, "world_size", 1) > 1:
            _sum_over_ranks(tally)
        row = {**tally.result(), "lr": self.optimizer.param_groups[0]["lr"]}
        self.scheduler.step()
        return row

    def epoch(self, state) -> dict:
        tally = self._begin_epoch(classify=self.data.task in CLASSIFY_TASKS)
        augment = self.data.augment
        for x, y in iterate_batches(self.train, self.s["batch_size"], shuffle=True,
                                    generator=self.generator, drop_last=self.drop_last):
            if augment is not None:  # the whole global batch: the generator stays in step
                x = augment(x, self.generator)
            if self.regularisers.any:  # the whole global batch, as augmentation
                x = self.regularisers.inputs(x)
            share = 1.0
            if self.world_size > 1:
                x, y, share = rank_slice(x, y, self.rank, self.world_size)
            with self.regularisers.noisy_weights(self.model):  # the gradient is taken at w + σε
                with self.precision.autocast():
                    loss, outputs = self._objective(x, y)
                if len(y) == 0:  # a last batch smaller than the ranks: this one still joins in
                    loss = outputs.float().sum() * 0.0
                self._backward(loss * share if share != 1.0 else loss)
            self._update(loss, outputs, y, tally, state)  # ... and applied to the clean w
        return self._end_epoch(tally)

    def _loss(self, module, x, y):
        """(J, outputs) of ``module`` (the model, or what wraps it for the step) on a batch."""
        if self.custom_loss:
            return module(x, y) if module is self.step_model else module.training_loss(x, y)
        outputs = call_model(module, x)
        return self.loss_fn(outputs, y), outputs

    def _objective(self, x, y):
        """(the loss to descend on, outputs on the clean x): J, or with ``adversarial`` ε the
        FGSM objective ½J(x) + ½J(x + ε·sign(∇ₓJ)), both halves in one forward pass."""
        if not self.regularisers.adversarial or len(y) == 0:
            return self._loss(self.step_model, x, y)
        x_adv = self.regularisers.adversarial_inputs(
            self.model, lambda inputs: self._loss(self.model, inputs, y)[0], x)
        n, both = len(y), torch.cat([x, x_adv])
        if self.custom_loss:  # a mean over its batch: on both halves it is ½J(x) + ½J(x̃)
            loss, outputs = self.step_model(both, torch.cat([y, y]))
            return loss, outputs[:n]
        outputs = call_model(self.step_model, both)
        alpha = ADVERSARIAL_ALPHA
        loss = alpha * self.loss_fn(outputs[:n], y) + (1 - alpha) * self.loss_fn(outputs[n:], y)
        return loss, outputs[:n]

    def _update(self, loss, outputs, y, tally: Tally, state) -> None:
        """The optimizer's step on the gradients backward left (clipped first when asked), and
        the batch counted (on the device: no host sync)."""
        clip = self.s["clip_grad_norm"]
        self.precision.step(self.optimizer, clip=(lambda: nn.utils.clip_grad_norm_(
            self.model.parameters(), clip)) if clip else None)
        tally.add(loss, outputs, y)
        self.step_losses.add(loss)
        state.step_done()

    def first_non_finite_step(self) -> int | None:
        return self.step_losses.first_non_finite()

    def validate(self) -> dict:
        if not len(self.data.val):
            return {}
        with self.precision.autocast():
            return evaluate(self.model, self.data.val, task=self.data.task, loss=self.loss_fn)

    def test(self) -> dict:
        with self.precision.autocast():
            return evaluate(self.model, self.data.test, task=self.data.task, loss=self.loss_fn)

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "generator": self.generator.get_state(), "precision": self.precision.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        match_parameter_layouts(self.optimizer)
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        self.precision.load_state_dict(state.get("precision", {}))


def _sum_over_ranks(tally: Tally) -> None:
    """Each rank's running sums, summed over the ranks (one all-reduce per epoch)."""
    device = tally.loss_sum.device
    sums = torch.stack([tally.loss_sum.double(), *tally.hits.double(), tally.n_tensor.double(),
                        torch.tensor(float(tally.n), dtype=torch.float64, device=device)])
    torch.distributed.all_reduce(sums)
    tally.loss_sum = sums[0].to(tally.loss_sum.dtype)
    tally.hits = sums[1:3].round().long()
    tally.n_tensor = sums[3].round().long()
    tally.n = int(sums[4].round())


def match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Lay out each loaded state tensor (Adam's moments, SGD's momentum) like its parameter.

    A checkpoint stores tensors contiguous; a channels_last parameter's moments were created
    channels_last by the optimizer's first step, and the fused kernels walk parameters and
    state in memory order, so a moment in another layout would be paired with other elements.
    """
    for param, param_state in optimizer.state.items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape \
                    and value.stride() != param.stride():
                param_state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)
