import json

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import nnzoo
from nnzoo.data import Split
from nnzoo.train.batches import iterate_batches
from nnzoo.train.optim import schedule_factor


def test_on_device_batches_cover_each_sample_once_like_a_dataloader():
    split = Split(torch.arange(103.0)[:, None], torch.arange(103))
    g = torch.Generator().manual_seed(0)
    ours = torch.cat([y for _, y in iterate_batches(split, 10, shuffle=True, generator=g)])
    theirs = torch.cat([y for _, y in DataLoader(TensorDataset(split.x, split.y), batch_size=10,
                                                  shuffle=True)])
    assert sorted(ours.tolist()) == sorted(theirs.tolist()) == list(range(103))
    assert ours.tolist() != list(range(103))  # really shuffled
    sizes = [len(y) for _, y in iterate_batches(split, 10)]
    assert sizes == [10] * 10 + [3]


def test_inverse_schedule_is_alpha0_over_i_plus_c():
    f = schedule_factor("inverse", 10, c=2.0)
    assert [f(i) for i in range(3)] == [1 / 2, 1 / 3, 1 / 4]
    model = torch.nn.Linear(2, 2)
    data = nnzoo.load_dataset("blobs")
    result = nnzoo.fit(model, data, epochs=3, lr=0.3, optimizer="sgd", schedule="inverse",
                       schedule_c=1.0, progress=False)
    assert [row["lr"] for row in result.history] == pytest.approx([0.3, 0.15, 0.1])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_solves_a_separable_problem(optimizer):
    torch.manual_seed(0)
    model = nnzoo.create("mlp", in_features=2, hidden=(16,), num_classes=2)
    result = nnzoo.fit(model, nnzoo.load_dataset("blobs"), epochs=15, lr=0.01 if optimizer != "sgd"
                       else 0.1, optimizer=optimizer, progress=False)
    assert result.test["top1"] >= 0.95
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_mlp_solves_xor():
    torch.manual_seed(0)
    model = nnzoo.create("mlp", in_features=2, hidden=(8,), activation="tanh", num_classes=2)
    result = nnzoo.fit(model, nnzoo.load_dataset("xor"), epochs=300, batch_size=4, lr=0.05,
                       progress=False)
    assert result.test["top1"] == 1.0


def test_seed_makes_a_cpu_run_repeat():
    def run():
        torch.manual_seed(3)
        model = nnzoo.create("mlp", hidden=(16,), dropout=0.2)
        data = nnzoo.load_dataset("digits", input_shape=(64,))
        return nnzoo.fit(model, data, epochs=2, seed=3, progress=False).history

    first, second = run(), run()
    assert [r["loss"] for r in first] == [r["loss"] for r in second]


def test_early_stopping_restores_the_best_weights():
    torch.manual_seed(0)
    model = nnzoo.create("mlp", hidden=(64,))
    data = nnzoo.load_dataset("digits", input_shape=(64,))
    # A rate this high makes validation loss wander, so the best epoch is not the last.
    result = nnzoo.fit(model, data, epochs=25, lr=0.05, patience=3, progress=False)
    val_losses = [row["val_loss"] for row in result.history]
    best = min(range(len(val_losses)), key=val_losses.__getitem__) + 1
    assert result.best_epoch == best
    restored = nnzoo.evaluate(model, data.val)["loss"]
    assert restored == pytest.approx(val_losses[best - 1], rel=1e-5)


def test_top5_is_at_least_top1():
    torch.manual_seed(0)
    model = nnzoo.create("mlp", hidden=(16,))
    result = nnzoo.fit(model, nnzoo.load_dataset("digits", input_shape=(64,)), epochs=1,
                       progress=False)
    assert result.test["top5"] >= result.test["top1"]


def test_run_folder_contents(tmp_path):
    torch.manual_seed(0)
    model = nnzoo.create("mlp", hidden=(16,))
    out = tmp_path / "run"
    result = nnzoo.fit(model, nnzoo.load_dataset("digits", input_shape=(64,)), epochs=2,
                       progress=False, out=out, config={"model": "mlp",
                                                        "model_options": {"hidden": [16]}})
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "metrics.json", "weights.safetensors", "curves.png"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_top1", "test_loss", "epochs", "train_seconds", "samples_per_second"):
        assert key in metrics
    assert metrics["test_top1"] == pytest.approx(result.test["top1"])
    from nnzoo.runs import load_run

    loaded, config = load_run(out)
    x = torch.rand(4, 64)
    torch.testing.assert_close(loaded(x), model.eval()(x))


