"""Built-in explainers: integrated-gradients (PyTorch folders) and occlusion (any folder).

An explainer's factory returns an object with ``explain(subject, texts, targets)`` that gives
one score per word of each text toward its target class (``docs/explain.md``). The methods
live in ``explainer_impl``, imported when one is built, so listing plugins stays fast.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from textcls import ExplainerCapabilities, Register, hookimpl


class IntegratedGradientsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_steps: int = Field(32, ge=2, le=1000, description="Points on the path from the baseline")
    batch_size: int = Field(4, ge=1, description="Texts attributed together")
    internal_batch_size: int = Field(
        64, ge=1, description="Path points run through the model at once (memory bound)"
    )


class OcclusionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(64, ge=1, description="Perturbed texts per Predictor batch")


def _lazy(name: str) -> Any:
    """A factory that imports Captum and torch only when an explainer is built."""

    def factory(params: Any) -> Any:
        from textcls.plugins import explainer_impl

        return getattr(explainer_impl, name)(params)

    factory.__doc__ = name
    return factory


@hookimpl
def textcls_register_explainers(register: Register) -> None:
    register(
        "integrated-gradients",
        _lazy("IntegratedGradients"),
        params=IntegratedGradientsParams,
        description="Captum integrated gradients on the input embeddings, pad-token baseline",
        capabilities=ExplainerCapabilities(model_kinds=frozenset({"pytorch"})),
    )
    register(
        "occlusion",
        _lazy("Occlusion"),
        params=OcclusionParams,
        description="Leave one word out; the drop in the target's probability (any model)",
        capabilities=ExplainerCapabilities(model_kinds=frozenset({"pytorch", "onnx"})),
    )
