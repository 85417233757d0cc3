"""Recurrent training speed: every explicit nnzoo layer against torch.nn.LSTM's fused kernel.

The task is a synthetic sequence classification: T=50 steps of 16 features, ten classes, each
sample its class's smooth random template plus noise; the classifier is one recurrent layer
(hidden 128) read at its last step, then a linear layer. Every row trains the same way, in the
plain PyTorch loop: Adam, batch 64, the training set shuffled each epoch and sliced,
``loss.item()`` every step. Rows:

- torch.nn.LSTM — PyTorch's fused kernel (oneDNN on the CPU), the yardstick;
- LSTM explicit (``LSTM(explicit=True)``), peephole, coupled, GRU explicit, Elman explicit
  (``RNN(explicit=True)``), Jordan (``JordanRNN``), Clockwork (``ClockworkRNN``, periods
  1, 2, 4, 8): nnzoo's explicit layers on their whole-sequence kernels (``layers/_fast_*.py``);
- ``--readable`` adds LSTM explicit with ``fast=False``: the step-by-step reference path.

Every run is a fresh Python process, and runs go in pairs, the torch.nn.LSTM run and the
row's run back to back, in alternating order: on this shared machine the same code swings by
±7 % (A/A) from one minute to the next, so the figure to read is each row's median, over its
pairs, of its samples/s over the torch.nn.LSTM run's of the same pair, with the quartiles.
A run's samples/s is the batch size over its median step time, after ``--warmup`` steps:
with two OpenMP threads, a step during which another process holds a core stalls, 10-50x
(measured), and a mean would mostly count the neighbours; the whole-run rate is kept in the
JSON too. The allocator is left as glibc sets it, as in any plain loop (``nnzoo.fit`` would
raise its thresholds).

    env -u OMP_NUM_THREADS python benchmarks/lstm_speed.py              # 5-10 minutes
    python benchmarks/lstm_speed.py --rows explicit,peephole --pairs 9

Writes ``benchmarks/results/lstm_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo import layers

RESULTS = Path(__file__).parent / "results" / "lstm_speed.json"
SEED, STEPS, FEATURES, HIDDEN, CLASSES = 0, 50, 16, 128, 10

ROWS = {  # name: the recurrent layer it trains
    "torch.nn.LSTM": lambda: nn.LSTM(FEATURES, HIDDEN, batch_first=True),
    "LSTM explicit": lambda: layers.LSTM(FEATURES, HIDDEN, batch_first=True, explicit=True),
    "peephole LSTM": lambda: layers.LSTM(FEATURES, HIDDEN, batch_first=True, peephole=True),
    "coupled LSTM": lambda: layers.LSTM(FEATURES, HIDDEN, batch_first=True, coupled=True),
    "GRU explicit": lambda: layers.GRU(FEATURES, HIDDEN, batch_first=True, explicit=True),
    "Elman explicit": lambda: layers.RNN(FEATURES, HIDDEN, batch_first=True, explicit=True),
    "Jordan": lambda: layers.JordanRNN(FEATURES, HIDDEN, batch_first=True),
    "Clockwork": lambda: layers.ClockworkRNN(FEATURES, HIDDEN, batch_first=True),
    "LSTM explicit, fast=False": lambda: layers.LSTM(FEATURES, HIDDEN, batch_first=True,
                                                     explicit=True, fast=False),
}
SHORT = {"explicit": "LSTM explicit", "peephole": "peephole LSTM", "coupled": "coupled LSTM",
         "gru": "GRU explicit", "elman": "Elman explicit", "jordan": "Jordan",
         "clockwork": "Clockwork", "readable": "LSTM explicit, fast=False"}
YARDSTICK = "torch.nn.LSTM"


def synthetic_sequences(n: int, seed: int = SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """Ten smooth random (T, F) templates; a sample is 0.5·template + 0.5·N(0, 1) noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(CLASSES, FEATURES, 6, generator=g)
    templates = F.interpolate(coarse, size=STEPS, mode="linear", align_corners=True).transpose(1, 2)
    y = torch.randint(0, CLASSES, (n,), generator=g)
    return 0.5 * templates[y] + 0.5 * torch.randn(n, STEPS, FEATURES, generator=g), y


