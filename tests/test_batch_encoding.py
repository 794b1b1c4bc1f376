"""The Predictor's tokenization through the Rust backend, from a loaded tokenizer or read from
its folder without transformers, gives what the transformers call gives."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from textcls import TokenizerContext, get_plugins
from textcls.batch_encoding import BatchEncoder, batch_encoder
from textcls.folder_tokenizer import folder_encoder
from textcls.pretrained import make_resolver
from textcls.word_encoding import WordEncoder
from transformers import AutoTokenizer

CORPUS = [
    "The quick brown fox jumps.",
    "A quick movie, a slow plot!",
    "the fox again and again",
    "今天天气很好 good weather",
    "酒店服务很好",
] * 5
MAX_LENGTH = 12
TEXTS = [
    "quick fox",
    "",
    "   ",
    "a slow plot " * 20,  # truncated to MAX_LENGTH
    "[SEP] [PAD] [CLS] <s> </s> the fox",  # special tokens typed by a user
    "Émilie's café 🎬 naïve — “quoted”",
    "今天天气很好",
    "a zebra nobody has seen",
]


def build(name: str, tmp_path) -> object:
    """A tokenizer plugin's tokenizer as the Predictor meets it: saved, then loaded back."""
    context = TokenizerContext(
        texts=lambda: iter(CORPUS),
        max_length=64,
        default_pretrained="sentence-transformers/all-MiniLM-L6-v2",
        resolve=make_resolver(),
    )
    tokenizer = get_plugins().component("tokenizer", name).create({}, context=context)
    tokenizer.save_pretrained(tmp_path)
    return AutoTokenizer.from_pretrained(tmp_path)


def transformers_call(tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    encoded = tokenizer(
        texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="np"
    )
    return dict(encoded)


def assert_same(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name].dtype == value.dtype, name
        np.testing.assert_array_equal(got[name], value, err_msg=name)


@pytest.mark.parametrize("name", ["wordpiece", "bpe", "word", "char", "cjk", "hf"])
def test_backend_encoding_equals_the_transformers_call(name, tmp_path):
    tokenizer = build(name, tmp_path)
    encode = batch_encoder(tokenizer, MAX_LENGTH)
    assert isinstance(encode, WordEncoder if name == "word" else BatchEncoder)
    assert_same(encode(TEXTS), transformers_call(tokenizer, TEXTS))
    for text in TEXTS:  # one text takes the single-encode path
        assert_same(encode([text]), transformers_call(tokenizer, [text]))
    assert encode(TEXTS)["input_ids"].shape[1] == MAX_LENGTH  # the long text was truncated


def test_padding_and_truncation_sides_are_followed(tmp_path):
    tokenizer = build("hf", tmp_path)
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    encode = batch_encoder(tokenizer, MAX_LENGTH)
    got = encode(TEXTS)
    assert_same(got, transformers_call(tokenizer, TEXTS))
    assert got["attention_mask"][0, 0] == 0  # "quick fox" is padded on the left


def test_the_tokenizer_itself_is_left_as_it_was(tmp_path):
    tokenizer = build("word", tmp_path)
    before = (tokenizer.backend_tokenizer.truncation, tokenizer.backend_tokenizer.padding)
    batch_encoder(tokenizer, MAX_LENGTH)(TEXTS)
    after = (tokenizer.backend_tokenizer.truncation, tokenizer.backend_tokenizer.padding)
    assert after == before


def test_a_tokenizer_without_a_pad_token_takes_the_transformers_call(tmp_path):
    tokenizer = build("hf", tmp_path)
    tokenizer.pad_token = None
    encode = batch_encoder(tokenizer, MAX_LENGTH)
    assert not isinstance(encode, BatchEncoder)
    with pytest.raises(ValueError, match="padding token"):  # transformers' own error, as before
        encode(["quick fox"])


# -- a model folder's tokenizer read without transformers (folder_tokenizer.py) -------------


@pytest.mark.parametrize("name", ["wordpiece", "bpe", "word", "char", "cjk", "hf"])
def test_folder_encoding_equals_the_transformers_call(name, tmp_path):
    tokenizer = build(name, tmp_path)
    encode = folder_encoder(tmp_path, MAX_LENGTH)
    assert encode is not None  # every folder textcls writes takes the quick path
    assert_same(encode(TEXTS), transformers_call(tokenizer, TEXTS))
    for text in TEXTS:
        assert_same(encode([text]), transformers_call(tokenizer, [text]))


def edit_config(folder, **changes) -> None:
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path.write_text(json.dumps(config))


def test_folder_sides_follow_the_config(tmp_path):
    build("hf", tmp_path)
    edit_config(tmp_path, padding_side="left", truncation_side="left")
    got = folder_encoder(tmp_path, MAX_LENGTH)(TEXTS)
    assert_same(got, transformers_call(AutoTokenizer.from_pretrained(tmp_path), TEXTS))
    assert got["attention_mask"][0, 0] == 0  # "quick fox" is padded on the left


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("hf", {"tokenizer_class": "RobertaTokenizer"}),  # a class whose loading is not copied
        ("hf", {"auto_map": {"AutoTokenizer": ["x.Tok", None]}}),  # remote code: refused
        ("hf", {"pad_token": None}),  # no padding token
        ("hf", {"do_lower_case": False}),  # BertTokenizerFast rebuilds the normalizer on load
        ("hf", {"sep_token": "[NOT-IN-VOCAB]"}),  # transformers adds the token on load
        ("bpe", {"add_prefix_space": True}),  # PreTrainedTokenizerFast rebuilds the ByteLevel
    ],
)
def test_folder_encoder_refuses_what_transformers_would_change(name, changes, tmp_path):
    build(name, tmp_path)
    assert folder_encoder(tmp_path, MAX_LENGTH) is not None
    edit_config(tmp_path, **changes)
    assert folder_encoder(tmp_path, MAX_LENGTH) is None


