"""``nnzoo export RUN [--format onnx] [--out FILE]``: a trained run as a file other runtimes read."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a trained run as an ONNX model",
                       description="Write a run's model (its config.json and weights) as an ONNX "
                                   "file with a dynamic batch axis (and sequence axis where the "
                                   "model allows). The graph's input is named `input` and its "
                                   "output `output`. When onnxruntime is installed (pip install "
                                   "'nnzoo[onnx]'), the file is run on a batch of another size "
                                   "and written only if it agrees with the model to 1e-4.")
    p.add_argument("run_path", metavar="RUN", help="run folder or weights .safetensors")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="file format (onnx)")
    p.add_argument("--out", metavar="FILE",
                   help="file to write (default: RUN/model.onnx, or RUN/PART.onnx for a part)")
    p.add_argument("--part", help="for a model of parts: an autoencoder's model (default), "
                                  "encoder or decoder; a GAN's generator (default) or "
                                  "discriminator")
    p.add_argument("--no-check", action="store_true",
                   help="do not run the file with onnxruntime before writing it")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    import json
    from pathlib import Path

    from nnzoo.interop.onnx import export

    run_path = Path(args.run_path)
    folder = run_path if run_path.is_dir() else run_path.parent
    out = Path(args.out) if args.out else folder / f"{args.part or 'model'}.{args.format}"
    written = export(run_path, out, part=args.part, format=args.format, check=not args.no_check)
    if args.json:
        print(json.dumps(written))
        return 0

    def shapes(side: str) -> str:
        return ", ".join(f"{t['name']} {tuple(t['shape'])}" for t in written[side])

    checked = (f"; onnxruntime agrees to {written['max_difference']:.1e}"
               if "max_difference" in written else "")
    print(f"wrote {written['path']} ({written['model']} {written['part']}: {shapes('inputs')} -> "
          f"{shapes('outputs')}{checked})")
    return 0
