"""``nnzoo eval RUN_OR_WEIGHTS``: evaluate trained weights on a dataset's test split."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a run folder or a .safetensors file",
                       description="Rebuild the model of a run (its config.json, or the config in "
                                   "the weights' metadata), load the weights and evaluate them.")
    p.add_argument("run_path", metavar="RUN_OR_WEIGHTS", help="run folder or weights .safetensors")
    p.add_argument("--data", help="dataset (default: the one the run was trained on)")
    p.add_argument("--data-dir", help="folder holding dataset files")
    p.add_argument("--split", choices=("test", "val", "train"), default="test")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--attack", choices=("fgsm",),
                   help="also score inputs perturbed by an attack: fgsm, the fast gradient sign "
                        "method x + EPS sign(grad_x J) (Goodfellow et al. 2015)")
    p.add_argument("--eps", type=float, default=0.1,
                   help="the attack's EPS, in the units of the standardised input (default 0.1)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--no-per-class", action="store_true",
                   help="leave out a classifier's per-class precision, recall and F1 table")
    p.set_defaults(run=run)


MAX_REPORTED_CLASSES = 30


def run(args) -> int:
    import json

    import nnzoo
    from nnzoo.runs import load_run, load_run_data, run_input_shape
    from nnzoo.settings import check_setting
    from nnzoo.train import evaluate
    from nnzoo.train.checks import check_input_fits, check_targets_fit
    from nnzoo.train.losses import get_loss
    from nnzoo.train.scoring import decides_by_own_rule

    check_setting("batch_size", args.batch_size, "--batch-size")  # before loading anything
    if args.attack:
        check_setting("adversarial", args.eps, "--eps")
    model, config = load_run(args.run_path)
    data_name = args.data or config.get("data")
    input_shape = run_input_shape(config)
    # the run's own data as it was trained on them (from --data-dir if given), or another set
    data = load_run_data(config, args.data_dir, input_shape) if data_name == config.get("data") \
        else nnzoo.load_dataset(data_name, input_shape=input_shape, data_dir=args.data_dir)
    split = getattr(data, args.split)
    task = config.get("task") or data.task
    if task != "associative-memory":  # recall checks its patterns itself, with a closer message
        check_input_fits(model, split, data_name)
    if task == "generate":  # a GAN: how its discriminator judges these images and as many samples
        from nnzoo.train.gan import evaluate_gan_split

        metrics = evaluate_gan_split(model, split)
    elif task == "associative-memory":  # a Hopfield net: recall of the corrupted copies
        from nnzoo.train.memory import evaluate_recall

        metrics = evaluate_recall(model, split, seed=config.get("training", {}).get("seed", 0),
                                  name=data_name)
    elif task == "distribution":  # a Boltzmann machine: its distribution against the data's
        from nnzoo.train.boltzmann import evaluate_distribution

        metrics = evaluate_distribution(model, split, seed=config.get("training", {}).get("seed", 0),
                                        name=data_name)
    else:
        if not decides_by_own_rule(model, split, task):
            check_targets_fit(model, split, data_name, task, get_loss(None, task))
        per_class = not args.no_per_class and reports_per_class(split, data, task)
        metrics = evaluate(model, split, task=task, batch_size=args.batch_size,
                           confusion_classes=data.num_classes if per_class else None)
        if args.attack:
            metrics.update(attacked(model, split, task, args))
    counts = metrics.pop("confusion", None)
    report = class_report(counts, data) if counts is not None else None
    if args.json:
        from nnzoo.runs import (
            finite_json,  # strict JSON: a NaN loss is null, not a bare NaN
        )

        print(json.dumps(finite_json({"model": config["model"], "data": data_name,
                                      "split": args.split, **metrics, **(report or {})}),
                         allow_nan=False))
    else:
        shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        print(f"{config['model']} on {data_name} ({args.split}, {len(split)} samples): {shown}")
        if report:
            from nnzoo.explain.confusion import format_report

            print(format_report(report["per_class"], report["most_confused"]))
    return 0


def attacked(model, split, task: str, args) -> dict:
    """The metrics under ``--attack`` (``fgsm_top1``, ``fgsm_loss``) and its ``fgsm_eps``."""
    from nnzoo.train.scoring import evaluate_fgsm

    under = evaluate_fgsm(model, split, eps=args.eps, task=task, batch_size=args.batch_size)
    return {"fgsm_eps": args.eps, **{f"fgsm_{k}": v for k, v in under.items()}}


def reports_per_class(split, data, task: str) -> bool:
    """Whether the per-class table applies: a classifier with one label per sample and at most
    MAX_REPORTED_CLASSES classes."""
    y = getattr(split, "y", None)
    return (task == "classify" and bool(data.num_classes)
            and data.num_classes <= MAX_REPORTED_CLASSES and hasattr(y, "dim") and y.dim() == 1
            and len(split) > 0)


def class_report(counts, data) -> dict:
    """Per-class precision, recall and F1 and the most confused pairs from a confusion matrix."""
    from nnzoo.explain.confusion import most_confused, per_class

    return {"per_class": per_class(counts, data.class_names),
            "most_confused": most_confused(counts, data.class_names)}