class SequenceClassifier(nn.Module):
    """(B, T, F) → class scores from the recurrent layer's output at the last step."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn, self.head = rnn, nn.Linear(HIDDEN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)                                             # (B, T, H)
        return self.head(out[:, -1])


def train(row: str, samples: int, epochs: int, batch_size: int, lr: float, warmup: int,
          threads: int) -> dict:
    """One run of one row, in this process: samples/s of its median step, and of the run."""
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    model = SequenceClassifier(ROWS[row]())
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = synthetic_sequences(samples)
    g = torch.Generator().manual_seed(SEED)
    step, step_seconds = 0, []
    for _ in range(epochs):
        order = torch.randperm(samples, generator=g)
        for start in range(0, samples - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            began = time.perf_counter()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            loss.item()
            if step >= warmup:
                step_seconds.append(time.perf_counter() - began)
            step += 1
    return {"samples_per_second": batch_size / statistics.median(step_seconds),
            "whole_run_samples_per_second": batch_size * len(step_seconds) / sum(step_seconds),
            "final_loss": loss.item()}


def run_in_fresh_process(row: str, args) -> dict:
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:
        return pool.apply(train, (row, args.samples, args.epochs, args.batch_size, args.lr,
                                  args.warmup, args.threads))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="explicit,peephole,coupled,gru,elman,jordan,clockwork",
                        help=f"comma-separated rows among {', '.join(SHORT)} (default: all but "
                             f"readable)")
    parser.add_argument("--readable", action="store_true", help="add the fast=False row")
    parser.add_argument("--pairs", type=int, default=5, help="alternating pairs per row")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--samples", type=int, default=2048, help="training samples")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=3, help="untimed first steps per run")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    names = [SHORT[r.strip()] for r in args.rows.split(",") if r.strip()]
    names += [SHORT["readable"]] if args.readable else []

    print(f"torch {torch.__version__}, {args.threads} threads, "
          f"{platform.processor() or platform.machine()}; T={STEPS}, input {FEATURES}, hidden "
          f"{HIDDEN}, batch {args.batch_size}, {args.samples} samples x {args.epochs} epochs, "
          f"{args.pairs} pairs per row", file=sys.stderr)
    runs = {name: [] for name in [YARDSTICK, *names]}
    whole_runs = {name: [] for name in [YARDSTICK, *names]}
    ratios = {name: [] for name in names}
    for pair in range(args.pairs):
        for name in names:
            order = (YARDSTICK, name) if pair % 2 == 0 else (name, YARDSTICK)
            found = {row: run_in_fresh_process(row, args) for row in order}
            for row, result in found.items():
                runs[row].append(result["samples_per_second"])
                whole_runs[row].append(result["whole_run_samples_per_second"])
            ratios[name].append(found[name]["samples_per_second"] / found[YARDSTICK]["samples_per_second"])
            print(f"  pair {pair + 1}/{args.pairs} {name}: {ratios[name][-1]:.2f}x", file=sys.stderr,
                  flush=True)

    rows = {YARDSTICK: {"median_samples_per_second": statistics.median(runs[YARDSTICK]),
                        "samples_per_second": runs[YARDSTICK],
                        "whole_run_samples_per_second": whole_runs[YARDSTICK]}}
    for name in names:
        quartiles = statistics.quantiles(ratios[name], n=4) if len(ratios[name]) > 1 else ratios[name] * 3
        rows[name] = {"median_samples_per_second": statistics.median(runs[name]),
                      "samples_per_second": runs[name],
                      "whole_run_samples_per_second": whole_runs[name], "ratios": ratios[name],
                      "median_ratio": statistics.median(ratios[name]),
                      "ratio_quartiles": [quartiles[0], quartiles[2]]}
    header = f"{'layer':<26} {'samples/s':>9} {'vs torch.nn.LSTM':>16} {'quartiles':>13}"
    print(header + "\n" + "-" * len(header))
    print(f"{YARDSTICK:<26} {rows[YARDSTICK]['median_samples_per_second']:>9.0f} {'1.00x':>16}")
    for name in names:
        r = rows[name]
        low, high = r["ratio_quartiles"]
        print(f"{name:<26} {r['median_samples_per_second']:>9.0f} {r['median_ratio']:>15.2f}x "
              f"{low:>6.2f}-{high:.2f}x")
    print("samples/s: batch over a run's median step time, median over the runs; vs "
          "torch.nn.LSTM: median over the pairs of the row's rate over the torch.nn.LSTM run of "
          "the same pair, and its quartiles.")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {"task": {"steps": STEPS, "features": FEATURES, "hidden": HIDDEN, "classes": CLASSES,
                       "train_samples": args.samples, "epochs": args.epochs,
                       "batch_size": args.batch_size, "lr": args.lr, "warmup_steps": args.warmup,
                       "pairs": args.pairs, "optimizer": "adam"},
              "machine": {"torch": torch.__version__, "threads": args.threads,
                          "processor": platform.processor() or platform.machine()},
              "rows": rows}
    temp = RESULTS.with_suffix(".json.part")
    temp.write_text(json.dumps(report, indent=2) + "\n")
    temp.replace(RESULTS)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
