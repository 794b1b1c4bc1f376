"""The one batching rule: every row once, batches of at most the size, by length, stable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textcls.length_batches import length_sorted_batches


@given(st.lists(st.text(max_size=12), max_size=60), st.integers(min_value=1, max_value=9))
def test_every_row_lands_in_one_batch_of_similar_lengths(texts: list[str], size: int) -> None:
    batches = length_sorted_batches(texts, size)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(texts)))
    assert all(1 <= len(batch) <= size for batch in batches)
    assert all(len(batch) == size for batch in batches[:-1])
    lengths = [len(texts[i]) for i in flat]
    assert lengths == sorted(lengths)
    # equal lengths keep their input order: the same texts always give the same batches
    for a, b in zip(flat, flat[1:], strict=False):
        if len(texts[a]) == len(texts[b]):
            assert a < b


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        length_sorted_batches(["a"], 0)
