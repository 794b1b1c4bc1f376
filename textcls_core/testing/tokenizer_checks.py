"""The conformance battery for a tokenizer component: build, encode, save and reload."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult
from textcls.testing.toy import MAX_LENGTH, TEXTS

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

#: Texts the tokenizer never saw while training: unknown words, digits, accents, CJK, emoji.
UNSEEN = ("zebra quokka 42 unseen words", "naïveté über 未知の文字 🙂", "")


def check_tokenizer(
    name: str, params: dict[str, Any] | None = None, *, workdir: str | Path
) -> list[CheckResult]:
    """Run every tokenizer check on the tokenizer component ``name``."""
    from textcls.plugin_manager import get_plugins

    plugins = get_plugins()
    component = plugins.component("tokenizer", name)
    state = SimpleNamespace(params=sample_params(component, params))
    battery = Battery("tokenizer", name)
    battery.run("build", lambda: _build(state, component, plugins))
    battery.run("encode", lambda: _encode(state), needs=["build"])
    battery.run("save-reload", lambda: _save_reload(state, Path(workdir)), needs=["encode"])
    return battery.results


def _build(state: SimpleNamespace, component: Any, plugins: PluginHost) -> str:
    from textcls.plugin_api import TokenizerContext
    from textcls.pretrained import make_resolver
    from transformers import PreTrainedTokenizerFast

    context = TokenizerContext(
        texts=lambda: iter(TEXTS), max_length=MAX_LENGTH, resolve=make_resolver(plugins)
    )
    tokenizer = component.create(state.params, context=context)
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise CheckFailed(
            f"the factory returned a {type(tokenizer).__name__}; return a "
            "transformers.PreTrainedTokenizerFast (textcls.wrap_tokenizer wraps a trained "
            "tokenizers.Tokenizer) so it saves beside the model and exports with it"
        )
    state.tokenizer = tokenizer
    return f"{type(tokenizer).__name__}, vocabulary {len(tokenizer)}"


def _encode(state: SimpleNamespace) -> str:
    tokenizer = state.tokenizer
    if tokenizer.pad_token_id is None:
        raise CheckFailed("no padding token: set pad_token so batches can be padded")
    encoded = tokenizer(list(TEXTS + UNSEEN), padding=True, truncation=True, max_length=MAX_LENGTH)
    for text, ids in zip(TEXTS, encoded["input_ids"], strict=False):
        if not any(i != tokenizer.pad_token_id for i in ids):
            raise CheckFailed(f"{text!r} encodes to padding only")
    too_big = [i for ids in encoded["input_ids"] for i in ids if not 0 <= i < len(tokenizer)]
    if too_big:
        raise CheckFailed(f"ids {sorted(set(too_big))[:5]} are outside the vocabulary")
    longest = max(len(ids) for ids in encoded["input_ids"])
    if longest > MAX_LENGTH:
        raise CheckFailed(f"truncation to {MAX_LENGTH} gave {longest} tokens")
    state.encoded = encoded
    return f"{len(encoded['input_ids'])} texts, up to {longest} tokens"


def _save_reload(state: SimpleNamespace, workdir: Path) -> str:
    from transformers import AutoTokenizer

    folder = workdir / "tokenizer"
    state.tokenizer.save_pretrained(str(folder))
    reloaded = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    again = reloaded(list(TEXTS + UNSEEN), padding=True, truncation=True, max_length=MAX_LENGTH)
    for key in ("input_ids", "attention_mask"):
        if again[key] != state.encoded[key]:
            row = next(
                i
                for i, (a, b) in enumerate(zip(again[key], state.encoded[key], strict=True))
                if a != b
            )
            raise CheckFailed(
                f"after save_pretrained and AutoTokenizer.from_pretrained, {key} of "
                f"{(TEXTS + UNSEEN)[row]!r} differ: {state.encoded[key][row][:8]} before, "
                f"{again[key][row][:8]} after; save everything the tokenizer needs"
            )
    return f"identical ids for {len(TEXTS + UNSEEN)} texts after reload"
