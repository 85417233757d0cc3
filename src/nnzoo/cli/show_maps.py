"""``nnzoo show maps RUN --input IMAGE_OR_INDEX``: the feature maps one image leaves after each
convolution and pooling stage of a trained run."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("maps", help="feature maps of one image after each conv/pool stage",
                       description="Run one image through a trained run's model and draw the maps "
                                   "of each convolution / pooling stage, one stage per row.")
    p.add_argument("run_path", metavar="RUN", help="run folder written by `nnzoo train`")
    p.add_argument("--input", required=True, metavar="IMAGE_OR_INDEX",
                   help="an index into the test split of the run's dataset, or an image file (PNG, "
                        "JPEG, .npy ...), prepared like the dataset's images")
    p.add_argument("--maps", type=int, default=16, help="maps shown per stage (default 16)")
    p.add_argument("--stages", type=int, default=8,
                   help="stages shown at most, spread from first to last (default 8)")
    p.add_argument("--data-dir", help="folder holding the dataset files (for an index)")
    p.add_argument("--out", help="PNG file or folder to write (default RUN/maps-INPUT.png)")
    p.set_defaults(run=run)


def load_input(args, config):
    """(x (1, C, H, W) shaped for the model, a caption, a file-name tag)."""
    from pathlib import Path

    from nnzoo.data._shaping import fit_images
    from nnzoo.data.own_images import FORMS, prepare_for_run, read_image
    from nnzoo.errors import NnzooError
    from nnzoo.explain.predictions import dataset_of_run
    from nnzoo.runs import load_run_data, run_input_shape

    input_shape = run_input_shape(config)
    if args.input.lstrip("-").isdigit():
        data = load_run_data(config, args.data_dir, input_shape)
        index, n = int(args.input), len(data.test)
        if not 0 <= index < n:
            raise NnzooError(f"--input {index} is outside the test split of {config['data']!r} "
                             f"({n} images: 0 to {n - 1}).")
        x = data.test.x[index:index + 1]
        label = int(data.test.y[index]) if data.task == "classify" else None
        names = data.class_names
        shown = names[label] if names and label is not None else label
        caption = f"test image {index} of {config['data']}" + \
                  (f", label {shown}" if label is not None else "")
        return x, caption, str(index)
    path = Path(args.input)
    if not path.is_file():
        raise NnzooError(f"--input {args.input!r} is neither a test-split index nor an existing "
                         f"image file.")
    picture = read_image(path)
    if config.get("data") in FORMS:  # made like the dataset's images, as the network knows them
        data = dataset_of_run(config, input_shape, args.data_dir)
        x, notes = prepare_for_run(picture, data, input_shape, str(path))
        return x, "; ".join([path.name, *notes]), path.stem
    return fit_images(picture, input_shape, path.name), path.name, path.stem


def run(args) -> int:
    from nnzoo.cli.show_filters import output_path
    from nnzoo.errors import NnzooError
    from nnzoo.explain.filters import maps_figure, pick, save_png, stage_maps
    from nnzoo.runs import load_run

    if args.maps < 1 or args.stages < 1:
        raise NnzooError(f"--maps and --stages must be at least 1 (got {args.maps}, {args.stages}).")
    model, config = load_run(args.run_path)
    x, caption, tag = load_input(args, config)
    stages = pick(stage_maps(model, x), args.stages)
    if not stages:
        raise NnzooError(f"Model {config['model']!r} has no convolution or pooling stage with "
                         f"maps to draw; `nnzoo show maps` is for convolutional models.")
    logits = model.eval()(x)
    if logits.dim() == 2 and config.get("task", "classify") == "classify":
        predicted = int(logits.argmax(1))
        names = (config.get("data_description") or {}).get("class_names")
        caption += f", predicted {names[predicted] if names and predicted < len(names) else predicted}"
    path = output_path(args.run_path, args.out, f"maps-{tag}.png")
    save_png(maps_figure(x[0], stages, args.maps, title=f"{config['model']}: {caption}"), path)
    print(f"wrote {path}")
    return 0
