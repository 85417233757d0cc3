"""``fit(model, data, ...)``: pick the model's learner, record the complete config, and run the
lifecycle (:func:`nnzoo.train.lifecycle.run`).

Which learner trains which model is one table, :data:`LEARNERS`, kept here on the training
side: models import nothing from training, and their learning rules stay their own methods.
"""

from __future__ import annotations

from nnzoo.errors import NnzooError
from nnzoo.train.lifecycle import FitResult, run

# Settings of the lifecycle itself, which every learner takes.
LIFECYCLE = ("out", "resume", "overwrite", "config", "callbacks", "progress", "tensorboard")


def _learners():
    """(model class, learner class) pairs, the first match wins; anything else descends a
    gradient. A model with ``forward_state`` (a character language model) learns by truncated
    BPTT."""
    from nnzoo.models.backprop import BackpropMLP
    from nnzoo.models.boltzmann import BoltzmannMachine
    from nnzoo.models.gan import GAN
    from nnzoo.models.hopfield import Hopfield
    from nnzoo.models.perceptron import Perceptron
    from nnzoo.models.rbf import RBFNetwork
    from nnzoo.models.rbm import RBM
    from nnzoo.train.boltzmann import AHSLearner
    from nnzoo.train.gan import GANLearner
    from nnzoo.train.memory import HebbianLearner
    from nnzoo.train.rules import (
        BackpropLearner,
        PerceptronLearner,
        RBFLearner,
        RBMLearner,
    )

    return ((Perceptron, PerceptronLearner), (BackpropMLP, BackpropLearner),
            (RBFNetwork, RBFLearner), (RBM, RBMLearner), (Hopfield, HebbianLearner),
            (BoltzmannMachine, AHSLearner), (GAN, GANLearner))


def learner_for(model):
    """The learner class that trains ``model`` (a model, or a model class)."""
    kind = model if isinstance(model, type) else type(model)
    for model_class, learner in _learners():
        if issubclass(kind, model_class):
            return learner
    if callable(getattr(model, "forward_state", None)):
        from nnzoo.train.bptt import BPTTLearner

        return BPTTLearner
    from nnzoo.train.gradient import GradientLearner

    return GradientLearner


