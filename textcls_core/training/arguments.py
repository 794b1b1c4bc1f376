"""TrainingArguments for every textcls training stage, from a ``train:`` section.

Fine-tuning, distillation and pretraining (masked/causal LM, skip-gram) all train through
Hugging Face's Trainer, so one function turns a ``TrainConfig`` into its arguments: every field
of the section means the same thing in every stage, the device is chosen the same way (a GPU
when there is one), and ``precision`` picks mixed precision.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
from textcls.config import TrainConfig
from textcls.errors import ConfigError
from transformers import TrainingArguments

#: Accelerate's name for each ``train.precision``.
MIXED_PRECISION = {"fp32": "no", "fp16": "fp16", "bf16": "bf16"}
#: What a stage selects its best checkpoint by; None keeps the last one.
BestBy = Literal["accuracy", "macro_f1", "loss"] | None


def training_arguments(
    train: TrainConfig,
    output_dir: Path,
    seed: int,
    *,
    best_by: BestBy | Literal["config"] = "config",
    evaluate: bool = True,
    remove_unused_columns: bool = True,
) -> TrainingArguments:
    """Trainer arguments for one stage.

    Evaluation and checkpoints happen together (every epoch, or every ``eval_steps``). With
    ``evaluate`` the checkpoint that scores best by ``best_by`` (by default the section's
    ``metric_for_best_model``; validation, never test) is loaded at the end, and at most two
    checkpoints (the best and the latest) stay on disk. Without it (skip-gram has no held-out
    objective) the last state is kept.
    """
    cuda = torch.cuda.is_available()
    if train.precision == "fp16" and not cuda:
        raise ConfigError(
            "train.precision: fp16 needs a CUDA GPU and none is visible; use fp32, or bf16 "
            "(which PyTorch also runs on CPUs)"
        )
    metric = train.metric_for_best_model if best_by == "config" else best_by
    select = evaluate and metric is not None
    key = "eval_loss" if metric in ("loss", None) else metric
    strategy = "steps" if train.eval_steps else "epoch"
    # TrainingArguments keeps ACCELERATE_MIXED_PRECISION from the environment when fp16 and
    # bf16 are off, and it wrote that variable itself for the last bf16 stage: a bf16 teacher
    # would make the fp32 student after it, in the same process, train under bf16 autocast.
    # Each stage's own precision decides.
    os.environ["ACCELERATE_MIXED_PRECISION"] = MIXED_PRECISION[train.precision]
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
        eval_strategy=strategy if evaluate else "no",
        save_strategy=strategy,
        logging_strategy=strategy,
        eval_steps=train.eval_steps,
        save_steps=train.eval_steps or 500,  # used only with the "steps" strategy
        logging_steps=train.eval_steps or 500,
        save_total_limit=2 if select else 1,
        load_best_model_at_end=select,
        metric_for_best_model=key if select else None,
        greater_is_better=key != "eval_loss" if select else None,
        group_by_length=train.group_by_length,
        seed=seed,
        data_seed=seed,
        use_cpu=not cuda,
        fp16=train.precision == "fp16",
        bf16=train.precision == "bf16",
        # gloo for CPU ranks under torchrun; a single process must not ask for a backend
        ddp_backend=("gloo" if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not cuda else None),
        report_to="none",
        save_safetensors=True,
        dataloader_num_workers=0,
        remove_unused_columns=remove_unused_columns,
        disable_tqdm=False,
    )
