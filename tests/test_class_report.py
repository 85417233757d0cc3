"""Per-class precision, recall and F1 from a confusion matrix (nnzoo eval's table)."""

import pytest
import torch

from nnzoo.explain.confusion import format_report, most_confused, per_class

COUNTS = torch.tensor([[5, 1, 0],
                       [2, 3, 1],
                       [0, 0, 4]])  # rows: true class; columns: predicted


def test_precision_recall_and_f1_by_hand():
    rows = per_class(COUNTS, ["a", "b", "c"])
    expected = [(5 / 7, 5 / 6), (3 / 4, 3 / 6), (4 / 5, 4 / 4)]
    for row, (p, r) in zip(rows, expected):
        assert row["precision"] == pytest.approx(p) and row["recall"] == pytest.approx(r)
        assert row["f1"] == pytest.approx(2 * p * r / (p + r))
    assert [row["support"] for row in rows] == [6, 6, 4]


def test_a_class_never_predicted_has_precision_zero_not_nan():
    rows = per_class(torch.tensor([[3, 0], [2, 0]]))
    assert rows[1] == {"class": "1", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}


def test_most_confused_pairs_largest_first_and_only_mistakes():
    confused = most_confused(COUNTS, ["a", "b", "c"], top=5)
    assert confused[0] == {"true": "b", "predicted": "a", "count": 2}
    assert {(c["true"], c["predicted"]) for c in confused[1:]} == {("a", "b"), ("b", "c")}
    assert most_confused(torch.eye(3, dtype=torch.long)) == []


def test_report_layout():
    text = format_report(per_class(COUNTS, ["a", "b", "c"]), most_confused(COUNTS, ["a", "b", "c"]))
    lines = text.splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1", "support"]
    assert lines[1].split() == ["a", "0.714", "0.833", "0.769", "6"]
    assert lines[4].split()[0] == "macro" and lines[4].split()[-1] == "16"
    assert lines[5].startswith("most confused (true -> predicted): b -> a (2)")


WITH_NO_CLASS = torch.tensor([[5, 1, 0, 3],
                              [2, 3, 1, 0],
                              [0, 0, 4, 1]])  # last column: predictions that named no class


def test_predictions_of_no_class_count_in_support_but_in_no_precision():
    rows = per_class(WITH_NO_CLASS, ["a", "b", "c"])
    assert [row["support"] for row in rows] == [9, 6, 5]
    assert rows[0]["precision"] == pytest.approx(5 / 7) and rows[0]["recall"] == pytest.approx(5 / 9)
    assert rows[2]["recall"] == pytest.approx(4 / 5)
    confused = most_confused(WITH_NO_CLASS, ["a", "b", "c"], top=2)
    assert confused == [{"true": "a", "predicted": "(no class)", "count": 3},
                        {"true": "b", "predicted": "a", "count": 2}]
