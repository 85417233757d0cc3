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


def run(args) -> int:
    import json

    from nnzoo.cli.show_filters import output_path
    from nnzoo.explain.filters import save_png
    from nnzoo.explain.predictions import predict, predictions_figure
    from nnzoo.runs import read_config

    found = predict(args.run_path, args.images, top=args.top, data_dir=args.data_dir)
    for p in found:
        if args.json:
            print(json.dumps({"image": p["image"], "notes": p["notes"],
                              "top": [{"class": c, "probability": q} for c, q in p["top"]]}))
        else:
            shown = ", ".join(c if q is None else f"{c} ({100 * q:.1f} %)" for c, q in p["top"])
            print(f"{p['image']}: {shown}" + (f"  [{'; '.join(p['notes'])}]" if p["notes"] else ""))
    config, _ = read_config(args.run_path)
    path = output_path(args.run_path, args.out, "predictions.png")
    save_png(predictions_figure(found, title=f"{config['model']} on {config['data']}"), path)
    if not args.json:
        print(f"wrote {path}")
    return 0
