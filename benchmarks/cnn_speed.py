"""CNN training speed: ``nnzoo.fit`` against the plain PyTorch way, in the same run.

For each model, the same initial weights, the same training data, batch size, epochs, optimizer
(Adam) and learning rate are trained twice, back to back:

- nnzoo: ``nnzoo.fit`` (whole split on the device, on-device shuffling and slicing, fused Adam,
  losses summed on the device and read once per epoch, channels_last on CPU);
- plain: ``DataLoader(TensorDataset(x, y), shuffle=True)``, ``loss.item()`` every step,
  ``torch.optim.Adam`` with its defaults, the model in its default memory format, and written
  with torch.nn's own modules: where nnzoo's model uses its faster CPU tanh
  (``nnzoo.layers.activations.Tanh``, 2σ(2n) - 1) the plain copy has ``nn.Tanh``, where it
  uses ``nnzoo.layers.pooling.AvgPool2d`` (2x2 windows summed as strided additions) the plain
  copy has ``nn.AvgPool2d``, and where it uses ``nnzoo.layers.conv.Conv2d`` (a matrix product
  when the kernel covers the input, as in LeNet-5's C5) the plain copy has ``nn.Conv2d`` with
  the same weights.

Every run is a fresh Python process (spawned), so no path inherits another's process state:
``nnzoo.fit`` raises glibc's malloc thresholds for the whole process
(``nnzoo.train.host_allocator``), and a plain loop run after it in the same process would get
that speed-up too. Training throughput counts training steps only (nnzoo's validation pass is
left out), over the whole run and after the first epoch ("steady": the compiled path,
``--compile``, compiles during its first epoch). Each path runs ``--repeats`` times, and the
run with the best steady rate is reported (the machine is shared). The paths' processes of a
repeat take turns: set-up, then epoch by epoch, then the test, one process computing at a time.
On this shared machine the same code swings by ±20-40 % from one minute to the next, so the
table also gives "paired": each epoch's rate over the rate of the same plain epoch run just
before it, and the median of those ratios over every epoch after the first of every repeat
(with their quartiles): the robust figure. The achieved FLOP rate is the forward FLOPs of
every Conv2d and Linear layer (2·MACs, counted with hooks) times 3 for forward + backward,
times samples/s; the peak is the best float32 ``torch.mm``
rate of this machine, measured before and after each model's runs (the best counts). Models:
LeNet-5 on the embedded digits at 32x32; the CIFAR ResNet-20 on a CIFAR-10 subset when its
files are in the data folder, else on synthetic 32x32x3 images (ten smooth class templates plus
noise, so accuracy still means something). Augmentation is off for both paths, so both do the
same work.

    env -u OMP_NUM_THREADS python benchmarks/cnn_speed.py     # about 10 minutes on 2 cores (--compile adds a third path)
    python benchmarks/cnn_speed.py --models lenet5 --epochs 5 --batch-size 128

Writes ``benchmarks/results/cnn_speed.json``.
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
from torch.utils.data import DataLoader, TensorDataset

import nnzoo
from nnzoo.data import DataBundle, Split

RESULTS = Path(__file__).parent / "results" / "cnn_speed.json"
SEED = 0


def matmul_peak(n: int = 2048, repeats: int = 7) -> float:
    """Best float32 GFLOP/s of an n x n matrix product (2·n³ FLOPs) on this CPU."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def forward_flops(model: nn.Module, x: torch.Tensor) -> float:
    """FLOPs (2 per multiply-add) of one sample's forward pass through Conv2d and Linear layers."""
    total = 0

    def conv(m, _, out):
        nonlocal total
        total += 2 * out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, _, out):
        nonlocal total
        total += 2 * out[0].numel() * m.in_features

    hooks = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(x[:1])
    for h in hooks:
        h.remove()
    return float(total)


