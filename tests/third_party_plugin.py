"""A third-party plugin written from docs/plugins.md alone, used by tests/test_contracts.py.

A small convolutional architecture declared once (its params model), a masked-LM head so it can
be pretrained, a distiller whose ``loss`` takes only ``student, teacher, labels`` and a
lifecycle listener that declares one argument. It calls nothing but what the docs show.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from textcls import (
    ModelCapabilities,
    Register,
    TextclsModel,
    classification_loss,
    hookimpl,
    masked_mean,
)
from transformers.modeling_outputs import SequenceClassifierOutput


class ConvParams(BaseModel):
    """Shape of the conv-test classifier."""

    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = Field(16, gt=0)
    width: int = Field(3, gt=0, description="Odd kernel width")


class ConvClassifier(TextclsModel):
    """Embeddings, one convolution, mean over time, a linear layer."""

    params_model = ConvParams
    model_type = "third-party-conv"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        dim = config.embedding_dim
        self.embeddings = torch.nn.Embedding(
            config.vocab_size, dim, padding_idx=config.pad_token_id
        )
        self.conv = torch.nn.Conv1d(dim, dim, config.width, padding=config.width // 2)
        self.classifier = torch.nn.Linear(dim, config.num_labels)
        self.post_init()

    def token_features(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(input_ids).transpose(1, 2)
        return torch.relu(self.conv(x))[:, :, : input_ids.shape[1]].transpose(1, 2)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        logits = self.classifier(masked_mean(self.token_features(input_ids), attention_mask))
        return SequenceClassifierOutput(loss=classification_loss(logits, labels), logits=logits)


class MaskedHead(torch.nn.Module):
    """Predict each masked token from its neighbours' convolution features."""

    def __init__(self, model: ConvClassifier) -> None:
        super().__init__()
        self.model = model
        self.decoder = torch.nn.Linear(model.config.embedding_dim, model.config.vocab_size)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> dict[str, torch.Tensor]:
        logits = self.decoder(self.model.token_features(input_ids))
        output = {"logits": logits}
        if labels is not None:
            output["loss"] = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        return output


def masked_lm(model: ConvClassifier, objective: str) -> MaskedHead:
    """The language-model head the pretraining stage trains."""
    return MaskedHead(model)


class CosineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(0.5, ge=0, le=1)


class CosineDistiller:
    """``alpha * (1 - cos(student, teacher)) + (1 - alpha) * CE``."""

    def __init__(self, params: CosineParams) -> None:
        self.alpha = params.alpha

    def loss(self, student: Any, teacher: Any, labels: torch.Tensor) -> torch.Tensor:
        cosine = torch.nn.functional.cosine_similarity(student.logits, teacher.logits, dim=-1)
        hard = torch.nn.functional.cross_entropy(student.logits, labels)
        return self.alpha * (1 - cosine).mean() + (1 - self.alpha) * hard


FINISHED: list[str] = []


@hookimpl
def textcls_stage_finished(stage: str) -> None:
    """A listener that declares one of the hook's three arguments."""
    FINISHED.append(stage)


@hookimpl
def textcls_register_models(register: Register) -> None:
    register(
        "conv-test",
        ConvClassifier,
        params=ConvParams,
        capabilities=ModelCapabilities(language_model=masked_lm, lm_objectives=frozenset({"mlm"})),
    )


@hookimpl
def textcls_register_distillers(register: Register) -> None:
    register("cosine-test", CosineDistiller, params=CosineParams)
