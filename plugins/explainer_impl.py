"""The built-in attribution methods (imported when an explainer is built).

Integrated gradients (Sundararajan et al., 2017) through Captum's ``LayerIntegratedGradients``
on the model's input embedding layer (``get_input_embeddings()``): the baseline is the same
sequence with every non-special token replaced by the pad token, so special tokens and padding
get no attribution and the per-token attributions sum to ``logit(text) - logit(baseline)`` for
the target class, up to the integral's error, which Captum reports as the convergence delta.

Occlusion removes one word at a time and scores it by how much the target class's probability
drops; every perturbed text of a batch of texts goes through the one Predictor in batches, so it
explains any model folder, ONNX int8 included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from textcls import Attribution


class IntegratedGradients:
    """Layer integrated gradients on the input embeddings, toward each text's target class."""

    def __init__(self, params: Any) -> None:
        self.params = params

    def explain(self, subject: Any, texts: Sequence[str], targets: Sequence[int]) -> list[Any]:
        import torch
        from captum.attr import LayerIntegratedGradients

        model = subject.model
        tokenizer = subject.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

        def forward(input_ids: Any, attention_mask: Any) -> Any:
            return model(input_ids=input_ids, attention_mask=attention_mask).logits

        method = LayerIntegratedGradients(forward, model.get_input_embeddings())
        answers: list[Any] = []
        size = self.params.batch_size
        for start in range(0, len(texts), size):
            chunk = list(texts[start : start + size])
            encoded = tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=subject.max_length,
                return_tensors="pt",
                return_offsets_mapping=True,
                return_special_tokens_mask=True,
            )
            ids, mask = encoded["input_ids"], encoded["attention_mask"]
            keep = encoded["special_tokens_mask"].bool() | (mask == 0)
            baseline = torch.where(keep, ids, torch.full_like(ids, pad))
            attributions, delta = method.attribute(
                ids,
                baselines=baseline,
                additional_forward_args=(mask,),
                target=list(targets[start : start + size]),
                n_steps=self.params.n_steps,
                internal_batch_size=self.params.internal_batch_size,
                return_convergence_delta=True,
            )
            per_token = attributions.sum(dim=-1).detach().float().numpy()
            for j, text in enumerate(chunk):
                scores = subject.merge_tokens(
                    text, encoded["offset_mapping"][j].tolist(), per_token[j]
                )
                answers.append(Attribution(scores, {"convergence_delta": float(delta[j])}))
        return answers


class Occlusion:
    """Leave one word out: the drop in the target class's probability, per word."""

    def __init__(self, params: Any) -> None:
        self.params = params

    def explain(self, subject: Any, texts: Sequence[str], targets: Sequence[int]) -> list[Any]:
        perturbed: list[str] = []
        counts, seen = [], []
        for text in texts:
            words = subject.words(text)
            counts.append(len(words))
            seen.append(seen_words(subject, text, words))
            perturbed += [subject.without(text, [i]) for i in range(seen[-1])]
        full = subject.probabilities(list(texts), self.params.batch_size)
        occluded = (
            subject.probabilities(perturbed, self.params.batch_size)
            if perturbed
            else np.zeros((0, full.shape[1]))
        )
        answers, position = [], 0
        for i, count in enumerate(counts):
            target = targets[i]
            drops = full[i, target] - occluded[position : position + seen[i], target]
            scores = [float(v) for v in drops] + [0.0] * (count - seen[i])
            answers.append(Attribution(scores))
            position += seen[i]
        return answers


def seen_words(subject: Any, text: str, words: Sequence[Any]) -> int:
    """How many of ``words`` (a prefix) the model reads within ``max_length`` tokens.

    Removing a word after the truncation point leaves the model's input as it was: its score
    is 0, as integrated gradients gives it, without a forward pass per word (a 10,000-character
    text is ~2,000 words, ~60 of them seen), and without the noise that dynamic int8's per-batch
    activation scales would put on words the model never reads.
    """
    if getattr(subject.tokenizer, "truncation_side", "right") != "right":
        return len(words)
    encoded = subject.tokenizer(
        text, truncation=True, max_length=subject.max_length, return_offsets_mapping=True
    )
    covered = max((end for start, end in encoded["offset_mapping"] if end > start), default=0)
    return sum(1 for word in words if word.start < covered)
