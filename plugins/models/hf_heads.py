"""Classification heads on a pretrained encoder: convolutional and attention pooling.

The ``hf`` model's default head (``linear``) is the one transformers ships with each
architecture (a dense layer on the first token, or on the pooled output). The other heads read
every token's last hidden state instead:

- ``conv``: 1-D convolutions of several widths over the token states, ReLU, max over the valid
  tokens (Kim 2014's TextCNN, with the encoder's states in place of word vectors);
- ``attention-pool``: self-attentive pooling (Lin et al. 2017): a small MLP scores each token,
  a softmax over the valid tokens weights them, and their weighted sum is classified.

Both mask padding, so a text's prediction does not depend on what it was batched with. The
encoder is any architecture transformers ships (``AutoModel``); its config is stored inside
this model's ``config.json`` (``encoder``), so a saved folder loads by path alone, without the
original checkpoint. ``base_model_prefix`` is ``encoder``, which lets the pretraining stage's
masked-LM head (``hf_masked_lm``) swap in and train the same encoder.
"""

from __future__ import annotations

from typing import Any

import torch
from textcls import classification_loss, masked_max
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

HEADS = ("conv", "attention-pool")


class EncoderHeadConfig(PretrainedConfig):
    """A pretrained encoder's config (``encoder``) plus the head's shape."""

    model_type = "textcls-hf-head"

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        head: str = "conv",
        head_dropout: float = 0.1,
        conv_filters: int = 128,
        conv_kernel_sizes: list[int] | None = None,
        attention_size: int = 128,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = dict(encoder or {})
        self.head = head
        self.head_dropout = head_dropout
        self.conv_filters = conv_filters
        self.conv_kernel_sizes = list(conv_kernel_sizes or [2, 3, 4])
        self.attention_size = attention_size

    def encoder_config(self) -> PretrainedConfig:
        """The encoder's own config object, rebuilt from the stored dict."""
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        values = dict(self.encoder)
        return CONFIG_MAPPING[values.pop("model_type")].from_dict(values)


class _ConvHead(torch.nn.Module):
    def __init__(self, hidden: int, config: EncoderHeadConfig) -> None:
        super().__init__()
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv1d(hidden, config.conv_filters, k, padding=k // 2)
            for k in config.conv_kernel_sizes
        )
        self.output_size = config.conv_filters * len(config.conv_kernel_sizes)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Padded positions are zeroed, so they look like the convolution's own zero padding:
        # a text padded in a batch sees exactly what it sees alone.
        channels = (states * mask.unsqueeze(-1).to(states.dtype)).transpose(1, 2)  # (B, H, T)
        length = states.shape[1]
        pooled = [
            masked_max(torch.relu(conv(channels))[:, :, :length].transpose(1, 2), mask)
            for conv in self.convs
        ]
        return torch.cat(pooled, dim=-1)


class _AttentionPoolHead(torch.nn.Module):
    def __init__(self, hidden: int, config: EncoderHeadConfig) -> None:
        super().__init__()
        self.project = torch.nn.Linear(hidden, config.attention_size)
        self.score = torch.nn.Linear(config.attention_size, 1, bias=False)
        self.output_size = hidden

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(torch.tanh(self.project(states))).squeeze(-1)  # (B, T)
        scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1).unsqueeze(-1)
        return (weights * states).sum(dim=1)


class EncoderHeadForSequenceClassification(PreTrainedModel):
    """``AutoModel`` encoder -> token states -> conv or attention-pool head -> linear."""

    config_class = EncoderHeadConfig
    base_model_prefix = "encoder"
    supports_gradient_checkpointing = False

    def __init__(self, config: EncoderHeadConfig, encoder: Any = None) -> None:
        super().__init__(config)
        if config.head not in HEADS:
            raise ValueError(f"head {config.head!r} is not one of {', '.join(HEADS)}")
        self.encoder = (
            encoder if encoder is not None else AutoModel.from_config(config.encoder_config())
        )
        _drop_pooler(self.encoder)
        hidden = int(self.encoder.config.hidden_size)
        self.head = (
            _ConvHead(hidden, config)
            if config.head == "conv"
            else _AttentionPoolHead(hidden, config)
        )
        self.dropout = torch.nn.Dropout(config.head_dropout)
        self.classifier = torch.nn.Linear(self.head.output_size, config.num_labels)
        self._init_head()

    def _init_head(self) -> None:
        """Initialise the head only: the encoder keeps its pretrained weights."""
        std = float(getattr(self.encoder.config, "initializer_range", 0.02))
        for module in [*self.head.modules(), self.classifier]:
            if isinstance(module, torch.nn.Linear | torch.nn.Conv1d):
                module.weight.data.normal_(0.0, std)
                if module.bias is not None:
                    module.bias.data.zero_()

    def _init_weights(self, module: torch.nn.Module) -> None:
        # from_pretrained fills every weight from the file; nothing here may overwrite them.
        return None

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.encoder.get_input_embeddings()  # type: ignore[no-any-return]

    def set_input_embeddings(self, value: Any) -> None:
        self.encoder.set_input_embeddings(value)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        outputs = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            return_dict=True,
            **extra,
        )
        features = self.head(outputs.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(features))
        return SequenceClassifierOutput(
            loss=classification_loss(logits, labels),
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


def _drop_pooler(encoder: Any) -> None:
    """The heads read token states, never the pooled output: no unused (unsaved) weights."""
    if isinstance(getattr(encoder, "pooler", None), torch.nn.Module):
        encoder.pooler = None


def build_headed(
    source: str,
    head: str,
    head_options: dict[str, Any],
    labels: dict[str, Any],
) -> EncoderHeadForSequenceClassification:
    """A pretrained encoder from ``source`` with a fresh head.

    ``source`` is a checkpoint of the encoder (any architecture transformers ships), or a
    folder this class saved (the pretraining stage's output): then its encoder is reused and
    the head starts afresh, as the linear head's classifier does.
    """
    from transformers import AutoConfig

    found = AutoConfig.from_pretrained(source, trust_remote_code=False)
    if isinstance(found, EncoderHeadConfig):
        saved = EncoderHeadForSequenceClassification.from_pretrained(source, use_safetensors=True)
        encoder, encoder_config = saved.encoder, saved.encoder.config
    else:
        encoder = AutoModel.from_pretrained(
            source, use_safetensors=True, trust_remote_code=False, attn_implementation="eager"
        )
        encoder_config = encoder.config
    config = EncoderHeadConfig(
        encoder=encoder_config.to_dict(), head=head, **head_options, **labels
    )
    model = EncoderHeadForSequenceClassification(config, encoder=encoder)
    model.config._name_or_path = source  # the masked-LM pretraining head reloads the encoder
    return model
