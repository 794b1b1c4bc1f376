"""The API's request, response and error shapes, for the generated OpenAPI page (``/docs``).

The handler parses and writes JSON itself (faster, and every bad input gets our own 4xx error
instead of a framework's); these models only document the contract.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class PredictRequest(BaseModel):
    texts: list[str] = Field(
        min_length=1,
        description="Texts to classify (1 to --max-batch-texts, each up to --max-chars characters)",
        examples=[["a gripping, funny film", "dull and far too long"]],
    )


class Prediction(BaseModel):
    label: str = Field(description="The most probable label")
    probabilities: dict[str, float] = Field(description="Probability of every label")


class ModelIdentity(BaseModel):
    pipeline: str | None = Field(description="Pipeline name (null for a folder without one)")
    version: int | None = Field(description="Registry version (null for a model folder)")
    variant: str | None = Field(description="Variant, e.g. student-ort-dynamic-int8")
    data_fingerprint: str | None = Field(description="Fingerprint of the training data")


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(description="One per input text, in input order")
    model: ModelIdentity = Field(description="The model that answered this request")


class ErrorDetail(BaseModel):
    type: str = Field(
        description="empty_texts, not_a_string, too_many_texts, text_too_long, malformed_json, "
        "invalid_body, unsupported_media_type, body_too_large, not_ready, model_failed"
    )
    message: str = Field(description="What was wrong and how to fix it")


class ErrorResponse(BaseModel):
    error: ErrorDetail
