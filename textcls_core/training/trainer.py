"""The small Trainer subclass and metrics every textcls classification stage uses.

Their TrainingArguments come from ``arguments.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
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


class LeanCheckpointTrainer(Trainer):
    """Trainer whose last checkpoint leaves out the optimizer, scheduler and scaler state.

    Trainer saves them with every checkpoint so that training can resume; after the last step
    nothing resumes, so writing them (twice the model's size for AdamW) is pure overhead. The
    weights, trainer state and RNG state are still written: ``load_best_model_at_end`` may
    pick this checkpoint, and a run killed before the artifact is written resumes from it
    with nothing left to train (``checkpoints.incomplete_reason`` accepts it). Trainer has no
    public switch for this (``save_only_model`` drops the state of every checkpoint), so the
    two private save methods are overridden; ``tests/test_finetune.py`` checks the result.
    """

    def _last_step(self) -> bool:
        return 0 < self.state.max_steps <= self.state.global_step

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        if not self._last_step():
            super()._save_optimizer_and_scheduler(output_dir)

    def _save_scaler(self, output_dir: str) -> None:
        if not self._last_step():
            super()._save_scaler(output_dir)


class TextclsTrainer(LeanCheckpointTrainer):
    """Trainer with optional class-weighted cross-entropy; everything else is Trainer's own."""

    def __init__(self, *args: Any, loss_weights: torch.Tensor | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.loss_weights = loss_weights

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
