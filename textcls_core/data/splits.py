"""Carving missing splits and subsampling, stratified by label and seeded.

Uses scikit-learn's ``train_test_split``; where a class is too small to stratify, it falls back to
a plain seeded split and says so, rather than failing a run over one rare label.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def stratified_take(
    labels: np.ndarray, size: float | int, seed: int
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Split row indices into (rest, taken); ``size`` is a fraction or a count of rows taken.

    Returns sorted index arrays (source order is kept) and a warning when it could not stratify.
    """
    indices = np.arange(len(labels))
    warning = None
    try:
        rest, taken = train_test_split(indices, test_size=size, random_state=seed, stratify=labels)
    except ValueError as exc:
        warning = f"could not stratify ({exc}); split at random instead"
        rest, taken = train_test_split(indices, test_size=size, random_state=seed)
    return np.sort(rest), np.sort(taken), warning
