"""Time series for one-step-ahead forecasting: a window of W values → the next value.

    sine          a mixture of three sines (periods 25, 51 and 107 steps, amplitudes 1, 0.6,
                  0.4, phases from the seed) plus Gaussian noise (``noise``, default 0.05)
    mackey-glass  the Mackey-Glass delay differential equation (Mackey & Glass 1977)
                      dx/dt = β x(t - τ) / (1 + x(t - τ)^n) - γ x(t)
                  with β = 0.2, γ = 0.1, n = 10, τ = 17 (chaotic), x(t ≤ 0) = 1.2, integrated
                  by fourth-order Runge-Kutta with step 0.1 (the delayed value at a half step is
                  the mean of its two neighbours on the grid), sampled once per time unit after
                  a transient of 500 units is dropped
    csv           one column of a user's CSV file (``path=``, ``column=`` a header name or a
                  0-based index; default the last column); a header row is recognised when its
                  cell in that column is not a number

The series is cut in time order into train / validation / test (70 / 15 / 15 %), each part
windowed on its own (no window straddles two parts), and standardised with the training part's
mean and standard deviation (``info["mean"]``, ``info["std"]``). x is (N, W, 1), y is (N, 1).
``info["naive_mse"]`` per split is the MSE of the last-value forecast x̂_{t+1} = x_t, the
baseline any forecaster must beat.
"""

from __future__ import annotations

import csv
import math
import os
from array import array
from itertools import pairwise
from pathlib import Path

import torch

from nnzoo.data import DataBundle, Split, register_dataset
from nnzoo.data._limits import MAX_CSV_BYTES, MAX_CSV_ROWS, non_utf8_position
from nnzoo.errors import NnzooError

SINE_COMPONENTS = ((25.0, 1.0), (51.0, 0.6), (107.0, 0.4))  # (period in steps, amplitude)


