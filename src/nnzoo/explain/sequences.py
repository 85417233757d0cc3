"""What ``nnzoo train`` writes after training a sequence model, beside the curves.

    language-model  samples.txt     text written by the model from a seed taken from the test
                                    text, at temperatures 0 (greedy), 0.5, 0.8 and 1.0
    seq2seq         decoding.txt    exact-match on the test split, greedy and beam 5, and the
                    decoding.json   first wrong answers (source → expected, got)
    regress         forecast.png    a forecaster's one-step predictions over the first 200 test
                    forecast.json   windows against the truth; test MSE against the last-value
                                    baseline (for the time-series datasets only)
"""

from __future__ import annotations

from pathlib import Path

import torch

from nnzoo.explain import register_run_picture

TEMPERATURES = (0.0, 0.5, 0.8, 1.0)


def _device(model) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


@register_run_picture("language-model")
def samples_text(model, data, folder) -> list[Path]:
    """``samples.txt``: 400 characters per temperature, same seed text, generator seed 0."""
    if not callable(getattr(model, "sample", None)) or "alphabet" not in data.info:
        return []
    from nnzoo.data.text import decode_text, stream_of

    if model.alphabet is None:
        model.alphabet = data.info["alphabet"]
    text = decode_text(stream_of(data.test)[:100], data.info["alphabet"])
    words = text.split(" ")[1:-1] or [text]  # whole words: the test part may start mid-word
    seed = " ".join(words)[:60].rsplit(" ", 1)[0].lstrip() + " "
    parts = [f"{type(model).__name__} ({model.cell}) trained on {data.info.get('source')}; "
             f"seed text from the test part: {seed!r}", ""]
    for temperature in TEMPERATURES:
        text = model.sample(seed, 400, temperature, torch.Generator().manual_seed(0))
        parts += [f"--- temperature {temperature} {'(greedy)' if temperature == 0 else ''}".rstrip(),
                  text, ""]
    path = folder.write_text("samples.txt", "\n".join(parts))
    return [path] if path else []


@register_run_picture("seq2seq")
def decoding_report(model, data, folder) -> list[Path]:
    """``decoding.txt`` / ``.json``: exact match of greedy and beam-5 decoding on the test split."""
    if not callable(getattr(model, "generate", None)):
        return []
    from nnzoo.models.seq2seq import exact_match

    greedy, wrong = exact_match(model, data.test, beam=1, examples=10)
    beam = exact_match(model, data.test, beam=5)
    lines = [f"{data.name}: exact match on {len(data.test)} held-out test sequences",
             f"  greedy  {greedy:.2%}", f"  beam 5  {beam:.2%}", "",
             "first wrong greedy answers (source -> expected, got):" if wrong else "no wrong answers"]
    lines += [f"  {s} -> {t!r}, got {o!r}" for s, t, o in wrong]
    paths = [folder.write_text("decoding.txt", "\n".join(lines) + "\n"),
             folder.write_json("decoding.json", {"exact_match_greedy": greedy,
                                                 "exact_match_beam5": beam,
                                                 "wrong_greedy": wrong})]
    return [p for p in paths if p]


@register_run_picture("regress")
def forecast_picture(model, data, folder) -> list[Path]:
    """``forecast.png`` and ``forecast.json`` for a time-series forecaster."""
    if "naive_mse" not in data.info or not isinstance(data.test.x, torch.Tensor):
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    was_training = model.training
    model.eval()
    with torch.no_grad():
        predicted = model(data.test.x.to(_device(model))).cpu().flatten()
    model.train(was_training)
    truth, last = data.test.y.flatten(), data.test.x[:, -1, 0]
    mse = torch.mean((predicted - truth) ** 2).item()
    naive = torch.mean((last - truth) ** 2).item()
    shown = slice(0, min(200, len(truth)))
    fig, ax = plt.subplots(figsize=(9, 3.6))
    steps = range(len(truth))[shown]
    ax.plot(steps, truth[shown], color="black", linewidth=1.4, label="true next value")
    ax.plot(steps, predicted[shown], color="tab:orange", linewidth=1.2, label=f"model (MSE {mse:.4f})")
    ax.plot(steps, last[shown], color="tab:blue", linewidth=0.8, linestyle=":",
            label=f"last value (MSE {naive:.4f})")
    ax.set_xlabel("test window")
    ax.set_ylabel("value (standardised)")
    ax.set_title(f"{data.name}: one-step-ahead forecasts, test MSE {mse:.4f} vs last-value "
                 f"baseline {naive:.4f} ({mse / max(naive, 1e-12):.2f}x)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    paths = [folder.save_figure(fig, "forecast.png"),
             folder.write_json("forecast.json", {"test_mse": mse, "naive_mse": naive,
                                                 "ratio": mse / max(naive, 1e-12)})]
    return [p for p in paths if p]
