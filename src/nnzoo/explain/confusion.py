"""Confusion matrix of a classifier on the test split: rows the true class, columns the predicted."""

from __future__ import annotations

import torch

from nnzoo.explain import register_run_picture


def confusion_matrix(model, split, num_classes: int, batch_size: int = 1024) -> torch.Tensor:
    """Counts C[i, j] of the split's samples of class i predicted as class j; a last column of
    predictions that name no class is added when there are any (see ``ConfusionCounts``)."""
    from nnzoo.train.scoring import evaluate

    return evaluate(model, split, task="classify", batch_size=batch_size,
                    confusion_classes=num_classes)["confusion"]


NO_CLASS = "(no class)"


def _names(counts: torch.Tensor, class_names: list[str] | None) -> list[str]:
    """Column names: the classes, then "(no class)" when the matrix has that column."""
    names = list(class_names or [str(i) for i in range(counts.shape[0])])
    return names + [NO_CLASS] if counts.shape[1] > counts.shape[0] else names


def per_class(counts: torch.Tensor, class_names: list[str] | None = None) -> list[dict]:
    """Precision (of the samples predicted as the class, the share that are), recall (of the
    class's samples, the share found), F1 = 2PR/(P+R) and support, one row per class."""
    k = counts.shape[0]
    names = _names(counts, class_names)
    found, predicted = counts.diag().double(), counts[:, :k].sum(0).double()
    support = counts.sum(1)  # with the samples predicted as no class
    precision = found / predicted.clamp_min(1)
    recall = found / support.double().clamp_min(1)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    return [{"class": names[i], "precision": float(precision[i]), "recall": float(recall[i]),
             "f1": float(f1[i]), "support": int(support[i])} for i in range(counts.shape[0])]


def most_confused(counts: torch.Tensor, class_names: list[str] | None = None,
                  top: int = 5) -> list[dict]:
    """The largest off-diagonal counts: which true class was taken for which, how often."""
    names = _names(counts, class_names)
    off = counts.clone().fill_diagonal_(0).flatten()
    values, index = off.topk(min(top, off.numel()))
    columns = counts.shape[1]
    return [{"true": names[int(i) // columns], "predicted": names[int(i) % columns], "count": int(v)}
            for v, i in zip(values, index) if v > 0]


def format_report(rows: list[dict], confused: list[dict]) -> str:
    """The per-class table (scikit-learn's classification_report layout) and the confusions."""
    width = max(5, *(len(r["class"]) for r in rows))
    lines = [f"{'class':>{width}}  precision  recall     f1  support"]
    lines += [f"{r['class']:>{width}}  {r['precision']:9.3f}  {r['recall']:6.3f}  {r['f1']:5.3f}  "
              f"{r['support']:7d}" for r in rows]
    n = sum(r["support"] for r in rows)
    macro = {k: sum(r[k] for r in rows) / max(1, len(rows)) for k in ("precision", "recall", "f1")}
    lines.append(f"{'macro':>{width}}  {macro['precision']:9.3f}  {macro['recall']:6.3f}  "
                 f"{macro['f1']:5.3f}  {n:7d}")
    if confused:
        lines.append("most confused (true -> predicted): " + ", ".join(
            f"{c['true']} -> {c['predicted']} ({c['count']})" for c in confused))
    return "\n".join(lines)


def plot_confusion(counts: torch.Tensor, class_names: list[str] | None = None, title: str = ""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k, columns = counts.shape
    names = _names(counts, class_names)
    size = min(12, 2.5 + 0.45 * columns)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    ax.imshow(counts.numpy(), cmap="Blues")
    if k <= 30:
        limit = counts.max().item() / 2
        for i in range(k):
            for j in range(columns):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j].item()), ha="center", va="center", fontsize=8,
                            color="white" if counts[i, j] > limit else "black")
        ax.set_xticks(range(columns), names, rotation=45 if max(map(len, names)) > 2 else 0)
        ax.set_yticks(range(k), names[:k])
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
