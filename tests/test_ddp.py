"""Data-parallel training: two CPU processes (gloo on the loopback address) end where one ends.

``--batch-size`` is the global batch: each rank takes its slice of the same shuffled order and
weighs its loss by its share, so the two processes take one process's steps. The data here
leave a last batch of one sample, smaller than the two ranks, so one rank's slice is empty.
"""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import nnzoo

SETTINGS = {"batch_size": 16, "lr": 0.01, "optimizer": "adam", "seed": 3, "device": "cpu"}


def arrays():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(90, 6, generator=g)                  # 81 for training: 5 batches of 16 and 1
    return x, (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()


def tiny_mlp():
    torch.manual_seed(11)
    return nnzoo.create("mlp", in_features=6, num_classes=3, hidden=(8,))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank: int, world: int, port: int, folder: str) -> None:
    from pathlib import Path

    from safetensors.torch import save_file

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        model = tiny_mlp()  # a run stopped after one epoch, then resumed, both under DDP
        out = Path(folder) / "resumed"
        nnzoo.fit(model, arrays(), epochs=1, out=out, progress=None, **SETTINGS)
        whole = nnzoo.fit(model, arrays(), epochs=3, resume=out, progress=None, **SETTINGS)
        if rank == 0:
            losses = torch.tensor([row["loss"] for row in whole.history])
            save_file({**{f"resumed.{k}": v for k, v in model.state_dict().items()},
                       "losses": losses}, str(Path(folder) / "rank0.safetensors"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    from safetensors.torch import load_file

    folder = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker, args=(2, free_port(), str(folder)), nprocs=2, join=True)
    return folder, load_file(str(folder / "rank0.safetensors"))


def test_two_processes_end_where_one_process_ends(two_processes):
    _, saved = two_processes
    model = tiny_mlp()
    alone = nnzoo.fit(model, arrays(), epochs=3, progress=None, **SETTINGS)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(saved[f"resumed.{name}"], value, rtol=0, atol=1e-5)
    # the epoch's training loss counts both ranks' slices
    torch.testing.assert_close(saved["losses"], torch.tensor([r["loss"] for r in alone.history]),
                               rtol=1e-5, atol=1e-6)
    assert saved["losses"][-1] < saved["losses"][0]  # it learned: the weights moved


def test_rank_0_alone_writes_the_run(two_processes):
    folder, _ = two_processes
    assert sorted(p.name for p in folder.iterdir()) == ["rank0.safetensors", "resumed"]
    assert (folder / "resumed" / "metrics.json").exists()
    assert not any(p.name.startswith("resumed-") for p in folder.iterdir())


def test_a_rank_s_slice_of_a_global_batch_is_its_share_of_the_one_process_batch():
    from nnzoo.train.batches import rank_slice

    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    parts = [rank_slice(x, y, r, 3) for r in range(3)]
    assert torch.cat([p[1] for p in parts]).tolist() == list(range(10))  # same order
    assert [p[2] for p in parts] == [3 * 3 / 10, 3 * 3 / 10, 4 * 3 / 10]
    empty = rank_slice(x[:1], y[:1], 0, 2)
    assert len(empty[1]) == 0 and empty[2] == 0.0
