"""Plain tensors and arrays in and out: ``nnzoo.fit(model, (X, y))``, ``nnzoo.predict(model, X)``
and :class:`Estimator`, a scikit-learn style ``fit / predict / predict_proba / score``.

    >>> est = nnzoo.Estimator("mlp", epochs=20, hidden=(32,))        # doctest: +SKIP
    >>> est.fit(X_train, y_train).score(X_test, y_test)              # doctest: +SKIP
    0.95

Arrays are anything ``torch.as_tensor`` takes (NumPy arrays, lists, tensors). No scikit-learn
is needed; the estimator follows its conventions (``fit`` returns the estimator, ``classes_``,
``score`` is the accuracy for a classifier and R² for a regressor).
"""

from __future__ import annotations

import numpy as np
import torch

from nnzoo.errors import NnzooError

VAL_FRACTION = 0.1  # as the datasets' validation part (nnzoo.data.idx)
VAL_SEED = 20260102


def as_tensor(values, what: str) -> torch.Tensor:
    """``values`` as a tensor; floats as float32."""
    try:
        t = values if isinstance(values, torch.Tensor) else torch.as_tensor(np.asarray(values))
    except (TypeError, ValueError, RuntimeError) as err:
        raise NnzooError(f"{what} must be an array or tensor of numbers; got "
                         f"{type(values).__name__} ({err}).") from None
    return t.float() if t.is_floating_point() else t


def task_of(x: torch.Tensor, y: torch.Tensor) -> str:
    """classify for whole-number class ids (N,), reconstruct for targets shaped like the
    inputs, else regress."""
    if not y.is_floating_point() and y.dim() == 1:
        return "classify"
    return "reconstruct" if y.shape == x.shape else "regress"


def bundle_from_arrays(data, *, val_fraction: float = VAL_FRACTION, seed: int = VAL_SEED):
    """A :class:`~nnzoo.data.DataBundle` from ``(X, y)``: the last ``val_fraction`` of a fixed
    permutation is the validation part, and also the test split (arrays bring no test split of
    their own; score your own held-out data with ``nnzoo.predict``)."""
    from nnzoo.data import DataBundle, Split

    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise NnzooError(f"Training data as arrays must be a pair (X, y); got "
                         f"{type(data).__name__} of {len(data) if hasattr(data, '__len__') else '?'}"
                         f" items. Pass (X, y), or a dataset from nnzoo.load_dataset.")
    x, y = as_tensor(data[0], "X"), as_tensor(data[1], "y")
    if x.dim() == 0 or y.dim() == 0 or len(x) != len(y):
        raise NnzooError(f"X and y must hold one row per sample; got X of shape "
                         f"{tuple(x.shape)} and y of shape {tuple(y.shape)}.")
    if len(x) < 2:
        raise NnzooError(f"Training needs at least 2 samples (one is kept for validation); got "
                         f"{len(x)}.")
    task = task_of(x, y)
    if task == "classify":
        y = y.long()
        if int(y.min()) < 0:
            raise NnzooError(f"Class ids in y must be 0, 1, ...; got {int(y.min())}.")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(len(x) * val_fraction))
    train, val = order[:-n_val], order[-n_val:]
    classes = int(y.max()) + 1 if task == "classify" else None
    val_split = Split(x[val], y[val])
    return DataBundle("arrays", Split(x[train], y[train]), val_split, val_split, task=task,
                      num_classes=classes,
                      class_names=[str(i) for i in range(classes)] if classes else None,
                      input_shape=tuple(x.shape[1:]),
                      info={"from_arrays": True,
                            "note": "from arrays: the validation part is also the test split",
                            "val_fraction": val_fraction, "val_seed": seed})


def _model_and_task(model_or_run):
    """The model (a run folder is loaded) and its task."""
    import nnzoo

    if isinstance(model_or_run, torch.nn.Module):
        made = getattr(model_or_run, "nnzoo_created", None) or {}
        task = nnzoo.get_entry(made["model"]).task if made.get("model") else "classify"
        return model_or_run, task
    model, config = nnzoo.load(model_or_run)
    return model, config.get("task", "classify")


