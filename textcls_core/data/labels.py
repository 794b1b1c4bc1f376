"""Label names and ids: the label set is the current data's, ids stable for labels that persist.

A run's classes are exactly the labels in its own training data: a retrain never inherits a
label from an earlier run. Labels that persist keep their relative order (so their ids stay the
same unless an earlier label was dropped); new labels are appended; dropped ones are reported.
Values that mean "no label" in some tool (``NaN``, ``null``, ``None``, ``N/A``, ...) are never
classes: ingest treats them as missing labels, so they are bad rows with their line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from textcls.errors import DataError

#: Label values that spreadsheets, pandas, JSON and SQL write for a missing value. Compared
#: case-insensitively after trimming; a pipeline that really has such a class declares it in
#: ``data.label_names``.
NULL_LIKE_LABELS = frozenset({"", "nan", "na", "n/a", "null", "none", "nil", "<na>", "#n/a"})


def null_like_mask(labels: pa.Array, allowed: Iterable[str] = ()) -> pa.Array:
    """True where a (string) label is null or a null-like word not in ``allowed``."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(labels))
    value_set = pa.array(sorted(NULL_LIKE_LABELS - {a.strip().lower() for a in allowed}))
    return pc.fill_null(pc.is_in(lowered, value_set=value_set), True)


def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def label_vocabulary(
    train_labels: Iterable[str],
    *,
    previous: Sequence[str] | None = None,
    declared: Sequence[str] | None = None,
    declared_field: str = "data.label_names",
) -> tuple[list[str], list[str], list[str]]:
    """Return (ordered label names, labels new since ``previous``, labels ``previous`` had
    that this data lacks).

    Declared names (``data.label_names``, or a model's labels when scoring it) fix the set and
    order. Otherwise the names are the training data's own: labels of ``previous`` that persist
    keep their order, new labels are appended; a first run sorts them (naturally: 2 before 10).
    """
    seen = set(train_labels)
    if declared is not None:
        unknown = sorted(seen - set(declared), key=_natural_key)
        if unknown:
            raise DataError(
                f"train has labels not in {declared_field}: {', '.join(map(repr, unknown))}. "
                f"Add them to {declared_field} or fix the data."
            )
        return list(declared), [], []
    if previous:
        kept = [n for n in previous if n in seen]
        names = kept + sorted(seen - set(previous), key=_natural_key)
        new = [n for n in names if n not in previous]
        dropped = [n for n in previous if n not in seen]
        return names, new, dropped
    return sorted(seen, key=_natural_key), [], []
