"""Metrics accumulated as tensors on the device (one host sync per epoch, not per step)."""

from __future__ import annotations

import torch

from nnzoo.train.losses import IGNORE_INDEX


class ConfusionCounts:
    """C[i, j]: the samples of true class i that were predicted as class j, counted on the
    device. Targets of -100 (padding) are not counted. A prediction that names no class (a
    perceptron's binary code above k - 1) goes to an extra last column, "no class", which
    :meth:`result` includes only when it holds something."""

    def __init__(self, num_classes: int, device):
        self.num_classes = num_classes
        self.counts = torch.zeros(num_classes * (num_classes + 1), device=device, dtype=torch.long)

    @torch.no_grad()
    def add(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        keep = (target != IGNORE_INDEX).flatten()
        predicted, target = predicted.flatten()[keep], target.flatten()[keep]
        k = self.num_classes
        if len(target) and not 0 <= int(target.min()) <= int(target.max()) < k:
            raise ValueError(f"True classes must lie in 0..{k - 1} for a {k}-class confusion "
                             f"matrix; found {int(target.min())} to {int(target.max())}.")
        predicted = torch.where((predicted >= 0) & (predicted < k), predicted, k)
        self.counts += torch.bincount(target * (k + 1) + predicted, minlength=len(self.counts))

    def result(self) -> torch.Tensor:
        """(k, k) counts, or (k, k + 1) when some predictions named no class."""
        counts = self.counts.view(self.num_classes, self.num_classes + 1).cpu()
        return counts if counts[:, -1].any() else counts[:, :-1].contiguous()


class Tally:
    """Running sums of loss·n, top-1 hits, top-5 hits and n, kept on the device; with
    ``confusion`` (a :class:`ConfusionCounts`) the top-1 predictions are counted there too.

    Per-step targets ``(N, T)`` may hold -100 (padding): those positions count in neither the
    hits (an argmax is never -100) nor n.
    """

    def __init__(self, device, classify: bool, top5: bool = True,
                 confusion: ConfusionCounts | None = None):
        self.classify = classify
        self.top5 = top5  # off while training: top-5 is a validation metric, and costs a topk
        self.confusion = confusion
        self.loss_sum = torch.zeros((), device=device)
        self.hits = torch.zeros(2, device=device, dtype=torch.long)
        self.n_tensor = torch.zeros((), device=device, dtype=torch.long)
        self.n = 0

    @torch.no_grad()
    def add(self, loss: torch.Tensor, outputs: torch.Tensor | None, y: torch.Tensor) -> None:
        classify = self.classify and outputs is not None and outputs.dim() >= 2 \
            and outputs.shape[-1] > 1 and not y.is_floating_point()
        if classify and y.dim() > 1:
            n = (y != IGNORE_INDEX).sum()
            self.n_tensor += n
            self.loss_sum += loss.detach() * n
        else:
            n = y.shape[0]
            self.n += n
            self.loss_sum += loss.detach() * n
        if classify:
            scores, target = outputs.flatten(0, -2), y.flatten()
            if self.top5:
                top = scores.topk(min(5, scores.shape[-1]), dim=-1).indices
                hits, predicted = top == target[:, None], top[:, 0]
                self.hits += torch.stack([hits[:, 0].sum(), hits.any(1).sum()])
            else:
                predicted = scores.argmax(-1)
                self.hits[0] += (predicted == target).sum()
            if self.confusion is not None:
                self.confusion.add(predicted, target)

    def result(self) -> dict[str, float]:
        loss_sum, (top1, top5), n_steps = self.loss_sum.item(), self.hits.tolist(), self.n_tensor.item()
        n = max(self.n + n_steps, 1)
        out = {"loss": loss_sum / n}
        if self.classify:
            out["top1"] = top1 / n
            if self.top5:
                out["top5"] = top5 / n
        return out
