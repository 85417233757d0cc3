"""Layer tables: every learned number of a model is in a row, or named in a note."""

import pytest

import nnzoo
from nnzoo.cli.main import main
from nnzoo.explain.summary import summarize

SMALL = [name for name in nnzoo.list_models() if nnzoo.get_entry(name).params < 2_000_000]


def _summary(name, **options):
    model = nnzoo.create(name, **options)
    shape = tuple(getattr(model, "input_shape", None) or nnzoo.get_entry(name).input_shape)
    return model, summarize(model, shape)


@pytest.mark.parametrize("name", SMALL)
def test_rows_add_up_to_the_total(name):
    model, table = _summary(name)
    assert table.rows[0].type == "input" and len(table.rows) > 1, "a table with no layers"
    assert sum(row.params for row in table.rows) == table.total
    if not callable(getattr(model, "layer_rows", None)):
        assert table.total == nnzoo.count_params(model)


@pytest.mark.parametrize("cell,type_", [("jordan", "Jordan RNN"), ("clockwork", "clockwork RNN")])
def test_layers_that_run_their_cells_step_are_one_row(cell, type_):
    model, table = _summary("rnn-classifier", cell=cell)
    rnn = next(row for row in table.rows if row.name == "rnn")
    assert rnn.type == type_ and rnn.params == nnzoo.count_params(model.rnn)
    assert sum(row.params for row in table.rows) == table.total and not table.notes


def test_hopfield_counts_its_free_weights_and_thresholds():
    model, table = _summary("hopfield", size=16)
    (units,) = table.rows[1:]
    assert units.params == 16 * 15 // 2 + 16 and units.units == "16"
    assert units.activation == "hardlims"
    assert nnzoo.count_params(model) == 0
    assert "Hebbian storage" in table.notes[0] and "gives 0" in table.notes[0]


def test_boltzmann_rows_split_the_symmetric_weights_between_visible_and_hidden():
    model, table = _summary("boltzmann", size=13, visible=9)
    visible, hidden = table.rows[1:]
    assert (visible.units, hidden.units) == ("9", "4")
    n = len(model.threshold)  # every w_ij with i < j once, and one threshold per unit
    assert visible.params + hidden.params == n * (n - 1) // 2 + n == table.total
    assert visible.params == 9 * 8 // 2 + 9 and hidden.params == 4 * 3 // 2 + 4 * 9 + 4


def test_rbm_and_rbf_rows_match_their_tensors():
    model, table = _summary("rbm", visible=20, hidden=7)
    hidden, visible = table.rows[1:]
    assert hidden.params == model.weight.numel() + model.hidden_bias.numel()
    assert visible.params == model.visible_bias.numel() and not table.notes

    model, table = _summary("rbf", in_features=3, centres=5, num_classes=4)
    hidden, output = table.rows[1:]
    assert hidden.params == model.centres.numel() + model.widths.numel() == 5 * 3 + 5
    assert output.params == nnzoo.count_params(model) == 5 * 4 + 4
    assert "k-means" in table.notes[0]


def test_gan_shows_the_generator_and_the_discriminator():
    model, table = _summary("gan")
    names = [row.name for row in table.rows]
    assert names[0] == "z" and "image" in names
    generator_rows = table.rows[1:names.index("image")]
    assert all(name.startswith("generator.") for name in names[1:names.index("image")])
    assert all(name.startswith("discriminator.") for name in names[names.index("image") + 1:])
    assert sum(row.params for row in generator_rows) == nnzoo.count_params(model.generator)
    assert generator_rows[-1].output == "32x32x1"


def test_heads_a_forward_pass_skips_are_named_in_a_note():
    model, table = _summary("googlenet")
    shown = sum(row.params for row in table.rows)
    aux = nnzoo.count_params(model.aux1) + nnzoo.count_params(model.aux2)
    assert shown + aux == table.total == nnzoo.count_params(model)
    assert f"aux1 ({nnzoo.count_params(model.aux1):,})" in table.notes[0]
    assert "aux2" in table.notes[0]


def test_cli_prints_the_note_under_the_table(capsys):
    assert main(["summary", "hopfield", "-o", "size=9"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("total") and out[-2].endswith("45")
    assert "Hebbian storage" in out[-1]
