"""``hf``: any Hugging Face sequence-classification model, by hub name or local folder.

``head`` picks the classification head (``hf_heads.py``). Weights load from safetensors only
(a pickled checkpoint is refused, never unpickled), and code shipped with a model runs only
when the config says ``trust_remote_code: true``.
"""

from __future__ import annotations

import warnings
from typing import Any

from textcls import ModelContext, label_config
from textcls.plugins.models.params import HfModelParams


def build_hf(params: HfModelParams, context: ModelContext) -> Any:
    """A pretrained encoder with a fresh classification head (or the pretrain stage's encoder).

    ``head: linear`` is the architecture's own sequence-classification class; ``conv`` and
    ``attention-pool`` wrap the encoder in ``EncoderHeadForSequenceClassification``.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if params.trust_remote_code:
        warnings.warn(
            f"trust_remote_code is on for {params.pretrained!r}: code shipped with the model "
            "will run on this machine",
            stacklevel=2,
        )
    source = context.init_from or context.resolve(params.pretrained)
    if params.head != "linear":
        from textcls.plugins.models.hf_heads import build_headed

        options = params.model_dump(
            include={"head_dropout", "conv_filters", "conv_kernel_sizes", "attention_size"}
        )
        return build_headed(source, params.head, options, label_config(context))
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
