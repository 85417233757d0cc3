"""Fashion-MNIST, the real files: nnzoo's families beside the published benchmark figures.

    apt-get install dataset-fashion-mnist     # the 60,000 + 10,000 IDX files, /usr/share/datasets
    python examples/fashion_mnist.py          # every row that fits a CPU; --rows mlp,lenet5 for some
    python examples/fashion_mnist.py --list   # the rows and their commands

Each row is one `nnzoo train` run (seed 0) into runs/fashion-mnist/ROW; a run that was stopped
is continued with `--resume`, and a finished one is read back, so the script can be stopped
and started again. It prints a Markdown table (published figure, nnzoo's test top-1, epochs, wall
time, command) and writes it with the numbers to examples/fashion_mnist.out.md and
benchmarks/results/fashion_mnist.json.

The published figures are those of the Fashion-MNIST README's benchmark table (Xiao, Rasul &
Vollgraf 2017, and the submissions it lists); the submitters' training schedules are not ours,
so a row compares the architecture, not the recipe. Rows whose architecture needs more than a
2-core CPU can train in a sensible time (AlexNet, VGG-16, GoogLeNet, ResNet-18 at 224x224-era
sizes) are listed as "needs a GPU" and not run; ResNet-20, the paper's CIFAR network, stands
in for ResNet-18 and says so.

The Fashion-MNIST paper's own scikit-learn baselines (its Table 3: MLPClassifier with 100
hidden units, 0.871; Perceptron with an L1 penalty, 0.782) are rows too, fitted by
examples/_sklearn_rows.py on the same files read by nnzoo's IDX reader: once in the paper's
recipe (standardised pixels, the paper's epochs) and once in nnzoo's (pixels in [0, 1], 10
epochs), beside nnzoo's ``mlp -o hidden=100`` (Adam at 1e-3 in batches of 200, as MLPClassifier
trains) and ``perceptron``. They need scikit-learn, which nnzoo does not depend on: without it
they are skipped, and say so.

A second table has the families that learn the images without their labels, which the
benchmark does not list: the autoencoders and the RBM, scored by the mean squared error of their
reconstructions of the test images (``reconstruction.json``), beside that of always answering the
mean training image. The GAN has no such figure (its losses say how its two networks stand
against each other, not how good its samples are) and is left out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sklearn_rows import SKLEARN_ROWS, missing  # imports no scikit-learn

# name: (what, published figure and its row in the Fashion-MNIST table, nnzoo train arguments)
ROWS = {
    "mlp": ("MLP 256-128-100", "0.8833 (MLP 256-128-100)",
            ["mlp", "-o", "hidden=256,128,100", "--epochs", "10"]),
    "lenet5": ("LeNet-5 (lecture form)", "0.876-0.916 (2 Conv+pooling)",
               ["lenet5", "--epochs", "10"]),
    "lenet5-1998": ("LeNet-5 (LeCun et al. 1998)", "0.876-0.916 (2 Conv+pooling)",
                    ["lenet5-1998", "--epochs", "10"]),
    "gru": ("GRU, rows as time steps", "0.888 (GRU+SVM)",
            ["rnn-classifier", "-o", "cell=gru", "--epochs", "4"]),
    "resnet20": ("ResNet-20 (for ResNet-18)", "0.949 (ResNet18, with augmentation)",
                 ["resnet20", "--epochs", "2"]),
    "mlp-100": ("MLP 100, batches of 200 (as MLPClassifier)", "0.871 (MLPClassifier relu [100])",
                ["mlp", "-o", "hidden=100", "--epochs", "10", "--batch-size", "200"]),
    "perceptron": ("Perceptron, one unit per class", "0.782 (Perceptron penalty=l1)",
                   ["perceptron", "--epochs", "10"]),
    "rbf": ("RBF network, 100 k-means centres", "-",
            ["rbf", "-o", "centres=100"]),
}
# name: (what, nnzoo train arguments), scored by reconstruction error
RECONSTRUCTING = {
    "autoencoder": ("Dense autoencoder 784-128-64-16-64-128-784", ["autoencoder", "--epochs", "10"]),
    "conv-autoencoder": ("Convolutional autoencoder, 16-unit code",
                         ["conv-autoencoder", "--epochs", "3"]),
    "rbm": ("RBM, 64 binary hidden units (CD-1, binarized pixels)", ["rbm", "--epochs", "10"]),
}
# the order of the first table: each scikit-learn row beside nnzoo's row of the same classifier
ORDER = ["mlp", "lenet5", "lenet5-1998", "gru", "resnet20", "mlp-100", "sklearn-mlp",
         "sklearn-mlp-10", "perceptron", "sklearn-perceptron", "sklearn-perceptron-10", "rbf"]
assert sorted(ORDER) == sorted([*ROWS, *SKLEARN_ROWS])
NEEDS_A_GPU = {
    "AlexNet": "0.899 (AlexNet with triplet loss)",
    "VGG-16": "0.935 (VGG16 26M parameters)",
    "GoogLeNet": "0.937 (GoogleNet with cross-entropy loss)",
    "ResNet-18": "0.949 (ResNet18)",
}


def finished(name: str, runs: Path) -> dict | None:
    """The metrics of row ``name`` when its run in ``runs`` has finished, else None."""
    metrics_file = runs / name / "metrics.json"
    if metrics_file.exists() and "interrupted_in_epoch" not in json.loads(metrics_file.read_text()):
        return json.loads(metrics_file.read_text())
    return None


def train(name: str, args: list[str], runs: Path) -> dict:
    """Train (or resume, or read back) one row; its metrics and wall time."""
    out = runs / name
    metrics_file = out / "metrics.json"
    done = finished(name, runs)
    if done is not None:
        return done
    if name in SKLEARN_ROWS:  # one fit, seed 0, in a process of its own as nnzoo's rows are
        argv = [sys.executable, str(ROOT / "examples" / "_sklearn_rows.py"), name, "--out", str(out)]
    else:
        argv = [sys.executable, "-m", "nnzoo", "train"]
        argv += (["--resume", str(out)] if (out / "checkpoint.safetensors").exists() else
                 [*args, "--data", "fashion-mnist", "--seed", "0", "--out", str(out)])
        argv.append("--no-progress")
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    metrics = json.loads(metrics_file.read_text())
    metrics["wall_seconds"] = round(time.perf_counter() - start, 1)
    if (out / "reconstruction.json").exists():  # an autoencoder's or an RBM's figure
        metrics["reconstruction"] = json.loads((out / "reconstruction.json").read_text())
    metrics_file.write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def command(name: str) -> str:
    """The command that trains row ``name`` on its own."""
    if name in SKLEARN_ROWS:
        return f"python examples/_sklearn_rows.py {name}"
    args = ROWS[name][2] if name in ROWS else RECONSTRUCTING[name][1]
    return "nnzoo train " + " ".join(args) + " --data fashion-mnist"


def table(results: dict) -> str:
    lines = ["| network | published | measured test top-1 | epochs | wall time | command |",
             "|---|---|---:|---:|---:|---|"]
    for name in ORDER:
        if name not in results:
            continue
        m = results[name]
        what, published = (SKLEARN_ROWS[name] if name in SKLEARN_ROWS else ROWS[name])[:2]
        lines.append(f"| {what} | {published} | {m['test_top1']:.4f} | {m['epochs']} | "
                     f"{m.get('wall_seconds', m['train_seconds']):.0f} s | `{command(name)}` |")
    for what, published in NEEDS_A_GPU.items():
        lines.append(f"| {what} | {published} | needs a GPU | | | |")
    if "mlp-100" in results and "sklearn-mlp-10" in results:
        ours, theirs = results["mlp-100"], results["sklearn-mlp-10"]
        ratio = ours["samples_per_second"] / theirs["samples_per_second"]
        lines += ["", (f"Training speed over the same 10 epochs: nnzoo's MLP 100 "
                       f"{ours['samples_per_second']:,.0f} samples/s, scikit-learn's "
                       f"MLPClassifier (100,) {theirs['samples_per_second']:,.0f} samples/s: "
                       f"{ratio:.2f}x (the epochs' own time, one run each on the same 2 cores).")]
    if any(name in results for name in RECONSTRUCTING):
        header = "| network | test MSE | mean image's MSE | ratio | epochs | wall time | command |"
        lines += ["", header, "|---|---:|---:|---:|---:|---:|---|"]
    for name, (what, _args) in RECONSTRUCTING.items():
        if name not in results:
            continue
        m, r = results[name], results[name]["reconstruction"]
        lines.append(f"| {what} | {r['test_mse']:.4f} | {r['mean_image_mse']:.4f} | "
                     f"{r['mse_ratio_to_mean_image']:.3f} | {m['epochs']} | "
                     f"{m.get('wall_seconds', m['train_seconds']):.0f} s | `{command(name)}` |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join([*ORDER, *RECONSTRUCTING]),
                        help="comma-separated rows to run")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "fashion-mnist"))
    parser.add_argument("--list", action="store_true", help="print the rows and exit")
    args = parser.parse_args()
    if args.list:
        for name in [*ORDER, *RECONSTRUCTING]:
            what = {**ROWS, **SKLEARN_ROWS, **RECONSTRUCTING}[name][0]
            print(f"{name:<22} {what:<64} {command(name)}")
        return 0
    names = args.rows.split(",")
    unknown = [n for n in names if n not in [*ORDER, *RECONSTRUCTING]]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; --list shows the rows")
    results = {}
    to_fit = [n for n in names if n in SKLEARN_ROWS and finished(n, Path(args.runs)) is None]
    why = missing() if to_fit else None
    for name in names:
        if name in to_fit and why:
            print(f"{name}: skipped, {why}", file=sys.stderr)
            continue
        train_args = (ROWS[name][2] if name in ROWS else
                      RECONSTRUCTING[name][1] if name in RECONSTRUCTING else [])
        results[name] = train(name, train_args, Path(args.runs))
        figure = (f"test top-1 {results[name]['test_top1']:.4f}" if name in ORDER else
                  f"test MSE {results[name]['reconstruction']['test_mse']:.4f}")
        print(f"{name}: {figure}", file=sys.stderr)
    text = table(results)
    print(text)
    (ROOT / "examples" / "fashion_mnist.out.md").write_text(text + "\n")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fashion_mnist.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
