"""Built-in model architectures: hf, bilstm, gru, textcnn, transformer, bow.

Registration stays light: factories, architectures (``"module:Class"``) and language-model heads
import torch and the architecture module on first use, so listing plugins or validating a
config does not load PyTorch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from textcls import ModelCapabilities, Register, hookimpl
from textcls.plugins.models.params import (
    BowParams,
    GruParams,
    HfModelParams,
    RecurrentParams,
    TextCnnParams,
    TransformerParams,
)

_RECURRENT = "textcls.plugins.models.recurrent:RecurrentForSequenceClassification"


def _lazy(target: str, *args: Any) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")

    def factory(params: Any, context: Any) -> Any:
        build = getattr(importlib.import_module(module_name), attribute)
        return (build(*args) if args else build)(params, context)

    return factory


def _lazy_head(target: str) -> Callable[[Any, str], Any]:
    module_name, _, attribute = target.partition(":")

    def language_model(model: Any, objective: str) -> Any:
        return getattr(importlib.import_module(module_name), attribute)(model, objective)

    return language_model


@hookimpl
def textcls_register_models(register: Register) -> None:
    register(
        "hf",
        _lazy("textcls.plugins.models.hf:build_hf"),
        params=HfModelParams,
        description="Any Hugging Face sequence-classification model (name or path)",
        capabilities=ModelCapabilities(
            # the conv and attention-pool heads' class; linear heads are transformers' own
            architecture="textcls.plugins.models.hf_heads:EncoderHeadForSequenceClassification",
            default_tokenizer="hf",
            language_model=_lazy_head("textcls.plugins.models.language_models:hf_masked_lm"),
            lm_objectives=frozenset({"mlm"}),
        ),
    )
    recurrent = ModelCapabilities(
        architecture=_RECURRENT,
        language_model=_lazy_head("textcls:causal_language_model"),
        lm_objectives=frozenset({"clm"}),
        word_vectors=True,
    )
    register(
        "bilstm",
        _lazy("textcls.plugins.models.recurrent:build_recurrent", "lstm"),
        params=RecurrentParams,
        description="Bidirectional LSTM with pooling over time",
        capabilities=recurrent,
    )
    register(
        "gru",
        _lazy("textcls.plugins.models.recurrent:build_recurrent", "gru"),
        params=GruParams,
        description="GRU with pooling over time",
        capabilities=recurrent,
    )
    register(
        "textcnn",
        _lazy("textcls.plugins.models.textcnn:build_textcnn"),
        params=TextCnnParams,
        description="Convolutions of several widths, max over time (Kim 2014)",
        capabilities=ModelCapabilities(
            architecture="textcls.plugins.models.textcnn:TextCnnForSequenceClassification",
            word_vectors=True,
        ),
    )
    register(
        "transformer",
        _lazy("textcls.plugins.models.transformer:build_transformer"),
        params=TransformerParams,
        description="A small BERT-style encoder from scratch",
        capabilities=ModelCapabilities(
            language_model=_lazy_head("textcls.plugins.models.language_models:bert_lm"),
            lm_objectives=frozenset({"mlm", "clm"}),
        ),
    )
    register(
        "bow",
        _lazy("textcls.plugins.models.bow:build_bow"),
        params=BowParams,
        description="fastText-style bag of word and n-gram embeddings",
        capabilities=ModelCapabilities(
            architecture="textcls.plugins.models.bow:BowForSequenceClassification",
            word_vectors=True,
        ),
    )
