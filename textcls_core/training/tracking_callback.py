"""Training and validation curves to the run's trackers, through a Trainer callback.

Trainer keeps ``report_to="none"`` (its own integrations would open runs of their own, on
the fluent MLflow API's thread-local stack, outside textcls's run); this callback forwards what
Trainer logs to the :class:`textcls.tracking.TrackingSession` of the pipeline run in progress,
so trackers stay plugins. ``on_log`` sees both the training logs (loss, learning rate, grad
norm, every ``logging_steps`` or epoch) and the evaluation metrics (Trainer's ``evaluate``
logs them too), each at its global step.
"""

from __future__ import annotations

from typing import Any

from textcls import tracking
from transformers import TrainerCallback

#: what Trainer logs once, at the end of training: totals, not curves
SUMMARY_KEYS = frozenset(
    {"train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second"}
)


def metric_name(key: str) -> str:
    """Trainer's log key as a metric name: ``eval_accuracy`` -> ``validation/accuracy``.

    Curves go under ``train/`` and ``validation/``; the end-of-training totals under
    ``summary/`` (``train_loss`` there is the mean over the run, not a step's loss).
    """
    if key == "epoch":
        return "epoch"
    if key in SUMMARY_KEYS or key == "total_flos":
        return (
            f"summary/{key.removeprefix('train_')}"
            if key != "train_loss"
            else ("summary/mean_train_loss")
        )
    if key.startswith("eval_"):
        return f"validation/{key[len('eval_') :]}"
    return f"train/{key}"


class TrackingCallback(TrainerCallback):
    """Sends every Trainer log line of one stage to a tracking session (rank 0 only)."""

    def __init__(self, stage: str, session: tracking.TrackingSession, prefix: str = "") -> None:
        self.stage = stage
        self.session = session
        self.prefix = prefix

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if not logs or not state.is_world_process_zero:
            return
        metrics = {
            self.prefix + metric_name(key): float(value)
            for key, value in logs.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        self.session.log_metrics(self.stage, metrics, int(state.global_step))


def tracking_callbacks(stage: str, run_name: str | None = None) -> list[TrainerCallback]:
    """The callback for ``stage`` when a tracked pipeline run is in progress; else none.

    ``run_name`` (one of a job's restarts, ``restart-<k>``) prefixes the metric names, so each
    run's curves stay apart in the stage's metrics: every run starts again from step 0.
    """
    session = tracking.current()
    prefix = f"{run_name}/" if run_name else ""
    return [TrackingCallback(stage, session, prefix)] if session else []
