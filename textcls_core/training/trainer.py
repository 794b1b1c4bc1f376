"""The small Trainer subclass and metrics every textcls classification stage uses.

Their TrainingArguments come from ``arguments.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from textcls.training.final_checkpoint import NoFinalCheckpoint
from transformers import Trainer


def compute_metrics(prediction: Any) -> dict[str, float]:
    """Accuracy and macro-F1 (scikit-learn) for Trainer's evaluation loop."""
    from sklearn.metrics import accuracy_score, f1_score

    logits = prediction.predictions
    if isinstance(logits, tuple):
        logits = logits[0]
    predicted = np.argmax(logits, axis=-1)
    labels = prediction.label_ids
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
    }


def class_weights(labels: list[int], num_labels: int) -> torch.Tensor:
    """Inverse-frequency weights, ``n / (k * n_c)``, the scikit-learn 'balanced' rule."""
    counts = np.bincount(np.asarray(labels), minlength=num_labels).astype(np.float64)
    counts[counts == 0] = 1.0
    return torch.tensor(len(labels) / (num_labels * counts), dtype=torch.float32)


class TextclsTrainer(Trainer):
    """Trainer with optional class-weighted cross-entropy and no checkpoint after the last
    step (``NoFinalCheckpoint``, a callback on Trainer's own save flag); everything else is
    Trainer's own."""

    def __init__(self, *args: Any, loss_weights: torch.Tensor | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.loss_weights = loss_weights
        # after the callbacks given (DefaultFlowCallback, early stopping): it reads their flags
        self.add_callback(NoFinalCheckpoint())

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | None = None,
    ) -> Any:
        if self.loss_weights is None:
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = torch.nn.functional.cross_entropy(
            outputs.logits, labels, weight=self.loss_weights.to(outputs.logits.device)
        )
        return (loss, outputs) if return_outputs else loss
