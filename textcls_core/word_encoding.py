"""The ``word`` tokenizer's batches in plain Python where that is exact: ASCII and Chinese texts.

The ``word`` tokenizer (whole words and punctuation runs, a ``WordLevel`` vocabulary) is a
``tokenizers`` pipeline: NFKC, lowercase, the ``Whitespace`` pre-tokenizer (``\\w+|[^\\w\\s]+``),
vocabulary lookup, ``[CLS] ... [SEP]``. The Rust pipeline keeps character alignments for every
piece it splits (for offsets and word ids, which prediction never reads), and that costs about
2 µs a word: 22,000 SST-2 texts/s on one core, a third of the int8 BiLSTM student's whole
``textcls predict`` time. For a text of printable ASCII, every step has a one-line Python
equal: NFKC leaves ASCII as it is, lowercase is ``str.lower``, ``\\w`` is ``[A-Za-z0-9_]`` and
``\\s`` is space or tab; the same text goes through ``re.findall`` and a dict at about 150,000
texts/s. Any other text (accents, CJK, emoji, control characters) or one that holds an added
token's text (``[CLS]`` typed by a user) takes the Rust pipeline, and the two meet in one
padded batch.

Chinese text has the same kind of path. With the ``word`` tokenizer's CJK step (BertNormalizer's
``handle_chinese_chars``: every ideograph a word of its own) after NFKC, a text that NFKC turns
into printable ASCII, CJK ideographs and the CJK and general punctuation in ``_CJK_PLAIN`` is
split by one regex too. The text may hold only characters whose NFKC the Rust pipeline's older
Unicode tables and ``unicodedata`` agree on (``_CJK_INPUT``: Unicode's stability policy fixes an
assigned character's normal form, and each one there was assigned by Unicode 3.0 or is an
ideograph, which has none); each ideograph is a word; and those punctuation marks are
``[^\\w\\s]`` for Python's ``re`` and for Rust's regex alike. 99.6% of ChnSentiCorp's texts
take this path (BENCHMARKS.md, predict path on ChnSentiCorp, measures what it saves).

``word_encoder`` answers None unless the tokenizer's JSON is exactly this pipeline (what
``plugins/tokenizers.py``'s ``word`` tokenizer writes, with or without its CJK step), so
every other tokenizer keeps ``BatchEncoder``. tests/test_batch_encoding.py compares the ids,
masks and type ids with the transformers call.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from textcls.batch_encoding import EncoderSettings

#: Texts every step of the pipeline treats as plain ASCII: printable characters and tab.
_PLAIN = re.compile(r"[ -~\t]*")
#: ``Whitespace``'s ``\w+|[^\w\s]+`` over printable ASCII.
_WORDS = re.compile(r"[A-Za-z0-9_]+|[^A-Za-z0-9_ \t]+")
#: CJK ideographs (BertNormalizer's two Basic Multilingual Plane blocks, all assigned in Python
#: 3.11's Unicode 14), and punctuation both regex engines class as neither word nor space:
#: CJK brackets and marks, general punctuation without the connector marks (U+203F, U+2040,
#: which Rust counts as word characters and Python does not).
_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff"
_CJK_PUNCTUATION = "\u3001-\u3003\u3008-\u3011\u3014-\u301f\u2010-\u2027\u2030-\u203e"
#: Texts the CJK path takes, before NFKC: those characters, the ideographic space and the
#: fullwidth ASCII forms, all with the same NFKC in Python's ``unicodedata`` and in the Rust
#: pipeline's tables (Unicode 12 in tokenizers 0.22: a character Unicode assigned later, or
#: gave a compatibility mapping Rust lacks, such as U+1FBF1 -> "1", stays with Rust).
_CJK_INPUT = re.compile(f"[ -~\t{_IDEOGRAPHS}{_CJK_PUNCTUATION}\u3000\uff01-\uff5e]*")
#: What the CJK path splits, after NFKC (which maps a few marks outside the set: U+2017 gives
#: a combining mark, and such a text goes to Rust).
_CJK_PLAIN = re.compile(f"[ -~\t{_IDEOGRAPHS}{_CJK_PUNCTUATION}]*")
#: ``Whitespace`` after BertNormalizer spaced every ideograph: an ideograph, an ASCII word, or
#: a run of the other non-space characters.
_CJK_WORDS = re.compile(f"[{_IDEOGRAPHS}]|[A-Za-z0-9_]+|[^A-Za-z0-9_ \t{_IDEOGRAPHS}]+")
#: Normalizers that leave printable ASCII as it is (BertNormalizer only without lowercasing or
#: accent stripping: its clean_text turns a tab into a space, whitespace either way).
_ASCII_IDENTITY = {"NFKC", "NFC", "NFKD", "NFD"}


def word_encoder(backend: Any, settings: EncoderSettings, max_length: int) -> WordEncoder | None:
    """A ``WordEncoder`` when ``backend`` is exactly the word pipeline, else None."""
    if type(backend.model).__name__ != "WordLevel":
        return None  # before serialising a large vocabulary to find out
    try:
        spec = json.loads(backend.to_str())
    except Exception:  # a backend that cannot be serialised is not one of ours
        return None
    model, post = spec.get("model") or {}, spec.get("post_processor") or {}
    if model.get("type") != "WordLevel" or spec.get("pre_tokenizer") != {"type": "Whitespace"}:
        return None
    lowercase = _lowercases(spec.get("normalizer"))
    vocab, unk = model.get("vocab") or {}, model.get("unk_token")
    ends = _cls_sep(post, vocab)
    if lowercase is None or unk not in vocab or ends is None or max_length < 3:
        return None
    cjk = _splits_cjk_after_nfkc(spec.get("normalizer"))
    return WordEncoder(backend, settings, max_length, vocab, vocab[unk], ends, lowercase, cjk)


def _splits_cjk_after_nfkc(normalizer: Any) -> bool:
    """Whether the normalizer is the ``word`` tokenizer's: NFKC, maybe Lowercase, the CJK step."""
    steps = normalizer.get("normalizers", []) if normalizer else []
    kinds = [step.get("type") for step in steps]
    if kinds not in (["NFKC", "BertNormalizer"], ["NFKC", "Lowercase", "BertNormalizer"]):
        return False
    bert = steps[-1]
    return (
        bert.get("handle_chinese_chars") is True
        and bert.get("clean_text") is False
        and bert.get("strip_accents") is False
        and bert.get("lowercase") is False
    )


