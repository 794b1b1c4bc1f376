"""Quality metrics from true labels and predicted probabilities.

scikit-learn computes everything it has (accuracy, F1, per-class report, confusion matrix, log
loss, ROC-AUC, PR-AUC); scipy's bootstrap the intervals (``intervals.py``); expected calibration
error is a few lines of numpy, documented here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from textcls.evaluation.intervals import metric_interval

ECE_BINS = 15


def expected_calibration_error(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS
) -> tuple[float, list[dict[str, float]]]:
    """ECE over equal-width confidence bins: sum of |accuracy - confidence| weighted by share.

    Returns the ECE and the reliability bins (lower edge, upper edge, count, accuracy, mean
    confidence) that the reliability diagram draws.
    """
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        if count:
            acc, conf = float(correct[mask].mean()), float(confidence[mask].mean())
            ece += abs(acc - conf) * count / len(labels)
        else:
            acc, conf = 0.0, 0.0
        table.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "accuracy": acc,
                "confidence": conf,
            }
        )
    return float(ece), table


#: Simulated outcome sets behind :func:`ece_noise_floor` (its standard error is ~1/14 of it)
#: and :func:`ece_p_value` (which resolves p in steps of 1/201).
FLOOR_DRAWS = 200


def calibrated_ece_draws(
    probabilities: np.ndarray, draws: int = FLOOR_DRAWS, seed: int = 0
) -> np.ndarray:
    """ECEs of ``draws`` outcome sets drawn as if these confidences were exactly right.

    Each prediction is right with probability equal to its confidence (the calibrated case),
    and the outcomes are binned as :func:`expected_calibration_error` bins them: Bröcker and
    Smith's (2007) consistency resampling, applied to the ECE.
    """
    confidence = np.asarray(probabilities, dtype=np.float64).max(axis=1)
    n = len(confidence)
    total = np.zeros(draws)
    if n == 0:
        return total
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, ECE_BINS - 1)
    rng = np.random.default_rng(seed)
    for b in np.unique(which):
        members = confidence[which == b]
        # outcomes of this bin's rows in every draw: right with probability = confidence
        right = rng.random((draws, len(members))) < members
        total += np.abs(right.mean(axis=1) - members.mean()) * len(members) / n
    return total


def ece_noise_floor(probabilities: np.ndarray, draws: int = FLOOR_DRAWS, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with these confidences would measure on these rows.

    Why: ECE is biased upward on a finite sample. Each bin's accuracy is a mean of 0/1 outcomes,
    so even when every stated confidence is exactly right, |accuracy - confidence| is the bin's
    sampling error, about sqrt(c(1 - c) / n_bin). On 400 rows that is ~0.02, on 60 rows ~0.04:
    an ECE near its floor says the model is as calibrated as this many rows can show, and a
    target below the floor cannot be met by any model. The floor is the mean of
    :func:`calibrated_ece_draws`.
    """
    return float(calibrated_ece_draws(probabilities, draws, seed).mean())


def ece_p_value(
    probabilities: np.ndarray, measured: float, draws: int = FLOOR_DRAWS, seed: int = 0
) -> float:
    """How often a perfectly calibrated model with these confidences measures ``measured`` or
    more on these rows: the Monte Carlo p-value ``(1 + #{draws >= measured}) / (1 + draws)``.

    Why: the floor is a mean, and half of the calibrated draws lie above it; how far above is
    the spread. On SST-2's 872 test rows a perfectly calibrated student measures ECE > 0.03
    about four times in ten (floor 0.029, standard deviation 0.008). A small p (below 0.05)
    says the model's confidences are off by more than these rows' noise; a large one says the
    rows cannot tell the model from a calibrated one, whatever a fixed ECE target says.
    """
    return ece_noise(probabilities, measured, draws, seed)["ece_p"]


def ece_noise(
    probabilities: np.ndarray, measured: float, draws: int = FLOOR_DRAWS, seed: int = 0
) -> dict[str, float]:
    """``ece_floor`` and ``ece_p`` of a measured ECE, from one set of calibrated draws (the
    report gives both for every variant; simulating twice would double the work)."""
    ece = calibrated_ece_draws(probabilities, draws, seed)
    exceeding = np.count_nonzero(ece >= measured - 1e-12)
    return {"ece_floor": float(ece.mean()), "ece_p": float((1 + exceeding) / (1 + draws))}


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Multi-class Brier score: mean squared distance to the one-hot label (0 is best, 2 worst)."""
    onehot = np.zeros_like(probabilities, dtype=np.float64)
    onehot[np.arange(len(labels)), np.asarray(labels)] = 1.0
    return float(((probabilities - onehot) ** 2).sum(axis=1).mean())


def confidence_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """ECE, Brier score and log loss: how far the stated confidences are from the truth."""
    ece, reliability = expected_calibration_error(np.asarray(labels), probabilities)
    nll = -np.log(np.clip(probabilities[np.arange(len(labels)), np.asarray(labels)], 1e-12, 1.0))
    return {
        "ece": ece,
        **ece_noise(probabilities, ece),
        "brier": brier_score(labels, probabilities),
        "log_loss": float(nll.mean()),
        "reliability": reliability,
    }


def selection_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """What choices read (on validation): accuracy, macro-F1, log loss, ECE, Brier."""
    from sklearn.metrics import accuracy_score, f1_score

    y = np.asarray(labels)
    predicted = probabilities.argmax(axis=1)
    confidence = confidence_metrics(y, probabilities)
    return {
        "examples": int(len(y)),
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "log_loss": confidence["log_loss"],
        "ece": confidence["ece"],
        "brier": confidence["brier"],
    }


def quality_metrics(
    labels: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    label_names: Sequence[str],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Every quality metric of the report for one model on one split."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        confusion_matrix,
        f1_score,
        log_loss,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y = np.asarray(labels)
    k = len(label_names)
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=list(range(k)), zero_division=0
    )
    ece, reliability = expected_calibration_error(y, probabilities)
    result: dict[str, Any] = {
        "examples": int(len(y)),
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y, predicted, average="weighted", zero_division=0)),
        "log_loss": float(log_loss(y, np.clip(probabilities, 1e-12, 1.0), labels=list(range(k)))),
        "ece": ece,
        **ece_noise(probabilities, ece),
        "brier": brier_score(y, probabilities),
        "reliability": reliability,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion_matrix(y, predicted, labels=list(range(k))).tolist(),
        "accuracy_ci95": metric_interval(y, predicted, "accuracy", seed=seed),
        "macro_f1_ci95": metric_interval(y, predicted, "macro_f1", seed=seed),
    }
    if k == 2 and len(set(y.tolist())) == 2:
        result["roc_auc"] = float(roc_auc_score(y, probabilities[:, 1]))
        result["pr_auc"] = float(average_precision_score(y, probabilities[:, 1]))
    return result
