"""Does a denoising autoencoder clean noisy digits better than a plain one? (Vincent et al. 2008)

Three dense autoencoders of the same architecture (64-128-64-16-64-128-64) are trained on the
embedded digits with the same settings: a plain one, one trained to undo masking noise
(ν = 0.25) and one trained to undo Gaussian noise (σ = 0.2). Each then reconstructs test digits
corrupted at several noise levels; the table gives the mean squared error against the clean
digits, beside the error of the corrupted input itself and of the mean training image.
Writes the table to ``examples/denoising.out.txt``.

    OMP_NUM_THREADS=1 python examples/denoising.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import nnzoo
from nnzoo.models.autoencoder import corrupt

MODELS = {"plain": {}, "DAE masking 0.25": {"noise": "masking", "noise_level": 0.25},
          "DAE gaussian 0.2": {"noise": "gaussian", "noise_level": 0.2}}
TESTS = [("none", 0.0), ("masking", 0.1), ("masking", 0.25), ("masking", 0.4),
         ("gaussian", 0.1), ("gaussian", 0.2), ("gaussian", 0.3)]
SEEDS = (0, 1, 2)
TRAINING = {"epochs": 60, "lr": 2e-3, "batch_size": 64}


@torch.no_grad()
def errors(model, x: torch.Tensor, kind: str, level: float, seed: int) -> tuple[float, float]:
    """(MSE of the corrupted input, MSE of its reconstruction), both against the clean x."""
    noisy = corrupt(x, None if kind == "none" else kind, level,
                    torch.Generator().manual_seed(100 + seed))
    return F.mse_loss(noisy, x).item(), F.mse_loss(model.eval()(noisy), x).item()


def main() -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = nnzoo.load_dataset("digits-reconstruct")
    x = data.test.x
    mean_image = F.mse_loss(data.train.x.mean(0).expand_as(x), x).item()
    results = {(name, test): [] for name in MODELS for test in TESTS}
    noisy_input = {test: [] for test in TESTS}
    for seed in SEEDS:
        for name, options in MODELS.items():
            torch.manual_seed(seed)
            model = nnzoo.create("denoising-autoencoder", **{"noise": None, **options})
            nnzoo.fit(model, data, seed=seed, progress=False, **TRAINING)
            for test in TESTS:
                input_error, error = errors(model, x, *test, seed)
                results[name, test].append(error)
                if name == "plain":
                    noisy_input[test].append(input_error)
    lines = [f"Dense autoencoders 64-128-64-16 on the embedded digits, {TRAINING['epochs']} epochs "
             f"each; test MSE against the clean digits (x 1000), mean over seeds "
             f"{', '.join(map(str, SEEDS))}; the mean training image scores {1000 * mean_image:.1f}",
             "",
             f"{'test noise':<16}{'noisy input':>12}" + "".join(f"{n:>18}" for n in MODELS)]
    for test in TESTS:
        kind, level = test
        label = "none" if kind == "none" else f"{kind} {level:g}"
        cells = [1000 * statistics.mean(results[name, test]) for name in MODELS]
        lines.append(f"{label:<16}{1000 * statistics.mean(noisy_input[test]):>12.1f}"
                     + "".join(f"{c:>18.1f}" for c in cells))
    lines += ["", f"({time.perf_counter() - start:.0f} s on {torch.get_num_threads()} CPU thread)"]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(__file__).with_suffix(".out.txt").write_text(text)


if __name__ == "__main__":
    main()