def _lowercases(normalizer: Any) -> bool | None:
    """Whether the normalizer lowercases ASCII; None if it does anything else to it."""
    if normalizer is None:
        return False
    kind = normalizer.get("type")
    if kind == "Sequence":
        steps = [_lowercases(step) for step in normalizer.get("normalizers", [])]
        return None if None in steps else any(steps)
    if kind in _ASCII_IDENTITY:
        return False
    if kind == "Lowercase":
        return True
    if kind == "BertNormalizer" and normalizer.get("lowercase") is False:
        return False if normalizer.get("strip_accents") is False else None
    return None


def _cls_sep(post: dict[str, Any], vocab: dict[str, int]) -> tuple[int, int] | None:
    """The ids of ``[CLS] $A [SEP]`` (type id 0 throughout), or None for another template."""
    single = post.get("single") if post.get("type") == "TemplateProcessing" else None
    if not isinstance(single, list) or len(single) != 3:
        return None
    first, middle, last = single
    if middle != {"Sequence": {"id": "A", "type_id": 0}}:
        return None
    ids = []
    for piece in (first, last):
        token = piece.get("SpecialToken") if isinstance(piece, dict) else None
        if not isinstance(token, dict) or token.get("type_id") != 0:
            return None
        entry = post.get("special_tokens", {}).get(token.get("id"), {})
        if len(entry.get("ids", [])) != 1:
            return None
        ids.append(int(entry["ids"][0]))
    return ids[0], ids[1]


