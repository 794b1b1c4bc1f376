"""Transfer-set augmentation in the style of Tang et al. (2019).

Each synthetic example starts from a training text; every word is masked with probability
``mask_prob``; then, with probability ``ngram_prob``, only a random n-gram (1 to ``max_ngram``
words) is kept. The teacher labels the result, so the student sees the teacher's behaviour on
inputs near the data, not just on the data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def augment_text(
    text: str,
    rng: random.Random,
    *,
    mask_prob: float,
    ngram_prob: float,
    max_ngram: int,
    mask_token: str,
) -> str:
    words = text.split()
    if not words:
        return text
    words = [mask_token if rng.random() < mask_prob else w for w in words]
    if rng.random() < ngram_prob and len(words) > 1:
        n = rng.randint(1, min(max_ngram, len(words)))
        start = rng.randint(0, len(words) - n)
        words = words[start : start + n]
    return " ".join(words)


def augmented_texts(
    texts: Sequence[str],
    count: int,
    seed: int,
    *,
    mask_prob: float,
    ngram_prob: float,
    max_ngram: int,
    mask_token: str,
) -> list[str]:
    """``count`` synthetic texts drawn from ``texts``, deterministic for a seed."""
    rng = random.Random(seed)
    return [
        augment_text(
            texts[rng.randrange(len(texts))],
            rng,
            mask_prob=mask_prob,
            ngram_prob=ngram_prob,
            max_ngram=max_ngram,
            mask_token=mask_token,
        )
        for _ in range(count)
    ]
