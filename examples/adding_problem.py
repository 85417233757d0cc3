"""The adding problem (Hochreiter & Schmidhuber 1997): can the network remember across T = 100?

Each input is T = 100 steps of two channels: a value uniform in [0, 1] and a marker that is 1 at
two steps (one in each half). The target is the sum of the two marked values. A network that
cannot carry information across ~50-100 steps can do no better than answering the mean, 1.0,
whose mean squared error is Var(u1 + u2) = 2/12 ≈ 0.167: that is the baseline.

An Elman RNN, an LSTM and a GRU (64 hidden units each, a linear output on the last state) are
trained with the same budget: ``nnzoo.fit`` for 6 epochs over 20,000 sequences (1,878 steps of
64), Adam at lr 1e-2, gradient norm clipped to 1 — then scored on 2,000 test sequences. The
table is printed and written to ``examples/adding_problem.out.txt``; about 3 minutes on one core.

    OMP_NUM_THREADS=1 python examples/adding_problem.py
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

import nnzoo
from nnzoo.models.sequence import Forecaster

CELLS = {"rnn": "Elman RNN (tanh)", "lstm": "LSTM", "gru": "GRU"}
T, HIDDEN, SEED = 100, 64, 0
TRAINING = {"epochs": 6, "batch_size": 64, "lr": 1e-2, "clip_grad_norm": 1.0}


def main() -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = nnzoo.load_dataset("adding", T=T, n_train=20_000, seed=SEED)
    baseline = torch.mean((1.0 - data.test.y) ** 2).item()   # always answer 1.0
    steps = TRAINING["epochs"] * -(-len(data.train) // TRAINING["batch_size"])
    lines = [f"Adding problem, T = {T}: {len(data.train):,} training / {len(data.test):,} test "
             f"sequences; {HIDDEN} hidden units; the same budget for each: {steps:,} Adam steps "
             f"(lr {TRAINING['lr']}, batch {TRAINING['batch_size']}, clip 1).",
             f"Baseline: always answer 1.0 -> test MSE {baseline:.4f} (in theory 2/12 = 0.1667).",
             "",
             f"{'network':<18} {'params':>7} {'test MSE':>9} {'/ baseline':>10} "
             f"{'val MSE after each epoch':<44} {'seconds':>7}",
             "-" * 100]
    print("\n".join(lines), flush=True)
    for cell, label in CELLS.items():
        torch.manual_seed(SEED)
        model = Forecaster(2, HIDDEN, cell=cell, window=T)
        result = nnzoo.fit(model, data, seed=SEED, progress=False, **TRAINING)
        mse = result.test["loss"]
        curve = " ".join(f"{row['val_loss']:.3f}" for row in result.history)
        line = (f"{label:<18} {nnzoo.count_params(model):>7,} {mse:>9.5f} {mse / baseline:>10.4f} "
                f"{curve:<44} {result.train_seconds:>7.0f}")
        lines.append(line)
        print(line, flush=True)
    lines += ["", f"Total {time.perf_counter() - start:.0f} s on {torch.get_num_threads()} thread(s), "
                  f"torch {torch.__version__}."]
    print(lines[-1])
    out = Path(__file__).with_suffix(".out.txt")
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
