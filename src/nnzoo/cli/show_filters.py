"""``nnzoo show filters RUN``: the first convolution's kernels of a trained run, as a grid (or,
without convolutions, the first dense layer's input weights drawn as images)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("filters", help="the first convolution's kernels as a grid (or the first "
                                       "dense layer's weights as images)",
                       description="Draw the kernels of the first convolution layer of a trained "
                                   "run (each scaled to its own range; RGB for 3 input channels) "
                                   "and write them as a PNG. A model without convolutions whose "
                                   "first dense layer reads an image (mlp, autoencoder, rbm on "
                                   "the digits) shows each unit's input weights as an image.")
    p.add_argument("run_path", metavar="RUN", help="run folder written by `nnzoo train` "
                                                   "(or its weights .safetensors)")
    p.add_argument("--out", help="PNG file or folder to write (default RUN/filters.png)")
    p.set_defaults(run=run)


def output_path(run_path: str, out: str | None, default_name: str):
    """Where to write: ``out`` (a .png, or a folder), else beside the run's weights."""
    from pathlib import Path

    from nnzoo.errors import NnzooError

    run = Path(run_path)
    folder = run if run.is_dir() else run.parent
    if out is None:
        return folder / default_name
    path = Path(out)
    if path.is_dir() or path.suffix == "":
        path.mkdir(parents=True, exist_ok=True)
        return path / default_name
    if path.suffix.lower() != ".png":
        raise NnzooError(f"--out {out!r} should be a .png file or a folder; pictures are PNG.")
    if not path.parent.is_dir():
        raise NnzooError(f"--out {out!r}: folder {str(path.parent)!r} does not exist.")
    return path


def run(args) -> int:
    from nnzoo.explain.filters import filters_figure, first_layer_weights, save_png, stage_name
    from nnzoo.runs import load_run, run_input_shape

    model, config = load_run(args.run_path)
    input_shape = run_input_shape(config)
    name, weight, what = first_layer_weights(model, input_shape, config["model"])
    path = output_path(args.run_path, args.out, "filters.png")
    layer = stage_name(name) if what == "kernels" else name  # a dense layer keeps its index
    save_png(filters_figure(weight, title=f"{config['model']}: {layer}", what=what), path)
    print(f"wrote {path}")
    return 0
