"""Bootstrap intervals (scipy, BCa): coverage, pairing, agreement with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score
from textcls.evaluation.intervals import (
    _codes,
    _metric,
    metric_interval,
    paired_difference_interval,
)


def noisy_predictions(n: int, accuracy: float, seed: int, classes: int = 4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    wrong = (labels + rng.integers(1, classes, n)) % classes
    return labels, np.where(rng.random(n) < accuracy, labels, wrong)


def test_vectorised_macro_f1_matches_scikit_learn_on_resamples():
    labels, predicted = noisy_predictions(300, 0.7, seed=0, classes=5)
    rng = np.random.default_rng(1)
    for _ in range(20):
        # small resamples leave classes out of the true or predicted labels, as bootstrap does
        idx = rng.integers(0, 300, 12)
        y, p = _codes(labels[idx], predicted[idx])
        expected = f1_score(labels[idx], predicted[idx], average="macro", zero_division=0)
        assert _metric(y, p, "macro_f1") == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_interval_contains_the_estimate_and_narrows_with_more_data(metric):
    widths = []
    for n in (60, 3000):
        labels, predicted = noisy_predictions(n, 0.8, seed=n)
        low, high = metric_interval(labels, predicted, metric)
        y, p = _codes(labels, predicted)
        assert low <= float(_metric(y, p, metric)) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3


def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    hits = 0
    for seed in range(60):
        labels, predicted = noisy_predictions(200, 0.85, seed=seed)
        low, high = metric_interval(labels, predicted, "accuracy", samples=400, seed=seed)
        hits += low <= 0.85 <= high
    assert 50 <= hits <= 60


def test_a_perfect_model_gets_a_point_interval():
    labels = np.array(["a", "b", "a", "c"] * 10)
    assert metric_interval(labels, labels, "accuracy") == (1.0, 1.0)


def test_paired_interval_of_a_clear_gain_excludes_zero_and_names_match_codes():
    labels, better = noisy_predictions(800, 0.9, seed=3)
    _, worse = noisy_predictions(800, 0.7, seed=3)
    names = np.array(["neg", "pos", "mid", "odd"])
    low, high = paired_difference_interval(names[labels], names[better], names[worse], "macro_f1")
    assert 0 < low < high
    assert paired_difference_interval(labels, better, better, "accuracy") == (0.0, 0.0)


def test_pairing_makes_the_difference_interval_narrower_than_unpaired_intervals():
    labels, a = noisy_predictions(500, 0.8, seed=5)
    b = a.copy()
    b[:10] = (labels[:10] + 1) % 4  # b differs from a on a few examples only
    low, high = paired_difference_interval(labels, a, b, "accuracy")
    a_low, a_high = metric_interval(labels, a, "accuracy")
    assert high - low < (a_high - a_low) / 2
