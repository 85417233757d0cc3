"""Metrics accumulated as tensors on the device (one host sync per epoch, not per step)."""

from __future__ import annotations

import torch

from nnzoo.train.losses import IGNORE_INDEX


class Tally:
    """Running sums of loss·n, top-1 hits, top-5 hits and n, kept on the device.

    Per-step targets ``(N, T)`` may hold -100 (padding): those positions count in neither the
    hits (an argmax is never -100) nor n.
    """

    def __init__(self, device, classify: bool, top5: bool = True):
        self.classify = classify
        self.top5 = top5  # off while training: top-5 is a validation metric, and costs a topk
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
                hits = top == target[:, None]
                self.hits += torch.stack([hits[:, 0].sum(), hits.any(1).sum()])
            else:
                self.hits[0] += (scores.argmax(-1) == target).sum()

    def result(self) -> dict[str, float]:
        loss_sum, (top1, top5), n_steps = self.loss_sum.item(), self.hits.tolist(), self.n_tensor.item()
        n = max(self.n + n_steps, 1)
        out = {"loss": loss_sum / n}
        if self.classify:
            out["top1"] = top1 / n
            if self.top5:
                out["top5"] = top5 / n
        return out
