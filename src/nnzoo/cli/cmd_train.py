"""``nnzoo train [MODEL]``: train a registered model and write a run folder."""

from __future__ import annotations

from nnzoo.cli._options import add_model_options

TRAINING_FLAGS = ("epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule",
                  "schedule_c", "patience", "clip_grad_norm", "device", "seed", "compile",
                  "input_noise", "input_dropout", "weight_noise", "adversarial", "second_run",
                  "precision", "compile_mode", "deterministic")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (default: LeNet-5 on the embedded digits)",
                       description="Train a registered model and write a run folder with "
                                   "metrics.json, weights.safetensors, config.json and curves.png.")
    p.add_argument("model", nargs="?", help="model name (default lenet5; `nnzoo list`)")
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
    g.add_argument("--compile-mode", choices=("default", "reduce-overhead", "max-autotune"),
                   help="torch.compile's mode (implies --compile); reduce-overhead records CUDA "
                        "graphs, which pays off for small models on a GPU")
    g.add_argument("--precision", choices=("auto", "32", "bf16", "fp16"),
                   help="arithmetic of the forward pass: 32, bf16 autocast, or fp16 autocast with "
                        "loss scaling (default auto: bf16 on a GPU that has it, else 32)")
    g.add_argument("--deterministic", action="store_true", default=None,
                   help="deterministic kernels only, for bit-reproducible GPU runs (slower)")
    r = p.add_argument_group("regularisation (each off by default; see also --weight-decay, "
                             "--patience and the models' -o dropout=P)")
    r.add_argument("--input-noise", type=float, metavar="SIGMA",
                   help="Gaussian noise of this standard deviation added to the inputs at each "
                        "training step (in the units of the standardised input)")
    r.add_argument("--input-dropout", type=float, metavar="P",
                   help="drop each input with probability P while training (Hinton et al. 2012 "
                        "used 0.2)")
    r.add_argument("--weight-noise", type=float, metavar="SIGMA",
                   help="take each step's gradient at weights perturbed by N(0, SIGMA^2) and "
                        "apply it to the clean weights (An 1996; Graves 2011)")
    r.add_argument("--adversarial", type=float, metavar="EPS",
                   help="FGSM adversarial training: J = 0.5 J(x) + 0.5 J(x + EPS sign(grad_x J)) "
                        "(Goodfellow et al. 2015); EPS in standardised input units")
    r.add_argument("--second-run", choices=("fresh", "continue"),
                   help="after early stopping (--patience), train again on training + validation "
                        "data: fresh for the best epoch count from the first run's initial "
                        "weights, or continue from its best weights until the training loss falls "
                        "below the best validation loss; written to RUN/second_run")
    p.add_argument("--config", metavar="FILE",
                   help="train from a config file, JSON or TOML (a run's own config.json trains "
                        "that run again); MODEL, --data, -o, -d and flags given beside it win")
    p.add_argument("--out", help="run folder (default runs/MODEL-DATA-TIME)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--resume", metavar="RUN",
                   help="continue RUN from its last checkpoint, with its own model, data and "
                        "settings (--epochs N trains a finished run on to N epochs)")
    p.add_argument("--no-progress", action="store_true",
                   help="one line per epoch instead of a progress bar (also when stderr is "
                        "not a terminal)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard scalars to RUN/tensorboard (needs the "
                        "tensorboard package)")
    p.set_defaults(run=run)


def resolve_training(args, entry, from_file: dict | None = None) -> dict:
    """Command-line flags, else a ``--config`` file's settings (``from_file``), else the
    model's recommended defaults, else fit's own."""
    settings = {}
    for key in TRAINING_FLAGS:
        value = getattr(args, key, None)
        if value is None and from_file:
            value = from_file.get(key)
        if value is None:
            value = entry.defaults.get(key)
        if value is not None:
            settings[key] = value
    return settings


def resumed_run(args, folder):
    """For ``--resume RUN`` (``folder``, opened and holding a checkpoint): the run's config and
    training settings, with ``--epochs`` applied. Any other flag that would change the run is an
    error."""
    from nnzoo.errors import NnzooError
    from nnzoo.run_config import read_config_file

    changed = [f"--{k.replace('_', '-')}" for k in TRAINING_FLAGS
               if k != "epochs" and getattr(args, k, None) is not None]
    changed += [flag for flag, given in (("MODEL", args.model), ("--data", args.data),
                                         ("-o", args.option), ("-d", args.data_option),
                                         ("--out", args.out), ("--overwrite", args.overwrite),
                                         ("--config", args.config))
                if given]
    if changed:
        raise NnzooError(f"--resume continues {str(folder)!r} with the model, data and settings "
                         f"it was started with; {', '.join(changed)} cannot change them (only "
                         f"--epochs, to train it longer). Start a new run for other settings.")
    config = read_config_file(folder / "config.json")
    settings = dict(config.get("training", {}))  # with what describes the rule: see run()
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    return config, settings


