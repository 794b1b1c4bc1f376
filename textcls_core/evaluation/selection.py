"""Honest selection: choices read the validation split; the reported split is only reported.

Picking the best of several variants on the split whose score you then report biases that
score upward (the winner is partly the luckiest). So every choice textcls makes (the report's
best variant, the registry's default variant, a sweep's winner) reads each variant's
``selection`` block: its metrics on validation. ``quality`` holds the reported split's metrics,
computed once and never compared to choose anything. Early stopping and the quantization gate
read validation inside their stages.

This module also scores a model both ways (raw and calibrated) so the report can show what
calibration changed: ECE, Brier score and log loss before and after, with argmax unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from textcls.evaluation.metrics import confidence_metrics, selection_metrics
from textcls.predictor import Predictor, softmax

SELECTION_SPLIT = "validation"


@dataclass
class ScoredModel:
    """One model variant's outputs: what the report and the choices need."""

    probabilities: np.ndarray  # on the reported split, as the Predictor gives them
    selection: dict[str, Any] | None  # metrics on the selection split (None: no such split)
    calibration: dict[str, Any] | None  # before/after on the reported split (None: uncalibrated)
    #: on the selection split, as the Predictor gives them: the report's explanations reuse
    #: them instead of predicting that split a second time (None: no such split)
    selection_probabilities: np.ndarray | None = None


def score_model(
    predictor: Predictor,
    texts: Sequence[str],
    labels: np.ndarray,
    selection: tuple[Sequence[str], np.ndarray] | None,
    meta_calibration: Mapping[str, Any] | None,
    batch_size: int = 64,
    logits: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> ScoredModel:
    """Score ``predictor`` on the reported texts and (when given) the selection split.

    ``logits`` gives the raw logits of a list of texts (default: ``predictor.logits`` at
    ``batch_size``); the evaluation passes one that reuses a folder's stored validation logits
    (``textcls.validation_logits``).
    """
    predict = logits or (lambda batch: predictor.logits(batch, batch_size))
    raw = predict(texts)
    probabilities = predictor.probabilities_from_logits(raw)
    chosen, sel_probabilities = None, None
    if selection is not None:
        sel_texts, sel_labels = selection
        sel_probabilities = predictor.probabilities_from_logits(predict(sel_texts))
        chosen = selection_metrics(sel_labels, sel_probabilities)
    calibration = None
    if meta_calibration is not None:
        calibration = {
            "method": meta_calibration.get("method", "temperature"),
            "temperature": predictor.temperature,
            "fitted_on": meta_calibration.get("fitted_on", SELECTION_SPLIT),
            "before": confidence_metrics(labels, softmax(raw)),
            "after": confidence_metrics(labels, probabilities),
        }
    return ScoredModel(probabilities, chosen, calibration, sel_probabilities)


def choose_best(results: Mapping[str, Mapping[str, Any]], metric: str = "accuracy") -> str:
    """The variant with the highest ``metric`` on the selection split.

    Falls back to the reported split only when no variant has a selection block (scoring one
    file with ``textcls evaluate --data FILE``, where nothing else exists); the report then
    says so in ``selected_on``.
    """
    if any(r.get("selection") for r in results.values()):
        scored = {n: r for n, r in results.items() if r.get("selection")}
        return max(scored, key=lambda n: scored[n]["selection"][metric])
    return max(results, key=lambda n: results[n]["quality"][metric])
