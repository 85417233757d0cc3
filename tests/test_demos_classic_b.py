"""The hopfield, rbm and capacity demos write their pictures; `nnzoo demo --list` names them."""

import pytest
import torch

from nnzoo.cli.main import main
from nnzoo.data.letters import letter_bitmaps
from nnzoo.demos import get_demo
from nnzoo.demos.hopfield import damage_lower_half


@pytest.mark.parametrize("name, options, files", [
    ("hopfield", {"letters": "TX"}, {"hopfield_recall.png", "hopfield_energy.png"}),
    ("rbm", {"hidden": 9, "epochs": 2},
     {"rbm_filters.png", "rbm_reconstructions.png", "rbm_samples.png"}),
    ("capacity", {"trials": 2, "max_patterns": 6}, {"hopfield_capacity.png"}),
])
def test_demo_writes_its_pictures(name, options, files, tmp_path):
    paths = get_demo(name).run(tmp_path, seed=0, **options)
    assert {p.name for p in paths} == files
    for path in paths:
        assert path.parent == tmp_path and path.stat().st_size > 10_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_damage_replaces_only_the_lower_half():
    stored = letter_bitmaps("THX").reshape(3, 100) * 2 - 1
    damaged = damage_lower_half(stored, torch.Generator().manual_seed(0))
    assert torch.equal(damaged[:, :50], stored[:, :50])
    assert set(damaged.unique().tolist()) == {-1.0, 1.0}
    assert 10 < (damaged != stored).sum(1).min() and (damaged != stored).sum(1).max() < 40


def test_demo_list_names_them(capsys):
    assert main(["demo", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("hopfield", "rbm", "capacity"))
