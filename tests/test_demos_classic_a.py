"""The perceptron and xor demos: each writes its pictures, and `nnzoo demo --list` names them."""

import pytest

from nnzoo.cli.main import main
from nnzoo.demos import get_demo


@pytest.mark.parametrize("name, files", [("perceptron", {"perceptron_epochs.png",
                                                          "perceptron_errors.png"}),
                                         ("xor", {"xor.png"})])
def test_demo_writes_its_pictures(name, files, tmp_path):
    paths = get_demo(name).run(tmp_path, seed=0)
    assert {p.name for p in paths} == files
    for path in paths:
        assert path.parent == tmp_path and path.stat().st_size > 10_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_list_names_them(capsys):
    assert main(["demo", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "perceptron" in listed and "xor" in listed


def test_demo_command_writes_into_out(tmp_path, capsys):
    assert main(["demo", "xor", "--out", str(tmp_path / "x"), "--seed", "1"]) == 0
    assert (tmp_path / "x" / "xor.png").stat().st_size > 10_000
    assert "wrote" in capsys.readouterr().out
