"""Built-in model architectures: hf, bilstm, gru, textcnn, transformer, bow.

Registration stays light: factories import torch and the architecture module on first use, so
listing plugins or validating a config does not load PyTorch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from textcls import hookimpl
from textcls.plugins.models.params import (
    BowParams,
    GruParams,
    HfModelParams,
    RecurrentParams,
    TextCnnParams,
    TransformerParams,
)


def _lazy(target: str, *args: Any) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")

    def factory(params: Any, **context: Any) -> Any:
        build = getattr(importlib.import_module(module_name), attribute)
        return (build(*args) if args else build)(params, **context)

    return factory


def _lazy_loader(target: str) -> Callable[[str], Any]:
    """Load a saved model of a textcls architecture (safetensors only)."""
    module_name, _, attribute = target.partition(":")

    def load(folder: str) -> Any:
        model_class = getattr(importlib.import_module(module_name), attribute)
        return model_class.from_pretrained(folder, use_safetensors=True)

    return load


@hookimpl
def textcls_register_models(register: Any) -> None:
    register(
        "hf",
        _lazy("textcls.plugins.models.hf:build_hf"),
        params=HfModelParams,
        description="Any Hugging Face sequence-classification model (name or path)",
        pretrained=True,
    )
    register(
        "bilstm",
        _lazy("textcls.plugins.models.recurrent:build_recurrent", "lstm"),
        params=RecurrentParams,
        description="Bidirectional LSTM with pooling over time",
        causal_lm=True,
        load=_lazy_loader("textcls.plugins.models.recurrent:RecurrentForSequenceClassification"),
    )
    register(
        "gru",
        _lazy("textcls.plugins.models.recurrent:build_recurrent", "gru"),
        params=GruParams,
        description="GRU with pooling over time",
        causal_lm=True,
        load=_lazy_loader("textcls.plugins.models.recurrent:RecurrentForSequenceClassification"),
    )
    register(
        "textcnn",
        _lazy("textcls.plugins.models.textcnn:build_textcnn"),
        params=TextCnnParams,
        description="Convolutions of several widths, max over time (Kim 2014)",
        load=_lazy_loader("textcls.plugins.models.textcnn:TextCnnForSequenceClassification"),
    )
    register(
        "transformer",
        _lazy("textcls.plugins.models.transformer:build_transformer"),
        params=TransformerParams,
        description="A small BERT-style encoder from scratch",
        causal_lm=True,
        masked_lm=True,
    )
    register(
        "bow",
        _lazy("textcls.plugins.models.bow:build_bow"),
        params=BowParams,
        description="fastText-style bag of word and n-gram embeddings",
        load=_lazy_loader("textcls.plugins.models.bow:BowForSequenceClassification"),
    )
