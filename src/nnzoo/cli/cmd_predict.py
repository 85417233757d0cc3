"""``nnzoo predict RUN IMAGE...``: what a trained classifier makes of your own pictures."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify your own pictures with a trained run",
                       description="Classify image files (PNG, JPEG, BMP, GIF, TIFF or .npy) with "
                                   "a classifier trained on an image dataset. Each picture is "
                                   "first made the way the dataset's images were (a dark drawing "
                                   "on white is inverted, cropped to its ink and scaled into the "
                                   "digit's box), so the network sees what it learned from. "
                                   "Prints the most probable classes and draws each picture, the "
                                   "image the network was given and its probabilities.")
    p.add_argument("run_path", metavar="RUN", help="run folder or weights .safetensors")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="picture files to classify")
    p.add_argument("--top", type=int, default=3, help="classes shown per picture (default 3)")
    p.add_argument("--data-dir", help="folder holding the run's dataset files (MNIST, CIFAR-10)")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON lines")
    p.add_argument("--out", help="PNG file or folder for the picture (default RUN/predictions.png)")
    p.set_defaults(run=run)


def check_run_classifies_images(config: dict) -> None:
    from nnzoo.data.own_images import FORMS
    from nnzoo.errors import NnzooError

    data, task = config.get("data"), config.get("task", "classify")
    if task != "classify" or data not in FORMS:
        raise NnzooError(f"Run of {config['model']!r} was trained to {task} on {data!r}; "
                         f"`nnzoo predict` classifies pictures with a classifier trained on an "
                         f"image dataset ({', '.join(FORMS)}). Use `nnzoo eval` for other runs.")


def top_classes(model, x, names: list[str], k: int) -> list[tuple[str, float | None]]:
    """The k most probable classes of one input (softmax of the outputs), or the one class a
    learner with its own decision rule (a perceptron) picks, with no probability."""
    import torch

    from nnzoo.train.loop import call_model

    with torch.no_grad():
        if callable(getattr(model, "predict", None)):
            return [(names[int(model.predict(x)[0])], None)]
        probs = torch.softmax(call_model(model, x).flatten(1).float(), dim=1)[0]
    values, ids = probs.topk(min(k, probs.numel()))
    return [(names[int(i)], float(v)) for v, i in zip(values, ids)]


def run(args) -> int:
    import json
    from pathlib import Path

    import nnzoo
    from nnzoo.cli.show_filters import output_path
    from nnzoo.data.own_images import as_dataset_image, prepare_for_run, read_image
    from nnzoo.errors import NnzooError
    from nnzoo.explain.filters import save_png
    from nnzoo.explain.predictions import predictions_figure
    from nnzoo.train.run_folder import load_run

    if args.top < 1:
        raise NnzooError(f"--top must be at least 1 (got {args.top}).")
    model, config = load_run(args.run_path)
    check_run_classifies_images(config)
    pictures = [(path, read_image(path)) for path in args.images]  # all readable before any work
    input_shape = tuple(config.get("input_shape") or nnzoo.get_entry(config["model"]).input_shape)
    data = nnzoo.load_dataset(config["data"], input_shape=input_shape, data_dir=args.data_dir,
                              **config.get("data_options", {}))
    names = data.class_names or [str(i) for i in range(data.num_classes)]
    rows = []
    for path, picture in pictures:
        x, notes = prepare_for_run(picture, data, input_shape, str(path))
        top = top_classes(model, x, names, args.top)
        # drawn as the network sees it; a flat or row-by-row input as the dataset's own image
        seen = x[0] if x.dim() == 4 else as_dataset_image(picture, data.name, str(path))[0][0]
        rows.append({"name": Path(path).name, "picture": picture[0], "seen": seen, "top": top})
        if args.json:
            print(json.dumps({"image": str(path), "notes": notes,
                              "top": [{"class": c, "probability": p} for c, p in top]}))
        else:
            shown = ", ".join(c if p is None else f"{c} ({100 * p:.1f} %)" for c, p in top)
            print(f"{path}: {shown}" + (f"  [{'; '.join(notes)}]" if notes else ""))
    path = output_path(args.run_path, args.out, "predictions.png")
    save_png(predictions_figure(rows, title=f"{config['model']} on {config['data']}"), path)
    if not args.json:
        print(f"wrote {path}")
    return 0
