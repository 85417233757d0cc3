"""GPU training speed: ``nnzoo.fit`` against the plain PyTorch loop, on the same GPU, in one run.

For each case the same model (same initial weights), data, batch size, optimizer (Adam), learning
rate and epochs are trained twice, in alternating order over ``--repeats``:

- nnzoo: ``nnzoo.fit`` on the fast GPU path: the dataset resident on the device, shuffled and
  sliced there, bf16 autocast (``--precision``, default auto), channels_last convolutions, losses
  and hits summed on the device and read once per epoch, optionally ``torch.compile``
  (``--compile-mode``);
- plain: ``DataLoader(TensorDataset(x, y), shuffle=True)`` from host memory, float32,
  ``loss.item()`` every step.

Reported per case and path: training samples/s (medians over the repeats, with min-max), the
training time until the test accuracy first reaches the case's target (the test set is scored
after every epoch, outside the timed part), the compile time (the first epoch's excess over the
median later epoch, for the compiled path), and a CUDA-event timing of the steady state (the
device time from the end of epoch 1 to the end of the last epoch, per epoch).

Cases: LeNet-5, ResNet-20 and an LSTM classifier (image rows as time steps) on Fashion-MNIST, the
real files (``--data-dir``, else nnzoo's data search: ``apt-get install dataset-fashion-mnist``);
and ResNet-20 on CIFAR-shaped synthetic data (50,000 3x32x32 images, random labels: throughput
only). Targets (issue 22): 90% for LeNet-5, 93% for ResNet-20 on Fashion-MNIST.

    python benchmarks/gpu_speed.py --data-dir /path/to/fashion-mnist-files     # on a GPU
    python benchmarks/gpu_speed.py --device cpu --quick                         # the CI check

``--quick`` runs every case for one short epoch on a few hundred samples (synthetic stand-ins
when Fashion-MNIST is absent): it checks the code, not the speed. Writes
``benchmarks/results/gpu_speed.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import nnzoo
from nnzoo.data import DataBundle, Split

RESULTS = Path(__file__).parent / "results" / "gpu_speed.json"
SEED = 0
QUICK_SAMPLES = 256  # training samples per case under --quick

class Case(NamedTuple):
    model: str
    options: dict
    data: str
    epochs: int
    batch_size: int
    lr: float
    target: float | None  # the test top-1 to time, or None (random labels: throughput only)


CASES = {
    "lenet5": Case("lenet5", {}, "fashion-mnist", 10, 256, 2e-3, 0.90),
    "resnet20": Case("resnet20", {}, "fashion-mnist", 15, 256, 2e-3, 0.93),
    "lstm": Case("rnn-classifier", {"cell": "lstm"}, "fashion-mnist", 10, 256, 2e-3, 0.88),
    "resnet20-cifar-shaped": Case("resnet20", {}, "cifar-shaped", 3, 512, 2e-3, None),
}


def synthetic(n: int, shape: tuple, classes: int = 10, seed: int = SEED) -> Split:
    g = torch.Generator().manual_seed(seed)
    return Split(torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g))


def load_case(name: str, data_dir, quick: bool):
    """The model (built for the data, as `nnzoo train` builds it) and the data of one case."""
    from nnzoo.train.adapting import build_model_and_data

    model_name, options, data_name = CASES[name][:3]
    torch.manual_seed(SEED)
    if data_name == "cifar-shaped":
        n = QUICK_SAMPLES if quick else 50_000
        data = DataBundle("cifar-shaped", synthetic(n, (3, 32, 32)), synthetic(256, (3, 32, 32), seed=1),
                          synthetic(1000 if not quick else 128, (3, 32, 32), seed=2), num_classes=10,
                          input_shape=(3, 32, 32))
        model = nnzoo.create(model_name, **options, in_channels=3, num_classes=10)
        return model, data, "synthetic"
    try:
        model, data, *_ = build_model_and_data(model_name, dict(options), data_name, {}, data_dir)
        source = "fashion-mnist files"
    except nnzoo.errors.NnzooError:
        if not quick:
            raise
        # CI has no Fashion-MNIST: the embedded digits stand in (the code runs, the speed is moot)
        model, data, *_ = build_model_and_data(model_name, dict(options), "digits", {}, None)
        source = "digits (Fashion-MNIST not installed)"
    if quick:
        data = DataBundle(data.name, _first(data.train, QUICK_SAMPLES), _first(data.val, 128),
                          _first(data.test, 128), num_classes=data.num_classes,
                          input_shape=data.input_shape, info=data.info)
    return model, data, source


def _first(split: Split, n: int) -> Split:
    return split.take(torch.arange(min(n, len(split))))


class EpochClock:
    """A callback: the test top-1 after each epoch (scored outside the timed part: the epoch's
    ``seconds`` are taken before) and a CUDA event at each epoch's end."""

    def __init__(self, test: Split, device: torch.device):
        self.test, self.device, self.top1, self.events = test, device, [], []

    def on_epoch_end(self, state) -> None:
        self.record(state.model)

    def record(self, model) -> None:
        if self.device.type == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.events.append(event)
        self.top1.append(nnzoo.evaluate(model, self.test)["top1"])


