"""Learners that call a model's own learning rule instead of a loss and an optimizer.

    PerceptronLearner   the Rosenblatt rule (``Perceptron.learn_epoch``), stops when converged
    BackpropLearner     explicit backpropagation sensitivities (``BackpropMLP.learn_epoch``)
    RBFLearner          k-means centres and a least-squares output layer, one step
    RBMLearner          contrastive divergence CD-1 (``RBM.learn_epoch``)

Each is run by :func:`nnzoo.train.lifecycle.run` like any learner, so checkpoints, resume,
signals and the non-finite guard are the same as for gradient descent.
"""

from __future__ import annotations

import torch



class _Rule:
    """What the rule learners share: the model and the data on the CPU, a generator, and no
    steps within an epoch (the progress bar counts epochs)."""

    steps_per_epoch = 1

    def __init__(self, model, data, *, epochs: int, seed: int, **settings):
        self.model, self.data = model.cpu(), data
        self.given = {**settings, "epochs": epochs, "seed": seed}
        self.s = settings
        self.generator = torch.Generator().manual_seed(seed)
        self.samples_per_epoch = len(data.train)

    def settings(self) -> dict:
        return {"rule": self.rule, **self.given}

    def prepare(self) -> None:
        pass

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


class PerceptronLearner(_Rule):
    """The Rosenblatt rule, online, in an order shuffled each epoch; training stops at the first
    epoch without a misclassified sample (``converged``)."""

    TAKES = {"epochs": 100, "lr": 0.5, "seed": 0}
    rule = "Rosenblatt's perceptron rule"

    def prepare(self) -> None:
        self.x, self.t = self.model.prepare(self.data.train.x, self.data.train.y)
        self.converged = False

    def epoch(self, state) -> dict:
        order = torch.randperm(len(self.x), generator=self.generator)
        wrong = self.model.learn_epoch(self.x, self.t, self.s["lr"], order)
        self.converged = self.model.converged = not wrong
        state.stop = state.stop or self.converged
        state.step_done()
        # errors are counted while the weights move; top1 is that of the weights at the end
        return {"errors": len(wrong), "top1": self.model.score(self.data.train.x, self.data.train.y)}

    def validate(self) -> dict:
        val = self.data.val
        return {"top1": self.model.score(val.x, val.y)} if len(val) else {}

    def test(self) -> dict:
        test = self.data.test
        return {"top1": self.model.score(test.x, test.y), "errors":
                int((self.model.predict(test.x) != self.model.class_ids(test.y)).sum())}

    def extra_metrics(self) -> dict:
        return {"converged": self.converged}

    def curves(self, result, title):
        from nnzoo.explain.perceptron import plot_errors

        return plot_errors([row["errors"] for row in result.history],
                           title=title or "Rosenblatt rule")

    def state_dict(self) -> dict:
        return {**super().state_dict(), "converged": self.converged}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.converged = self.model.converged = state["converged"]


class BackpropLearner(_Rule):
    """Steepest descent with the sensitivities of explicit backpropagation (no autograd):
    ``batch_size`` None is batch learning, 1 online learning."""

    TAKES = {"epochs": 3000, "lr": 2.0, "batch_size": None, "seed": 0}
    rule = "backpropagation"

    def settings(self) -> dict:
        return {**super().settings(), "loss": self.model.loss}

    def epoch(self, state) -> dict:
        train = self.data.train
        loss = self.model.learn_epoch(train.x, train.y, lr=self.s["lr"],
                                      batch_size=self.s["batch_size"], generator=self.generator)
        state.step_done()
        return {"loss": loss}

    def _scores(self, split) -> dict:
        if not len(split):
            return {}
        with torch.no_grad():
            a = self.model(split.x.to(self.model.layers[0].weight.dtype))
            loss = self.model.loss_value(a, self.model.targets(split.y, a)).item()
        return {"loss": loss, "top1": self.model.score(split.x, split.y)}

    def validate(self) -> dict:
        return self._scores(self.data.val)

    def test(self) -> dict:
        return self._scores(self.data.test)

    def extra_metrics(self) -> dict:
        return {"train_top1": self.model.score(self.data.train.x, self.data.train.y)}

    def curves(self, result, title):
        from nnzoo.explain.curves import plot_curves

        history = result.history
        thinned = history[::max(1, len(history) // 200)]  # ≤ ~200 markers, the last kept
        thinned += history[-1:] if thinned[-1] is not history[-1] else []
        return plot_curves(thinned, title=title or "explicit backpropagation")


class RBFLearner(_Rule):
    """k-means centres, widths from their spacing, then the output layer by least squares:
    one step, so one "epoch"."""

    TAKES = {"seed": 0}
    rule = "k-means + least squares"

    def epoch(self, state) -> dict:
        train = self.data.train
        mse = self.model.fit(train.x, train.y, seed=self.given["seed"])[-1]
        state.step_done()
        row = {"loss": mse}
        if self.model.task == "classify":
            row["top1"] = self.model.score(train.x, train.y)
        return row

    def _scores(self, split) -> dict:
        if not len(split):
            return {}
        with torch.no_grad():
            scores = {"loss": ((self.model(split.x) - self.model.targets(split.y)) ** 2).mean().item()}
        if self.model.task == "classify":
            scores["top1"] = self.model.score(split.x, split.y)
        return scores

    def validate(self) -> dict:
        return self._scores(self.data.val)

    def test(self) -> dict:
        return self._scores(self.data.test)


class RBMLearner(_Rule):
    """Contrastive divergence (CD-1) with momentum and weight decay, Hinton's (2010) guide, on
    ``device`` (auto: a CUDA GPU when there is one), with the model, the data and the generator
    there."""

    TAKES = {"epochs": 30, "lr": 0.1, "batch_size": 20, "momentum": 0.5, "weight_decay": 1e-4,
             "seed": 0, "device": "auto"}
    rule = "contrastive divergence (CD-1)"

    def __init__(self, model, data, *, epochs: int, seed: int, device="auto", **settings):
        from nnzoo.train.scoring import resolve_device

        super().__init__(model, data, epochs=epochs, seed=seed, device=device, **settings)
        self.device = resolve_device(device)
        self.model, self.data = model.to(self.device), data.to(self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def settings(self) -> dict:
        return {**super().settings(), "device_used": str(self.device)}

    def prepare(self) -> None:
        self.x = self.model._rows(self.data.train.x)
        self.velocity = self.model.start_learning(self.x)

    def epoch(self, state) -> dict:
        s = self.s
        error = self.model.learn_epoch(self.x, lr=s["lr"], k=1, batch_size=s["batch_size"],
                                       momentum=s["momentum"], weight_decay=s["weight_decay"],
                                       generator=self.generator, velocity=self.velocity)
        state.step_done()
        return {"loss": error}

    def _mse(self, split) -> float:
        return ((self.model.reconstruct(split.x) - self.model._rows(split.x)) ** 2).mean().item()

    def validate(self) -> dict:
        return {"loss": self._mse(self.data.val)} if len(self.data.val) else {}

    def test(self) -> dict:
        rows = self.model._rows(self.data.test.x)
        return {"loss": self._mse(self.data.test),
                "free_energy": self.model.free_energy(rows).mean().item()}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "velocity": self.velocity,
                "epochs_trained": self.model.epochs_trained}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        for mine, saved in zip(self.velocity, state["velocity"]):
            mine.copy_(saved)
        self.model.epochs_trained = state["epochs_trained"]
