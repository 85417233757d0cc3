"""Confusion matrix of a classifier on the test split: rows the true class, columns the predicted."""

from __future__ import annotations

import torch

from nnzoo.explain import register_run_picture


@torch.no_grad()
def confusion_matrix(model, split, num_classes: int, batch_size: int = 1024) -> torch.Tensor:
    """Counts C[i, j] of test samples of class i predicted as class j."""
    from nnzoo.train.batches import iterate_batches
    from nnzoo.train.loop import call_model

    model.eval()
    device = next(model.parameters()).device
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for x, y in iterate_batches(split.to(device), batch_size):
        predict = getattr(model, "predict", None)
        predicted = predict(x) if callable(predict) else call_model(model, x).argmax(-1)
        keep = y >= 0
        index = (y[keep] * num_classes + predicted[keep]).cpu()
        counts += torch.bincount(index, minlength=num_classes ** 2).view(num_classes, num_classes)
    return counts


def plot_confusion(counts: torch.Tensor, class_names: list[str] | None = None, title: str = ""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = counts.shape[0]
    names = class_names or [str(i) for i in range(k)]
    size = min(12, 2.5 + 0.45 * k)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    ax.imshow(counts.numpy(), cmap="Blues")
    if k <= 30:
        limit = counts.max().item() / 2
        for i in range(k):
            for j in range(k):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j].item()), ha="center", va="center", fontsize=8,
                            color="white" if counts[i, j] > limit else "black")
        ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0)
        ax.set_yticks(range(k), names)
    accuracy = counts.diag().sum().item() / max(1, counts.sum().item())
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title}  test accuracy {accuracy:.2%}".strip())
    fig.tight_layout()
    return fig


@register_run_picture("classify")
def confusion_picture(model, data, folder):
    """``confusion.png`` for a classifier whose outputs are one score per class."""
    if not data.num_classes or len(data.test) == 0 or data.test.y.dim() != 1:
        return []
    counts = confusion_matrix(model, data.test, data.num_classes)
    path = folder.save_figure(plot_confusion(counts, data.class_names, f"{data.name}:"),
                              "confusion.png")
    return [path] if path else []
