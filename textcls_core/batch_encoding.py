"""Tokenize texts for the Predictor: the fast tokenizer's Rust backend, called directly.

``tokenizer(texts, padding=True, truncation=True, max_length=n, return_tensors="np")`` spends
about 60 µs of Python per call (argument checks, padding strategy, ``BatchEncoding``, tensor
conversion) around a Rust call of a few µs. For one text, as ``textcls serve`` gets it, that was
a quarter of the whole model path (profiled with py-spy under ``bench/serve_load.py``).
``BatchEncoder`` configures a copy of the tokenizer's ``tokenizers.Tokenizer`` backend once with
the truncation and padding that call sets (``PreTrainedTokenizerFast.set_truncation_and_padding``)
and returns the same arrays under the same names (tests/test_batch_encoding.py compares the two).
A tokenizer without a Rust backend or a pad token takes the transformers call unchanged; the
``word`` tokenizer splits plain-ASCII texts in Python (``word_encoding.py``, ``quick_encoder``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Encode = Callable[[Sequence[str]], dict[str, np.ndarray]]


def batch_encoder(tokenizer: Any, max_length: int) -> Encode:
    """The quickest exact way to tokenize a batch with ``tokenizer`` (padded to the longest)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not getattr(tokenizer, "is_fast", False) or backend is None or tokenizer.pad_token is None:
        return _TransformersEncoder(tokenizer, max_length)
    return quick_encoder(backend, EncoderSettings.of(tokenizer), max_length)


def quick_encoder(backend: Any, settings: EncoderSettings, max_length: int) -> Encode:
    """The ``word`` tokenizer's Python path where it applies (word_encoding.py), else the
    backend's own batch call."""
    from textcls.word_encoding import word_encoder

    return word_encoder(backend, settings, max_length) or BatchEncoder(
        backend, settings, max_length
    )


class _TransformersEncoder:
    """The plain transformers call, for tokenizers the backend path cannot serve exactly."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        return dict(encoded)


@dataclass(frozen=True)
class EncoderSettings:
    """What ``tokenizer(..., padding=True, truncation=True)`` reads from the tokenizer object."""

    truncation_side: str
    padding_side: str
    pad_token: str
    pad_token_id: int
    pad_type_id: int
    split_special_tokens: bool
    type_ids: bool
    attention_mask: bool

    @classmethod
    def of(cls, tokenizer: Any) -> EncoderSettings:
        names = tokenizer.model_input_names
        return cls(
            truncation_side=tokenizer.truncation_side,
            padding_side=tokenizer.padding_side,
            pad_token=tokenizer.pad_token,
            pad_token_id=tokenizer.pad_token_id,
            pad_type_id=tokenizer.pad_token_type_id,
            split_special_tokens=bool(getattr(tokenizer, "split_special_tokens", False)),
            type_ids="token_type_ids" in names,
            attention_mask="attention_mask" in names,
        )


class BatchEncoder:
    """A fast tokenizer's backend, set up once as ``tokenizer(..., padding=True,
    truncation=True, max_length=max_length)`` sets it up on every call."""

    def __init__(self, backend: Any, settings: EncoderSettings, max_length: int) -> None:
        # A copy: the tokenizer object stays free for other callers and their settings.
        self.backend = copy.deepcopy(backend)
        self.backend.enable_truncation(
            max_length, stride=0, strategy="longest_first", direction=settings.truncation_side
        )
        self.backend.enable_padding(
            direction=settings.padding_side,
            pad_id=settings.pad_token_id,
            pad_type_id=settings.pad_type_id,
            pad_token=settings.pad_token,
        )
        self.backend.encode_special_tokens = settings.split_special_tokens
        self.type_ids = settings.type_ids
        self.attention_mask = settings.attention_mask
        # No offsets (unused here): tokenizers >= 0.21 skips computing them.
        self._encode_batch = getattr(self.backend, "encode_batch_fast", self.backend.encode_batch)

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        # One text: ``encode`` keeps the GIL and needs no thread pool; ``encode_batch`` releases
        # the GIL and may hand the work to rayon threads, which costs more than a short text.
        # Padding to the longest of one text adds nothing, so both give the same ids.
        if len(texts) == 1:
            encodings = [self.backend.encode(texts[0])]
        else:
            encodings = self._encode_batch(list(texts))
        out = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64)}
        if self.type_ids:
            out["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        if self.attention_mask:
            out["attention_mask"] = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return out
