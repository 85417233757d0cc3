"""LSTM training speed: nnzoo's recurrent layers against a plain PyTorch loop, in the same run.

The task is a synthetic sequence classification: T=50 steps of 16 features, ten classes, each
sample its class's smooth random template plus noise; the classifier is an LSTM (hidden 128)
read at its last step, then a linear layer. Every row starts from the same weights (the
peephole row adds its peephole weights), trains with Adam, batch 64, for the same epochs:

- plain torch.nn.LSTM: ``DataLoader(TensorDataset(x, y), shuffle=True)``, ``loss.item()`` every
  step — the way most tutorials write it;
- plain loop, nnzoo LSTM: the same loop with ``nnzoo.layers.LSTM`` (fused path) in place of
  ``torch.nn.LSTM`` — the layer alone, nothing else changed;
- nnzoo.fit + LSTM (fused): ``nnzoo.fit`` (on-device batching, losses read once per epoch);
- nnzoo.fit + LSTM explicit: the step-by-step cell equations (``explicit=True``);
- nnzoo.fit + peephole LSTM: ``LSTM(..., peephole=True)``, which always runs explicitly.

Throughput counts training steps only. All rows share one process, so once ``nnzoo.fit`` has
raised glibc's malloc thresholds (``nnzoo.train.host_allocator``) the plain rows run with them
too: the ratios compare the training loops and layers, not the allocator. Runs are interleaved
and repeated; the fastest of each row is reported, with the ratio to the plain row. (Measured
and left out: ``torch.compile`` of the peephole cell's step took 26 s to warm up for no
measurable gain, 150 vs 153 ms per batch; ``torch.jit.script`` is deprecated in torch 2.13.)

    python benchmarks/lstm_speed.py                  # about 1.5 minutes, one thread
    python benchmarks/lstm_speed.py --epochs 3 --repeats 3

Writes ``benchmarks/results/lstm_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import nnzoo
from nnzoo.data import DataBundle, Split
from nnzoo.layers import LSTM

RESULTS = Path(__file__).parent / "results" / "lstm_speed.json"
SEED, STEPS, FEATURES, HIDDEN, CLASSES = 0, 50, 16, 128, 10


def synthetic_sequences(n_train: int, seed: int = SEED) -> DataBundle:
    """Ten smooth random (T, F) templates; a sample is 0.5·template + 0.5·N(0, 1) noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(CLASSES, FEATURES, 6, generator=g)
    templates = F.interpolate(coarse, size=STEPS, mode="linear", align_corners=True).transpose(1, 2)

    def split(n):
        y = torch.randint(0, CLASSES, (n,), generator=g)
        return Split(0.5 * templates[y] + 0.5 * torch.randn(n, STEPS, FEATURES, generator=g), y)

    return DataBundle("synthetic-sequences", split(n_train), split(n_train // 8), split(n_train // 4),
                      num_classes=CLASSES, input_shape=(STEPS, FEATURES),
                      info={"source": "synthetic: class templates + noise"})


class SequenceClassifier(nn.Module):
    """(B, T, F) → class scores from the recurrent layer's output at the last step."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn, self.head = rnn, nn.Linear(HIDDEN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)                                   # (B, T, H)
        return self.head(out[:, -1])


def build(kind: str) -> nn.Module:
    """The same initial weights for every row: torch.nn.LSTM's, copied."""
    torch.manual_seed(SEED)
    model = SequenceClassifier(nn.LSTM(FEATURES, HIDDEN, batch_first=True))
    if kind == "torch":
        return model
    layer = LSTM(FEATURES, HIDDEN, batch_first=True, explicit=kind == "explicit",
                 peephole=kind == "peephole")
    layer.load_state_dict(model.rnn.state_dict(), strict=kind != "peephole")
    model.rnn = layer
    return model


def train_plain(kind, data, epochs, batch_size, lr):
    model = build(kind)
    loader = DataLoader(TensorDataset(data.train.x, data.train.y), batch_size=batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(SEED))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_seconds = 0.0
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        running = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.item()
        train_seconds += time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        top1 = (model(data.test.x).argmax(1) == data.test.y).float().mean().item()
    return {"samples_per_second": len(data.train) * epochs / train_seconds,
            "train_seconds": train_seconds, "test_top1": top1}


def train_fit(kind, data, epochs, batch_size, lr):
    result = nnzoo.fit(build(kind), data, epochs=epochs, batch_size=batch_size, lr=lr,
                       device="cpu", seed=SEED, progress=False)
    return {"samples_per_second": len(data.train) * epochs / result.train_seconds,
            "train_seconds": result.train_seconds, "test_top1": result.test["top1"]}


ROWS = {  # name: (trainer, model kind)
    "plain torch.nn.LSTM": (train_plain, "torch"),
    "plain loop, nnzoo LSTM": (train_plain, "fused"),
    "nnzoo.fit + LSTM (fused)": (train_fit, "fused"),
    "nnzoo.fit + LSTM explicit": (train_fit, "explicit"),
    "nnzoo.fit + peephole LSTM": (train_fit, "peephole"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--samples", type=int, default=2048, help="training samples")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each row")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a shared 2-core machine two OpenMP "
                             "threads stall whenever another process holds a core — measured "
                             "18 vs 871 samples/s for the plain row)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = synthetic_sequences(args.samples)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}; T={STEPS}, input {FEATURES}, "
          f"hidden {HIDDEN}, batch {args.batch_size}, {args.samples} samples x {args.epochs} epochs")
    trials = {name: [] for name in ROWS}
    for _ in range(args.repeats):  # interleaved, so every row sees the same machine load
        for name, (train, kind) in ROWS.items():
            trials[name].append(train(kind, data, args.epochs, args.batch_size, args.lr))
    rows = {name: {**max(t, key=lambda r: r["samples_per_second"]),
                   "all_samples_per_second": [round(r["samples_per_second"], 1) for r in t]}
            for name, t in trials.items()}
    plain = rows["plain torch.nn.LSTM"]["samples_per_second"]
    for row in rows.values():
        row["ratio_to_plain"] = row["samples_per_second"] / plain

    header = f"{'row':<28} {'samples/s':>10} {'vs plain':>9} {'test top-1':>10}"
    print(header + "\n" + "-" * len(header))
    for name, row in rows.items():
        print(f"{name:<28} {row['samples_per_second']:>10.0f} {row['ratio_to_plain']:>8.2f}x "
              f"{row['test_top1']:>10.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "task": {"steps": STEPS, "features": FEATURES, "hidden": HIDDEN, "classes": CLASSES,
                 "train_samples": args.samples, "epochs": args.epochs,
                 "batch_size": args.batch_size, "lr": args.lr, "repeats": args.repeats},
        "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine()},
        "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
