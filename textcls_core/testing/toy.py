"""Tiny synthetic data, a tokenizer and a small encoder, so every check runs in seconds offline.

The texts vary in length (padding matters), mix ASCII, accents and CJK (tokenizer round trips
must hold beyond ASCII), and come with three labels (a binary-only head fails).
"""

from __future__ import annotations

from typing import Any

LABELS = ("negative", "neutral", "positive")
TEXTS = (
    "good",
    "a bad film",
    "the plot was fine and the acting was fine too",
    "great superb lovely acting, a joy from start to finish",
    "awful dull and nasty, the worst story of the year",
    "it is a film",
    "café naïve crème brûlée",
    "很好的电影",
)
LABEL_IDS = (2, 0, 1, 2, 0, 1, 1, 2)
MAX_LENGTH = 32


def toy_tokenizer() -> Any:
    """A word-level PreTrainedTokenizerFast trained on ``TEXTS`` with textcls's special tokens."""
    from textcls.tokenization import SPECIAL_TOKENS, batched, wrap_tokenizer
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(batched(TEXTS), trainer=trainer)
    return wrap_tokenizer(tokenizer, max_length=MAX_LENGTH)


def toy_encoder(tokenizer: Any, hidden_size: int, heads: int, seed: int) -> Any:
    """A one-layer self-attention classifier that returns logits, hidden states and attentions:
    every output a distiller may ask for (``needs``), for student and teacher alike."""
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class ToyEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = torch.nn.Embedding(len(tokenizer), hidden_size)
            self.attention = torch.nn.MultiheadAttention(hidden_size, heads, batch_first=True)
            self.classifier = torch.nn.Linear(hidden_size, len(LABELS))

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor | None = None,
            labels: torch.Tensor | None = None,
            output_hidden_states: bool = False,
            output_attentions: bool = False,
            **_: Any,
        ) -> SequenceClassifierOutput:
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            embedded = self.embeddings(input_ids)
            attended, weights = self.attention(
                embedded,
                embedded,
                embedded,
                key_padding_mask=attention_mask == 0,
                average_attn_weights=False,
            )
            mask = attention_mask.unsqueeze(-1).to(attended.dtype)
            pooled = (attended * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            logits = self.classifier(pooled)
            loss: Any = None
            if labels is not None:
                loss = torch.nn.functional.cross_entropy(logits, labels)
            return SequenceClassifierOutput(
                loss=loss,
                logits=logits,
                hidden_states=(embedded, attended) if output_hidden_states else None,
                attentions=(weights,) if output_attentions else None,
            )

    torch.manual_seed(seed)
    return ToyEncoder()


def toy_dataset_dir(folder: Any) -> Any:
    """Save ``TEXTS``/``LABEL_IDS`` as the ingest stage would: train and validation splits."""
    from pathlib import Path

    import datasets

    split = datasets.Dataset.from_dict({"text": list(TEXTS), "label": list(LABEL_IDS)})
    folder = Path(folder)
    datasets.DatasetDict({"train": split, "validation": split, "test": split}).save_to_disk(
        str(folder)
    )
    return folder


def toy_pooler(tokenizer: Any, hidden_size: int, seed: int) -> Any:
    """Embeddings, masked mean, two linear layers: a classifier that exports to ONNX with
    dynamic batch and sequence axes and has weights worth quantizing."""
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class ToyPooler(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = torch.nn.Embedding(len(tokenizer), hidden_size)
            self.hidden = torch.nn.Linear(hidden_size, hidden_size)
            self.classifier = torch.nn.Linear(hidden_size, len(LABELS))

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any
        ) -> SequenceClassifierOutput:
            mask = attention_mask.unsqueeze(-1).to(torch.float32)
            pooled = (self.embeddings(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return SequenceClassifierOutput(logits=self.classifier(torch.tanh(self.hidden(pooled))))

    torch.manual_seed(seed)
    return ToyPooler()
