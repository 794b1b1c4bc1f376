"""Label names and ids: stable across retrains, new labels appended and reported."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from textcls.errors import DataError


def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def label_vocabulary(
    train_labels: Iterable[str],
    *,
    previous: Sequence[str] | None = None,
    declared: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Return (ordered label names, labels new since ``previous``).

    Declared names (``data.label_names``) fix the order. Otherwise a retrain keeps the previous
    run's order and appends new labels; a first run sorts them (naturally: 2 before 10).
    """
    seen = set(train_labels)
    if declared is not None:
        unknown = sorted(seen - set(declared), key=_natural_key)
        if unknown:
            raise DataError(
                f"train has labels not in data.label_names: {', '.join(map(repr, unknown))}. "
                "Add them to data.label_names or fix the data."
            )
        names = list(declared)
    elif previous:
        names = list(previous) + sorted(seen - set(previous), key=_natural_key)
    else:
        names = sorted(seen, key=_natural_key)
    new = [n for n in names if previous and n not in previous]
    return names, new
