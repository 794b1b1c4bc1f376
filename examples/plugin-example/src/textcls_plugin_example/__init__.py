"""An example third-party textcls plugin: an architecture, a distiller, a source, a listener.

Everything here comes from ``textcls``'s public API, as docs/plugins.md describes it:

- ``BiGruAttention`` is a ``textcls.TextclsModel``: its params model is its only declaration of
  hyperparameters (the transformers config class is derived from it), and passing the class as
  the factory registers the architecture, so a saved model folder loads by path alone;
- ``KlCosineDistiller.loss`` takes only ``student, teacher, labels``: textcls passes a plugin
  callable only the arguments it declares;
- ``FastTextSource`` reads fastText's ``__label__NAME text`` lines and reports a bad line as
  ``path:line`` with a ``textcls.DataError``;
- ``textcls_stage_finished(stage)`` declares one of the hook's three arguments, for the same
  reason.
"""

from __future__ import annotations

import sys
from typing import Any

import pyarrow as pa
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from textcls import (
    DataError,
    LoadedSplit,
    Register,
    SplitRequest,
    TextclsModel,
    check_file_start,
    classification_loss,
    expand_inputs,
    find_undecodable_line,
    hookimpl,
    row_table,
)
from transformers.modeling_outputs import SequenceClassifierOutput


class BiGruAttentionParams(BaseModel):
    """Shape of the BiGRU-with-attention classifier."""

    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = Field(64, gt=0, description="Size of each token embedding")
    hidden_size: int = Field(64, gt=0, description="GRU state size, per direction")
    attention_size: int = Field(32, gt=0, description="Width of the attention scorer")
    dropout: float = Field(0.1, ge=0, lt=1)


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``length`` steps and leave its padding where it is.

    Running the backward GRU over this (instead of ``bidirectional=True`` over a padded batch)
    keeps padding out of every state, so a text scores the same alone or in a padded batch, and
    the model exports to ONNX without packed sequences.
    """
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    index = lengths.unsqueeze(1) - 1 - steps
    index = torch.where(index >= 0, index, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class BiGruAttention(TextclsModel):
    """Embeddings, a bidirectional GRU, additive attention over time, a linear classifier."""

    params_model = BiGruAttentionParams
    model_type = "example-bigru-attention"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.embeddings = torch.nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        self.forward_gru = torch.nn.GRU(config.embedding_dim, config.hidden_size, batch_first=True)
        self.backward_gru = torch.nn.GRU(config.embedding_dim, config.hidden_size, batch_first=True)
        width = 2 * config.hidden_size
        self.score = torch.nn.Sequential(
            torch.nn.Linear(width, config.attention_size),
            torch.nn.Tanh(),
            torch.nn.Linear(config.attention_size, 1, bias=False),
        )
        self.dropout = torch.nn.Dropout(config.dropout)
        self.classifier = torch.nn.Linear(width, config.num_labels)
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
        embedded = self.dropout(self.embeddings(input_ids))
        lengths = attention_mask.sum(dim=1).clamp(min=1)
        forward, _ = self.forward_gru(embedded)
        backward, _ = self.backward_gru(reverse_within_length(embedded, lengths))
        states = torch.cat([forward, reverse_within_length(backward, lengths)], dim=-1)
        scores = self.score(states).squeeze(-1)
        scores = scores.masked_fill(attention_mask == 0, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1).unsqueeze(-1)
        pooled = (weights * states).sum(dim=1)
        logits = self.classifier(self.dropout(pooled))
        return SequenceClassifierOutput(loss=classification_loss(logits, labels), logits=logits)


class KlCosineParams(BaseModel):
    """Weights of the KL+cosine distiller."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(2.0, gt=0, description="Softmax temperature of the KL term")
    alpha: float = Field(0.7, ge=0, le=1, description="Weight of the teacher terms; 1-alpha: CE")
    cosine_weight: float = Field(0.5, ge=0, description="Weight of the cosine term within them")


class KlCosineDistiller:
    """``alpha * (T^2 KL(teacher/T || student/T) + w * (1 - cos)) + (1 - alpha) * CE``."""

    def __init__(self, params: KlCosineParams) -> None:
        self.params = params

    def loss(self, student: Any, teacher: Any, labels: torch.Tensor) -> torch.Tensor:
        p = self.params
        t = p.temperature
        kl = F.kl_div(
            F.log_softmax(student.logits / t, dim=-1),
            F.softmax(teacher.logits / t, dim=-1),
            reduction="batchmean",
        )
        cosine = 1 - F.cosine_similarity(student.logits, teacher.logits, dim=-1).mean()
        hard = F.cross_entropy(student.logits, labels)
        return p.alpha * (t * t * kl + p.cosine_weight * cosine) + (1 - p.alpha) * hard


class FastTextParams(BaseModel):
    """How to read fastText files."""

    model_config = ConfigDict(extra="forbid")

    label_prefix: str = Field("__label__", min_length=1, description="Marks a label token")
    encoding: str = "utf-8"


class FastTextSource:
    """fastText supervised format: ``__label__pos __label__x the text`` (first label kept)."""

    def __init__(self, params: FastTextParams) -> None:
        self.params = params

    def load(self, request: SplitRequest) -> LoadedSplit:
        files = expand_inputs(request.inputs, request.field)
        tables = [self._load_file(path, i, request) for i, path in enumerate(files)]
        return LoadedSplit(
            pa.concat_tables(tables), files, locator=lambda file, row: f"{files[file]}:{row + 1}"
        )

    def _load_file(self, path: str, file_index: int, request: SplitRequest) -> pa.Table:
        check_file_start(path, self.params.encoding)
        prefix = self.params.label_prefix
        texts: list[str] = []
        labels: list[str] = []
        rows: list[int] = []
        try:
            with open(path, encoding=self.params.encoding) as handle:
                for index, line in enumerate(handle):
                    words = line.split()
                    if not words:
                        continue
                    tags = [w for w in words if w.startswith(prefix)]
                    if request.labeled and not tags:
                        raise DataError(
                            f"{path}:{index + 1}: no {prefix}NAME label on this line; start "
                            f"each line with one, e.g. '{prefix}positive great film'"
                        )
                    texts.append(" ".join(w for w in words if not w.startswith(prefix)))
                    labels.append(tags[0][len(prefix) :] if tags else "")
                    rows.append(index)
        except UnicodeDecodeError:
            raise DataError(find_undecodable_line(path, self.params.encoding) or path) from None
        return row_table(texts, labels if request.labeled else None, file_index, rows)


@hookimpl
def textcls_register_data_sources(register: Register) -> None:
    register(
        "fasttext",
        FastTextSource,
        params=FastTextParams,
        description="fastText supervised files: __label__NAME text (example plugin)",
    )


@hookimpl
def textcls_register_models(register: Register) -> None:
    register(
        "bigru-attention",
        BiGruAttention,
        params=BiGruAttentionParams,
        description="Bidirectional GRU with attention pooling (example plugin)",
    )


@hookimpl
def textcls_register_distillers(register: Register) -> None:
    register(
        "kl-cosine",
        KlCosineDistiller,
        params=KlCosineParams,
        description="KL at a temperature plus cosine distance of logits (example plugin)",
    )


@hookimpl
def textcls_stage_finished(stage: str) -> None:
    """Say which stage finished (declares one of the hook's three arguments)."""
    print(f"[textcls-plugin-example] stage {stage} finished", file=sys.stderr, flush=True)
