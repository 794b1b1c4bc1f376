"""Trainer settings and the small Trainer subclass every textcls training stage uses."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from textcls.config import TrainConfig
from transformers import Trainer, TrainingArguments


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


def training_arguments(train: TrainConfig, output_dir: Path, seed: int) -> TrainingArguments:
    """TrainingArguments from a ``train:`` section.

    Evaluation and checkpoints happen together (every epoch, or every ``eval_steps``), the best
    checkpoint by ``metric_for_best_model`` is loaded at the end, and at most two checkpoints
    (the best and the latest) stay on disk.
    """
    strategy = "steps" if train.eval_steps else "epoch"
    metric = "eval_loss" if train.metric_for_best_model == "loss" else train.metric_for_best_model
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=train.epochs,
        max_steps=train.max_steps or -1,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size or 2 * train.batch_size,
        learning_rate=train.learning_rate,
        lr_scheduler_type=train.lr_scheduler,
        warmup_ratio=train.warmup_ratio,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        weight_decay=train.weight_decay,
        eval_strategy=strategy,
        save_strategy=strategy,
        logging_strategy=strategy,
        eval_steps=train.eval_steps,
        save_steps=train.eval_steps or 500,  # used only with the "steps" strategy
        logging_steps=train.eval_steps or 500,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=metric != "eval_loss",
        group_by_length=train.group_by_length,
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        # gloo for CPU ranks under torchrun; a single process must not ask for a backend
        ddp_backend=(
            "gloo"
            if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
            else None
        ),
        report_to="none",
        save_safetensors=True,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def class_weights(labels: list[int], num_labels: int) -> torch.Tensor:
    """Inverse-frequency weights, ``n / (k * n_c)``, the scikit-learn 'balanced' rule."""
    counts = np.bincount(np.asarray(labels), minlength=num_labels).astype(np.float64)
    counts[counts == 0] = 1.0
    return torch.tensor(len(labels) / (num_labels * counts), dtype=torch.float32)


class TextclsTrainer(Trainer):
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
