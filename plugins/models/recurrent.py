"""Recurrent classifiers: ``bilstm`` and ``gru``.

The backward direction runs a second, forward-only RNN over each sequence reversed within its
own length, so padding never leaks into a prediction (a plain bidirectional RNN over a padded
batch would let the pad steps change the backward states) and the model exports to ONNX without
packed sequences. Each direction stacks ``num_layers`` layers on its own.
"""

from __future__ import annotations

from typing import Any

import torch
from textcls import (
    ModelContext,
    TextclsModel,
    classification_loss,
    masked_max,
    masked_mean,
)
from textcls.plugins.models.params import RecurrentParams
from transformers.modeling_outputs import SequenceClassifierOutput


def _rnn(config: Any) -> torch.nn.Module:
    cls = torch.nn.LSTM if config.cell == "lstm" else torch.nn.GRU
    return cls(
        config.embedding_dim,
        config.hidden_size,
        num_layers=config.num_layers,
        batch_first=True,
        dropout=config.dropout if config.num_layers > 1 else 0.0,
    )


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``length`` steps; padding stays at the end."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    index = lengths.unsqueeze(1) - 1 - steps
    index = torch.where(index >= 0, index, steps)  # pad positions map to themselves
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class RecurrentForSequenceClassification(TextclsModel):
    """Embeddings, a (bi)directional LSTM or GRU, pooling over time, a linear classifier."""

    params_model = RecurrentParams  # the config class follows from the params model
    model_type = "textcls-recurrent"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.embeddings = torch.nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        self.forward_rnn = _rnn(config)
        self.backward_rnn = _rnn(config) if config.bidirectional else None
        self.dropout = torch.nn.Dropout(config.dropout)
        directions = 2 if config.bidirectional else 1
        self.classifier = torch.nn.Linear(config.hidden_size * directions, config.num_labels)
        self.post_init()

    @property
    def sequence_feature_size(self) -> int:
        return int(self.config.hidden_size)

    def _directions(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        embedded = self.dropout(self.embeddings(input_ids))
        forward, _ = self.forward_rnn(embedded)
        backward = None
        if self.backward_rnn is not None:
            lengths = attention_mask.sum(dim=1).clamp(min=1)
            reversed_out, _ = self.backward_rnn(reverse_within_length(embedded, lengths))
            backward = reverse_within_length(reversed_out, lengths)
        return embedded, forward, backward

    def sequence_features(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, causal: bool = False
    ) -> torch.Tensor:
        _, forward, backward = self._directions(input_ids, attention_mask)
        if causal or backward is None:
            return forward  # the forward direction only ever sees the past
        return torch.cat([forward, backward], dim=-1)

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
        embedded, forward, backward = self._directions(input_ids, attention_mask)
        features = forward if backward is None else torch.cat([forward, backward], dim=-1)
        pooling = self.config.pooling
        if pooling == "max":
            pooled = masked_max(features, attention_mask)
        elif pooling == "mean":
            pooled = masked_mean(features, attention_mask)
        else:
            last = (attention_mask.sum(dim=1) - 1).clamp(min=0)
            pooled = forward[torch.arange(forward.shape[0]), last]
            if backward is not None:
                pooled = torch.cat([pooled, backward[:, 0]], dim=-1)
        logits = self.classifier(self.dropout(pooled))
        return SequenceClassifierOutput(
            loss=classification_loss(logits, labels),
            logits=logits,
            hidden_states=(embedded, features) if output_hidden_states else None,
        )


def build_recurrent(cell: str) -> Any:
    def build(params: RecurrentParams, context: ModelContext) -> RecurrentForSequenceClassification:
        return RecurrentForSequenceClassification.from_context(params, context, cell=cell)

    build.__doc__ = f"A recurrent ({cell}) text classifier."
    return build
