"""The words an explanation is reported in, and how subword scores merge into them.

Every model is explained in the same words, whatever its tokenizer: runs of word characters
(an apostrophe inside a word keeps it whole: ``don't``, ``n't``), each CJK ideograph on its own,
and runs of punctuation, as BERT's and the word tokenizers' pre-tokenizers split them. A
subword piece belongs to the word its first character falls in (fast tokenizers report
character offsets), so a word's score is the sum of its pieces' scores.
Removing words (occlusion, the deletion test) cuts their characters out of the original text
and keeps everything else as it was.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

#: CJK ideographs, the ranges BERT's BasicTokenizer (``_is_chinese_char``) splits one by one:
#: Chinese is written without spaces, so a run of word characters would be a whole clause.
CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002a6df\U0002a700-\U0002ceaf\U0002f800-\U0002fa1f"
)
_LETTER = rf"(?:(?![{CJK}])\w)"
WORD = re.compile(rf"[{CJK}]|{_LETTER}+(?:['\u2019]{_LETTER}+)*|[^\w\s]+")


@dataclass(frozen=True)
class Word:
    """One word of a text: its characters ``text[start:end]``."""

    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """The words of ``text`` in order (empty for a text of only spaces)."""
    return [Word(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]


def remove_words(text: str, words: Sequence[Word], removed: Collection[int]) -> str:
    """``text`` without the words whose indices are in ``removed``; spaces collapse to one."""
    if not removed:
        return text
    pieces, position = [], 0
    for index, word in enumerate(words):
        if index in removed:
            pieces.append(text[position : word.start])
            position = word.end
    pieces.append(text[position:])
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


def merge_token_scores(
    text: str,
    offsets: Sequence[tuple[int, int]],
    scores: Sequence[float] | np.ndarray,
    words: Sequence[Word] | None = None,
) -> list[float]:
    """Sum per-token ``scores`` into one score per word of ``text``.

    ``offsets`` are a fast tokenizer's ``offset_mapping`` for the same tokens; tokens with an
    empty span (special tokens, padding) belong to no word. Words the tokenizer cut off
    (truncation) keep a score of 0.
    """
    words = split_words(text) if words is None else words
    owner = np.full(len(text) + 1, -1, dtype=np.int64)
    for index, word in enumerate(words):
        owner[word.start : word.end] = index
    merged = np.zeros(len(words), dtype=np.float64)
    for (start, end), score in zip(offsets, scores, strict=True):
        if end <= start or start >= len(text):
            continue
        index = owner[start]
        if index < 0:  # a piece that starts on a space (byte-level BPE): its first word char
            inside = np.flatnonzero(owner[start:end] >= 0)
            if not len(inside):
                continue
            index = owner[start + inside[0]]
        merged[index] += float(score)
    return merged.tolist()
