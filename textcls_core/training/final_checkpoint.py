"""No checkpoint after the last step: nothing resumes from it, the model folder follows.

Trainer saves a checkpoint at every save point, the last one included. A checkpoint is there to
resume from (weights, optimizer and scheduler state, RNG state: three times the model's size
with AdamW); after the last step nothing resumes, and the training job writes the model folder
right after ``train()`` returns. So ``NoFinalCheckpoint`` clears Trainer's own
``control.should_save`` flag at the last step, after ``DefaultFlowCallback`` has set it, and
earlier checkpoints are written as before: a run killed during epoch 3 of 3 resumes from
epoch 2's checkpoint (one killed after training, before the folder is written, trains the last
epoch again).

Model selection keeps working without that checkpoint. ``load_best_model_at_end`` reloads the
best checkpoint from disk when an earlier evaluation was best (it is on disk: it was saved then).
When the last evaluation is the best, the weights in memory are the best ones; Trainer would
otherwise point ``state.best_model_checkpoint`` at the previous best (it records only saved
checkpoints) and load that, so the callback clears it: Trainer then keeps the model it holds.
An early stop (``EarlyStoppingCallback``, which runs first) is a last step too; its evaluation is
never the best (patience ran out), so the best checkpoint is loaded as before.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


def is_new_best(args: Any, state: Any, metrics: dict[str, Any]) -> bool:
    """Trainer's own rule (``Trainer._determine_best_metric``): strictly better than the best."""
    key = args.metric_for_best_model
    if key is None:
        return False
    value = metrics.get(key if key.startswith("eval_") else f"eval_{key}")
    if value is None:
        return False
    if state.best_metric is None:
        return True
    return bool(value > state.best_metric if args.greater_is_better else value < state.best_metric)


class NoFinalCheckpoint(TrainerCallback):
    """Skips the checkpoint at the last step; keeps the best model right (see the module)."""

    def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if state.global_step >= state.max_steps:
            control.should_save = False

    def on_epoch_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if state.global_step >= state.max_steps:
            control.should_save = False

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if state.global_step < state.max_steps and not control.should_training_stop:
            return
        control.should_save = False
        if args.load_best_model_at_end and is_new_best(args, state, metrics or {}):
            state.best_model_checkpoint = None  # the model in memory is the best: keep it
