"""Transfer-set augmentation (Tang et al. 2019): masking, class-guided replacement, n-grams."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from textcls import ConfigError, config_from_dict
from textcls.distillation.augment import (
    AugmentSettings,
    augment_text,
    augmented_texts,
    join_words,
    split_words,
    word_classes,
)

NOUNS = ["cat", "dog", "bird", "horse", "fish"]
VERBS = ["like", "hate", "love", "fear", "feed"]


def corpus(n: int = 300, seed: int = 0) -> list[str]:
    """Nouns only ever follow "the", verbs only ever follow "we": two clear word classes."""
    rng = random.Random(seed)
    return [
        f"the {rng.choice(NOUNS)} is here and we {rng.choice(VERBS)} the {rng.choice(NOUNS)}"
        for _ in range(n)
    ]


def test_cjk_characters_are_words_and_join_back_without_spaces():
    assert split_words("这部电影 very good!") == ["这", "部", "电", "影", "very", "good!"]
    assert join_words(["这", "部", "[MASK]", "影", "very", "good!"]) == "这部 [MASK] 影 very good!"
    assert join_words(split_words("a  b\tc")) == "a b c"
    assert join_words(split_words("这部电影")) == "这部电影"


def test_induced_classes_separate_nouns_from_verbs():
    # 15 words: 5 nouns, 5 verbs and 5 function words that each have contexts of their own
    classes = word_classes(corpus(), n_classes=7, seed=0)
    assert sorted(classes.members[classes.class_of["cat"]]) == sorted(NOUNS)
    assert sorted(classes.members[classes.class_of["like"]]) == sorted(VERBS)
    rng = random.Random(1)
    assert {classes.replacement("cat", rng) for _ in range(200)} == set(NOUNS) - {"cat"}
    assert classes.replacement("unseen-word", rng) == "unseen-word"


def test_replacement_keeps_each_words_role():
    texts = corpus()
    settings = AugmentSettings(mask_prob=0.0, replace_prob=1.0, ngram_prob=0.0)
    classes = word_classes(texts, n_classes=7, seed=0)
    rng = random.Random(0)
    for text in texts[:50]:
        out = augment_text(text, rng, settings, classes).split()
        words = text.split()
        assert len(out) == len(words)
        assert out != words
        for before, after in zip(words, out, strict=True):
            if before in NOUNS:
                assert after in NOUNS
            if before in VERBS:
                assert after in VERBS


def test_masking_and_ngrams():
    classes = word_classes([], n_classes=2, seed=0)
    rng = random.Random(0)
    masked = augment_text("one two three", rng, AugmentSettings(1.0, 0.0, 0.0), classes)
    assert masked == "[MASK] [MASK] [MASK]"
    text = "a b c d e f g h"
    settings = AugmentSettings(mask_prob=0.0, replace_prob=0.0, ngram_prob=1.0, max_ngram=3)
    for _ in range(50):
        gram = augment_text(text, rng, settings, classes)
        assert 1 <= len(gram.split()) <= 3 and gram in text


def test_every_text_gets_the_same_number_of_copies_and_seeds_repeat():
    texts = [f"text number {i}" for i in range(7)]
    keep = AugmentSettings(mask_prob=0.0, replace_prob=0.0, ngram_prob=0.0)
    copies = Counter(augmented_texts(texts, 21, seed=3, settings=keep))
    assert copies == {t: 3 for t in texts}
    default = AugmentSettings()
    first = augmented_texts(corpus(), 500, seed=5, settings=default)
    assert first == augmented_texts(corpus(), 500, seed=5, settings=default)
    assert first != augmented_texts(corpus(), 500, seed=6, settings=default)
    assert augmented_texts(texts, 0, seed=0, settings=default) == []


def test_mask_and_replace_probabilities_must_fit_one_draw(tmp_path):
    raw = {
        "name": "a",
        "data": {"train": "x.csv"},
        "student": {
            "model": "bilstm",
            "transfer": {"augment": {"mask_prob": 0.6, "replace_prob": 0.5}},
        },
    }
    with pytest.raises(ConfigError, match="exceeds 1"):
        config_from_dict(raw, base_dir=tmp_path)


def test_joined_texts_are_two_sources_and_join_prob_zero_changes_nothing():
    import hashlib
    import json

    texts = [f"text number {i}" for i in range(7)]
    always = AugmentSettings(mask_prob=0.0, replace_prob=0.0, ngram_prob=0.0, join_prob=1.0)
    joined = augmented_texts(texts, 70, seed=3, settings=always)
    for text in joined:  # each text is one source followed by another, unchanged
        first, second = text[: len(text) // 2], text[len(text) // 2 + 1 :]
        assert {first, second} <= set(texts), text
    assert len(set(joined)) > 7
    # at 0 the draws are Tang et al.'s alone: the digest of the texts the commit before
    # join_prob existed (862f832) drew with these settings (no word classes: no k-means)
    tang = AugmentSettings(mask_prob=0.1, replace_prob=0.0, ngram_prob=0.25)
    texts_then = augmented_texts(corpus(), 500, seed=5, settings=tang)
    digest = hashlib.sha256(json.dumps(texts_then).encode()).hexdigest()
    assert digest == "05e69dc79f26138761b081e8520750fb5eb40c88a0c5503e535024a01a0de47f"
    half = AugmentSettings(join_prob=0.5)
    lengths = [len(split_words(t)) for t in augmented_texts(corpus(), 500, seed=5, settings=half)]
    # a source has at most 9 words: longer texts are joined ones (about 0.5 x 0.94 of them)
    assert 0.35 < sum(n > 9 for n in lengths) / len(lengths) < 0.6


def test_join_prob_is_a_probability(tmp_path):
    raw = {
        "name": "a",
        "data": {"train": "x.csv"},
        "student": {"model": "bilstm", "transfer": {"augment": {"join_prob": 1.5}}},
    }
    with pytest.raises(ConfigError, match="join_prob"):
        config_from_dict(raw, base_dir=tmp_path)
