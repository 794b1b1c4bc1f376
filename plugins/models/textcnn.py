"""``textcnn``: convolutions of several widths over word embeddings, max over time (Kim 2014)."""

from __future__ import annotations

from typing import Any

import torch
from textcls import (
    ModelContext,
    TextclsModel,
    classification_loss,
    masked_max,
)
from textcls.plugins.models.params import TextCnnParams
from transformers.modeling_outputs import SequenceClassifierOutput


class TextCnnForSequenceClassification(TextclsModel):
    """Embeddings, parallel 1-D convolutions, masked max-pooling, dropout, linear."""

    params_model = TextCnnParams  # the config class follows from the params model
    model_type = "textcls-textcnn"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.embeddings = torch.nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv1d(config.embedding_dim, config.num_filters, k, padding=k // 2)
            for k in config.kernel_sizes
        )
        self.dropout = torch.nn.Dropout(config.dropout)
        self.classifier = torch.nn.Linear(
            config.num_filters * len(config.kernel_sizes), config.num_labels
        )
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embedded = self.embeddings(input_ids)
        channels = self.dropout(embedded).transpose(1, 2)  # (B, E, T)
        length = input_ids.shape[1]
        pooled = []
        for conv in self.convs:
            maps = torch.relu(conv(channels))[:, :, :length].transpose(1, 2)  # (B, T, F)
            pooled.append(masked_max(maps, attention_mask))
        logits = self.classifier(self.dropout(torch.cat(pooled, dim=-1)))
        return SequenceClassifierOutput(
            loss=classification_loss(logits, labels),
            logits=logits,
            hidden_states=(embedded,) if output_hidden_states else None,
        )


def build_textcnn(params: TextCnnParams, context: ModelContext) -> TextCnnForSequenceClassification:
    """A TextCNN classifier."""
    return TextCnnForSequenceClassification.from_context(params, context)
