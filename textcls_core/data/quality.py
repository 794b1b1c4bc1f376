"""Duplicates, label conflicts and train/evaluation leakage, computed with Arrow group-bys."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def repeated_mask(*keys: pa.Array) -> np.ndarray:
    """True for every row whose key (one or several columns) already appeared earlier."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=bool)
    names = [f"k{i}" for i in range(len(keys))]
    table = pa.table({**dict(zip(names, keys, strict=True)), "_i": pa.array(np.arange(n))})
    first = table.group_by(names, use_threads=False).aggregate([("_i", "min")])["_i_min"]
    mask = np.ones(n, dtype=bool)
    mask[first.to_numpy()] = False
    return mask


def label_conflicts(texts: pa.Array, labels: pa.Array, limit: int = 5) -> tuple[int, list[dict]]:
    """Texts that appear with more than one label: how many, and a few examples."""
    if len(texts) == 0:
        return 0, []
    table = pa.table({"text": texts, "label": labels})
    grouped = table.group_by("text", use_threads=False).aggregate([("label", "count_distinct")])
    conflicted = grouped.filter(pc.greater(grouped["label_count_distinct"], 1))
    if conflicted.num_rows == 0:
        return 0, []
    sample = conflicted["text"].slice(0, limit).combine_chunks()
    rows = table.filter(pc.is_in(table["text"], value_set=sample)).to_pylist()
    examples = [
        {"text": text, "labels": sorted({r["label"] for r in rows if r["text"] == text})}
        for text in sample.to_pylist()
    ]
    return conflicted.num_rows, examples


def leaked_mask(eval_texts: pa.Array, train_texts: pa.Array) -> np.ndarray:
    """True for evaluation rows whose text also appears in train."""
    if len(eval_texts) == 0:
        return np.zeros(0, dtype=bool)
    found = pc.is_in(eval_texts, value_set=pc.unique(train_texts))
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def length_percentiles(lengths: np.ndarray, points: Sequence[int] = (5, 50, 95, 99)) -> dict:
    """Text length percentiles (characters) for the data report."""
    if len(lengths) == 0:
        return {}
    result = {f"p{p}": float(np.percentile(lengths, p)) for p in points}
    result.update(min=int(lengths.min()), max=int(lengths.max()), mean=float(lengths.mean()))
    return result
