import math

import numpy as np
import pytest

from training.metrics import binary_metrics, roc_auc
from training.schedule import lr_factor


@pytest.mark.parametrize(
    "labels, scores, expected",
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),
        ([0, 1], [0.5, 0.5], 0.5),  # ties count half
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75),
        ([1, 1], [0.3, 0.4], None),  # one class only
    ],
)
def test_roc_auc(labels, scores, expected):
    assert roc_auc(np.array(labels), np.array(scores)) == expected


def test_binary_metrics_counts():
    m = binary_metrics(np.array([0, 0, 1, 1, 1]), np.array([0.2, 0.7, 0.9, 0.4, 0.5]))
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["n"] == 5


def test_binary_metrics_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        binary_metrics(np.array([0, 1]), np.array([0.5]))


def test_schedule_warms_up_then_decays():
    total, warmup = 100, 10
    factors = [lr_factor(s, total, warmup) for s in range(total)]
    assert factors[0] == pytest.approx(0.1)
    assert factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert lr_factor(total, total, warmup) == pytest.approx(0.01)
    assert math.isclose(lr_factor(55, total, warmup), 0.01 + 0.99 * 0.5)
