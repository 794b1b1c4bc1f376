"""Temperature scaling: confidences that mean what they say, without changing a prediction.

Guo et al. (2017): one scalar ``T > 0`` divides every logit before the softmax; ``T`` is fitted
on held-out (validation) logits by minimising the negative log-likelihood. Dividing by a
positive number keeps the order of the logits, so the argmax, and with it accuracy, never
changes; only how sure the model says it is. scipy minimises over ``log T`` (unconstrained,
and the NLL is smooth and unimodal in it), bounded to ``T`` in [0.01, 100].

A calibrated model folder carries ``"calibration": {"method": "temperature", "temperature": T,
...}`` in its ``textcls.json``; ``Predictor.load`` reads it with ``read_temperature`` and
applies it, so ``textcls predict``, ``textcls serve`` and the evaluation agree. Cached stage
outputs are never edited in place: ``write_calibrated_folder`` builds a new folder whose files
are hard links to the source's (copies across file systems), with its own ``textcls.json``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from textcls.errors import DataError

META_FILE = "textcls.json"  # spelled as in model_folder.py, which imports the model card
#: Written here or rewritten in place later (the model card gets evaluation numbers): copied,
#: never linked, so no write to the calibrated folder reaches its source.
_NOT_LINKED = frozenset({META_FILE, "README.md", ".textcls-artifact"})
LOG_T_BOUNDS = (math.log(0.01), math.log(100.0))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # type: ignore[no-any-return]


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``labels`` under ``softmax(logits / temperature)``."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    return float(-_log_softmax(scaled)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL of ``labels`` (scipy, bounded, over log T).

    1.0 when the model makes no mistake on these rows (the minimum is not defined).
    """
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise DataError(
            f"temperature scaling needs (N, C) logits and N labels, N > 0; got logits "
            f"{logits.shape} and {len(labels)} labels"
        )
    if bool((logits.argmax(axis=1) == labels).all()):
        # No mistake on validation: the NLL falls for ever as T -> 0, so the fit would run to
        # its bound and make every probability 0 or 1. The data cannot say how confident the
        # model should be; leave it as trained.
        return 1.0
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, math.exp(log_t)),
        bounds=LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(math.exp(result.x))


def read_temperature(folder: str | Path, meta: dict[str, Any]) -> float:
    """The folder's temperature (1.0 when uncalibrated), with a clear error when it is bad."""
    calibration = meta.get("calibration")
    if calibration is None:
        return 1.0
    value = calibration.get("temperature") if isinstance(calibration, dict) else None
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise DataError(
            f"{Path(folder) / META_FILE}: calibration.temperature must be a positive number, "
            f"not {value!r}; recalibrate the model, or remove the calibration field"
        )
    return float(value)


def write_calibrated_folder(source: Path, out: Path, calibration: dict[str, Any]) -> None:
    """Fill ``out`` (a new, empty folder) with ``source``'s files and the calibration.

    Files are hard links (no weights copied; the source is never written), ``textcls.json`` a
    new file with ``calibration`` set.
    """
    for root, dirs, files in os.walk(source):
        relative = Path(root).relative_to(source)
        for name in dirs:
            (out / relative / name).mkdir(exist_ok=True)
        for name in files:
            src, dst = Path(root) / name, out / relative / name
            if relative == Path(".") and name in _NOT_LINKED:
                if name == "README.md":
                    shutil.copy2(src, dst)
                continue
            try:
                os.link(src, dst)
            except OSError:  # another file system, or links not allowed: copy instead
                shutil.copy2(src, dst)
    meta = json.loads((source / META_FILE).read_text(encoding="utf-8"))
    meta["calibration"] = calibration
    (out / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
