"""A model folder's fast tokenizer, read without importing transformers, where that is exact.

``from transformers import AutoTokenizer`` takes 1.5-6 s on the 2-core machine (it imports
much of transformers, and torch with it); an exported ONNX student needs none of it to predict:
ONNX Runtime and the ``tokenizers`` backend import in a quarter of a second. For a ``textcls
predict`` of a few thousand texts, that import was most of the command's time.

``folder_encoder`` builds the same encoder that ``batch_encoder`` builds from a loaded
transformers tokenizer, reading ``tokenizer.json`` and ``tokenizer_config.json`` directly. It
answers ``None`` (the caller then loads through transformers, as before) whenever
``AutoTokenizer.from_pretrained`` would change the backend on load or read settings this
module does not: a tokenizer class other than the two that textcls folders hold
(``PreTrainedTokenizerFast`` for trained tokenizers, ``BertTokenizer(Fast)`` for MiniLM-style
encoders), remote code (``auto_map``), added or special tokens missing from ``tokenizer.json``,
an ``add_prefix_space`` or a BERT normalizer setting that the config overrides, or no padding
token. tests/test_batch_encoding.py checks the arrays against the transformers call for every
built-in tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textcls.batch_encoding import Encode, EncoderSettings, quick_encoder

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
#: Classes whose loading this module reproduces, and their ``model_input_names``.
KNOWN_CLASSES = {
    "PreTrainedTokenizerFast": ("input_ids", "token_type_ids", "attention_mask"),
    "BertTokenizer": ("input_ids", "token_type_ids", "attention_mask"),
    "BertTokenizerFast": ("input_ids", "token_type_ids", "attention_mask"),
}
SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token")
ADDED_TOKEN_FLAGS = ("special", "normalized", "lstrip", "rstrip", "single_word")


def folder_encoder(folder: Path, max_length: int) -> Encode | None:
    """The folder's encoder from its tokenizer files alone, or None where that may differ."""
    tokenizer_file, config_file = folder / TOKENIZER_FILE, folder / CONFIG_FILE
    if not tokenizer_file.is_file() or not config_file.is_file():
        return None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        from tokenizers import Tokenizer

        backend = Tokenizer.from_file(str(tokenizer_file))
    except Exception:  # OSError, JSON errors, and tokenizers' own Exception type
        return None  # the transformers path reports what is wrong, as it always did
    if not isinstance(config, dict):
        return None
    settings = _settings(backend, config)
    if settings is None:
        return None
    return quick_encoder(backend, settings, max_length)


def _settings(backend: Any, config: dict[str, Any]) -> EncoderSettings | None:
    names = KNOWN_CLASSES.get(str(config.get("tokenizer_class")))
    if names is None or "auto_map" in config:
        return None
    if not _tokens_present(backend, config) or _load_would_rewrite(backend, config):
        return None
    pad_token = _content(config.get("pad_token"))
    pad_id = backend.token_to_id(pad_token) if pad_token is not None else None
    if pad_token is None or pad_id is None or config.get("pad_token_type_id", 0) != 0:
        return None
    names = tuple(config.get("model_input_names") or names)
    return EncoderSettings(
        truncation_side=str(config.get("truncation_side", "right")),
        padding_side=str(config.get("padding_side", "right")),
        pad_token=pad_token,
        pad_token_id=int(pad_id),
        pad_type_id=0,
        split_special_tokens=bool(config.get("split_special_tokens", False)),
        type_ids="token_type_ids" in names,
        attention_mask="attention_mask" in names,
    )


def _content(token: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict."""
    if isinstance(token, str):
        return token
    if isinstance(token, dict) and isinstance(token.get("content"), str):
        return str(token["content"])
    return None


def _tokens_present(backend: Any, config: dict[str, Any]) -> bool:
    """Every added and special token of the config is already in the backend, flags included
    (transformers adds the missing ones on load)."""
    held = {
        token.content: tuple(getattr(token, flag) for flag in ADDED_TOKEN_FLAGS)
        for token in backend.get_added_tokens_decoder().values()
    }
    decoder = config.get("added_tokens_decoder") or {}
    if not isinstance(decoder, dict):
        return False
    for token in decoder.values():
        if not isinstance(token, dict) or token.get("content") not in held:
            return False
        flags = tuple(token.get(flag, False) for flag in ADDED_TOKEN_FLAGS)
        if held[token["content"]] != flags:
            return False
    specials = [config.get(key) for key in SPECIAL_KEYS] + [config.get("mask_token")]
    specials += list(config.get("additional_special_tokens") or [])
    for special in specials:
        if special is None:
            continue
        content = _content(special)
        if content is None or content not in held:
            return False
    return True


def _load_would_rewrite(backend: Any, config: dict[str, Any]) -> bool:
    """What PreTrainedTokenizerFast / BertTokenizerFast.__init__ change in the backend."""
    try:
        pre = json.loads(backend.pre_tokenizer.__getstate__()) if backend.pre_tokenizer else {}
    except Exception:  # a pre-tokenizer that cannot be serialised: transformers skips it too
        pre = {}
    wanted = config.get("add_prefix_space", False)
    if isinstance(pre, dict) and pre.get("add_prefix_space", wanted) != wanted:
        return True
    if str(config.get("tokenizer_class")).startswith("Bert"):
        normalizer = json.loads(backend.normalizer.__getstate__()) if backend.normalizer else {}
        expected = {
            "lowercase": config.get("do_lower_case", True),
            "strip_accents": config.get("strip_accents"),
            "handle_chinese_chars": config.get("tokenize_chinese_chars", True),
        }
        if any(normalizer.get(key, value) != value for key, value in expected.items()):
            return True
    return False
