"""∂L/∂h_t through time: autograd against the Elman recursion by hand, and `nnzoo show gradients`."""

import json

import pytest
import torch

from nnzoo.cli.main import main
from nnzoo.explain.gradients import hidden_state_gradients
from nnzoo.models.sequence import Forecaster


def test_elman_gradients_match_backprop_through_time_by_hand():
    torch.manual_seed(0)
    model = Forecaster(2, 6, cell="rnn", window=12).double()
    x, y = torch.rand(5, 12, 2, dtype=torch.float64), torch.rand(5, 1, dtype=torch.float64)
    rnn = model.rnn
    w_ih, w_hh, b = rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0
    with torch.no_grad():
        h, hs = torch.zeros(5, 6, dtype=torch.float64), []
        for t in range(12):
            h = torch.tanh(x[:, t] @ w_ih.T + h @ w_hh.T + b)
            hs.append(h)
        # L = Σ (W_y h_T + b_y - y)²;  δ_T = 2 e W_y;  δ_{t-1} = (δ_t ⊙ (1 - h_t²)) W_hh
        delta = 2 * (model.head(hs[-1]) - y) @ model.head.weight
        expected = [delta.norm(dim=1).mean()]
        for t in range(11, 0, -1):
            delta = (delta * (1 - hs[t] ** 2)) @ w_hh
            expected.append(delta.norm(dim=1).mean())
    got = hidden_state_gradients(model, x, y)
    assert torch.allclose(got, torch.stack(expected[::-1]), rtol=1e-9)


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole", "jordan", "clockwork"])
def test_the_step_loop_is_the_same_network_as_the_layer(cell):
    torch.manual_seed(0)
    model = Forecaster(2, 8, cell=cell, window=9)  # 8: four clockwork modules of 2
    x, y = torch.rand(3, 9, 2), torch.rand(3, 1)
    norms = hidden_state_gradients(model, x, y)
    assert norms.shape == (9,) and torch.all(norms > 0)
    # The last step's gradient is the head's: 2 (ŷ - y) W_y, with ŷ from the layer itself.
    last = (2 * (model(x) - y) @ model.head.weight).norm(dim=1).mean()
    assert norms[-1].item() == pytest.approx(last.item(), rel=1e-5)


def test_show_gradients_writes_the_picture_and_elman_vanishes_faster(tmp_path, capsys):
    code = main(["show", "gradients", "--model", "rnn", "lstm", "--length", "40", "--hidden", "16",
                 "--steps", "10", "--batch", "32", "--out", str(tmp_path)])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "gradients.png").stat().st_size > 10_000
    numbers = json.loads((tmp_path / "gradients.json").read_text())
    ratio = {name: c["at initialisation"][0] / c["at initialisation"][-1]
             for name, c in numbers["curves"].items()}
    assert ratio["Elman RNN (tanh)"] < 1e-3 * ratio["LSTM"]
    assert set(numbers["curves"]["LSTM"]) == {"at initialisation", "after 10 Adam steps"}


def test_show_gradients_rejects_bad_settings(tmp_path, capsys):
    assert main(["show", "gradients", "--length", "1", "--out", str(tmp_path)]) == 2
    assert "--length >= 2" in capsys.readouterr().err


def test_every_cell_of_the_sequence_models_can_be_drawn():
    from nnzoo.cli.show_gradients import CELL_NAMES, LABELS
    from nnzoo.models.sequence import CELLS

    # Both read nnzoo.layers.cell_names, which is free of torch for --help.
    assert set(CELL_NAMES) == set(LABELS) == set(CELLS)
