"""An example third-party textcls plugin.

It registers one model architecture (``mean-pool``: averaged token embeddings and a linear layer)
and one distillation strategy (``cosine-logits``). Install it with ``pip install
examples/plugin-example`` and both appear in ``textcls plugins list`` and can be named in a
pipeline file. It imports only textcls's public API, as every plugin should.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from textcls import ModelContext, hookimpl
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


class MeanPoolParams(BaseModel):
    """Params of the mean-pool classifier."""

    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = Field(64, gt=0, description="Size of each token embedding")


class MeanPoolConfig(PretrainedConfig):
    model_type = "textcls-example-mean-pool"

    def __init__(self, vocab_size: int = 1000, embedding_dim: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim


class MeanPoolClassifier(PreTrainedModel):
    """Averaged token embeddings, then a linear layer: the smallest useful text classifier."""

    config_class = MeanPoolConfig

    def __init__(self, config: MeanPoolConfig) -> None:
        super().__init__(config)
        self.embeddings = torch.nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        self.classifier = torch.nn.Linear(config.embedding_dim, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.embeddings(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits = self.classifier(pooled)
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def build_mean_pool(params: MeanPoolParams, context: ModelContext) -> MeanPoolClassifier:
    """Build a mean-pool classifier for the task in ``context``."""
    config = MeanPoolConfig(
        vocab_size=context.vocab_size or 1000,
        embedding_dim=params.embedding_dim,
        num_labels=context.num_labels,
        pad_token_id=context.pad_token_id,
    )
    return MeanPoolClassifier(config)


class CosineLogitsParams(BaseModel):
    """Params of the cosine-logits distiller."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(0.5, ge=0, le=1, description="Weight of the teacher term")


class CosineLogitsDistiller:
    """``alpha * (1 - cos(student, teacher)) + (1 - alpha) * CE``: matches logit directions."""

    needs = frozenset({"logits"})

    def __init__(self, params: CosineLogitsParams) -> None:
        self.alpha = params.alpha

    def loss(self, student: Any, teacher: Any, labels: torch.Tensor) -> torch.Tensor:
        cosine = torch.nn.functional.cosine_similarity(student.logits, teacher.logits, dim=-1)
        hard = torch.nn.functional.cross_entropy(student.logits, labels)
        return self.alpha * (1 - cosine).mean() + (1 - self.alpha) * hard


@hookimpl
def textcls_register_models(register: Any) -> None:
    register(
        "mean-pool",
        build_mean_pool,
        params=MeanPoolParams,
        description="Averaged token embeddings and a linear layer (example plugin)",
    )


@hookimpl
def textcls_register_distillers(register: Any) -> None:
    register(
        "cosine-logits",
        CosineLogitsDistiller,
        params=CosineLogitsParams,
        description="Cosine distance between student and teacher logits (example plugin)",
    )
