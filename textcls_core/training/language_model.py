"""Unsupervised objectives for the pretraining stage.

- ``CausalLMWrapper``: next-token prediction on top of any ``TextclsModel``'s causal
  ``sequence_features`` (gru, bilstm's forward direction). The output projection is
  training-only: what is kept is the wrapped model's embeddings and encoder.
- ``SkipGram``: word2vec's skip-gram with negative sampling (Mikolov et al. 2013), whose input
  vectors initialise a word-level student's embedding matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class CausalLMWrapper(torch.nn.Module):
    """Language-model head over a classifier's causal features; loss on shifted labels."""

    def __init__(self, model: Any, vocab_size: int) -> None:
        super().__init__()
        self.model = model
        self.head = torch.nn.Linear(model.sequence_feature_size, vocab_size)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> dict[str, torch.Tensor]:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        logits = self.head(self.model.sequence_features(input_ids, attention_mask, causal=True))
        output = {"logits": logits}
        if labels is not None:
            output["loss"] = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]),
                labels[:, 1:].reshape(-1),
                ignore_index=-100,
            )
        return output


class SkipGram(torch.nn.Module):
    """Skip-gram with negative sampling; negatives drawn from the unigram distribution^0.75."""

    def __init__(self, counts: np.ndarray, dim: int, negatives: int = 5) -> None:
        super().__init__()
        vocab = len(counts)
        self.input_vectors = torch.nn.Embedding(vocab, dim)
        self.output_vectors = torch.nn.Embedding(vocab, dim)
        torch.nn.init.uniform_(self.input_vectors.weight, -0.5 / dim, 0.5 / dim)
        torch.nn.init.zeros_(self.output_vectors.weight)
        noise = np.power(np.maximum(counts, 0).astype(np.float64), 0.75)
        noise = noise / noise.sum() if noise.sum() > 0 else np.full(vocab, 1.0 / vocab)
        self.register_buffer("noise", torch.tensor(noise, dtype=torch.float32), persistent=False)
        self.negatives = negatives

    def forward(self, center: torch.Tensor, context: torch.Tensor, **_: Any) -> dict[str, Any]:
        v = self.input_vectors(center)  # (B, D)
        u = self.output_vectors(context)  # (B, D)
        noise: torch.Tensor = self.noise  # type: ignore[assignment]
        sampled = torch.multinomial(noise, center.shape[0] * self.negatives, True)
        n = self.output_vectors(sampled.view(center.shape[0], self.negatives))  # (B, K, D)
        positive = torch.nn.functional.logsigmoid((v * u).sum(-1))
        negative = torch.nn.functional.logsigmoid(-(n @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)
        return {"loss": -(positive + negative).mean()}


def skipgram_pairs(
    sequences: list[list[int]], window: int, skip_ids: set[int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """All (center, context) id pairs within ``window`` tokens, inside each sequence."""
    rng = np.random.default_rng(seed)
    centers, contexts = [], []
    nonempty = [s for s in sequences if s]
    if not nonempty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in nonempty])
    sentence = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(nonempty)])
    keep = ~np.isin(flat, list(skip_ids))
    flat, sentence = flat[keep], sentence[keep]
    for offset in range(1, window + 1):
        same = sentence[:-offset] == sentence[offset:]
        # word2vec's dynamic window: nearer words are sampled more often
        chosen = same & (rng.random(len(same)) < (window - offset + 1) / window)
        left, right = flat[:-offset][chosen], flat[offset:][chosen]
        centers += [left, right]
        contexts += [right, left]
    return np.concatenate(centers), np.concatenate(contexts)