def test_a_folder_without_tokenizer_files_has_no_folder_encoder(tmp_path):
    assert folder_encoder(tmp_path, MAX_LENGTH) is None
    build("word", tmp_path)
    (tmp_path / "tokenizer.json").write_text("{ not json")
    assert folder_encoder(tmp_path, MAX_LENGTH) is None


# -- the word tokenizer's Python path for plain ASCII (word_encoding.py) ---------------------


def ascii_texts(n: int = 2000) -> list[str]:
    """Printable ASCII at its most awkward: punctuation runs, underscores, digits, tabs,
    brackets that are not special tokens, case, and a few that are not ASCII to mix in."""
    rng = random.Random(3)
    pieces = [
        *"the quick fox A slow plot again".split(),
        "The", "FOX", "it's", "n't", "don't", "...", "?!", "--", "_", "__init__", "a_b",
        "42", "3.14", "1,000", "$5", "(x)", "[x]", "[", "]", "[CLS", "SEP]", "\\", "'", '"',
        "~`", "@#%^&*", "\t", "é", "今天", "\n", "\x1c",
    ]  # fmt: skip
    texts = ["", " ", "\t", "[SEP]", "the [PAD] fox", "[cls] lower"]
    while len(texts) < n:
        words = [rng.choice(pieces) for _ in range(rng.choice([1, 2, 4, 9, 20]))]
        texts.append(
            rng.choice(["", " ", "\t"]).join(words) if rng.random() < 0.3 else " ".join(words)
        )
    return texts


@pytest.mark.parametrize("sides", [("right", "right"), ("left", "left")])
def test_word_python_path_equals_the_transformers_call(sides, tmp_path):
    tokenizer = build("word", tmp_path)
    tokenizer.padding_side, tokenizer.truncation_side = sides
    encode = batch_encoder(tokenizer, MAX_LENGTH)
    assert isinstance(encode, WordEncoder)
    texts = ascii_texts()
    plain = [t for t in texts if encode._plain_ids(t) is not None]
    assert len(plain) > len(texts) // 2  # most texts really take the Python path
    for start in range(0, len(texts), 50):  # batches that mix both paths
        batch = texts[start : start + 50]
        assert_same(encode(batch), transformers_call(tokenizer, batch))
    for text in texts[:200]:
        assert_same(encode([text]), transformers_call(tokenizer, [text]))


def test_word_python_path_only_for_the_word_pipeline(tmp_path):
    for name in ("wordpiece", "bpe", "char", "cjk", "hf"):
        folder = tmp_path / name
        assert not isinstance(batch_encoder(build(name, folder), MAX_LENGTH), WordEncoder), name


# -- the word tokenizer's Python path for Chinese text -------------------------------------


def _chars(ranges: str) -> list[str]:
    """Every character of a regex class body such as ``"\u3001-\u3003\u3008"``."""
    chars: list[str] = []
    for first, last, single in re.findall(r"(.)-(.)|(.)", ranges, flags=re.DOTALL):
        start, end = (first, last) if first else (single, single)
        chars += [chr(c) for c in range(ord(start), ord(end) + 1)]
    return chars


#: Characters whose NFKC Python 3.11 (Unicode 14) knows and tokenizers' tables (Unicode 12) do
#: not: U+32FF -> 令和, U+A7F2 -> C, U+1F16C -> MR, U+1FBF1 -> 1. They must go to Rust.
LATER = ["\u32ff", "\ua7f2", "\U0001f16c", "\U0001fbf1"]


