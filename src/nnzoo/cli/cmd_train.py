"""``nnzoo train [MODEL]``: train a registered model and write a run folder."""

from __future__ import annotations

import math

from nnzoo.cli._options import add_model_options

TRAINING_FLAGS = ("epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule",
                  "schedule_c", "patience", "clip_grad_norm", "device", "seed", "compile")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (default: LeNet-5 on the embedded digits)",
                       description="Train a registered model and write a run folder with "
                                   "metrics.json, weights.safetensors, config.json and curves.png.")
    p.add_argument("model", nargs="?", default="lenet5", help="model name (default lenet5; `nnzoo list`)")
    p.add_argument("--data", help="dataset name (default: the model's own; `nnzoo data list`)")
    p.add_argument("--data-dir", help="folder holding dataset files (MNIST, CIFAR-10…)")
    p.add_argument("-d", "--data-option", action="append", metavar="KEY=VALUE",
                   help="a dataset option, repeatable, e.g. -d path=series.csv")
    add_model_options(p)
    g = p.add_argument_group("training (defaults: the model's recommended settings)")
    g.add_argument("--epochs", type=int)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--lr", type=float, help="initial learning rate α0")
    g.add_argument("--optimizer", choices=("sgd", "adam", "adamw", "rmsprop"))
    g.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    g.add_argument("--weight-decay", type=float, help="L2 coefficient λ")
    g.add_argument("--schedule", choices=("constant", "inverse", "step", "cosine"),
                   help="learning-rate schedule; inverse is α0/(i + c)")
    g.add_argument("--schedule-c", type=float, help="c of the inverse schedule (default 1)")
    g.add_argument("--patience", type=int, help="early stopping: epochs without a better "
                                                "validation loss (best weights are restored)")
    g.add_argument("--clip-grad-norm", type=float, help="clip the gradient norm to this value")
    g.add_argument("--device", help="cpu, cuda, cuda:1 or auto (default auto)")
    g.add_argument("--seed", type=int, help="random seed (default 0)")
    g.add_argument("--compile", action="store_true", default=None,
                   help="train through torch.compile: the first epoch compiles (seconds to a "
                        "minute), later ones run faster; pays off on long runs")
    p.add_argument("--out", help="run folder (default runs/MODEL-DATA-TIME)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def resolve_training(args, entry) -> dict:
    """Command-line flags, else the model's recommended defaults, else fit's own."""
    settings = {}
    for key in TRAINING_FLAGS:
        value = getattr(args, key, None)
        if value is None:
            value = entry.defaults.get(key)
        if value is not None:
            settings[key] = value
    return settings


def input_size_options(accepted: dict, given: dict, sample_shape: tuple[int, ...],
                       default_shape: tuple[int, ...] = ()) -> dict:
    """The input-size options a model takes and the command line left out, read from one sample
    of the data where they differ from the model's defaults: an MLP on 2-D points gets
    ``in_features=2``, an LSTM classifier reading 28x28 images row by row ``steps=28,
    input_size=28``, a forecaster on the adding problem ``window=100, input_size=2``.
    ``default_shape`` (the registered input shape) stands in for a default of None."""
    defaults = dict(accepted)
    if defaults.get("in_features") is None and default_shape:
        defaults["in_features"] = math.prod(default_shape)
    found = {}
    if "in_features" in accepted:
        found["in_features"] = math.prod(sample_shape)  # a flat input: every value of a sample
    if "input_size" in accepted and len(sample_shape) in (2, 3):  # (T, F), or an image's rows
        steps, size = sample_shape[-2:]
        found["input_size"] = size
        for length in ("steps", "window"):
            if length in accepted:
                found[length] = steps
    return {key: value for key, value in found.items()
            if key not in given and value != defaults[key]}


# Tasks whose models learn from nothing but data of the same task: an encoder-decoder reads
# (source, target) pairs, a language model a stream of tokens. (A GAN or an RBM can learn the
# images of any dataset, and a classifier does what its dataset asks.)
OWN_DATA_TASKS = ("seq2seq", "language-model")


def refuse_data_of_another_task(model: str, model_task: str, data_name: str, data_task: str) -> None:
    """An error unless a model of an ``OWN_DATA_TASKS`` task gets a dataset of its task."""
    from nnzoo.data import dataset_entry, list_datasets
    from nnzoo.errors import NnzooError

    if model_task in OWN_DATA_TASKS and data_task != model_task:
        fitting = [name for name in list_datasets() if dataset_entry(name).task == model_task]
        raise NnzooError(f"{model} is a {model_task} model; dataset {data_name!r} is a {data_task} "
                         f"dataset. Expected a {model_task} dataset: {', '.join(fitting)}.")


def build_model_and_data(name: str, model_options: dict, data_name: str | None,
                         data_options: dict, data_dir: str | None):
    """The model and its data, each fitted to the other (classes, input shape, channels)."""
    import nnzoo
    from nnzoo.errors import NnzooError

    entry = nnzoo.get_entry(name)
    data_name = data_name or entry.dataset
    accepted = entry.options()
    input_shape = tuple(entry.input_shape)
    if "in_channels" in model_options and len(input_shape) == 3:
        input_shape = (int(model_options["in_channels"]), *input_shape[1:])
    options = dict(model_options)
    if any(key in accepted and key not in options for key in ("in_features", "input_size")):
        sample = nnzoo.load_dataset(data_name, data_dir=data_dir, **data_options).input_shape
        sizes = input_size_options(accepted, options, tuple(sample), tuple(entry.input_shape))
        options.update(sizes)
        if "in_features" in sizes:
            input_shape = (sizes["in_features"],)
        elif sizes:  # a sequence model: (steps, features) as the sample has them
            input_shape = tuple(sample[-2:])
    data = nnzoo.load_dataset(data_name, input_shape=input_shape, data_dir=data_dir, **data_options)
    refuse_data_of_another_task(name, entry.task, data_name, data.task)
    if "num_classes" in accepted and data.num_classes and "num_classes" not in options:
        options["num_classes"] = data.num_classes
    if "classes" in accepted and (data.num_classes or 0) > 2 and "classes" not in options:
        options["classes"] = data.num_classes  # the perceptron's; one unit (None) for two classes
    model = nnzoo.create(name, **options)
    wanted = tuple(getattr(model, "input_shape", None) or input_shape)
    if wanted != tuple(data.input_shape) and data.input_shape:
        data = nnzoo.load_dataset(data_name, input_shape=wanted, data_dir=data_dir, **data_options)
    if data.num_classes and options.get("num_classes") not in (None, data.num_classes):
        raise NnzooError(f"Model {name!r} was asked for {options['num_classes']} classes but "
                         f"dataset {data_name!r} has {data.num_classes}.")
    from nnzoo.train.loop import check_input_fits

    check_input_fits(model, data.train, data_name)
    return model, data, options, data_name


def refuse_flags_the_trainer_ignores(args, name: str, trainer) -> None:
    """A model with its own learning rule (the perceptron's, Hebb's, CD-k...) takes only some
    training flags: any other one given on the command line is an error, not silently dropped."""
    import inspect

    from nnzoo.errors import NnzooError

    takes = inspect.signature(trainer).parameters
    flag = lambda key: "--" + key.replace("_", "-")  # noqa: E731
    unused = [flag(k) for k in TRAINING_FLAGS if getattr(args, k, None) is not None and k not in takes]
    if unused:
        used = [flag(k) for k in TRAINING_FLAGS if k in takes]
        rule = f"{trainer.__module__}.{trainer.__name__}"
        raise NnzooError(f"{name} does not use {', '.join(unused)}: it is trained by its own rule "
                         f"({rule}), which takes {', '.join(used) or 'none of the training flags'}. "
                         f"Leave {'it' if len(unused) == 1 else 'them'} out.")


def _trainer(entry):
    import importlib

    path = entry.defaults.get("trainer")
    if not path:
        from nnzoo.train import fit

        return fit
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def run(args) -> int:
    import sys
    import time
    from pathlib import Path

    import torch

    import nnzoo
    from nnzoo.cli._options import parse_pairs
    from nnzoo.explain import run_pictures
    from nnzoo.train.loop import TrainingInterrupted
    from nnzoo.train.run_folder import RunFolder

    entry = nnzoo.get_entry(args.model)
    model_options = parse_pairs(args.option, "Model option")
    data_options = parse_pairs(args.data_option, "Dataset option")
    out = Path(args.out or f"runs/{args.model}-{args.data or entry.dataset}-"
                          f"{time.strftime('%Y%m%d-%H%M%S')}")
    folder = RunFolder(out, overwrite=args.overwrite)  # refuses another run's folder up front
    trainer = _trainer(entry)
    refuse_flags_the_trainer_ignores(args, args.model, trainer)
    settings = resolve_training(args, entry)
    torch.manual_seed(settings.get("seed", 0))
    model, data, model_options, data_name = build_model_and_data(
        args.model, model_options, args.data, data_options, args.data_dir)
    # A model that is not a classifier (a GAN, an autoencoder) says what it does; a classifier
    # does what its dataset asks (classify, regress, language-model...).
    task = entry.task if entry.task != "classify" else data.task
    config = {"model": args.model, "model_options": model_options, "data": data_name,
              "data_options": data_options, "input_shape": list(data.input_shape),
              "data_description": data.description(), "task": task, "nnzoo_version": nnzoo.__version__,
              "torch_version": torch.__version__,
              "title": f"{args.model} on {data_name}"}
    print(f"training {args.model} ({size_in_words(model, data.input_shape)}) on {data_name} "
          f"({len(data.train)} train / {len(data.val)} validation / {len(data.test)} test)",
          file=sys.stderr)
    stopped_by_hand = None
    try:
        result = trainer(model, data, out=folder, config=config, progress=not args.no_progress,
                         **settings)
    except TrainingInterrupted as stop:  # Ctrl-C after some epochs: they were written
        result, stopped_by_hand = stop.result, stop
    for picture in run_pictures(task):
        picture(model, data, folder)
    if stopped_by_hand is not None:
        print(f"nnzoo: interrupted in epoch {result.interrupted_in} of {stopped_by_hand.epochs}; "
              f"kept the {result.epochs} epoch{'s' if result.epochs != 1 else ''} that had "
              f"finished.", file=sys.stderr)
    print_result(result, folder)
    return 130 if stopped_by_hand is not None else 0  # 128 + SIGINT, as shells report it


def size_in_words(model, input_shape) -> str:
    """"61,706 parameters"; for a model whose weights are set by its own rule (a Hopfield net,
    a Boltzmann machine) the size of those weights, as `nnzoo summary` counts them."""
    import nnzoo

    count = nnzoo.count_params(model)
    if count or not callable(getattr(model, "layer_rows", None)):
        return f"{count:,} parameters"
    from nnzoo.explain.summary import summarize

    rule = getattr(model, "learned_by", "its own rule")
    return f"{summarize(model, tuple(input_shape)).total:,} weights set by {rule}"


def print_result(result, folder) -> None:
    """The test line and where the run went."""
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.test.items() if isinstance(v, float))
    print(f"test: {shown}  ({result.epochs} epochs, best epoch {result.best_epoch}, "
          f"{result.train_seconds:.1f} s training, {result.samples_per_second:,.0f} samples/s)")
    print(f"run written to {folder.path}")
