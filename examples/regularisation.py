"""The lectures' regularisers side by side: one MLP, each regulariser alone, three seeds.

    apt-get install dataset-fashion-mnist     # else the script falls back to the 8x8 digits
    python examples/regularisation.py         # every row, seeds 0, 1, 2
    python examples/regularisation.py --list  # the rows and their commands

Each row is `nnzoo train mlp ...` with one regulariser, run for each seed into
runs/regularisation/DATA/ROW-sSEED (a stopped run is resumed, a finished one read back), then
`nnzoo eval RUN --attack fgsm --eps EPS` for its accuracy on FGSM-perturbed test images
(Goodfellow, Shlens & Szegedy 2015; EPS in the units of the standardised input). The table gives
test top-1 and FGSM top-1 as mean ± sd over the seeds and is written to
examples/regularisation.out.md and benchmarks/results/regularisation.json.

The two second runs reuse the validation data after early stopping (`--second-run`): their
figures are the second run's (trained on training + validation data), not the first's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPS = 0.1  # of the FGSM attack and of adversarial training, in standardised input units

# name: (what, flags beside the shared ones)
ROWS = {
    "none": ("no regulariser", []),
    "l2": ("L2, λ = 1e-4", ["--weight-decay", "1e-4"]),
    "dropout": ("dropout 0.2 inputs, 0.5 hidden", ["-o", "dropout=0.5", "--input-dropout", "0.2"]),
    "input-noise": ("input noise σ = 0.3", ["--input-noise", "0.3"]),
    "weight-noise": ("weight noise σ = 0.01", ["--weight-noise", "0.01"]),
    "adversarial": (f"FGSM adversarial training, ε = {EPS}", ["--adversarial", str(EPS)]),
    "early-stopping": ("early stopping, patience 3", ["--patience", "3"]),
    "second-fresh": ("early stopping, then afresh on train + validation",
                     ["--patience", "3", "--second-run", "fresh"]),
    "second-continue": ("early stopping, then continued on train + validation",
                        ["--patience", "3", "--second-run", "continue"]),
}


def shared_flags(data: str, epochs: int) -> list[str]:
    hidden = "hidden=256" if data == "fashion-mnist" else "hidden=64"
    return ["mlp", "-o", hidden, "--data", data, "--epochs", str(epochs)]


def nnzoo(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nnzoo", *args], check=True,
                          stdout=subprocess.PIPE, text=True)
    return done.stdout


def train(out: Path, flags: list[str], seed: int) -> dict:
    """Train (or resume, or read back) one run; its metrics, with the FGSM accuracy."""
    metrics_file = out / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    second = "--second-run" in flags
    finished = metrics and "interrupted_in_epoch" not in metrics and \
        (not second or "second_run" in metrics)
    if not finished:
        if (out / "checkpoint.safetensors").exists():
            nnzoo("train", "--resume", str(out), "--no-progress")
        else:
            nnzoo("train", *flags, "--seed", str(seed), "--out", str(out), "--overwrite",
                  "--no-progress")
        metrics = json.loads(metrics_file.read_text())
    if "fgsm_top1" not in metrics:
        scored = out / "second_run" if second else out
        attacked = json.loads(nnzoo("eval", str(scored), "--attack", "fgsm", "--eps", str(EPS),
                                    "--json", "--no-per-class"))
        metrics["fgsm_top1"] = attacked["fgsm_top1"]
        metrics_file.write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def table(results: dict, data: str, epochs: int, seeds: list[int]) -> str:
    lines = [(f"MLP ({shared_flags(data, epochs)[2]}) on {data}, at most {epochs} epochs, seeds "
              f"{', '.join(map(str, seeds))}; FGSM ε = {EPS} (standardised units)."), "",
             "| regulariser | test top-1 | FGSM top-1 | epochs | flags |",
             "|---|---:|---:|---:|---|"]
    for name, (what, flags) in ROWS.items():
        if name not in results:
            continue
        runs = results[name]
        final = [r.get("second_run", r) for r in runs]
        epochs_run = [str(e) for e in sorted({f["epochs"] for f in final})]
        lines.append(f"| {what} | {spread([f['test_top1'] for f in final])} | "
                     f"{spread([r['fgsm_top1'] for r in runs])} | {'/'.join(epochs_run)} | "
                     f"`{' '.join(flags) or '-'}` |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data", help="dataset (default fashion-mnist if installed, else digits)")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "regularisation"))
    parser.add_argument("--list", action="store_true", help="print the rows and exit")
    args = parser.parse_args()
    data = args.data or ("fashion-mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir()
                         else "digits")
    if args.list:
        for name, (what, flags) in ROWS.items():
            print(f"{name:<16} {what:<52} nnzoo train "
                  f"{' '.join(shared_flags(data, args.epochs) + flags)}")
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    for name in args.rows.split(","):
        flags = shared_flags(data, args.epochs) + ROWS[name][1]
        results[name] = [train(Path(args.runs) / data / f"{name}-s{seed}", flags, seed)
                         for seed in seeds]
        print(f"{name}: done", file=sys.stderr)
    text = table(results, data, args.epochs, seeds)
    print(text)
    (ROOT / "examples" / "regularisation.out.md").write_text(text + "\n")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "regularisation.json").write_text(json.dumps(
        {"data": data, "epochs": args.epochs, "seeds": seeds, "fgsm_eps": EPS,
         "rows": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