def synthetic_cifar(n_train: int, n_test: int, seed: int = SEED) -> DataBundle:
    """Ten smooth random colour templates; a sample is its class template plus pixel noise."""
    g = torch.Generator().manual_seed(seed)
    templates = F.interpolate(torch.rand(10, 3, 4, 4, generator=g), size=(32, 32), mode="bilinear",
                              align_corners=False)

    def split(n):
        y = torch.randint(0, 10, (n,), generator=g)
        x = 0.5 * templates[y] + 0.5 * torch.rand(n, 3, 32, 32, generator=g)  # in [0, 1]
        return Split(x, y)

    return DataBundle("synthetic-cifar", split(n_train), split(n_test // 2), split(n_test),
                      num_classes=10, input_shape=(3, 32, 32),
                      info={"source": "synthetic: class templates + noise"})


def subset(split: Split, n: int) -> Split:
    return split.take(torch.arange(min(n, len(split))))


def load_data(name: str, samples: int, dataset: str | None = None) -> DataBundle:
    entry = nnzoo.get_entry(name)
    if dataset is not None:  # --data: that dataset, its first `samples` training images
        data = nnzoo.load_dataset(dataset, input_shape=entry.input_shape)
        return DataBundle(f"{dataset}[:{samples}]", subset(data.train, samples), data.val,
                          data.test, num_classes=data.num_classes, input_shape=data.input_shape)
    if entry.dataset != "cifar10":
        return nnzoo.load_dataset(entry.dataset, input_shape=entry.input_shape)
    try:
        data = nnzoo.load_dataset("cifar10", input_shape=entry.input_shape, augment=False)
    except nnzoo.NnzooError:
        return synthetic_cifar(samples, samples // 4)
    return DataBundle("cifar10-subset", subset(data.train, samples), subset(data.val, samples // 8),
                      subset(data.test, samples // 4), num_classes=10, input_shape=data.input_shape)


def build(name: str) -> nn.Module:
    torch.manual_seed(SEED)  # the same initial weights for both paths
    return nnzoo.create(name)


def rates(samples_per_epoch: int, epoch_seconds: list[float]) -> dict:
    """Samples/s over the whole run, after the first epoch (warm-up or compilation), and of each
    epoch."""
    later = epoch_seconds[1:] or epoch_seconds
    return {"samples_per_second": samples_per_epoch * len(epoch_seconds) / sum(epoch_seconds),
            "steady_samples_per_second": samples_per_epoch * len(later) / sum(later),
            "epoch_samples_per_second": [samples_per_epoch / s for s in epoch_seconds],
            "first_epoch_seconds": epoch_seconds[0], "train_seconds": sum(epoch_seconds)}


class Baton:
    """The machine, passed round a ring of processes: ``take`` waits for this process's turn,
    ``pass_on`` gives the next process its turn, so only one of them computes at a time."""

    TIMEOUT = 1800  # seconds: a process that died would otherwise leave the others waiting

    def __init__(self, mine, after):
        self.mine, self.after = mine, after

    def take(self) -> None:
        if not self.mine.acquire(timeout=self.TIMEOUT):
            raise TimeoutError("the process before this one in the ring stopped passing turns")

    def pass_on(self) -> None:
        self.after.release()

    def hand_over(self) -> None:
        """End this turn and wait for the next one."""
        self.pass_on()
        self.take()


class TakeTurns:
    """An ``nnzoo.fit`` callback: hands the machine on after set-up and after each epoch (its
    seconds already measured, its validation done), and waits for it back."""

    def __init__(self, baton: Baton):
        self.baton = baton

    def on_train_begin(self, state) -> None:
        self.baton.hand_over()

    def on_epoch_end(self, state) -> None:
        self.baton.hand_over()


def train_nnzoo(name, data, epochs, batch_size, lr, baton: Baton, compile=False):
    model = build(name)
    result = nnzoo.fit(model, data, epochs=epochs, batch_size=batch_size, lr=lr, device="cpu",
                       seed=SEED, progress=False, compile=compile, callbacks=[TakeTurns(baton)])
    samples = result.samples_per_second * result.train_seconds / result.epochs  # per epoch
    return {**rates(round(samples), [row["seconds"] for row in result.history]),
            "test_top1": result.test["top1"]}


def as_plain_pytorch(model: nn.Module) -> nn.Module:
    """The same network and weights with torch.nn's own modules in place of nnzoo's faster ones."""
    from nnzoo.layers.activations import Tanh
    from nnzoo.layers.conv import Conv2d
    from nnzoo.layers.pooling import AvgPool2d

    for parent in list(model.modules()):
        for child_name, child in parent.named_children():
            if isinstance(child, Tanh):
                setattr(parent, child_name, nn.Tanh())
            elif isinstance(child, AvgPool2d):
                setattr(parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride,
                                                         child.padding, child.ceil_mode,
                                                         child.count_include_pad,
                                                         child.divisor_override))
            elif isinstance(child, Conv2d):
                plain = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size,
                                  child.stride, child.padding, child.dilation, child.groups,
                                  child.bias is not None)
                plain.load_state_dict(child.state_dict())
                setattr(parent, child_name, plain)
    return model


def train_plain(name, data, epochs, batch_size, lr, baton: Baton):
    """The way most tutorials write it."""
    model = as_plain_pytorch(build(name))
    loader = DataLoader(TensorDataset(data.train.x, data.train.y), batch_size=batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(SEED))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    epoch_seconds = []
    baton.hand_over()  # set-up done
    for _ in range(epochs):
        model.train()
        epoch_start = time.perf_counter()
        running = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.item()
        epoch_seconds.append(time.perf_counter() - epoch_start)
        baton.hand_over()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(TensorDataset(data.test.x, data.test.y), batch_size=1024):
            correct += (model(x).argmax(1) == y).sum().item()
    return {**rates(len(data.train), epoch_seconds), "test_top1": correct / len(data.test)}


def trial_in_turn(path: str, turns: list, index: int, results, name: str, samples: int,
                  epochs: int, batch_size: int, lr: float, dataset: str | None) -> None:
    """One training run of one path (plain, nnzoo or nnzoo+compile), in its turns: set-up, each
    epoch and the test, each one while the other paths' processes wait."""
    baton = Baton(turns[index], turns[(index + 1) % len(turns)])
    baton.take()
    try:
        data = load_data(name, samples, dataset)
        if path == "plain":
            result = train_plain(name, data, epochs, batch_size, lr, baton)
        else:
            result = train_nnzoo(name, data, epochs, batch_size, lr, baton,
                                 compile=path == "nnzoo+compile")
        results.put((path, result))
    except Exception as err:  # the others must not wait for turns this process will not take
        results.put((path, {"error": f"{type(err).__name__}: {err}"}))
        for _ in range(epochs + 2):
            baton.pass_on()
        raise
    baton.pass_on()


def in_turns(paths: list[str], *args) -> dict[str, dict]:
    """Each path's run in a fresh interpreter (no run inherits another's process state: the
    allocator thresholds ``nnzoo.fit`` raises, warmed caches, compiled graphs), the processes
    taking turns epoch by epoch, so that epoch i of every path runs under the same machine load
    and their rates can be paired."""
    spawn = multiprocessing.get_context("spawn")
    turns = [spawn.Semaphore(0) for _ in paths]
    results = spawn.Queue()
    processes = [spawn.Process(target=trial_in_turn, args=(path, turns, i, results, *args))
                 for i, path in enumerate(paths)]
    for process in processes:
        process.start()
    turns[0].release()
    found = dict(results.get(timeout=Baton.TIMEOUT) for _ in paths)
    for process in processes:
        process.join()
    failed = {path: r["error"] for path, r in found.items() if "error" in r}
    if failed:
        raise RuntimeError(f"benchmark runs failed: {failed}")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lenet5,resnet20",
                        help="comma-separated registered models (default lenet5,resnet20)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per run (default: 20 for LeNet-5, 2 for others)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size of both paths (default: the model's recommended one, "
                             "`nnzoo info MODEL`: 64 for LeNet-5, 128 for ResNet-20)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=5,
                        help="interleaved runs of each path; the fastest is reported, and the "
                             "median of the paired ratios (default 5)")
    parser.add_argument("--compile", action="store_true",
                        help="also time nnzoo.fit(..., compile=True)")
    parser.add_argument("--samples", type=int, default=1536,
                        help="training samples for the CIFAR models, or of --data (default 1536)")
    parser.add_argument("--data", default=None,
                        help="train every model on this dataset (its first --samples training "
                             "images), e.g. fashion-mnist from `apt-get install "
                             "dataset-fashion-mnist`; default: each model's own")
    args = parser.parse_args(argv)

    peaks = [matmul_peak()]  # measured again after each model: the machine is shared
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name not in nnzoo.list_models():
            print(f"skipping {name}: not registered")
            continue
        data = load_data(name, args.samples, args.data)
        epochs = args.epochs or (20 if name == "lenet5" else 2)
        batch_size = args.batch_size or nnzoo.get_entry(name).defaults.get("batch_size", 128)
        flops = 3 * forward_flops(build(name), data.train.x)
        paths = ["plain", "nnzoo"] + (["nnzoo+compile"] if args.compile else [])
        trials = {path: [] for path in paths}
        for repeat in range(args.repeats):
            found = in_turns(paths, name, args.samples, epochs, batch_size, args.lr, args.data)
            for path in paths:
                trials[path].append(found[path])
                print(f"  {name} {path}, run {repeat + 1}/{args.repeats}: "
                      f"{found[path]['steady_samples_per_second']:,.0f} samples/s steady",
                      file=sys.stderr, flush=True)
        runs = {path: {**max(t, key=lambda r: r["steady_samples_per_second"]),
                       "all_samples_per_second": [r["samples_per_second"] for r in t],
                       "all_steady_samples_per_second": [r["steady_samples_per_second"] for r in t]}
                for path, t in trials.items()}
        peaks.append(matmul_peak())
        for path, run in runs.items():
            run["paired_steady_vs_plain"] = [  # epoch i of this path over epoch i of plain
                mine_rate / plain_rate
                for mine, plain in zip(trials[path], trials["plain"])
                for mine_rate, plain_rate in zip(mine["epoch_samples_per_second"][1:],
                                                 plain["epoch_samples_per_second"][1:])]
            run["median_paired_steady_vs_plain"] = statistics.median(run["paired_steady_vs_plain"])
            quartiles = statistics.quantiles(run["paired_steady_vs_plain"], n=4)
            run["paired_quartiles"] = [quartiles[0], quartiles[2]]
            run["gflops"] = flops * run["steady_samples_per_second"] / 1e9
            for key in ("samples_per_second", "steady_samples_per_second"):
                run[f"{key}_vs_plain"] = run[key] / runs["plain"][key]
        rows.append({"model": name, "data": data.name, "train_samples": len(data.train),
                     "test_samples": len(data.test), "epochs": epochs,
                     "batch_size": batch_size, "train_flops_per_sample": flops, **runs})

    peak = max(peaks)
    for r in rows:
        for path in ("plain", "nnzoo", "nnzoo+compile"):
            if path in r:
                r[path]["share_of_peak"] = r[path]["gflops"] / peak
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}; float32 matmul peak {peak:.1f} GFLOP/s "
          f"(best of {len(peaks)} measurements)")
    header = (f"{'model':<9} {'data':<15} {'path':<13} {'samples/s':>9} {'vs plain':>8} "
              f"{'steady':>8} {'vs plain':>8} {'paired':>6} {'epoch 1':>7} {'top-1':>6} {'GFLOP/s':>7} "
              f"{'% peak':>6}")
    print(header + "\n" + "-" * len(header))
    for r in rows:
        for path in [p for p in ("plain", "nnzoo", "nnzoo+compile") if p in r]:
            run = r[path]
            print(f"{r['model']:<9} {r['data']:<15} {path:<13} {run['samples_per_second']:>9.0f} "
                  f"{run['samples_per_second_vs_plain']:>7.2f}x "
                  f"{run['steady_samples_per_second']:>8.0f} "
                  f"{run['steady_samples_per_second_vs_plain']:>7.2f}x "
                  f"{run['median_paired_steady_vs_plain']:>5.2f}x "
                  f"{run['first_epoch_seconds']:>6.1f}s {run['test_top1']:>6.3f} "
                  f"{run['gflops']:>7.2f} {100 * run['share_of_peak']:>5.1f}%")
    print("samples/s: whole run, first epoch included (best run); steady: after the first epoch "
          "(the compiled path compiles during it; best run); paired: median, over every epoch "
          "after the first of every repeat, of the epoch's rate over the same plain epoch run "
          "just before it (the paths take turns epoch by epoch). GFLOP/s and % of the matmul "
          "peak: best steady rate.")
    for r in rows:
        for path in [p for p in ("nnzoo", "nnzoo+compile") if p in r]:
            low, high = r[path]["paired_quartiles"]
            print(f"{r['model']} {path}: paired ratios' quartiles {low:.2f}x to {high:.2f}x over "
                  f"{len(r[path]['paired_steady_vs_plain'])} epoch pairs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "matmul_peak_gflops": peak,
              "matmul_peak_measurements": peaks, "lr": args.lr,
              "optimizer": "adam", "seed": SEED, "results": rows}
    temp = RESULTS.with_suffix(".json.part")
    temp.write_text(json.dumps(report, indent=2))
    temp.replace(RESULTS)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
