"""Transfer-set augmentation after Tang et al. (2019), "Distilling Task-Specific Knowledge from
BERT into Simple Neural Networks", section 3.3.

Each synthetic example starts from a training text. For every word, one draw ``X ~ U[0, 1]``
decides: ``X < mask_prob``: the word becomes the mask token; ``X < mask_prob + replace_prob``:
it becomes another word of the same *word class*; otherwise it stays. Then, with probability
``ngram_prob``, only a random n-gram (1 to ``max_ngram`` words) is kept. The teacher labels the
result, so the student sees the teacher's behaviour on inputs near the data.

Tang et al. replace a word with another of the same part of speech, from a tagger. No offline
tagger with bundled data is a maintained PyPI package for all our languages (NLTK and spaCy
download their models separately; the re-uploaded spaCy models on PyPI are unofficial and
English only; ChnSentiCorp is Chinese), so the classes are induced from the training texts
themselves, as distributional part-of-speech induction does (Schütze 1995): each word is
described by which frequent words stand immediately left and right of it, and k-means
(scikit-learn) groups words with similar contexts. Words that share their neighbours share
their syntactic role (determiners, adjectives, verbs in the past tense, ...), which is what
POS-guided replacement needs: a plausible text with a changed meaning for the teacher to
score. A word is replaced by a word of its class drawn by corpus frequency.

Words are whitespace-separated runs, except that each CJK character is a word of its own
(Chinese has no spaces); texts are joined back without spaces between two CJK characters.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD = re.compile(rf"[{_CJK_RANGES}]|[^\s{_CJK_RANGES}]+")
_CJK = re.compile(rf"[{_CJK_RANGES}]")
#: The neighbours that describe a word: this many most frequent words, plus text boundaries.
CONTEXT_WORDS = 150
#: Words seen fewer times are never a replacement, nor replaced (too little context to class).
MIN_COUNT = 2
#: At most this many of the most frequent words are classed.
MAX_VOCABULARY = 30_000
_BOUNDARY = "\x00"
#: Dimensions the context vectors are reduced to before clustering.
SVD_DIMENSIONS = 50


def split_words(text: str) -> list[str]:
    """Whitespace-separated words; every CJK character is a word of its own."""
    return _WORD.findall(text)


def join_words(words: Sequence[str]) -> str:
    """The inverse of ``split_words`` up to whitespace: no space between two CJK characters."""
    out: list[str] = []
    for i, word in enumerate(words):
        if i and not (_CJK.fullmatch(word) and _CJK.fullmatch(words[i - 1])):
            out.append(" ")
        out.append(word)
    return "".join(out)


@dataclass
class WordClasses:
    """Words grouped by their distributional context; ``replacement`` draws a class-mate."""

    class_of: dict[str, int] = field(default_factory=dict)
    members: dict[int, list[str]] = field(default_factory=dict)
    cum_weights: dict[int, list[float]] = field(default_factory=dict)

    def replacement(self, word: str, rng: random.Random) -> str:
        """Another word of ``word``'s class (by frequency), or ``word`` when it has none."""
        group = self.class_of.get(word)
        if group is None or len(self.members[group]) < 2:
            return word
        members, weights = self.members[group], self.cum_weights[group]
        for _ in range(8):  # a different word, almost always at the first draw
            choice = rng.choices(members, cum_weights=weights)[0]
            if choice != word:
                return choice
        return word


def word_classes(texts: Sequence[str], n_classes: int, seed: int) -> WordClasses:
    """Induce ``n_classes`` word classes from the left and right neighbours of each word."""
    from scipy.sparse import coo_matrix
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    sentences = [split_words(t) for t in texts]
    counts = Counter(w for s in sentences for w in s)
    vocabulary = [w for w, c in counts.most_common(MAX_VOCABULARY) if c >= MIN_COUNT]
    if len(vocabulary) < 2 or n_classes < 2:
        return WordClasses()
    row = {w: i for i, w in enumerate(vocabulary)}
    context = [_BOUNDARY] + [w for w, _ in counts.most_common(CONTEXT_WORDS)]
    column = {w: i for i, w in enumerate(context)}
    rows: list[int] = []
    cols: list[int] = []
    for words in sentences:
        padded = [_BOUNDARY, *words, _BOUNDARY]
        for i in range(1, len(padded) - 1):
            r = row.get(padded[i])
            if r is None:
                continue
            left, right = column.get(padded[i - 1]), column.get(padded[i + 1])
            if left is not None:
                rows.append(r)
                cols.append(left)
            if right is not None:
                rows.append(r)
                cols.append(len(context) + right)
    data = np.ones(len(rows), dtype=np.float32)
    shape = (len(vocabulary), 2 * len(context))
    counts_matrix = coo_matrix((data, (rows, cols)), shape=shape).tocsr()  # duplicates add up
    features = normalize(_ppmi(counts_matrix))
    seen = np.asarray(features.getnnz(axis=1) > 0)
    index = np.flatnonzero(seen)
    k = min(n_classes, len(index))
    if k < 2:
        return WordClasses()
    # Schütze reduced the context vectors with an SVD before clustering: k-means on the raw
    # sparse vectors puts most words in one large class.
    dims = min(SVD_DIMENSIONS, len(index) - 1, features.shape[1] - 1)
    reduced = features[index]
    if dims >= 2:
        reduced = normalize(
            TruncatedSVD(n_components=dims, random_state=seed).fit_transform(reduced)
        )
    labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(reduced)
    classes = WordClasses()
    for i, label in zip(index.tolist(), labels.tolist(), strict=True):
        word = vocabulary[i]
        classes.class_of[word] = label
        classes.members.setdefault(label, []).append(word)
    for label, members in classes.members.items():
        classes.cum_weights[label] = np.cumsum([counts[w] for w in members]).tolist()
    return classes