def run(args) -> int:
    import sys
    import time
    from pathlib import Path

    import torch

    import nnzoo
    from nnzoo.cli._options import parse_pairs
    from nnzoo.registry import check_model_options
    from nnzoo.runs import RunFolder, claim_new_folder, is_main_process
    from nnzoo.settings import check_settings
    from nnzoo.train.adapting import build_model_and_data
    from nnzoo.train.fitting import (
        join_process_group,
        learner_for,
        refuse_unknown_settings,
    )
    from nnzoo.train.lifecycle import TrainingInterrupted, refuse_finished_run
    from nnzoo.train.second_run import check_second_run

    check_settings({k: getattr(args, k, None) for k in TRAINING_FLAGS}, flag_names=True)
    # under torchrun, join the process group first: then only rank 0 opens the run folder
    join_process_group(args.device or "auto")
    if args.resume:  # (a folder without a checkpoint is refused here, with what it holds)
        folder = RunFolder(args.resume, resume=True)
    else:
        if args.config:
            from nnzoo.run_config import read_config_file

            file = read_config_file(args.config)
        else:
            file = {}
        name = args.model or file.get("model") or "lenet5"
        entry = nnzoo.get_entry(name)
        same_model = name == file.get("model")  # else the file's options are another model's
        model_options = {**(file.get("model_options", {}) if same_model else {}),
                         **parse_pairs(args.option, "Model option")}
        data_name = args.data or (file.get("data") if same_model else None)
        same_data = data_name is not None and data_name == file.get("data")
        data_options = {**(file.get("data_options", {}) if same_data else {}),
                        **parse_pairs(args.data_option, "Dataset option")}
        check_model_options(name, model_options)  # before any data is loaded for it
        data_dir, config = args.data_dir or (file.get("data_dir") if same_data else None), None
        settings = resolve_training(args, entry, file.get("training") if same_model else None)
        # a run's own config: its model and data as they were, so in the shape it recorded
        recorded_shape = file.get("input_shape") if same_data and not args.option \
            and not args.data_option else None
        from_file = {k for k in settings if getattr(args, k, None) is None}
        check_second_run(settings.get("second_run"), settings.get("patience"))  # before the data
        if args.out:
            folder = RunFolder(args.out, overwrite=args.overwrite)  # refuses another run's folder
        else:
            base = Path(f"runs/{name}-{data_name or entry.dataset}-"
                        f"{time.strftime('%Y%m%d-%H%M%S')}")
            # the other ranks of a torchrun write nothing, so they claim no folder
            folder = RunFolder(claim_new_folder(base), made=True) if is_main_process() \
                else RunFolder(base)
    try:  # fit frees a new run's folder itself if it stops before its first checkpoint
        if args.resume:
            config, settings = resumed_run(args, folder.path)
            if folder.active and "epochs" in settings:
                refuse_finished_run(folder, settings["epochs"])  # before the data is loaded
            name, model_options = config["model"], config.get("model_options", {})
            data_name, data_options = config["data"], config.get("data_options", {})
            data_dir = args.data_dir or config.get("data_dir")
            recorded_shape = config.get("input_shape")
        torch.manual_seed(settings.get("seed", 0))
        model, data, model_options, data_name, data_options = build_model_and_data(
            name, model_options, data_name, data_options, data_dir,
            say=lambda line: print(f"nnzoo: {line}", file=sys.stderr), input_shape=recorded_shape)
        learner = learner_for(model)
        if args.resume:
            settings = {k: v for k, v in settings.items() if k in learner.TAKES}
        else:  # a config file's settings are the learner's own; a flag it does not take is refused
            settings = {k: v for k, v in settings.items() if k not in from_file or k in learner.TAKES}
            refuse_unknown_settings(learner, [k for k in TRAINING_FLAGS if getattr(args, k, None)
                                              is not None], name, flags=TRAINING_FLAGS)
            config = {"model": name, "model_options": model_options, "data": data_name,
                      "data_options": data_options, "input_shape": list(data.input_shape)}
        if folder.active:  # rank 0 of a torchrun speaks for all
            print(f"{'resuming' if args.resume else 'training'} {name} "
                  f"({size_in_words(model, data.input_shape)}) on {data_name} ({len(data.train)} train "
                  f"/ {len(data.val)} validation / {len(data.test)} test)", file=sys.stderr)
        result = nnzoo.fit(model, data, out=folder, resume=folder.path if args.resume else None,
                           config=config, progress=not args.no_progress,
                           tensorboard=args.tensorboard, **settings)
    except TrainingInterrupted as stop:  # a signal after some epochs: they were written
        result = stop.result
        print(f"nnzoo: {stop.args[0]} by {stop.signal_name}; kept the {result.epochs} "
              f"epoch{'s' if result.epochs != 1 else ''} that had finished. Continue it with "
              f"`nnzoo train --resume {folder.path}`.", file=sys.stderr)
        print_result(result, folder)
        return stop.exit_status  # 130 for SIGINT, 143 for SIGTERM, as shells report them
    except BaseException:
        if not args.resume:
            folder.discard_unstarted()
        raise
    finally:
        folder.close()
    print_result(result, folder)
    return 0


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
    """The test line and where the run went (from the process that wrote it)."""
    if not folder.active:
        return
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.test.items() if isinstance(v, float))
    kept = (f"weights of the best epoch, {result.best_epoch}" if result.kept == "best"
            else f"weights of the last epoch, {result.epochs}")
    print(f"test: {shown}  ({result.epochs} epochs, {kept}; {result.train_seconds:.1f} s "
          f"training, {result.samples_per_second:,.0f} samples/s)")
    print(f"run written to {folder.path}")
