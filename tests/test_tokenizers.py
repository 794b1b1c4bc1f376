"""Tokenizer plugins: each builds a PreTrainedTokenizerFast that saves and loads back."""

from __future__ import annotations

import pytest
from textcls import TokenizerContext, get_plugins
from textcls.pretrained import make_resolver
from transformers import AutoTokenizer, PreTrainedTokenizerFast

TEXTS = [
    "The quick brown fox jumps.",
    "A quick movie, a slow plot!",
    "the fox again and again",
    "今天天气很好 good weather",
    "酒店服务很好",
] * 5


def build(name: str, **params):
    context = TokenizerContext(
        texts=lambda: iter(TEXTS),
        max_length=64,
        default_pretrained="sentence-transformers/all-MiniLM-L6-v2",
        resolve=make_resolver(),
    )
    return get_plugins().component("tokenizer", name).create(params, context=context)


@pytest.mark.parametrize("name", ["wordpiece", "bpe", "word", "char", "cjk", "hf"])
def test_tokenizer_builds_saves_and_loads(name, tmp_path):
    tokenizer = build(name)
    assert isinstance(tokenizer, PreTrainedTokenizerFast)
    assert tokenizer.pad_token is not None
    encoded = tokenizer(["quick fox", "a slow plot"], padding=True)
    assert len(encoded["input_ids"][0]) == len(encoded["input_ids"][1])
    tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again("the quick fox")["input_ids"] == tokenizer("the quick fox")["input_ids"]


def test_trained_tokenizers_reserve_the_same_special_ids():
    for name in ("wordpiece", "word", "char", "cjk"):
        tokenizer = build(name)
        assert tokenizer.convert_tokens_to_ids(["[PAD]", "[UNK]", "[MASK]"]) == [0, 1, 4]


def test_word_tokenizer_maps_rare_words_to_unk():
    tokenizer = build("word", min_frequency=5)
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("the zebra")["input_ids"])
    assert tokens == ["[CLS]", "the", "[UNK]", "[SEP]"]  # BERT-style models read [CLS]


def test_word_tokenizer_makes_each_cjk_ideograph_a_word():
    """Chinese has no spaces: without this a whole sentence would be one (rare) token."""
    tokenizer = build("word", min_frequency=1)
    assert tokenizer.tokenize("酒店服务很好 good weather") == [
        *"酒店服务很好",
        "good",
        "weather",
    ]
    assert tokenizer.tokenize("the quick fox") == ["the", "quick", "fox"]


def test_char_tokenizer_splits_characters():
    tokenizer = build("char")
    assert tokenizer.tokenize("fox jumps") == list("foxjumps")


def test_cjk_tokenizer_splits_ideographs_and_keeps_words():
    tokenizer = build("cjk", min_frequency=1)
    tokens = tokenizer.tokenize("酒店服务 good")
    assert tokens[:4] == ["酒", "店", "服", "务"]
    assert "good" in tokens


def test_hf_tokenizer_resolves_minilm_offline():
    tokenizer = build("hf")
    assert tokenizer.tokenize("hello world") == ["hello", "world"]
    assert len(tokenizer) == 30522
