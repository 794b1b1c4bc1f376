"""Resumable training jobs.

A job lives in a work folder beside its final artifact, named by a hash of everything that
shapes the result (role, config section, seed, data fingerprint, starting point, textcls
version)::

    .teacher.work-<key>/
      job.json       what to train, on what data, with which settings
      init/          the tokenizer and initial model, built once
      checkpoints/   Trainer's checkpoints (the best and the latest)

If a run is killed, the next run with the same settings finds the same folder and Trainer
resumes from the latest complete checkpoint (one cut short while saving is dropped, with a log
line; see ``textcls.training.checkpoints``). A changed setting gives a new key, so stale
checkpoints are never reused. The folder is removed once the artifact is written.

With ``train.processes > 1`` the job runs under ``torchrun`` (one process per rank, gloo on CPU);
rank 0 writes the artifact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from textcls.artifacts import ArtifactRef, atomic_dir, directory_sha256, write_json_atomic
from textcls.config import PipelineConfig, StudentConfig, TeacherConfig, TrainConfig
from textcls.errors import ConfigError, StageError
from textcls.model_folder import load_model_folder, write_model_folder
from textcls.predictor import Predictor
from textcls.training.checkpoints import resumable_checkpoint
from textcls.training.frozen_heap import frozen_heap
from textcls.validation_logits import BATCH_SIZE as LOGITS_BATCH_SIZE
from textcls.validation_logits import write_logits
from textcls.version import __version__

log = logging.getLogger("textcls.training")

JOB_FILE = "job.json"

Role = Literal["teacher", "student"]


def role_section(config: PipelineConfig, role: Role) -> TeacherConfig | StudentConfig:
    """The ``teacher`` or ``student`` section, or an error saying the pipeline has none."""
    section = getattr(config, role)
    if section is None:
        raise ConfigError(f"{config.source or 'config'}: no {role} section to train")
    return section  # type: ignore[no-any-return]


def work_dir_for(out_dir: Path, parts: dict[str, Any]) -> Path:
    """The resumable work folder of the job that writes ``out_dir``.

    Named by a hash of ``parts`` (everything that shapes the result) and the textcls version,
    so a changed setting never resumes stale checkpoints.
    """
    blob = json.dumps({**parts, "textcls": __version__}, sort_keys=True, default=str)
    key = hashlib.sha256(blob.encode()).hexdigest()[:12]
    return out_dir.parent / f".{out_dir.name}.work-{key}"


def model_meta(
    config: PipelineConfig,
    role: Role,
    section: TeacherConfig | StudentConfig,
    tokenizer: dict[str, Any],
    labels: list[str],
    data_sha256: str,
    init_from: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``textcls.json`` of a trained model folder (``extra``: stage-specific fields)."""
    return {
        "pipeline": config.name,
        "role": role,
        "model": section.model.model_dump(mode="json"),
        "tokenizer": tokenizer,
        "labels": labels,
        "data_sha256": data_sha256,
        "init_from": init_from,
        "train": section.train.model_dump(mode="json"),
        "seed": config.seed,
        **extra,
    }


def job_spec(meta: dict[str, Any], data_dir: Path, out_dir: Path, **extra: Any) -> dict[str, Any]:
    """The ``job.json`` of a training job: what to train, on what, into where."""
    return {
        "meta": meta,
        "train": meta["train"],
        "seed": meta["seed"],
        "data_dir": str(data_dir),
        "out_dir": str(out_dir),
        **extra,
    }


def logged_evaluation(trainer: Any) -> dict[str, Any] | None:
    """The validation metrics Trainer logged for the weights it holds after ``train()``.

    With ``load_best_model_at_end`` that is the best evaluation's step (its checkpoint was
    reloaded, or the weights in memory are it: see ``final_checkpoint.py``), else the last
    step. Every evaluation is logged, so reading the log never repeats a validation pass.
    """
    state = trainer.state
    step = state.global_step
    if trainer.args.load_best_model_at_end and state.best_global_step:
        step = state.best_global_step
    for entry in reversed(state.log_history):
        if entry.get("step") == step and "eval_loss" in entry:
            return dict(entry)
    return None


def evaluates_once(train: TrainConfig) -> bool:
    """Whether Trainer's only validation pass would come at the very end of training.

    One epoch, evaluated at its end, with no early stopping: there is one candidate model and
    nothing to select or stop on, and the job predicts validation after training anyway (the
    model card's metrics, the logits calibration and evaluation reuse), so Trainer's own pass
    would repeat that one.
    """
    return (
        train.eval_steps is None
        and train.max_steps is None
        and train.epochs <= 1
        and not train.early_stopping_patience
    )


def job_ready(work_dir: Path) -> bool:
    return (work_dir / JOB_FILE).is_file() and (work_dir / "init").is_dir()