def _ppmi(counts: Any) -> Any:
    """Positive pointwise mutual information of a (word, context) count matrix.

    Raw counts would make every frequent word look alike (they all sit beside "the" and ","),
    so each cell says how much more often the pair occurs than chance would have it.
    """
    total = counts.sum()
    word_p = np.asarray(counts.sum(axis=1)).ravel() / total
    context_p = np.asarray(counts.sum(axis=0)).ravel() / total
    coo = counts.tocoo()
    pmi = np.log((coo.data / total) / (word_p[coo.row] * context_p[coo.col]))
    keep = pmi > 0
    from scipy.sparse import coo_matrix

    return coo_matrix(
        (pmi[keep].astype(np.float32), (coo.row[keep], coo.col[keep])), shape=counts.shape
    ).tocsr()


@dataclass(frozen=True)
class AugmentSettings:
    """The three operations' probabilities (Tang et al.: 0.1, 0.1, 0.25, n-grams up to 5)."""

    mask_prob: float = 0.1
    replace_prob: float = 0.1
    ngram_prob: float = 0.25
    max_ngram: int = 5
    mask_token: str = "[MASK]"
    #: chance a synthetic text joins two sources (see ``augmented_texts``); 0: Tang et al.'s
    join_prob: float = 0.0


def augment_words(
    words: Sequence[str], rng: random.Random, settings: AugmentSettings, classes: WordClasses
) -> list[str]:
    """One synthetic word sequence from ``words``: mask, replace, then maybe an n-gram."""
    out = []
    for word in words:
        draw = rng.random()
        if draw < settings.mask_prob:
            out.append(settings.mask_token)
        elif draw < settings.mask_prob + settings.replace_prob:
            out.append(classes.replacement(word, rng))
        else:
            out.append(word)
    if len(out) > 1 and rng.random() < settings.ngram_prob:
        n = rng.randint(1, min(settings.max_ngram, len(out)))
        start = rng.randint(0, len(out) - n)
        out = out[start : start + n]
    return out


def augment_text(
    text: str, rng: random.Random, settings: AugmentSettings, classes: WordClasses
) -> str:
    """One synthetic text from ``text`` (unchanged when it has no words)."""
    words = split_words(text)
    if not words:
        return text
    return join_words(augment_words(words, rng, settings, classes))


def augmented_texts(
    texts: Sequence[str],
    count: int,
    seed: int,
    settings: AugmentSettings,
    *,
    n_classes: int = 50,
) -> list[str]:
    """``count`` synthetic texts, deterministic for a seed.

    Sources go round a shuffled order of ``texts``, so with ``count = f * len(texts)`` every
    training text gets ``f`` synthetic copies (Tang et al.'s ``n_iter``), none more than one
    above another. Word classes are induced only when ``replace_prob`` asks for them.

    With ``join_prob``, a synthetic text is followed by a second one made from a random source
    (possibly the same; beyond Tang et al.): the teacher scores the longer text, so the
    student also learns how the teacher reads texts longer than the training rows. It was
    meant for training sets of short texts (SST-2's phrases, 9.5 words on average, against
    19.5 for its test sentences, where the default student lost 5.5 points to the teacher on
    20-29-word texts and 2.1-3.3 on shorter ones) and did not help there on average
    (BENCHMARKS.md, "Student defaults study"), so it is off by default.
    """
    if count <= 0 or not texts:
        return []
    classes = word_classes(texts, n_classes, seed) if settings.replace_prob > 0 else WordClasses()
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    out = []
    for k in range(count):
        text = augment_text(texts[order[k % len(order)]], rng, settings, classes)
        # no draw at all at join_prob 0: the sequence of Tang et al.'s operations is unchanged
        if settings.join_prob and rng.random() < settings.join_prob:
            other = augment_text(texts[rng.randrange(len(texts))], rng, settings, classes)
            text = join_words([*split_words(text), *split_words(other)])
        out.append(text)
    return out
