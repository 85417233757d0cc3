from types import SimpleNamespace

import torch

from nnzoo.train.callbacks import Checkpoint, EarlyStopping, ProgressBar


def _state(model, losses):
    return SimpleNamespace(model=model, history=[{"val_loss": v} for v in losses], epoch=len(losses),
                           stop=False, best_epoch=None, epochs=10, steps_per_epoch=1, config={})


def test_early_stopping_waits_patience_epochs_then_restores_best():
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2)
    losses = [1.0, 0.5, 0.7, 0.8]
    best_weight = None
    for epoch in range(1, len(losses) + 1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        state = _state(model, losses[:epoch])
        stopper.on_epoch_end(state)
        if epoch == 2:
            best_weight = model.weight.item()
        if epoch < 4:
            assert not state.stop
    assert state.stop and stopper.best_epoch == 2
    stopper.on_train_end(state)
    assert model.weight.item() == best_weight and state.best_epoch == 2


def test_checkpoint_writes_weights_every_n_epochs(tmp_path):
    from nnzoo.runs import RunFolder

    model = torch.nn.Linear(2, 1)
    saver = Checkpoint(RunFolder(tmp_path), every=2)
    for epoch in range(1, 5):
        state = _state(model, [1.0] * epoch)
        state.config = {"model": "mlp"}
        saver.on_epoch_end(state)
    assert saver.saved_epochs == [2, 4]
    assert (tmp_path / "checkpoint.safetensors").exists()


def test_progress_bar_counts_steps(capsys):
    import io

    buffer = io.StringIO()
    bar = ProgressBar(file=buffer)
    state = _state(torch.nn.Linear(1, 1), [])
    state.epochs, state.steps_per_epoch = 2, 3
    bar.on_train_begin(state)
    for epoch in range(2):
        for _ in range(3):
            bar.on_step_end(state)
        state.history.append({"loss": 0.5, "val_loss": 0.4})
        state.epoch = epoch + 1
        bar.on_epoch_end(state)
    assert bar.bar.n == 6
    bar.on_train_end(state)
    assert "val_loss=0.4000" in buffer.getvalue()


def test_save_result_writes_weights_then_metrics(tmp_path):
    """The weights carry the config and the metrics (a weights file alone still evaluates);
    metrics.json adds the details (the history)."""
    import json

    from nnzoo.runs import RunFolder, read_config

    model = torch.nn.Linear(2, 1)
    RunFolder(tmp_path / "run").save_result(model, {"model": "mlp"}, {"top1": 0.5},
                                            history=[{"epoch": 1}])
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics == {"top1": 0.5, "history": [{"epoch": 1}]}
    (tmp_path / "alone").mkdir()
    (tmp_path / "run" / "weights.safetensors").rename(tmp_path / "alone" / "w.safetensors")
    config, _ = read_config(tmp_path / "alone" / "w.safetensors")
    assert config == {"model": "mlp", "result": {"top1": 0.5}}
