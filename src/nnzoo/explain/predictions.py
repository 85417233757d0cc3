"""What a classifier makes of your own pictures: ``nnzoo.predict(run, images)`` gives each
picture's most probable classes, and :func:`predictions_figure` draws each picture beside the
image the network was given (prepared like its dataset's images, :mod:`nnzoo.data.own_images`)
and its probabilities.

    >>> for p in nnzoo.predict("runs/lenet", ["my-digit.png"]):     # doctest: +SKIP
    ...     print(p["image"], p["top"])          # [('7', 0.97), ('1', 0.02), ('9', 0.004)]
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from nnzoo.errors import NnzooError

MAX_ROWS = 12


def check_run_classifies_images(config: dict) -> None:
    from nnzoo.data.own_images import FORMS

    data, task = config.get("data"), config.get("task", "classify")
    if task != "classify" or data not in FORMS:
        raise NnzooError(f"Run of {config['model']!r} was trained to {task} on {data!r}; "
                         f"`nnzoo predict` classifies pictures with a classifier trained on an "
                         f"image dataset ({', '.join(FORMS)}). Use `nnzoo eval` for other runs.")


def dataset_of_run(config: dict, input_shape, data_dir=None):
    """The run's dataset as far as reading pictures needs it (``name``, ``class_names``,
    ``num_classes``, ``info`` with the pixel range and standardisation): as training recorded
    it in the config, or, for a run from before nnzoo recorded it, loaded from its files."""
    from nnzoo.runs import load_run_data

    recorded = config.get("data_description")
    if recorded:
        return SimpleNamespace(**recorded)
    return load_run_data(config, data_dir, input_shape)


def top_classes(model, x, names: list[str], k: int) -> list[tuple[str, float | None]]:
    """The k most probable classes of one input (softmax of the outputs), or the one class a
    learner with its own decision rule (a perceptron) picks, with no probability."""
    from nnzoo.train.checks import call_model

    with torch.no_grad():
        if callable(getattr(model, "predict", None)):
            return [(names[int(model.predict(x)[0])], None)]
        probs = torch.softmax(call_model(model, x).flatten(1).float(), dim=1)[0]
    values, ids = probs.topk(min(k, probs.numel()))
    return [(names[int(i)], float(v)) for v, i in zip(values, ids)]


def predict(run, images, *, top: int = 3, data_dir=None) -> list[dict]:
    """The ``top`` most probable classes of each picture file in ``images`` under the classifier
    of ``run`` (a run folder or its weights file), one dict per picture: ``image`` (the path),
    ``top`` [(class name, probability or None), ...], ``notes`` (what the preparation did),
    ``picture`` (C, H, W) as read and ``seen`` (the image the network was given; for a flat or
    row-by-row input, the dataset's own image form)."""
    from nnzoo.data.own_images import as_dataset_image, prepare_for_run, read_image
    from nnzoo.runs import load_run, run_input_shape

    if top < 1:
        raise NnzooError(f"--top must be at least 1 (got {top}).")
    model, config = load_run(run)
    check_run_classifies_images(config)
    pictures = [(path, read_image(path)) for path in images]  # all readable before any work
    input_shape = run_input_shape(config)
    data = dataset_of_run(config, input_shape, data_dir)
    names = data.class_names or [str(i) for i in range(data.num_classes)]
    found = []
    for path, picture in pictures:
        x, notes = prepare_for_run(picture, data, input_shape, str(path))
        seen = x[0] if x.dim() == 4 else as_dataset_image(picture, data.name, str(path))[0][0]
        found.append({"image": str(path), "top": top_classes(model, x, names, top),
                      "notes": notes, "picture": picture[0], "seen": seen,
                      "name": Path(path).name})
    return found


def _as_picture(image: torch.Tensor) -> tuple[np.ndarray, str | None]:
    """(H, W) or (H, W, 3) in [0, 1] for imshow, and the colour map."""
    a = image.detach().float().cpu()
    if a.dim() == 3 and a.shape[0] == 3:
        a = a.permute(1, 2, 0)
        lo, hi = float(a.min()), float(a.max())
        return ((a - lo) / max(hi - lo, 1e-8)).numpy(), None  # standardised colour back to [0, 1]
    return a.reshape(a.shape[-2:]).numpy() if a.dim() == 3 else a.numpy(), "gray"


def predictions_figure(rows: list[dict], title: str = ""):
    """One row per picture: ``rows`` of {"name", "picture" (C, H, W), "seen" (C, H, W) or
    (H, W), "top" [(class name, probability or None), ...]}; at most MAX_ROWS are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = rows[:MAX_ROWS]
    fig, axes = plt.subplots(len(shown), 3, figsize=(7.5, 2.1 * len(shown)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1.6]}, layout="constrained")
    for (own, seen, bars), row in zip(axes, shown):
        for ax, image, label in ((own, row["picture"], row["name"]),
                                 (seen, row["seen"], "as the network sees it")):
            picture, cmap = _as_picture(image)
            ax.imshow(picture, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None,
                      interpolation="nearest")
            ax.set_title(label, fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
        names = [name for name, _ in row["top"]][::-1]
        if row["top"][0][1] is None:  # a learner that decides by its own rule: no probabilities
            bars.text(0.5, 0.5, f"decides: {row['top'][0][0]}", ha="center", va="center",
                      fontsize=14)
            bars.set_axis_off()
            continue
        probs = [p for _, p in row["top"]][::-1]
        bars.barh(range(len(probs)), probs, color=["#bbb"] * (len(probs) - 1) + ["#1f77b4"])
        bars.set_yticks(range(len(probs)), names)
        bars.set_xlim(0, 1)
        bars.set_xlabel("probability", fontsize=9)
        for y, p in enumerate(probs):
            bars.text(min(p + 0.02, 0.8), y, f"{100 * p:.1f} %", va="center", fontsize=8)
    if len(rows) > MAX_ROWS:
        title += f" (first {MAX_ROWS} of {len(rows)} pictures)"
    if title:
        fig.suptitle(title)
    return fig
