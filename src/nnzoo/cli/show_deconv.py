"""``nnzoo show deconv RUN``: Zeiler & Fergus's deconvnet projections of a trained run's layer —
its strongest feature maps projected back to pixels, beside the input patches they come from."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("deconv", help="deconvnet projections of a layer's strongest maps "
                                      "(Zeiler & Fergus 2014)",
                       description="For the feature maps of one layer that respond most strongly "
                                   "to the test images, project each map's strongest activation "
                                   "back to pixel space (unpooling through the max-pool switches, "
                                   "rectification, transposed filters: Zeiler & Fergus 2014) and "
                                   "draw the projections beside the input patches they come "
                                   "from, one row per map, as the paper's Figure 2. Nets without "
                                   "ReLUs (LeNet-5's tanh) pass back through their activation's "
                                   "derivative, a gradient; the picture says so.")
    p.add_argument("run_path", metavar="RUN", help="run folder written by `nnzoo train` "
                                                   "(or its weights .safetensors)")
    p.add_argument("--layer", metavar="L",
                   help="a layer name as `nnzoo summary MODEL` prints it (C3, features.conv5, "
                        "layer4.1, inception4a), or k for the k-th convolution (default: the "
                        "last convolution before the dense layers with maps larger than 1x1, or "
                        "the Inception module / residual block it ends)")
    p.add_argument("--input", metavar="IMAGE_OR_INDEX",
                   help="one image file (PNG, JPEG, .npy ...), prepared like the dataset's "
                        "images, or an index into the test split (default: the first --samples "
                        "images of the test split)")
    p.add_argument("--top", type=int, default=9, help="feature maps shown (default 9)")
    p.add_argument("--per-feature", type=int, default=6,
                   help="strongest inputs shown per map (default 6)")
    p.add_argument("--samples", type=int, default=256,
                   help="test images searched for the strongest activations (default 256)")
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument("--out", help="PNG file or folder to write (default RUN/deconv.png)")
    p.set_defaults(run=run)


def load_inputs(args, config):
    """(x (N, C, H, W), a caption): the one --input, else the test split's first --samples."""
    from nnzoo.cli.show_maps import load_input
    from nnzoo.runs import load_run_data

    if args.input is not None:
        x, caption, _ = load_input(args, config)
        return x, caption
    x = load_run_data(config, args.data_dir).test.x[:args.samples]
    return x, f"{len(x)} test images of {config['data']}"


def run(args) -> int:
    from nnzoo.cli.show_filters import output_path
    from nnzoo.errors import NnzooError
    from nnzoo.explain.deconv import CONVOLUTIONS, deconv_figure, deconv_projections
    from nnzoo.explain.filters import save_png
    from nnzoo.runs import load_run

    for option in ("top", "per_feature", "samples"):
        if getattr(args, option) < 1:
            raise NnzooError(f"--{option.replace('_', '-')} must be at least 1 "
                             f"(got {getattr(args, option)}).")
    model, config = load_run(args.run_path)
    name = config["model"]
    if not any(isinstance(m, CONVOLUTIONS) for m in model.modules()):
        raise NnzooError(f"deconv needs a convolutional network; {name} has no Conv2d. Train "
                         f"one such as lenet5, alexnet, vgg11 or resnet20.")
    path = output_path(args.run_path, args.out, "deconv.png")
    x, caption = load_inputs(args, config)
    if x.dim() != 4:
        raise NnzooError(f"The inputs of run {name!r} are of shape {tuple(x.shape[1:])}, not "
                         f"images (C, H, W); the deconvnet projects back to image pixels.")
    found = deconv_projections(model, x, args.layer, top=args.top, per_feature=args.per_feature,
                               model_name=name)
    save_png(deconv_figure(x, found, title=f"{name}: {caption}"), path)
    print(f"wrote {path}")
    return 0