def run_nnzoo(model, data, case: Case, device, precision, compile_mode) -> dict:
    clock = EpochClock(data.test, device)
    result = nnzoo.fit(model, data, epochs=case.epochs, batch_size=case.batch_size, lr=case.lr,
                       device=str(device),
                       precision=precision, compile_mode=compile_mode, progress=None,
                       callbacks=[clock], seed=SEED)
    seconds = [row["seconds"] for row in result.history]
    return _summary(seconds, len(data.train), clock, result.test["top1"], compiled=bool(compile_mode))


def run_plain(model, data, case: Case, device) -> dict:
    """The plain loop: DataLoader from host memory, float32, loss.item() every step."""
    model = model.to(device)
    loader = DataLoader(TensorDataset(data.train.x.cpu(), data.train.y.cpu()),
                        batch_size=case.batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(SEED),
                        pin_memory=device.type == "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=case.lr)
    clock, seconds = EpochClock(data.test.to(device), device), []
    for _ in range(case.epochs):
        model.train()
        start = time.perf_counter()
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        seconds.append(time.perf_counter() - start)
        model.eval()
        clock.record(model)
    return _summary(seconds, len(data.train), clock, clock.top1[-1], compiled=False)


def _summary(seconds, n, clock, test_top1, compiled: bool) -> dict:
    later = seconds[1:] or seconds
    out = {"samples_per_second": n * len(seconds) / sum(seconds),
           "steady_samples_per_second": n / statistics.median(later),
           "epoch_seconds": seconds, "test_top1_per_epoch": clock.top1, "test_top1": test_top1}
    if compiled:
        out["compile_seconds"] = max(0.0, seconds[0] - statistics.median(later))
    if len(clock.events) > 1:
        torch.cuda.synchronize()
        steady_ms = clock.events[0].elapsed_time(clock.events[-1]) / (len(clock.events) - 1)
        out["cuda_event_epoch_ms"] = steady_ms  # includes the per-epoch test pass
    return out


def time_to_target(run: dict, target) -> float | None:
    if target is None:
        return None
    elapsed = 0.0
    for seconds, top1 in zip(run["epoch_seconds"], run["test_top1_per_epoch"]):
        elapsed += seconds
        if top1 >= target:
            return elapsed
    return None


def spread(values) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--compile-mode", default=None,
                        choices=("default", "reduce-overhead", "max-autotune"))
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST .gz files")
    parser.add_argument("--quick", action="store_true", help="one short epoch per case (CI)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    repeats = 1 if args.quick else args.repeats
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else
              platform.processor() or platform.machine(), "torch": torch.__version__,
              "precision": args.precision, "compile_mode": args.compile_mode,
              "quick": args.quick, "cases": {}}
    lines = [("| case | data | nnzoo samples/s | plain samples/s | ratio | nnzoo to target | "
              "plain to target | compile | CUDA-event epoch nnzoo / plain |"),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.cases.split(","):
        model0, data, source = load_case(name, args.data_dir, args.quick)
        case = CASES[name]._replace(epochs=2, batch_size=64) if args.quick else CASES[name]
        runs = {"nnzoo": [], "plain": []}
        for repeat in range(repeats):
            order = ("nnzoo", "plain") if repeat % 2 == 0 else ("plain", "nnzoo")
            for path in order:
                model = copy.deepcopy(model0)
                runs[path].append(run_nnzoo(model, data, case, device, args.precision,
                                            args.compile_mode) if path == "nnzoo"
                                  else run_plain(model, data, case, device))
        target = case.target
        rows = {path: {"samples_per_second": spread([r["steady_samples_per_second"] for r in rs]),
                       "time_to_target": spread([time_to_target(r, target) for r in rs]),
                       "compile_seconds": spread([r.get("compile_seconds") for r in rs]),
                       "cuda_event_epoch_ms": spread([r.get("cuda_event_epoch_ms") for r in rs]),
                       "test_top1": spread([r["test_top1"] for r in rs]), "runs": rs}
                for path, rs in runs.items()}
        ratios = [a["steady_samples_per_second"] / b["steady_samples_per_second"]
                  for a, b in zip(runs["nnzoo"], runs["plain"])]
        report["cases"][name] = {"data": source, "target": target, "epochs": case.epochs,
                                 "batch_size": case.batch_size, "ratio": spread(ratios), **rows}
        lines.append(_row(name, source, rows, spread(ratios)))
        print(lines[-1], file=sys.stderr)
    print("\n".join(lines))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _fmt(s: dict, unit: str = "", digits: int = 0) -> str:
    if s.get("median") is None:
        return "-"
    if s["min"] == s["max"]:
        return f"{s['median']:,.{digits}f}{unit}"
    return f"{s['median']:,.{digits}f}{unit} ({s['min']:,.{digits}f}-{s['max']:,.{digits}f})"


def _row(name, source, rows, ratio) -> str:
    n, p = rows["nnzoo"], rows["plain"]
    return (f"| {name} | {source} | {_fmt(n['samples_per_second'])} | "
            f"{_fmt(p['samples_per_second'])} | {_fmt(ratio, 'x', 2)} | "
            f"{_fmt(n['time_to_target'], ' s', 1)} | {_fmt(p['time_to_target'], ' s', 1)} | "
            f"{_fmt(n['compile_seconds'], ' s', 1)} | {_fmt(n['cuda_event_epoch_ms'], ' ms')} / "
            f"{_fmt(p['cuda_event_epoch_ms'], ' ms')} |")


if __name__ == "__main__":
    sys.exit(main())
