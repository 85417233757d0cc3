"""``nnzoo show filters RUN``: the first convolution's kernels of a trained run, as a grid."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("filters", help="the first convolution layer's kernels as a grid",
                       description="Draw the kernels of the first convolution layer of a trained "
                                   "run (each scaled to its own range; RGB for 3 input channels) "
                                   "and write them as a PNG.")
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
    from nnzoo.explain.filters import filters_figure, first_conv, save_png, stage_name
    from nnzoo.train.run_folder import load_run

    model, config = load_run(args.run_path)
    name, conv = first_conv(model)
    path = output_path(args.run_path, args.out, "filters.png")
    save_png(filters_figure(conv.weight, title=f"{config['model']}: {stage_name(name)}"), path)
    print(f"wrote {path}")
    return 0