class WordEncoder:
    """Pads a batch like ``BatchEncoder``; plain ASCII (and Chinese) texts are split in Python."""

    def __init__(
        self,
        backend: Any,
        settings: EncoderSettings,
        max_length: int,
        vocab: dict[str, int],
        unk_id: int,
        cls_sep: tuple[int, int],
        lowercase: bool,
        cjk: bool = False,
    ) -> None:
        # The Rust pipeline for every other text: truncated, not padded (padding is done here).
        self.backend = copy.deepcopy(backend)
        self.backend.no_padding()
        self.backend.enable_truncation(
            max_length, stride=0, strategy="longest_first", direction=settings.truncation_side
        )
        self.backend.encode_special_tokens = settings.split_special_tokens
        self.settings = settings
        self.vocab, self.unk_id = vocab, unk_id
        self.cls_id, self.sep_id = cls_sep
        self.lowercase = lowercase
        self.cjk = cjk
        self.words = max_length - 2
        self.keep_last = settings.truncation_side == "left"
        # A text holding an added token's text goes to Rust, which splits that token out first.
        added = [t.content for t in backend.get_added_tokens_decoder().values()]
        self.added = [a.lower() for a in added if a] if lowercase else [a for a in added if a]

    def _plain_ids(self, text: str) -> list[int] | None:
        words = _WORDS
        if not _PLAIN.fullmatch(text):
            if not self.cjk or not _CJK_INPUT.fullmatch(text):
                return None
            text = unicodedata.normalize("NFKC", text)
            if not _CJK_PLAIN.fullmatch(text):
                return None
            words = _CJK_WORDS
        if self.lowercase:
            text = text.lower()  # ASCII only changes: ideographs and those marks have no case
        if any(token in text for token in self.added):
            return None
        get, unk = self.vocab.get, self.unk_id
        ids = [get(word, unk) for word in words.findall(text)]
        if len(ids) > self.words:
            ids = ids[-self.words :] if self.keep_last else ids[: self.words]
        return [self.cls_id, *ids, self.sep_id]

    def _tokenize(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[int]] | None]:
        """Ids per text (unpadded), and type ids where the Rust pipeline gave any."""
        ids: list[list[int] | None] = [self._plain_ids(text) for text in texts]
        rest = [i for i, row in enumerate(ids) if row is None]
        types: list[list[int]] | None = None
        if rest:
            encodings = self.backend.encode_batch_fast([texts[i] for i in rest])
            types = [[0] * len(row) if row is not None else [] for row in ids]
            for i, encoding in zip(rest, encodings, strict=True):
                ids[i] = encoding.ids
                types[i] = encoding.type_ids
        return ids, types  # type: ignore[return-value]

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        ids, types = self._tokenize(texts)
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        width = int(lengths.max())
        steps = np.arange(width)
        if self.settings.padding_side == "left":
            filled = steps >= (width - lengths)[:, None]
        else:
            filled = steps < lengths[:, None]
        # Row-major order of the filled cells is each row's ids in order, rows one after another.
        s = self.settings
        input_ids = np.full((len(ids), width), s.pad_token_id, dtype=np.int64)
        input_ids[filled] = np.fromiter(chain.from_iterable(ids), np.int64, int(lengths.sum()))
        out = {"input_ids": input_ids}
        if s.type_ids:
            type_ids = np.full((len(ids), width), s.pad_type_id, dtype=np.int64)
            type_ids[filled] = (
                np.fromiter(chain.from_iterable(types), np.int64, int(lengths.sum()))
                if types is not None
                else 0
            )
            out["token_type_ids"] = type_ids
        if s.attention_mask:
            out["attention_mask"] = filled.astype(np.int64)
        return out
