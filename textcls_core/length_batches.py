"""Batches of texts of similar length: the one batching rule of every model pass over many texts.

On a CPU, padding is most of the cost of a mixed-length batch (every text is computed to the
longest one's length). Sorting the texts by length first and cutting the sorted order into
batches keeps each batch's padding small; the caller writes each batch's outputs back to the
rows it names, so results keep the input order. Used by the Predictor (``predict``, ``serve``,
``evaluate``), the teacher's pass over a transfer set, and the label-issue check's embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Row indices of ``texts`` in batches of at most ``batch_size``, shortest texts first.

    The sort is stable, so texts of equal length keep their input order (deterministic batches).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