def sine_mixture(length: int, noise: float = 0.05, seed: int = 0) -> torch.Tensor:
    """(length,) samples of Σ a_k sin(2π t / P_k + φ_k) + noise·N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float64)
    phases = 2 * math.pi * torch.rand(len(SINE_COMPONENTS), generator=g, dtype=torch.float64)
    series = sum(a * torch.sin(2 * math.pi * t / p + phi)
                 for (p, a), phi in zip(SINE_COMPONENTS, phases))
    series = series + noise * torch.randn(length, generator=g, dtype=torch.float64)
    return series.float()


def mackey_glass(length: int, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1,
                 n: float = 10.0, x0: float = 1.2, dt: float = 0.1, sample_every: float = 1.0,
                 transient: float = 500.0) -> torch.Tensor:
    """(length,) samples of the Mackey-Glass series, one per ``sample_every`` time units."""
    lag = round(tau / dt)
    stride = round(sample_every / dt)
    skip = round(transient / dt)
    steps = skip + length * stride
    history = [x0] * (lag + 1)  # x on the grid; history[-1 - lag] is x(t - τ)

    def f(x, delayed):
        return beta * delayed / (1.0 + delayed ** n) - gamma * x

    for _ in range(steps):
        x = history[-1]
        d0, d1 = history[-1 - lag], history[-lag]  # x(t - τ), x(t + dt - τ)
        dh = 0.5 * (d0 + d1)
        k1 = f(x, d0)
        k2 = f(x + 0.5 * dt * k1, dh)
        k3 = f(x + 0.5 * dt * k2, dh)
        k4 = f(x + dt * k3, d1)
        history.append(x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4))
    grid = history[lag + 1 + skip:]
    return torch.tensor(grid[stride - 1::stride][:length], dtype=torch.float32)


def read_csv_column(path, column=None, delimiter: str = ",") -> torch.Tensor:
    """The numbers in one column of a CSV file, as a float tensor (header row skipped).

    The file is read row by row, keeping only that column's numbers, and is refused (with the
    file, the row and the limit) when it is larger than ``MAX_CSV_BYTES``, has more than
    ``MAX_CSV_ROWS`` rows, a field longer than the csv module's field limit, a NUL byte, or
    text that is not UTF-8.
    """
    path, name = Path(path), str(path)
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise NnzooError(f"Cannot read CSV file {name!r}: {err}. Expected a UTF-8 text "
                         f"file of comma-separated columns.") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_CSV_BYTES:
            raise NnzooError(f"CSV file {name!r} is {size:,} bytes, more than the "
                             f"{MAX_CSV_BYTES:,} nnzoo reads (nnzoo.data._limits.MAX_CSV_BYTES); "
                             f"expected a series of at most {MAX_CSV_ROWS:,} rows.")
        try:
            reader = csv.reader(fh, delimiter=delimiter)
        except (TypeError, ValueError) as err:
            raise NnzooError(f"CSV delimiter {delimiter!r} cannot be used ({err}); expected "
                             f"one character such as ',' or ';'.") from None
        try:
            return _read_column(reader, column, path)
        except csv.Error as err:
            raise NnzooError(f"CSV file {name!r}, row {reader.line_num}: {err} (the csv "
                             f"module reads fields of at most {csv.field_size_limit():,} "
                             f"characters and no NUL bytes); expected rows of numbers.") from None
        except UnicodeDecodeError:
            line, byte = non_utf8_position(path) or (reader.line_num, 0)
            raise NnzooError(f"CSV file {name!r} is not UTF-8 text: row {line + 1} holds a "
                             f"byte that is not UTF-8 (byte {byte + 1} of the row); expected a "
                             f"UTF-8 text file of comma-separated columns.") from None


FLOAT32_MAX = float(torch.finfo(torch.float32).max)  # beyond it a value is inf once read


def _read_column(reader, column, path: Path) -> torch.Tensor:
    values, index = array("d"), None
    bad, first_bad = 0, None  # cells that are NaN, inf, or too large for float32 (1e300)
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        if index is None:  # the first row: a header unless its cell is a number
            index = _column_index(column, row, path)
            try:
                float(row[index])
            except (ValueError, IndexError):
                continue
        if len(values) == MAX_CSV_ROWS:
            raise NnzooError(f"CSV file {str(path)!r} has more than {MAX_CSV_ROWS:,} rows of "
                             f"numbers, the most nnzoo reads (nnzoo.data._limits.MAX_CSV_ROWS); "
                             f"expected a shorter series.")
        try:
            values.append(float(row[index]))
            if not abs(values[-1]) <= FLOAT32_MAX:  # NaN fails this comparison too
                bad, first_bad = bad + 1, first_bad or (reader.line_num, row[index])
        except (ValueError, IndexError):
            cell = row[index] if index < len(row) else "nothing"
            which = "the last column" if column is None else f"column {column!r}"
            raise NnzooError(f"CSV file {str(path)!r}, row {reader.line_num}: {which} holds "
                             f"{cell!r}, not a number; expected a number on every row.") from None
    if index is None:
        raise NnzooError(f"CSV file {str(path)!r} is empty; expected rows of numbers.")
    if bad:  # refused here, where rows are known: once standardised and windowed, one NaN is many
        line, cell = first_bad
        raise NnzooError(f"CSV file {str(path)!r} holds {bad:,} value{'s' if bad != 1 else ''} "
                         f"that {'are' if bad != 1 else 'is'} NaN, infinite or beyond float32's "
                         f"range (the first: {cell!r} in row {line}); expected finite numbers. "
                         f"Remove or fill them before training.")
    return torch.tensor(values, dtype=torch.float32)


def _column_index(column, header: list[str], path: Path) -> int:
    names = [h.strip() for h in header]
    if column is None:
        return len(header) - 1
    if isinstance(column, int):
        if not 0 <= column < len(header):
            raise NnzooError(f"CSV file {str(path)!r} has {len(header)} columns; column index "
                             f"{column} is out of range (0-based).")
        return column
    if str(column).strip() in names:
        return names.index(str(column).strip())
    raise NnzooError(f"CSV file {str(path)!r} has no column {column!r}; its header names "
                     f"{', '.join(repr(n) for n in names)}.")


def windows(series: torch.Tensor, window: int) -> Split:
    """x[i] = series[i : i + W] (as (W, 1)), y[i] = series[i + W]."""
    x = series.unfold(0, window, 1)[:-1]                                  # (N, W)
    return Split(x.unsqueeze(-1).contiguous(), series[window:].unsqueeze(-1).clone())


def forecasting_bundle(name: str, series: torch.Tensor, window: int, info: dict) -> DataBundle:
    """The series cut 70/15/15 in time order, standardised by the training part, windowed."""
    if not isinstance(window, int) or window < 1:
        raise NnzooError(f"Dataset {name!r}: window must be a positive integer; got {window!r}.")
    n = len(series)
    cuts = (0, int(0.7 * n), int(0.85 * n), n)
    parts = [series[a:b] for a, b in pairwise(cuts)]
    if min(len(p) for p in parts) <= window:
        raise NnzooError(f"Dataset {name!r}: a series of {n} values is too short for windows of "
                         f"{window}; each of its 70/15/15 % parts must be longer than the window "
                         f"(at least {math.ceil((window + 1) / 0.15)} values).")
    mean, std = parts[0].mean(), parts[0].std().clamp_min(1e-8)
    splits = [windows((p - mean) / std, window) for p in parts]
    naive = {k: float(((s.x[:, -1] - s.y) ** 2).mean()) for k, s in zip(("train", "val", "test"), splits)}
    return DataBundle(name, *splits, task="regress", input_shape=(window, 1),
                      info={**info, "window": window, "mean": float(mean), "std": float(std),
                            "naive_mse": naive})


def _window(input_shape, window):
    if window is not None:
        return window
    return int(input_shape[0]) if input_shape else 40


@register_dataset("sine", task="regress", description="mixture of three sines + noise: next value from 40")
def load_sine(*, input_shape=None, window: int | None = None, length: int = 4_000,
              noise: float = 0.05, seed: int = 0) -> DataBundle:
    series = sine_mixture(length, noise, seed)
    return forecasting_bundle("sine", series, _window(input_shape, window),
                              {"components": SINE_COMPONENTS, "noise": noise, "seed": seed})


@register_dataset("mackey-glass", task="regress",
                  description="Mackey-Glass chaotic series (tau=17): next value from 40")
def load_mackey_glass(*, input_shape=None, window: int | None = None, length: int = 4_000,
                      tau: float = 17.0) -> DataBundle:
    series = mackey_glass(length, tau=tau)
    return forecasting_bundle("mackey-glass", series, _window(input_shape, window),
                              {"tau": tau, "beta": 0.2, "gamma": 0.1, "n": 10, "dt": 0.1})


@register_dataset("csv", task="regress", description="one column of your CSV file (-d path=, -d column=)")
def load_csv(*, input_shape=None, path: str | None = None, column=None, delimiter: str = ",",
             window: int | None = None) -> DataBundle:
    if path is None:
        raise NnzooError("Dataset 'csv' needs the file: pass -d path=FILE.csv (and -d column=NAME "
                         "or a 0-based index; default the last column).")
    series = read_csv_column(path, column, delimiter)
    return forecasting_bundle("csv", series, _window(input_shape, window),
                              {"path": str(path), "column": column})
