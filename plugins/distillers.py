"""Built-in distillation strategies.

Each is a factory ``factory(params)`` returning an object with ``needs`` (the teacher outputs it
reads) and ``loss(student, teacher, labels, attention_mask, progress)`` (the contract's
``Distiller``: only ``student, teacher, labels`` are required; the rest are passed because these
losses declare them). ``student`` is the student's model output; ``teacher`` carries ``logits``
(B, C) and ``all_logits`` (B, T, C) for T teachers, plus ``hidden_states``/``attentions`` when
``needs`` asks for them. ``progress`` is 0 at the first step, 1 at the last.
Strategies with extra trainable parts (projections) expose ``modules(student, teacher)``;
those parts are trained with the student and never saved with it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from textcls import DistillerCapabilities, Register, hookimpl


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(0.9, ge=0, le=1, description="Weight of the teacher term; 1-alpha: CE")


class LogitsKlParams(_Params):
    temperature: float = Field(4.0, gt=0, description="Softmax temperature (at the first step)")
    final_temperature: float | None = Field(
        None, gt=0, description="Anneal linearly to this temperature by the last step"
    )


class LogitsMseParams(_Params):
    alpha: float = Field(1.0, ge=0, le=1, description="Weight of the teacher term; 1-alpha: CE")


class HiddenMseParams(_Params):
    layer_map: list[tuple[int, int]] | None = Field(
        None,
        description="(student layer, teacher layer) pairs of hidden states; default: "
        "student's last to teacher's last",
    )
    beta: float = Field(1.0, ge=0, description="Weight of the hidden-state term")
    alpha: float = Field(0.5, ge=0, le=1, description="Weight of the logits-KL term")
    temperature: float = Field(2.0, gt=0)


class AttentionKlParams(_Params):
    layer_map: list[tuple[int, int]] | None = Field(
        None, description="(student layer, teacher layer) pairs; default: last to last"
    )
    beta: float = Field(1.0, ge=0, description="Weight of the attention term")
    alpha: float = Field(0.5, ge=0, le=1, description="Weight of the logits-KL term")
    temperature: float = Field(2.0, gt=0)


class MultiTeacherParams(_Params):
    teachers: list[str] = Field(
        default_factory=list, description="Extra teacher model folders beside the pipeline's"
    )
    weights: list[float] | None = Field(None, description="One per teacher, pipeline's first")
    temperature: float = Field(4.0, gt=0)
    combine: Literal["average", "weighted"] = "average"

    @model_validator(mode="after")
    def _weights_match(self) -> MultiTeacherParams:
        if self.combine == "weighted":
            if self.weights is None or len(self.weights) != len(self.teachers) + 1:
                raise ValueError(
                    "combine: weighted needs one weight per teacher: the pipeline's teacher "
                    f"first, then {len(self.teachers)} in teachers"
                )
        return self


def _lazy(name: str) -> Any:
    def factory(params: Any) -> Any:
        from textcls.plugins import distiller_losses

        return getattr(distiller_losses, name)(params)

    factory.__doc__ = name
    return factory


@hookimpl
def textcls_register_distillers(register: Register) -> None:
    register(
        "logits-kl",
        _lazy("LogitsKl"),
        params=LogitsKlParams,
        description="alpha*T^2*KL(teacher/T || student/T) + (1-alpha)*CE (Hinton et al. 2015)",
    )
    register(
        "logits-mse",
        _lazy("LogitsMse"),
        params=LogitsMseParams,
        description="MSE between student and teacher logits (Tang et al. 2019)",
    )
    register(
        "hidden-mse",
        _lazy("HiddenMse"),
        params=HiddenMseParams,
        description="Hidden-state matching through learned projections (TinyBERT, PKD)",
        capabilities=DistillerCapabilities(aligned_tokens=True),
    )
    register(
        "attention-kl",
        _lazy("AttentionKl"),
        params=AttentionKlParams,
        description="Attention-distribution transfer for transformer students (MiniLM)",
        capabilities=DistillerCapabilities(aligned_tokens=True),
    )
    register(
        "multi-teacher",
        _lazy("MultiTeacher"),
        params=MultiTeacherParams,
        description="KL to averaged or weighted soft labels of several teachers",
        capabilities=DistillerCapabilities(teachers_param="teachers"),
    )