def join_process_group(device: str = "auto") -> bool:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment), join the process group once:
    NCCL on the GPU (each rank on ``cuda:LOCAL_RANK``), gloo on the CPU. Returns whether this
    process is one of several. Call it before opening the run folder, so that only rank 0
    writes it (:func:`nnzoo.runs.is_main_process`)."""
    import atexit
    import os

    import torch
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    gpu = torch.cuda.is_available() and str(device) != "cpu"
    if gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if gpu else "gloo")
    atexit.register(lambda: dist.is_initialized() and dist.destroy_process_group())
    return True


def refuse_unknown_settings(learner, given, model_name: str, *, flags=None) -> None:
    """An error naming the settings in ``given`` (names, in the order to report them) that
    ``learner`` does not take, and those it does. With ``flags`` (the command line's setting
    names) they are written as flags, ``--batch-size``, and only flags are offered."""
    unknown = [k for k in given if k not in learner.TAKES]
    if unknown:
        word = (lambda k: "--" + k.replace("_", "-")) if flags else str
        takes = [word(k) for k in learner.TAKES if flags is None or k in flags]
        raise NnzooError(f"{model_name} is trained by {learner.__name__} ({learner.rule}), which "
                         f"does not take {', '.join(map(word, unknown))}; it takes "
                         f"{', '.join(takes) or 'no settings'}. Leave "
                         f"{'it' if len(unknown) == 1 else 'them'} out.")


def run_config(model, data, given: dict | None, learner=None) -> dict:
    """The complete config of a run: how to rebuild the model (name and options, from
    ``nnzoo.create``) and the data (name, options, folder), what the data mean (classes,
    standardisation), the versions; ``given`` (the CLI's) fills in or overrides."""
    import torch

    import nnzoo

    made = getattr(model, "nnzoo_created", None) or {}
    source = data.info.get("loaded_with", {})
    task = getattr(learner, "task", None) or data.task  # a GAN generates, whatever its data
    if made.get("model"):
        entry_task = nnzoo.get_entry(made["model"]).task
        task = entry_task if entry_task != "classify" else data.task
    config = {"model": made.get("model"), "model_options": made.get("options", {}),
              # arrays given to fit are no dataset nnzoo can load again by name
              "data": None if data.info.get("from_arrays") else data.name,
              "data_options": source.get("options", {}),
              "data_dir": source.get("data_dir"), "data_found_in": data.info.get("folder"),
              "input_shape": list(data.input_shape),
              "data_description": data.description(), "task": task,
              "nnzoo_version": nnzoo.__version__, "torch_version": torch.__version__,
              "title": f"{made.get('model') or type(model).__name__} on {data.name}"}
    config.update(given or {})
    return config


def _check_resumed_settings(folder, settings: dict) -> None:
    """A resumed run must go on with the settings it started with (more epochs excepted)."""
    from pathlib import Path

    from nnzoo.run_config import read_config_file

    config_file = Path(folder) / "config.json"
    if not config_file.exists():
        return
    saved = read_config_file(config_file).get("training", {})

    def same(recorded, value):
        value = getattr(value, "__name__", value)  # a loss function is recorded by its name
        return recorded == (list(value) if isinstance(value, tuple) else value)

    differ = [f"{k} {saved[k]!r} -> {v!r}" for k, v in settings.items()
              if k in saved and k != "epochs" and not same(saved[k], v)]
    if differ:
        raise NnzooError(f"Cannot resume {str(folder)!r} with other settings than it was started "
                         f"with ({'; '.join(differ)}): the resumed run would not be the run it "
                         f"continues. Resume with the same settings (only epochs may grow), or "
                         f"start a new run.")


def fit(model, data, *, learner=None, out=None, resume=None, overwrite: bool = False,
        config: dict | None = None, callbacks=(), progress=True, tensorboard: bool = False,
        **settings) -> FitResult:
    """Train ``model`` on ``data`` with its learner, validate each epoch, test at the end.

    ``data`` is a dataset (:func:`nnzoo.load_dataset`) or a pair ``(X, y)`` of tensors or
    arrays: a tenth of it is then set apart for validation, as the datasets do, and is also
    the test split (:func:`nnzoo.interop.arrays.bundle_from_arrays`).

    ``settings`` are the learner's (``nnzoo info MODEL`` lists a model's defaults): for gradient
    descent ``epochs, batch_size, lr, optimizer, momentum, weight_decay, schedule, schedule_c,
    schedule_step, patience, loss, clip_grad_norm, device, seed, channels_last, compile``, the
    step regularisers ``input_noise, input_dropout, weight_noise, adversarial``
    (:mod:`nnzoo.train.regularise`) and ``second_run`` (``"fresh"`` or ``"continue"``: after
    early stopping, train again on training + validation data, :mod:`nnzoo.train.second_run`;
    the result's ``second_run`` holds its summary); a model with its own rule (perceptron,
    Hopfield, RBM...) takes fewer, and refuses the others.

    Args:
        out: the run folder to write (config.json, a checkpoint after every epoch,
            history.csv, metrics.json, weights.safetensors, curves.png and the task's
            pictures). It is locked while the run writes it.
        resume: a run folder to continue from its last checkpoint, with the same settings
            (``epochs`` may be raised to train a finished run longer). The run ends with the
            weights an uninterrupted run would have, bit for bit.
        progress: True for a progress bar on a terminal (one line per epoch elsewhere), False
            for one line per epoch, None for silence.
        tensorboard: also write TensorBoard scalars to ``out/tensorboard`` (needs the
            ``tensorboard`` package).

    SIGINT (Ctrl-C) or SIGTERM stops the run at once; the state of the last finished epoch is
    put back, tested and written, and :class:`~nnzoo.train.lifecycle.TrainingInterrupted` is
    raised with the result (a KeyboardInterrupt). A NaN or infinite loss or weight raises
    :class:`~nnzoo.train.lifecycle.NonFiniteError`; the run folder keeps its last finite
    checkpoint.

    >>> result = fit(nnzoo.create("mlp"), nnzoo.load_dataset("digits", input_shape=(64,)),
    ...              epochs=5, progress=False)               # doctest: +SKIP
    >>> result.test["top1"]                                   # doctest: +SKIP
    """
    from nnzoo.settings import check_settings

    if isinstance(data, (tuple, list)):  # (X, y) as tensors or arrays
        from nnzoo.interop.arrays import bundle_from_arrays

        data = bundle_from_arrays(data)
    cls = learner or learner_for(model)
    name = (getattr(model, "nnzoo_created", None) or {}).get("model") or type(model).__name__
    refuse_unknown_settings(cls, sorted(settings), name)
    check_settings(settings)
    if join_process_group(settings.get("device", "auto")):
        from nnzoo.runs import is_main_process
        from nnzoo.train.gradient import GradientLearner

        if cls is not GradientLearner:
            raise NnzooError(f"{name} is trained by {cls.__name__} ({cls.rule}), which runs in "
                             f"one process; data-parallel training under torchrun is for "
                             f"gradient descent. Launch it without torchrun.")
        if not is_main_process():
            progress = None  # rank 0 reports
    resolved = {**cls.TAKES, **settings}
    if resume is not None:
        from pathlib import Path

        given_out = getattr(out, "path", out)  # a path, or the RunFolder the CLI opened
        if out is not None and Path(given_out).resolve() != Path(resume).resolve():
            raise NnzooError(f"resume={str(resume)!r} continues that run in its own folder; "
                             f"out={str(given_out)!r} cannot be another one.")
        out = resume if out is None else out
        _check_resumed_settings(resume, resolved)
    epochs = resolved.pop("epochs", 1)
    seed = resolved.pop("seed", 0)
    patience = resolved.pop("patience", None)
    second_run = resolved.get("second_run")
    if second_run is not None:
        import copy

        from nnzoo.train.second_run import check_second_run

        check_second_run(second_run, patience)
        initial_state = copy.deepcopy(model.state_dict())  # where a fresh second run starts
    trainer = cls(model, data, epochs=epochs, seed=seed, **resolved)
    config = run_config(model, data, config, cls)
    config["training"] = {**trainer.settings(), **({"patience": patience} if "patience" in cls.TAKES
                                                   else {})}
    folder = _run_folder(out, overwrite, resume is not None)
    try:
        result = run(trainer, epochs=epochs, out=folder, resume=resume is not None,
                     overwrite=overwrite, config=config, callbacks=callbacks, progress=progress,
                     seed=seed, patience=patience, tensorboard=tensorboard)
        if second_run is not None:
            from nnzoo.train.second_run import train_second_run

            result.second_run = train_second_run(
                second_run, result, trainer.model, data, initial_state=initial_state,
                make_learner=lambda m, d, n: cls(m, d, epochs=n, seed=seed, **resolved),
                folder=folder, config=config, progress=progress, tensorboard=tensorboard)
    finally:
        if folder is not None and folder is not out:
            folder.close()
    return result


def _run_folder(out, overwrite: bool, resume: bool):
    """The run folder ``out`` names, opened (and locked) here unless it is one already."""
    from nnzoo.runs import RunFolder

    if out is None or isinstance(out, RunFolder):
        return out
    return RunFolder(out, overwrite=overwrite, resume=resume)
