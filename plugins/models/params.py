"""Params models of the built-in architectures (light: no torch import at plugin discovery)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HfModelParams(BaseModel):
    """Any Hugging Face sequence-classification model, by hub name or local path."""

    model_config = ConfigDict(extra="forbid")

    pretrained: str = Field(
        description="Hub name or local folder, resolved offline first",
        examples=["sentence-transformers/all-MiniLM-L6-v2"],
    )
    trust_remote_code: bool = Field(
        False, description="Run code shipped with the model; only for sources you trust"
    )
    head: Literal["linear", "conv", "attention-pool"] = Field(
        "linear",
        description="Classification head: linear (the architecture's own, on the first token "
        "or pooled output), conv (convolutions over every token's state, max over time) or "
        "attention-pool (self-attentive pooling of the token states)",
    )
    head_dropout: float = Field(
        0.1, ge=0, lt=1, description="Dropout before the conv or attention-pool head's classifier"
    )
    conv_filters: int = Field(128, gt=0, description="head conv: feature maps per width")
    conv_kernel_sizes: list[int] = Field(
        default_factory=lambda: [2, 3, 4], min_length=1, description="head conv: widths"
    )
    attention_size: int = Field(128, gt=0, description="head attention-pool: scorer width")

    @model_validator(mode="after")
    def _head_needs_shipped_code(self) -> HfModelParams:
        if self.head != "linear" and self.trust_remote_code:
            raise ValueError(
                f"head {self.head!r} wraps an encoder architecture that transformers ships; "
                "a model with its own code (trust_remote_code) can use only head: linear"
            )
        return self


class RecurrentParams(BaseModel):
    """Shape of a recurrent classifier."""

    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = Field(128, gt=0)
    hidden_size: int = Field(128, gt=0, description="Per direction")
    num_layers: int = Field(1, gt=0)
    bidirectional: bool = True
    dropout: float = Field(0.2, ge=0, lt=1)
    pooling: Literal["max", "mean", "last"] = "max"


class GruParams(RecurrentParams):
    """A GRU classifier; one direction by default."""

    bidirectional: bool = False


class TextCnnParams(BaseModel):
    """Shape of a TextCNN (Kim 2014: filter widths 3, 4, 5 with 100 maps each)."""

    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = Field(128, gt=0)
    num_filters: int = Field(100, gt=0, description="Feature maps per filter width")
    kernel_sizes: list[int] = Field(default_factory=lambda: [3, 4, 5], min_length=1)
    dropout: float = Field(0.5, ge=0, lt=1)


class TransformerParams(BaseModel):
    """A small BERT-style encoder trained from scratch."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(256, gt=0)
    num_layers: int = Field(4, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int | None = Field(None, gt=0, description="Default: 4 x hidden_size")
    max_position_embeddings: int = Field(512, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)


class BowParams(BaseModel):
    """fastText-style bag of word and hashed n-gram embeddings."""

    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = Field(64, gt=0)
    ngram: int = Field(2, ge=1, le=3, description="Longest n-gram; 1 means words only")
    ngram_buckets: int = Field(200_000, gt=0, description="Hash buckets for n-grams")
    dropout: float = Field(0.0, ge=0, lt=1)