def test_an_existing_run_is_never_overwritten(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(ValueError, match="already holds another run"):
        nnzoo.fit(torch.nn.Linear(2, 2), nnzoo.load_dataset("xor"), epochs=1, progress=False,
                  out=tmp_path)
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_a_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot take"):
        nnzoo.fit(nnzoo.create("lenet5"), nnzoo.load_dataset("digits", input_shape=(64,)),
                  epochs=1, progress=False)


def test_training_loss_hook_is_used():
    class Doubled(torch.nn.Linear):
        calls = 0

        def training_loss(self, x, y):
            Doubled.calls += 1
            out = self(x)
            return 2 * torch.nn.functional.cross_entropy(out, y), out

    nnzoo.fit(Doubled(2, 2), nnzoo.load_dataset("xor"), epochs=2, batch_size=2, progress=False)
    assert Doubled.calls == 1 + 4  # once on two samples to check the targets fit, then 2 x 2 steps


def test_fit_under_torch_distributed_with_one_rank(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/rendezvous", rank=0,
                            world_size=1)
    try:
        torch.manual_seed(0)
        model = nnzoo.create("mlp", in_features=2, hidden=(8,), num_classes=2)
        result = nnzoo.fit(model, nnzoo.load_dataset("blobs"), epochs=3, lr=0.01, progress=False,
                           out=tmp_path / "run")
        assert result.test["top1"] > 0.9
        assert (tmp_path / "run" / "metrics.json").exists()  # rank 0 writes

        class AuxLoss(torch.nn.Linear):  # a training_loss is stepped through DDP too
            def training_loss(self, x, y):
                out = self(x)
                return torch.nn.functional.cross_entropy(out, y), out

        torch.manual_seed(0)
        result = nnzoo.fit(AuxLoss(2, 2), nnzoo.load_dataset("blobs"), epochs=3, lr=0.05,
                           progress=False)
        assert result.test["top1"] > 0.9
    finally:
        dist.destroy_process_group()


def test_compiled_training_follows_the_eager_run():
    """torch.compile changes how steps run, not what they compute (400 samples, batches of 100:
    no partial batch, so both runs see the same batches)."""
    def run(compile):
        torch.manual_seed(0)
        model = nnzoo.create("mlp", in_features=2, hidden=(8,), num_classes=2)
        return nnzoo.fit(model, nnzoo.load_dataset("blobs"), epochs=2, batch_size=100,
                         compile=compile, progress=False)

    eager, compiled = run(False), run(True)
    assert [r["loss"] for r in compiled.history] == pytest.approx(
        [r["loss"] for r in eager.history], rel=1e-4)
    assert compiled.test["top1"] == pytest.approx(eager.test["top1"])


def test_compiled_training_leaves_out_the_partial_batch():
    torch.manual_seed(0)
    model = nnzoo.create("mlp", in_features=2, hidden=(8,), num_classes=2)
    result = nnzoo.fit(model, nnzoo.load_dataset("blobs"), epochs=1, batch_size=150,
                       compile=True, progress=False)  # 400 = 2 x 150 + 100 left out
    assert result.samples_per_second * result.train_seconds == pytest.approx(300)


def test_fit_refuses_targets_the_outputs_cannot_be_scored_against(tmp_path):
    data = nnzoo.load_dataset("sine", input_shape=(40,))  # a series to forecast: (N, 1) targets
    model = nnzoo.create("mlp", in_features=40)  # ten class scores
    with pytest.raises(nnzoo.NnzooError, match="cannot be scored against them as a regress task"):
        nnzoo.fit(model, data, epochs=1, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "config.json").exists()  # checked before anything is written


def test_a_model_reading_token_ids_refuses_other_numbers():
    model = nnzoo.create("seq2seq", num_classes=14, src_len=2)  # ids 0..13
    with pytest.raises(nnzoo.NnzooError, match="fractions.*token ids: whole numbers from 0 to 13"):
        nnzoo.fit(model, nnzoo.load_dataset("moons"), epochs=1, progress=False)
    too_big = nnzoo.load_dataset("reversal")
    src, tgt_in = too_big.train.x
    too_big.train.x = (src + 20, tgt_in)  # whole numbers, past the vocabulary
    with pytest.raises(nnzoo.NnzooError, match="whole numbers\\).*from 0 to 13"):
        nnzoo.fit(nnzoo.create("seq2seq"), too_big, epochs=1, progress=False)
