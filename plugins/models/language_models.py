"""Language-model heads of the built-in architectures, for the pretraining stage.

A head wraps the classifier the model factory built and returns a module with a loss; the
classifier is then made to use the head's base model, so training the language model trains the
weights the pretraining stage saves with the classifier.
"""

from __future__ import annotations

import copy
from typing import Any

from textcls import ConfigError


def hf_masked_lm(model: Any, objective: str) -> Any:
    """Continued masked-LM pretraining of a Hugging Face encoder, with its own pretrained head."""
    from transformers import AutoModelForMaskedLM

    if objective != "mlm":
        raise ConfigError(f"hf: pretraining objective {objective!r} is not supported (mlm is)")
    # Code shipped with the checkpoint (auto_map) runs only if it already ran for the
    # classifier, which the hf model allows only with its trust_remote_code param on; never a
    # prompt asking.
    lm = AutoModelForMaskedLM.from_pretrained(
        model.name_or_path,
        use_safetensors=True,
        trust_remote_code=getattr(model.config, "auto_map", None) is not None,
    )
    setattr(model, model.base_model_prefix, lm.base_model)
    return lm


def bert_lm(model: Any, objective: str) -> Any:
    """A BERT masked-LM (``mlm``) or next-token (``clm``, causal attention) head."""
    from transformers import BertForMaskedLM, BertLMHeadModel

    config = copy.deepcopy(model.config)
    config.is_decoder = objective == "clm"  # built into the attention layers: causal masks
    lm = (BertLMHeadModel if objective == "clm" else BertForMaskedLM)(config)
    lm.bert.load_state_dict(model.bert.state_dict(), strict=False)
    model.bert = lm.bert
    return lm