def prepare_job(work_dir: Path, model: Any, tokenizer: Any, job: dict[str, Any]) -> None:
    """Write the initial model and tokenizer, then job.json (its presence marks a ready job)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with atomic_dir(work_dir / "init") as tmp:
        write_model_folder(tmp, model, tokenizer, {**job["meta"], "metrics": {}})
    write_json_atomic(work_dir / JOB_FILE, job)


def run_job(work_dir: Path, processes: int) -> None:
    """Train in this process, or launch ``processes`` ranks with torchrun and wait."""
    if processes <= 1:
        # the process's long-lived objects (a flow's Prefect client, every import) are no
        # training garbage: Trainer's gc.collect() and the collector's full passes skip them
        with frozen_heap():
            train_in_work_dir(work_dir)
        return
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        "textcls.training.worker",
        str(work_dir),
    ]
    log.info("launching %d training processes: %s", processes, " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    if result.returncode != 0:
        raise StageError(
            f"distributed training ({processes} processes) failed:\n"
            + ranks_failure(result.stderr or result.stdout)
        )


#: Lines of the ranks' output that say why one failed (a Python exception, a C++ abort).
_CAUSE = re.compile(r"Error|Exception|terminate called|what\(\)|Abort|Killed")


def ranks_failure(output: str, causes: int = 8, tail: int = 15) -> str:
    """What a failed torchrun printed that says why: the ranks' own error lines, then the tail.

    torchrun ends with its summary (ranks, exit codes, signals), which alone says which rank
    died but not why; the rank's exception or abort message comes earlier in the output.
    """
    lines = output.strip().splitlines()
    last = lines[-tail:]
    # each distinct cause once (every rank prints the same abort), in order of appearance
    shown = list(dict.fromkeys(line for line in lines[:-tail] if _CAUSE.search(line)))[:causes]
    return "\n".join([*shown, *(["..."] if shown else []), *last])


def execute_job(work_dir: Path, processes: int, out_dir: Path, stage: str) -> ArtifactRef:
    """Run a prepared job, check it wrote its model, remove the work folder, return the ref."""
    run_job(work_dir, processes)
    if not (out_dir / "model.safetensors").is_file():
        raise StageError(f"{stage}: training finished but wrote no model to {out_dir}")
    shutil.rmtree(work_dir, ignore_errors=True)
    return ArtifactRef(stage=stage, path=str(out_dir), sha256=directory_sha256(out_dir))


def train_in_work_dir(work_dir: Path) -> dict[str, Any]:
    """Run (or resume) the job in ``work_dir``; rank 0 writes the artifact. Returns metrics.

    Trainer validates during training only where there is something to choose (the best
    epoch or step, early stopping; see ``evaluates_once``) and writes no checkpoint after the
    last step (``final_checkpoint.py``). Rank 0 then predicts validation once with the final
    weights, through the Predictor: the model card's metrics, and the logits calibration and
    evaluation reuse (``textcls.validation_logits``) instead of predicting validation again.

    With ``train.restarts`` N > 1 the job trains N times from the same initial weights with
    Trainer seeds ``seed``, ``seed + 1``, ...; each finished run is kept in the work folder
    (``restarts/<k>``, so a killed job resumes after the last finished run) and the one best
    on validation becomes the artifact (``textcls.training.restarts``).
    """
    import datasets
    import torch

    job = json.loads((work_dir / JOB_FILE).read_text())
    train = TrainConfig.model_validate(job["train"])
    if train.threads:
        torch.set_num_threads(train.threads)
    dataset = datasets.load_from_disk(job["data_dir"])
    if train.restarts == 1:
        run = _train_run(work_dir, job, train, dataset, work_dir / "checkpoints", job["seed"])
        if run.written is not None:
            with atomic_dir(job["out_dir"]) as tmp:
                run.written(tmp, {})
        return run.metrics

    from textcls.training.restarts import finished_run, write_chosen

    root = work_dir / "restarts"
    metrics: dict[str, Any] = {}
    for k in range(train.restarts):
        if finished_run(root, k) is not None:
            continue  # trained before the job was stopped
        seed = job["seed"] + k
        checkpoints = root / f"{k}.checkpoints"
        run = _train_run(work_dir, job, train, dataset, checkpoints, seed, run_name=f"restart-{k}")
        metrics = {**run.metrics, "seed": seed}
        if run.written is not None:
            with atomic_dir(root / str(k)) as tmp:
                run.written(tmp, {"seed": seed})
            shutil.rmtree(checkpoints, ignore_errors=True)
        del run  # its model and logits, before the next run trains
    if _is_rank_zero():
        metrics = write_chosen(root, train, Path(job["out_dir"]))
    return metrics


def _is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


@dataclass
class _Run:
    """One training run's metrics and, on rank 0, what writes its model folder (a folder and
    metrics to add)."""

    metrics: dict[str, Any]
    written: Callable[[Path, dict[str, Any]], None] | None = None


def _train_run(
    work_dir: Path,
    job: dict[str, Any],
    train: TrainConfig,
    dataset: Any,
    checkpoints: Path,
    seed: int,
    *,
    run_name: str | None = None,
) -> _Run:
    """Train once from the job's initial weights with Trainer seed ``seed``, resuming from
    ``checkpoints``; rank 0 then predicts validation with the final weights. ``run_name``
    (one of several restarts) keeps the run's curves apart in the trackers."""
    import datasets
    from textcls.training.arguments import training_arguments
    from textcls.training.builders import tokenize_splits
    from textcls.training.tracking_callback import tracking_callbacks
    from textcls.training.trainer import TextclsTrainer, class_weights, compute_metrics
    from textcls.training.training_times import TrainingTimes
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback

    loaded = load_model_folder(work_dir / "init")
    validation = tokenize_splits(dataset["validation"], loaded.tokenizer, train.max_length)
    # Fine-tuning learns from the train split; distillation from its transfer set, whose rows
    # point into the cached teacher logits.
    train_rows = (
        datasets.load_from_disk(job["train_data"]) if "train_data" in job else dataset["train"]
    )
    train_set = tokenize_splits(train_rows, loaded.tokenizer, train.max_length)
    # A checkpoint half-written by a killed process is dropped here, never resumed from.
    resume_from = resumable_checkpoint(checkpoints)
    resumed_from = int(resume_from.name.rsplit("-", 1)[-1]) if resume_from else 0
    args = training_arguments(train, checkpoints, seed, evaluate=not evaluates_once(train))
    weights = None
    if train.class_weights:
        weights = class_weights(list(train_rows["label"]), len(job["meta"]["labels"]))
    times = TrainingTimes()
    callbacks = [*tracking_callbacks(job["meta"]["role"], run_name), times]
    if train.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(train.early_stopping_patience))
    common = {
        "model": loaded.model,
        "args": args,
        "train_dataset": train_set,
        "eval_dataset": validation,
        "data_collator": DataCollatorWithPadding(loaded.tokenizer),
        "processing_class": loaded.tokenizer,
        "compute_metrics": compute_metrics,
        "callbacks": callbacks,
        "loss_weights": weights,
    }
    if "distill" in job:
        from textcls.distillation.setup import distillation_trainer

        trainer: TextclsTrainer = distillation_trainer(job["distill"], common, loaded)
    else:
        trainer = TextclsTrainer(**common)
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    metrics = {
        "train_loss": result.metrics.get("train_loss"),
        "train_runtime_s": result.metrics.get("train_runtime"),
        "train_examples_per_s": result.metrics.get("train_samples_per_second"),
        "global_step": trainer.state.global_step,
        "resumed_from_step": resumed_from,
        "processes": trainer.args.world_size,
        "checkpoint_writes": times.checkpoint_writes,
        "checkpoint_write_s": times.checkpoint_write_s,
    }
    # every rank past the best checkpoint's reload before rank 0 may remove the checkpoints
    trainer.accelerator.wait_for_everyone()
    if not trainer.is_world_process_zero():
        return _Run(metrics)
    assert trainer.model is not None
    # without the mixed-precision forward accelerate wrapped it in for training (bf16 autocast):
    # the logits stored below must be the ones the Predictor computes from the saved folder
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    model.eval()
    texts = list(dataset["validation"]["text"])
    labels = list(dataset["validation"]["label"])
    start = time.perf_counter()
    predictor = Predictor.from_model(model, loaded.tokenizer, loaded.labels, train.max_length)
    logits = predictor.logits(texts, LOGITS_BATCH_SIZE)
    pass_s = time.perf_counter() - start
    evaluation = validation_metrics(logits, labels, weights)
    if args.eval_strategy == "no":
        # the one validation point of this run, to the trackers as Trainer's own would be
        trainer.log({f"eval_{k}": v for k, v in evaluation.items()})
    metrics.update(
        validation_accuracy=evaluation["accuracy"],
        validation_macro_f1=evaluation["macro_f1"],
        validation_loss=evaluation["loss"],
        validation_runtime_s=pass_s,
        validation_passes=times.validation_passes + 1,
        validation_s=times.validation_s + pass_s,
    )
    # the logits are the Predictor's own only where the Predictor runs: on the CPU
    on_cpu = next(model.parameters()).device.type == "cpu"

    def written(folder: Path, extra: dict[str, Any]) -> None:
        meta = {**job["meta"], "metrics": {**metrics, **extra}}
        write_model_folder(folder, model, loaded.tokenizer, meta)
        if on_cpu:
            write_logits(
                folder, texts, logits, batch_size=LOGITS_BATCH_SIZE, max_length=train.max_length
            )

    return _Run(metrics, written)


def validation_metrics(logits: Any, labels: list[int], weights: Any = None) -> dict[str, float]:
    """Accuracy, macro-F1 and the training loss (cross-entropy, class-weighted when training
    was) of ``logits`` against ``labels``: what Trainer's evaluation reports, from the logits."""
    import numpy as np
    import torch
    from textcls.training.trainer import compute_metrics
    from transformers import EvalPrediction

    label_ids = np.asarray(labels)
    scores = compute_metrics(EvalPrediction(predictions=logits, label_ids=label_ids))
    loss = torch.nn.functional.cross_entropy(
        torch.from_numpy(np.asarray(logits, dtype=np.float32)),
        torch.from_numpy(label_ids).long(),
        weight=weights,
    )
    return {**scores, "loss": float(loss)}
