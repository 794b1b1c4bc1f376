"""How long ``Trainer.train`` spent on validation passes and checkpoint writes.

The orchestration-overhead table (``bench/matrix.py``, BENCHMARKS.md "Where the time goes")
lists what the training stage does beyond training steps; this callback measures the two
pieces Trainer does inside ``train()``. A validation pass is Trainer's own ``eval_runtime``; a
checkpoint write is the time from the last event before it (the step or epoch end, the log
line or the evaluation, which Trainer runs first) to ``on_save``, which Trainer calls once the
checkpoint is on disk.
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback


class TrainingTimes(TrainerCallback):
    """Counts and times validation passes and checkpoint writes during ``train()``."""

    def __init__(self) -> None:
        self.validation_passes = 0
        self.validation_s = 0.0
        self.checkpoint_writes = 0
        self.checkpoint_write_s = 0.0
        self._mark: float | None = None

    def _stamp(self, *_: Any, **__: Any) -> None:
        self._mark = time.perf_counter()

    on_step_end = on_epoch_end = on_log = _stamp

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self.validation_passes += 1
        self.validation_s += float((metrics or {}).get("eval_runtime") or 0.0)
        self._stamp()

    def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if self._mark is not None:
            self.checkpoint_writes += 1
            self.checkpoint_write_s += time.perf_counter() - self._mark
        self._stamp()
