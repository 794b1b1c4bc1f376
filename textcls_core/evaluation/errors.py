"""Error analysis: the most confident mistakes of each true class, for a person to read."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PER_CLASS = 10


def confident_mistakes(
    path: Path,
    rows: dict[str, np.ndarray],
    texts: Sequence[str],
    labels: np.ndarray,
    names: Sequence[str],
    per_class: int = PER_CLASS,
) -> None:
    """Write ``errors.csv``: for each variant and true class, its most confident wrong answers."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "true_label", "predicted_label", "confidence", "text"])
        for variant, probabilities in rows.items():
            predicted = probabilities.argmax(axis=1)
            confidence = probabilities.max(axis=1)
            for k, name in enumerate(names):
                wrong = np.flatnonzero((labels == k) & (predicted != k))
                for i in wrong[np.argsort(-confidence[wrong])][:per_class]:
                    writer.writerow(
                        [variant, name, names[predicted[i]], f"{confidence[i]:.4f}", texts[i]]
                    )
