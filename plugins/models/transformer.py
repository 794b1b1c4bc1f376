"""``transformer``: a small BERT-style encoder trained from scratch.

It is a plain ``BertForSequenceClassification`` with the sizes you choose: attentions and hidden
states for distillation, Optimum's ONNX export, masked-LM or causal-LM pretraining and
initialisation from a BERT-family teacher's layers all work as they do for any BERT.
"""

from __future__ import annotations

from typing import Any

from textcls import ConfigError, ModelContext, label_config
from textcls.plugins.models.params import TransformerParams


def build_transformer(params: TransformerParams, context: ModelContext) -> Any:
    """A BERT encoder of the given size, randomly initialised (or from the pretrain stage)."""
    from transformers import BertConfig, BertForSequenceClassification

    if context.init_from:
        return BertForSequenceClassification.from_pretrained(
            context.init_from,
            use_safetensors=True,
            trust_remote_code=False,
            ignore_mismatched_sizes=True,
            **label_config(context),
        )
    if params.hidden_size % params.num_heads:
        raise ConfigError(
            f"transformer: hidden_size {params.hidden_size} must be a multiple of num_heads "
            f"{params.num_heads}"
        )
    config = BertConfig(
        vocab_size=context.vocab_size or 8000,
        hidden_size=params.hidden_size,
        num_hidden_layers=params.num_layers,
        num_attention_heads=params.num_heads,
        intermediate_size=params.intermediate_size or 4 * params.hidden_size,
        max_position_embeddings=params.max_position_embeddings,
        hidden_dropout_prob=params.dropout,
        attention_probs_dropout_prob=params.dropout,
        pad_token_id=context.pad_token_id or 0,
        **label_config(context),
    )
    return BertForSequenceClassification(config)
