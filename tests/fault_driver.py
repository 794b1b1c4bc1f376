"""A child process for the fault tests: train a tiny student, register it, and (optionally)
SIGKILL itself at one phase of that work.

Usage: ``python fault_driver.py BASE PHASE`` where PHASE is one of ``none``, ``training``,
``checkpoint-state``, ``checkpoint-optimizer``, ``publish``, ``registry-version``,
``registry-champion``. The kill is a real ``SIGKILL`` of this process, sent from inside it at
the chosen moment, so the test controls *when* without racing a timer on a loaded machine.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from model_helpers import with_student  # noqa: E402

#: The student every fault test trains: checkpoints at steps 10, 20, 30 and 40.
TRAIN = {"max_steps": 40, "eval_steps": 10, "batch_size": 16, "learning_rate": 0.01}
KILL_STEP = 20


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(phase: str) -> None:
    """Arrange for this process to be SIGKILLed at ``phase``."""
    import transformers
    from transformers.trainer_callback import TrainerState

    if phase == "training":
        original_step = transformers.Trainer.training_step
        calls = {"n": 0}

        def training_step(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == KILL_STEP + 5:  # between two checkpoints
                die()
            return original_step(self, *args, **kwargs)

        transformers.Trainer.training_step = training_step
    elif phase == "checkpoint-state":
        original_save = TrainerState.save_to_json

        def save_to_json(self, path):  # type: ignore[no-untyped-def]
            if self.global_step == KILL_STEP and "checkpoint-" in str(path):
                die()  # weights, optimizer and RNG written; trainer_state.json not yet
            return original_save(self, path)

        TrainerState.save_to_json = save_to_json
    elif phase == "checkpoint-optimizer":
        original_opt = transformers.Trainer._save_optimizer_and_scheduler

        def save_optimizer(self, output_dir):  # type: ignore[no-untyped-def]
            original_opt(self, output_dir)
            if self.state.global_step == KILL_STEP:
                # as if killed halfway through writing optimizer.pt
                path = Path(output_dir) / "optimizer.pt"
                path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
                die()

        transformers.Trainer._save_optimizer_and_scheduler = save_optimizer
    elif phase in ("publish", "registry-version", "registry-champion"):
        original_replace = os.replace

        def replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            target = Path(dst)
            if (
                (phase == "publish" and target.name == "student")
                or (phase == "registry-version" and target.parent.name == "versions")
                or (phase == "registry-champion" and target.name == "champion.json")
            ):
                die()  # the finished folder or file is built, but not yet in place
            return original_replace(src, dst, *args, **kwargs)

        os.replace = replace
    elif phase != "none":
        raise SystemExit(f"unknown phase {phase!r}")


def run(base: Path) -> None:
    """Train the student into base/student, then register it in base/registry."""
    import datasets
    from textcls.artifact_files import read_labels
    from textcls.registry import Registry
    from textcls.stages.finetune import fine_tune

    raw = json.loads((base / "raw.json").read_text())
    config = with_student(raw, base, "bow", **TRAIN)
    # as the flow does (textcls.flows.tasks): a published artifact is complete, so reuse it
    if not (base / "student").exists():
        fine_tune(config, "student", base / "data", base / "student")
    test = datasets.load_from_disk(str(base / "data"))["test"]
    names = read_labels(base / "data")
    Registry(base / "registry", "toy").register(
        base / "student",
        test_texts=list(test["text"]),
        test_labels=[names[i] for i in test["label"]],
        manifest={"run_id": "fault-test"},
        metrics={"accuracy": 0.0, "macro_f1": 0.0},
        variant="student",
    )


if __name__ == "__main__":
    install(sys.argv[2])
    run(Path(sys.argv[1]))
