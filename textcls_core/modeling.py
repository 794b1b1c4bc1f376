"""Shared machinery for textcls's own model architectures.

Architectures are ``transformers.PreTrainedModel`` subclasses with their own config classes, so
Trainer, ``save_pretrained``/``from_pretrained`` and export treat them like any Hugging Face
model. ``TextclsModel`` adds what the pipeline needs on top:

- ``sequence_features(input_ids, attention_mask, causal)``: per-token features, which the
  pretraining stage uses for next-token (causal) language modelling;
- ``load_initial_weights(folder)``: start from the pretraining stage's output, either a model
  folder (matching weights are copied) or word vectors in ``embeddings.safetensors``.

Hyperparameters are declared once: a subclass that sets ``params_model`` (the component's
pydantic params model) gets a ``TextclsConfig`` subclass derived from it as its
``config_class``, with ``model_type`` from the class attribute ``model_type`` (default
``textcls-<classname>``). textcls registers the architecture with the transformers Auto classes
when the component registers, so a saved folder loads by path alone.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Self, cast

import torch
from pydantic import BaseModel
from textcls.errors import ConfigError
from transformers import PretrainedConfig, PreTrainedModel

log = logging.getLogger("textcls.modeling")

EMBEDDINGS_FILE = "embeddings.safetensors"


def masked_max(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over valid time steps: features (B, T, H), mask (B, T) of 0/1."""
    fill = torch.finfo(features.dtype).min
    return features.masked_fill(mask.unsqueeze(-1) == 0, fill).max(dim=1).values


def masked_mean(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid time steps."""
    weights = mask.unsqueeze(-1).to(features.dtype)
    return (features * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class TextclsConfig(PretrainedConfig):
    """A config whose fields are a params model's, with that model's defaults.

    ``PretrainedConfig`` keeps every keyword it is given as an attribute; this class only fills
    in the defaults of ``params_model`` and ``vocab_size``, so that a config built with no
    arguments (as transformers does) is complete.
    """

    model_type = "textcls"
    params_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, vocab_size: int = 8000, **kwargs: Any) -> None:
        if self.params_model is not None:
            for name, info in self.params_model.model_fields.items():
                if name not in kwargs and not info.is_required():
                    kwargs[name] = info.get_default(call_default_factory=True)
        super().__init__(**kwargs)
        self.vocab_size = vocab_size


class TextclsModel(PreTrainedModel):
    """Base class of textcls's from-scratch architectures.

    Set ``params_model`` (and optionally ``model_type``) on a subclass and its ``config_class``
    is derived: ``self.config.<param>`` holds each hyperparameter, plus ``vocab_size``,
    ``pad_token_id``, ``num_labels`` and the label maps.
    """

    base_model_prefix = "textcls"
    supports_gradient_checkpointing = False
    params_model: ClassVar[type[BaseModel] | None] = None
    model_type: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = cls.__dict__.get("params_model")
        if params is not None and "config_class" not in cls.__dict__:
            model_type = cls.__dict__.get("model_type") or f"textcls-{cls.__name__.lower()}"
            cls.config_class = type(  # type: ignore[assignment]
                f"{cls.__name__}Config",
                (TextclsConfig,),
                {"model_type": model_type, "params_model": params, "__module__": cls.__module__},
            )

    def _init_weights(self, module: torch.nn.Module) -> None:
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight, std=0.1)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    @classmethod
    def from_context(cls, params: Any, context: Any, **config: Any) -> Self:
        """Build from a component's validated params and a ModelContext, starting from
        ``context.init_from`` when the pretraining stage gave one."""
        config_class: Any = cls.config_class
        model = cls(
            config_class(
                vocab_size=context.vocab_size or 8000,
                pad_token_id=context.pad_token_id,
                **label_config(context),
                **params.model_dump(),
                **config,
            )
        )
        if context.init_from:
            model.load_initial_weights(context.init_from)
        return model

    def sequence_features(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, causal: bool = False
    ) -> torch.Tensor:
        """Per-token features (B, T, H); with ``causal`` a position sees only its past."""
        raise NotImplementedError(
            f"{type(self).__name__} has no per-token features; causal language-model "
            "pretraining supports the gru, bilstm and transformer architectures"
        )

    @property
    def sequence_feature_size(self) -> int:
        raise NotImplementedError

    def load_initial_weights(self, folder: str | Path) -> None:
        """Copy matching weights from a pretraining output folder."""
        from safetensors.torch import load_file

        folder = Path(folder)
        vectors = folder / EMBEDDINGS_FILE
        if vectors.is_file():
            weight = load_file(str(vectors))["weight"]
            target = cast(torch.Tensor, self.get_input_embeddings().weight)
            if tuple(weight.shape) != tuple(target.shape):
                raise ConfigError(
                    f"{vectors}: word vectors are {tuple(weight.shape)} but the model's embedding "
                    f"is {tuple(target.shape)}; set the student's embedding_dim to "
                    f"{weight.shape[1]} and use the pretraining stage's tokenizer"
                )
            with torch.no_grad():
                target.copy_(weight)
            return
        weights_file = folder / "model.safetensors"
        if not weights_file.is_file():
            raise ConfigError(f"{folder}: no model.safetensors or {EMBEDDINGS_FILE} to start from")
        state = load_file(str(weights_file))
        own = self.state_dict()
        usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        self.load_state_dict(usable, strict=False)
        log.info("initialised %d of %d tensors from %s", len(usable), len(own), folder)

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.embeddings  # type: ignore[no-any-return]

    def set_input_embeddings(self, value: Any) -> None:
        self.embeddings = value


def causal_language_model(model: Any, objective: str) -> torch.nn.Module:
    """The next-token (``clm``) head for a ``TextclsModel`` with causal ``sequence_features``.

    A model plugin declares it as its ``language_model`` with ``lm_objectives={"clm"}``.
    """
    from textcls.training.language_model import CausalLMWrapper

    if objective != "clm":
        raise ConfigError(f"causal_language_model supports objective clm, not {objective!r}")
    return CausalLMWrapper(model, int(model.config.vocab_size))


def causal_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) padding mask -> (B, T, T) mask where a position sees itself and its past."""
    length = attention_mask.shape[1]
    lower = torch.tril(
        torch.ones(length, length, dtype=attention_mask.dtype, device=attention_mask.device)
    )
    return lower.unsqueeze(0) * attention_mask.unsqueeze(1)


def classification_loss(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
    """Cross-entropy when labels are given (Trainer swaps in class weights when configured)."""
    if labels is None:
        return None
    return torch.nn.functional.cross_entropy(logits, labels)


def label_config(context: Any) -> dict[str, Any]:
    """``num_labels``, ``id2label`` and ``label2id`` for a model config, from a ModelContext."""
    names = list(context.label_names) or [f"LABEL_{i}" for i in range(context.num_labels)]
    return {
        "num_labels": context.num_labels,
        "id2label": dict(enumerate(names)),
        "label2id": {name: i for i, name in enumerate(names)},
    }
