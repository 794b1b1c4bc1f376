"""``bow``: a fastText-style bag of word and hashed n-gram embeddings (Joulin et al. 2017).

N-gram ids are hashed from consecutive token ids inside ``forward`` with integer arithmetic, so
the model needs no special tokenizer and exports to ONNX as it is.
"""

from __future__ import annotations

from typing import Any

import torch
from textcls import (
    ModelContext,
    TextclsModel,
    classification_loss,
)
from textcls.plugins.models.params import BowParams
from transformers.modeling_outputs import SequenceClassifierOutput

_HASH_MULTIPLIERS = (1, 1_000_003, 998_244_353)


class BowForSequenceClassification(TextclsModel):
    """Mean of word and n-gram embeddings, then a linear layer."""

    params_model = BowParams  # the config class follows from the params model
    model_type = "textcls-bow"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.embeddings = torch.nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        self.ngram_embeddings = (
            torch.nn.Embedding(config.ngram_buckets, config.embedding_dim)
            if config.ngram > 1
            else None
        )
        self.dropout = torch.nn.Dropout(config.dropout)
        self.classifier = torch.nn.Linear(config.embedding_dim, config.num_labels)
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
        total = (embedded * attention_mask.unsqueeze(-1)).sum(dim=1)
        count = attention_mask.sum(dim=1, keepdim=True).to(embedded.dtype)
        if self.ngram_embeddings is not None:
            for n in range(2, self.config.ngram + 1):
                if input_ids.shape[1] < n:
                    break
                hashed = torch.zeros_like(input_ids[:, n - 1 :])
                valid = attention_mask[:, n - 1 :]
                for offset in range(n):
                    window = input_ids[:, offset : input_ids.shape[1] - n + 1 + offset]
                    hashed = hashed + window * _HASH_MULTIPLIERS[offset]
                    valid = valid * attention_mask[:, offset : input_ids.shape[1] - n + 1 + offset]
                grams = self.ngram_embeddings(torch.remainder(hashed, self.config.ngram_buckets))
                total = total + (grams * valid.unsqueeze(-1)).sum(dim=1)
                count = count + valid.sum(dim=1, keepdim=True).to(embedded.dtype)
        pooled = total / count.clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        return SequenceClassifierOutput(
            loss=classification_loss(logits, labels),
            logits=logits,
            hidden_states=(embedded,) if output_hidden_states else None,
        )


def build_bow(params: BowParams, context: ModelContext) -> BowForSequenceClassification:
    """A bag-of-n-grams classifier."""
    return BowForSequenceClassification.from_context(params, context)
