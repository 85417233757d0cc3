"""Sequence classifier and forecaster: shapes, cells, lengths, learning on tasks they must solve."""

import pytest
import torch

import nnzoo
from nnzoo.errors import NnzooError
from nnzoo.layers import JordanCell, JordanRNN
from nnzoo.models.sequence import (CELLS, ONE_LAYER_CELLS, Forecaster, SequenceClassifier,
                                   recurrent_layer)


@pytest.mark.parametrize("cell", list(CELLS))
def test_every_cell_gives_scores_per_sequence_and_per_step(cell):
    torch.manual_seed(0)
    x = torch.randn(3, 7, 5)
    many_to_one = SequenceClassifier(5, 8, 4, cell=cell)  # 8: four clockwork modules of 2
    assert many_to_one(x).shape == (3, 4)
    deep = {} if cell in ONE_LAYER_CELLS else {"num_layers": 2, "bidirectional": True}
    many_to_many = SequenceClassifier(5, 8, 4, cell=cell, per_step=True, **deep)
    assert many_to_many(x).shape == (3, 7, 4)


def test_many_to_one_reads_the_last_real_step_of_padded_sequences():
    torch.manual_seed(0)
    model = SequenceClassifier(3, 8, 2, cell="gru", bidirectional=True).eval()
    short = torch.randn(1, 4, 3)
    padded = torch.cat([short, torch.randn(1, 3, 3)], dim=1)       # garbage after step 4
    alone = model(short)
    assert torch.allclose(model(padded, lengths=torch.tensor([4])), alone, atol=1e-6)


def test_classifier_uses_the_final_state_of_the_last_layer():
    torch.manual_seed(0)
    model = SequenceClassifier(4, 5, 3, cell="lstm", num_layers=2).eval()
    x = torch.randn(2, 6, 4)
    out, _ = model.rnn(x)
    assert torch.allclose(model(x), model.head(out[:, -1]), atol=1e-6)


def test_forget_bias_and_irnn_initialisation():
    lstm = recurrent_layer("lstm", 3, 4, forget_bias=1.0)
    assert torch.all(lstm.bias_ih_l0[4:8] == 1) and torch.all(lstm.bias_hh_l0[4:8] == 0)
    coupled = recurrent_layer("coupled", 3, 4, forget_bias=2.0)   # gates f, g, o
    assert torch.all(coupled.bias_ih_l0[:4] == 2)
    irnn = recurrent_layer("irnn", 3, 4)
    assert torch.equal(irnn.weight_hh_l0, torch.eye(4)) and torch.all(irnn.bias_hh_l0 == 0)
    assert irnn.nonlinearity == "relu"
    with pytest.raises(ValueError, match="lstm"):
        recurrent_layer("lsmt", 3, 4)


def test_jordan_layer_is_its_cell_run_step_by_step():
    torch.manual_seed(0)
    layer = JordanRNN(3, 5, 4, batch_first=True, decay=0.5)
    cell: JordanCell = layer.recurrence.cell
    x, y0, s0 = torch.randn(2, 6, 3), torch.randn(2, 4), torch.randn(2, 4)
    out, (y_n, s_n) = layer(x, (y0[None], s0[None]))
    state, expected = (y0, s0), []
    for t in range(6):
        state = cell(x[:, t], state)
        expected.append(state[0])
    torch.testing.assert_close(out, torch.stack(expected, dim=1))
    torch.testing.assert_close(y_n[0], state[0])
    torch.testing.assert_close(s_n[0], state[1])
    assert y_n.shape == s_n.shape == (1, 2, 4)


def test_jordan_and_clockwork_run_one_unidirectional_layer():
    for cell in ONE_LAYER_CELLS:
        with pytest.raises(NnzooError, match="one unidirectional layer"):
            recurrent_layer(cell, 3, 8, num_layers=2)
        with pytest.raises(NnzooError, match="one unidirectional layer"):
            recurrent_layer(cell, 3, 8, bidirectional=True)


@pytest.mark.parametrize("cell", ONE_LAYER_CELLS)
def test_jordan_and_clockwork_classifiers_learn_digits_rows(cell):
    torch.manual_seed(0)
    data = nnzoo.load_dataset("digits", input_shape=(8, 8))
    model = nnzoo.create("rnn-classifier", cell=cell, hidden_size=64)
    result = nnzoo.fit(model, data, epochs=8, lr=1e-2, batch_size=64, clip_grad_norm=1.0,
                       progress=False)
    assert result.test["top1"] > 0.8, result.test


def test_clockwork_periods_are_an_option_of_the_clockwork_cell_only():
    model = nnzoo.create("rnn-classifier", cell="clockwork", periods=[1, 4], hidden_size=6)
    assert model.rnn.cell.periods == (1, 4)  # a list, as read back from a run's config.json
    assert model(torch.rand(2, 8, 8)).shape == (2, 10)
    assert nnzoo.create("forecaster", cell="clockwork", periods=(1, 2)).rnn.cell.periods == (1, 2)
    with pytest.raises(NnzooError, match="option of cell='clockwork'"):
        nnzoo.create("rnn-classifier", periods=(1, 2))


def test_a_cell_asked_for_as_a_model_names_the_command_that_trains_it():
    with pytest.raises(NnzooError, match="rnn-classifier -o cell=jordan"):
        nnzoo.create("jordan")
    with pytest.raises(NnzooError, match="cell=rnn"):
        nnzoo.create("Elman")


def test_registered_classifiers_read_digits_row_by_row():
    for name, cell in (("lstm-classifier", "lstm"), ("gru-classifier", "gru"), ("rnn-classifier", "rnn")):
        model = nnzoo.create(name)
        assert model.cell == cell and model.input_shape == (8, 8)
    assert nnzoo.create("lstm-classifier", cell="peephole").rnn.peephole


def test_lstm_classifier_learns_digits_rows_in_a_few_epochs():
    torch.manual_seed(0)
    data = nnzoo.load_dataset("digits", input_shape=(8, 8))
    model = nnzoo.create("lstm-classifier", hidden_size=32)
    result = nnzoo.fit(model, data, epochs=6, lr=1e-2, batch_size=64, clip_grad_norm=1.0,
                       progress=False)
    assert result.history[-1]["loss"] < 0.5 * result.history[0]["loss"]
    assert result.test["top1"] > 0.8


def test_per_step_classifier_trains_on_the_copy_task_shape():
    torch.manual_seed(0)
    data = nnzoo.load_dataset("copy", T=5, n_train=256, n_val=32, n_test=32)
    model = SequenceClassifier(10, 16, 10, cell="lstm", per_step=True)
    result = nnzoo.fit(model, data, epochs=3, lr=1e-2, batch_size=32, progress=False)
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_forecaster_beats_the_last_value_baseline_on_sines():
    torch.manual_seed(0)
    data = nnzoo.load_dataset("sine", length=1500, window=20, noise=0.0)
    model = Forecaster(1, 32, window=20)
    result = nnzoo.fit(model, data, epochs=15, lr=1e-2, batch_size=32, clip_grad_norm=1.0,
                       progress=False)
    assert result.test["loss"] < 0.5 * data.info["naive_mse"]["test"]


def test_forecaster_reads_the_adding_problem_with_two_channels():
    model = nnzoo.create("forecaster", input_size=2, window=30, cell="gru")
    assert model(torch.rand(4, 30, 2)).shape == (4, 1) and model.input_shape == (30, 2)
