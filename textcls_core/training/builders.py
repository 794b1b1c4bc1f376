"""Build a role's tokenizer and model from the config, and tokenize the splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textcls.config import DEFAULT_TOKENIZER, ComponentRef, TokenizerRef, TrainConfig
from textcls.contracts import ModelCapabilities
from textcls.plugin_api import ModelContext, TokenizerContext
from textcls.plugin_manager import PluginHost
from textcls.pretrained import make_resolver

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def default_tokenizer(model_ref: ComponentRef, plugins: PluginHost) -> TokenizerRef:
    """The tokenizer a role gets when its pipeline names none: the one the model component
    declares (a pretrained model brings its own), else the config default."""
    component = plugins.component("model", model_ref.name)
    declared = component.capabilities_as(ModelCapabilities).default_tokenizer
    return TokenizerRef(name=declared or DEFAULT_TOKENIZER)


def has_tokenizer(folder: str | Path | None) -> bool:
    return folder is not None and any((Path(folder) / f).is_file() for f in TOKENIZER_FILES)


def build_tokenizer(
    model_ref: ComponentRef,
    tokenizer_ref: TokenizerRef | None,
    texts: Any,
    train: TrainConfig,
    plugins: PluginHost,
    init_from: str | None = None,
) -> tuple[Any, TokenizerRef]:
    """The tokenizer for a role; a folder to start from brings its own (vocabularies must match)."""
    from transformers import AutoTokenizer

    ref = tokenizer_ref or default_tokenizer(model_ref, plugins)
    if has_tokenizer(init_from):
        return AutoTokenizer.from_pretrained(str(init_from), trust_remote_code=False), ref
    component = plugins.component("tokenizer", ref.name)
    context = TokenizerContext(
        texts=texts,
        default_pretrained=model_ref.params.get("pretrained"),
        max_length=train.max_length,
        resolve=make_resolver(plugins),
    )
    tokenizer = component.create(ref.params, context=context)
    if tokenizer.pad_token is None:
        # GPT-style tokenizers have no padding token; batches need one.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer, ref


def build_model(
    model_ref: ComponentRef,
    tokenizer: Any,
    labels: list[str],
    plugins: PluginHost,
    init_from: str | None = None,
) -> Any:
    """Call the model component's factory with what it needs to know about the task."""
    component = plugins.component("model", model_ref.name)
    context = ModelContext(
        num_labels=len(labels),
        label_names=tuple(labels),
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        init_from=init_from,
        resolve=make_resolver(plugins),
    )
    return component.create(model_ref.params, context=context)


def tokenize_splits(dataset: Any, tokenizer: Any, max_length: int) -> Any:
    """Tokenize every split (no padding: batches pad dynamically), in memory only.

    ``keep_in_memory`` keeps datasets from writing cache files into the ingest artifact.
    """
    from textcls.artifacts import quiet_datasets

    def encode(batch: dict[str, list[Any]]) -> Any:
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    with quiet_datasets():
        return dataset.map(encode, batched=True, remove_columns=["text"], keep_in_memory=True)
