"""``hf``: any Hugging Face sequence-classification model, by hub name or local folder.

Weights load from safetensors only (a pickled checkpoint is refused, never unpickled), and code
shipped with a model runs only when the config says ``trust_remote_code: true``.
"""

from __future__ import annotations

import warnings
from typing import Any

from textcls import ModelContext, label_config
from textcls.plugins.models.params import HfModelParams


def build_hf(params: HfModelParams, context: ModelContext) -> Any:
    """A pretrained encoder with a fresh classification head (or the pretrain stage's encoder)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if params.trust_remote_code:
        warnings.warn(
            f"trust_remote_code is on for {params.pretrained!r}: code shipped with the model "
            "will run on this machine",
            stacklevel=2,
        )
    source = context.init_from or context.resolve(params.pretrained)
    config = AutoConfig.from_pretrained(
        source, trust_remote_code=params.trust_remote_code, **label_config(context)
    )
    return AutoModelForSequenceClassification.from_pretrained(
        source,
        config=config,
        use_safetensors=True,
        trust_remote_code=params.trust_remote_code,
        ignore_mismatched_sizes=True,
    )
