"""One TrainingArguments builder for every training stage: fields, device, precision, selection."""

from __future__ import annotations

import os

import pytest
import torch
from textcls.config import TrainConfig
from textcls.errors import ConfigError
from textcls.training.arguments import training_arguments


def test_every_train_field_reaches_the_trainer(tmp_path):
    train = TrainConfig(
        epochs=2,
        batch_size=8,
        eval_batch_size=5,
        learning_rate=1e-3,
        lr_scheduler="cosine",
        warmup_ratio=0.1,
        gradient_accumulation_steps=3,
        weight_decay=0.01,
        eval_steps=7,
        group_by_length=True,
        metric_for_best_model="macro_f1",
    )
    args = training_arguments(train, tmp_path, seed=5)
    assert (args.num_train_epochs, args.per_device_train_batch_size) == (2, 8)
    assert args.per_device_eval_batch_size == 5 and args.learning_rate == 1e-3
    assert args.lr_scheduler_type == "cosine" and args.warmup_ratio == 0.1
    assert args.gradient_accumulation_steps == 3 and args.weight_decay == 0.01
    assert args.eval_strategy == "steps" and args.eval_steps == 7 and args.save_steps == 7
    assert args.group_by_length and args.seed == 5 and args.data_seed == 5
    assert args.load_best_model_at_end and args.metric_for_best_model == "macro_f1"
    assert args.greater_is_better
    # the device is the machine's, for pretraining too (it used to be forced onto the CPU)
    assert args.use_cpu == (not torch.cuda.is_available())


def test_language_models_keep_the_checkpoint_with_the_lowest_held_out_loss(tmp_path):
    args = training_arguments(
        TrainConfig(), tmp_path, seed=1, best_by="loss", remove_unused_columns=False
    )
    assert args.metric_for_best_model == "eval_loss" and args.greater_is_better is False
    assert args.eval_strategy == "epoch" and not args.remove_unused_columns


def test_without_evaluation_the_last_state_is_kept(tmp_path):
    args = training_arguments(TrainConfig(), tmp_path, seed=1, evaluate=False)
    assert args.eval_strategy == "no" and not args.load_best_model_at_end
    assert args.save_total_limit == 1


def test_bf16_mixed_precision_is_passed_on_and_does_not_outlive_its_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")  # restored after the test
    args = training_arguments(TrainConfig(precision="bf16"), tmp_path, seed=1)
    assert args.bf16 and not args.fp16
    # transformers wrote bf16 into the environment for accelerate; a later fp32 stage in the
    # same process (a student after a bf16 teacher) must not inherit it
    assert os.environ["ACCELERATE_MIXED_PRECISION"] == "bf16"
    training_arguments(TrainConfig(), tmp_path, seed=1)
    assert os.environ["ACCELERATE_MIXED_PRECISION"] == "no"


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is allowed where CUDA is")
def test_fp16_without_a_gpu_is_a_config_error_that_says_what_to_use(tmp_path):
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU.*bf16"):
        training_arguments(TrainConfig(precision="fp16"), tmp_path, seed=1)


def test_an_unknown_precision_is_refused_by_the_config():
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="int4")