def predict_tensor(model_or_run, x, *, batch_size: int = 1024) -> torch.Tensor:
    """What the model makes of inputs ``x`` (N, ...): class probabilities (N, C) for a
    classifier (softmax of its outputs), the class ids (N,) for a learner with its own decision
    rule (a perceptron), else its outputs; on the CPU, computed in eval mode without gradients."""
    from nnzoo.train.checks import call_model
    from nnzoo.train.scoring import CLASSIFY_TASKS

    model, task = _model_and_task(model_or_run)
    x = as_tensor(x, "X")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = []
            for start in range(0, len(x), batch_size):
                batch = x[start:start + batch_size].to(device)
                if task == "classify" and callable(getattr(model, "predict", None)):
                    parts.append(model.predict(batch).cpu())
                    continue
                out = call_model(model, batch).float()
                parts.append((out.softmax(-1) if task in CLASSIFY_TASKS else out).cpu())
    finally:
        model.train(was_training)
    return torch.cat(parts) if parts else torch.empty(0)


class Estimator:
    """A registered model as a scikit-learn style estimator, trained by ``nnzoo.fit``.

    Args:
        model: a registered name (built at ``fit`` with ``options``, its input size taken from
            X where the model has such an option) or a model.
        settings: the learner's (``epochs``, ``lr``, ``batch_size``...; ``nnzoo info MODEL``).
        options: the model's, for a name.

    ``fit(X, y)`` returns the estimator; ``predict(X)`` gives class labels (classifier) or
    outputs; ``predict_proba(X)`` class probabilities; ``score(X, y)`` accuracy or R².
    """

    def __init__(self, model="mlp", *, settings: dict | None = None, **options):
        self.model, self.settings, self.options = model, dict(settings or {}), options
        self.model_ = None
        self.result_ = None

    def _build(self, x: torch.Tensor):
        import nnzoo

        if isinstance(self.model, torch.nn.Module):
            return self.model
        options = dict(self.options)
        accepted = nnzoo.get_entry(self.model).options()
        if x.dim() == 2:  # feature vectors: size the first layer from X
            for key in ("in_features", "input_size"):
                if key in accepted and key not in options:
                    options[key] = int(x.shape[1])
        return nnzoo.create(self.model, **options)

    def fit(self, X, y) -> Estimator:
        import nnzoo

        data = bundle_from_arrays((X, y))
        self.classes_ = np.arange(data.num_classes) if data.num_classes else None
        if self.classes_ is not None and not isinstance(self.model, torch.nn.Module) \
                and "num_classes" in nnzoo.get_entry(self.model).options() \
                and "num_classes" not in self.options:
            self.options = {**self.options, "num_classes": data.num_classes}
        self.model_ = self._build(data.train.x)
        self.result_ = nnzoo.fit(self.model_, data, progress=None, **self.settings)
        return self

    def _fitted(self):
        if self.model_ is None:
            raise NnzooError("This Estimator is not fitted yet: call fit(X, y) first.")
        return self.model_

    def predict_proba(self, X) -> np.ndarray:
        return predict_tensor(self._fitted(), X).numpy()

    def predict(self, X) -> np.ndarray:
        out = predict_tensor(self._fitted(), X)
        if self.classes_ is not None and out.dim() == 2:
            return out.argmax(1).numpy()
        return out.numpy()

    def score(self, X, y) -> float:
        """Accuracy for a classifier; R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² otherwise."""
        want = as_tensor(y, "y").numpy()
        got = self.predict(X)
        if self.classes_ is not None:
            return float((got == want).mean())
        got = got.reshape(want.shape)
        residual = ((want - got) ** 2).sum()
        total = ((want - want.mean(0)) ** 2).sum()
        return float(1.0 - residual / total) if total > 0 else float(residual == 0)