def cjk_texts(n: int = 3000) -> list[str]:
    """Ideographs, CJK and general punctuation, fullwidth forms NFKC turns into ASCII, the
    ideographic space, ASCII words; and characters the path must leave to Rust (kana, a
    connector mark Rust counts as a word character, compatibility ideographs, accents)."""
    from textcls.word_encoding import _CJK_PUNCTUATION, _IDEOGRAPHS

    rng = random.Random(5)
    ideographs = _chars(_IDEOGRAPHS)
    punctuation = _chars(_CJK_PUNCTUATION)
    fullwidth = [chr(c) for c in range(0xFF01, 0xFF5F)]
    pieces = [
        lambda: "".join(rng.choice(ideographs) for _ in range(rng.randint(1, 8))),
        lambda: rng.choice(punctuation),
        lambda: rng.choice(fullwidth),
        lambda: rng.choice(["\u3000", " ", "\t", "", ""]),
        lambda: rng.choice(["good", "A", "_x", "42", "3.14", "!!", "...", "[CLS]", "(", "]"]),
        lambda: rng.choice(["ぃ", "\u203f", "\u2040", "\uf900", "\ufa0e", "é", "∩", "\n", *LATER]),
    ]
    weights = [8, 3, 2, 3, 3, 0.2]
    texts = ["", "好", "很好。", "酒店，很好！", "ＡＢＣ１２３", "\u3000今天"]
    while len(texts) < n:
        count = rng.choice([1, 3, 8, 30, 80])
        texts.append("".join(p() for p in rng.choices(pieces, weights, k=count)))
    # every character the path accepts, alone and between ASCII letters
    texts += [f"a{c}b {c}" for c in ideographs[::7] + punctuation + fullwidth]
    return texts


def build_word_on(texts: list[str], tmp_path) -> object:
    """The word tokenizer trained on ``texts`` themselves, so few words are [UNK]."""
    context = TokenizerContext(
        texts=lambda: iter(texts), max_length=64, default_pretrained=None, resolve=make_resolver()
    )
    tokenizer = get_plugins().component("tokenizer", "word").create({}, context=context)
    tokenizer.save_pretrained(tmp_path)
    return AutoTokenizer.from_pretrained(tmp_path)


@pytest.mark.parametrize("sides", [("right", "right"), ("left", "left")])
def test_word_python_path_for_chinese_equals_the_transformers_call(sides, tmp_path):
    texts = cjk_texts()
    tokenizer = build_word_on(texts, tmp_path)
    tokenizer.padding_side, tokenizer.truncation_side = sides
    encode = batch_encoder(tokenizer, MAX_LENGTH)
    assert isinstance(encode, WordEncoder) and encode.cjk
    python = [t for t in texts if encode._plain_ids(t) is not None and not t.isascii()]
    assert len(python) > len(texts) // 2  # most non-ASCII texts really take the Python path
    for outside in ["ぃ", "\u203f", "\u2017", *LATER]:  # U+2017: NFKC gives a combining mark
        assert encode._plain_ids(f"a{outside}好") is None, outside
    for start in range(0, len(texts), 50):  # batches that mix both paths
        batch = texts[start : start + 50]
        assert_same(encode(batch), transformers_call(tokenizer, batch))
    long_max = batch_encoder(tokenizer, 64)  # long texts kept whole, not only their first words
    for start in range(0, len(texts), 200):
        batch = texts[start : start + 200]
        expected = dict(
            tokenizer(batch, padding=True, truncation=True, max_length=64, return_tensors="np")
        )
        assert_same(long_max(batch), expected)


def test_chinese_path_only_with_the_word_tokenizers_cjk_step(tmp_path):
    tokenizer = build("word", tmp_path)
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["normalizer"]["normalizers"][-1]["handle_chinese_chars"] = False
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    without = AutoTokenizer.from_pretrained(tmp_path)
    encode = batch_encoder(without, MAX_LENGTH)
    assert isinstance(encode, WordEncoder) and not encode.cjk
    assert encode._plain_ids("今天天气很好") is None
    assert_same(encode(TEXTS), transformers_call(without, TEXTS))


def test_every_character_the_chinese_path_takes_has_the_same_nfkc_in_python_and_rust():
    """The path's premise, checked against the installed tokenizers and Python: a newer Python
    or tokenizers whose NFKC tables disagree on any accepted character fails here."""
    import unicodedata

    from textcls.word_encoding import _CJK_INPUT
    from tokenizers import normalizers

    rust = normalizers.NFKC()
    accepted = [chr(c) for c in range(0x10000) if _CJK_INPUT.fullmatch(chr(c))]
    assert len(accepted) > 27_000
    differ = [c for c in accepted if unicodedata.normalize("NFKC", c) != rust.normalize_str(c)]
    assert differ == []
