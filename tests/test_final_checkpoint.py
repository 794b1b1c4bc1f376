"""No checkpoint after the last step, and the model kept is still the best one.

A real ``TextclsTrainer`` on toy data for three epochs; the validation scores are scripted (the
``compute_metrics`` given to Trainer returns them in turn), so each case knows which epoch is
best. See ``textcls.training.final_checkpoint``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from model_helpers import toy_data, with_student
from safetensors.torch import load_file
from textcls.training.checkpoints import checkpoint_steps

EPOCHS = 3


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-final")
    raw, data_dir = toy_data(base)
    return base, raw, data_dir


def train_scripted(toy, scores: list[float], out: Path, **train):
    """Train a bow student with Trainer's own loop; validation 'accuracy' follows ``scores``.

    Returns the trainer and the weights it held at the end of the last epoch (before any best
    checkpoint is reloaded).
    """
    import datasets
    from textcls.artifact_files import read_labels
    from textcls.plugin_manager import get_plugins
    from textcls.training.arguments import training_arguments
    from textcls.training.builders import build_model, build_tokenizer, tokenize_splits
    from textcls.training.trainer import TextclsTrainer
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, TrainerCallback

    base, raw, data_dir = toy
    section = with_student(raw, base, "bow", epochs=EPOCHS, **train).student  # type: ignore[attr-defined]
    plugins = get_plugins()
    dataset = datasets.load_from_disk(str(data_dir))
    tokenizer, _ = build_tokenizer(
        section.model,
        section.tokenizer,
        lambda: iter(dataset["train"]["text"]),
        section.train,
        plugins,
    )
    model = build_model(section.model, tokenizer, read_labels(data_dir), plugins)
    pending = iter(scores)
    final: dict[str, torch.Tensor] = {}

    class KeepLastEpochWeights(TrainerCallback):
        def on_epoch_end(self, args, state, control, model=None, **_):
            if state.global_step >= state.max_steps:
                final.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    callbacks: list[TrainerCallback] = [KeepLastEpochWeights()]
    if section.train.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(section.train.early_stopping_patience))
    trainer = TextclsTrainer(
        model=model,
        args=training_arguments(section.train, out, seed=5),
        train_dataset=tokenize_splits(dataset["train"], tokenizer, 32),
        eval_dataset=tokenize_splits(dataset["validation"], tokenizer, 32),
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=lambda _: {"accuracy": next(pending)},
        callbacks=callbacks,
    )
    trainer.train()
    return trainer, final


def weights_equal(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> bool:
    state = model.state_dict()
    return all(torch.equal(state[k], weights[k]) for k in weights)


@pytest.mark.parametrize("best", [0, 1, 2])
def test_the_best_epoch_is_kept_without_a_checkpoint_after_the_last(toy, tmp_path, best):
    scores = [0.5, 0.6, 0.7]
    scores[best] = 0.9
    trainer, final = train_scripted(toy, scores, tmp_path)
    saved = checkpoint_steps(tmp_path)
    last = trainer.state.global_step
    # epochs 1 and 2 are checkpointed (to resume from), with their optimizer state; 3 is not
    assert [step for step, _ in saved] == [last // EPOCHS, 2 * last // EPOCHS]
    for _, folder in saved:
        assert (folder / "optimizer.pt").is_file() and (folder / "scheduler.pt").is_file()
    assert trainer.state.best_global_step == (best + 1) * last // EPOCHS
    if best == EPOCHS - 1:  # the weights in memory are the best: kept as they are
        assert weights_equal(trainer.model, final)
    else:  # an earlier epoch was best: its checkpoint was loaded
        kept = load_file(str(dict(saved)[(best + 1) * last // EPOCHS] / "model.safetensors"))
        assert weights_equal(trainer.model, kept)
        assert not weights_equal(trainer.model, final)


def test_early_stopping_loads_the_best_and_writes_no_checkpoint_at_the_stop(toy, tmp_path):
    trainer, _ = train_scripted(
        toy, [0.9, 0.5, 0.5], tmp_path, eval_steps=4, max_steps=200, early_stopping_patience=1
    )
    assert trainer.state.global_step == 8  # evaluated at 4 (best) and 8 (worse): stopped
    assert [step for step, _ in checkpoint_steps(tmp_path)] == [4]
    kept = load_file(str(tmp_path / "checkpoint-4" / "model.safetensors"))
    assert weights_equal(trainer.model, kept)
