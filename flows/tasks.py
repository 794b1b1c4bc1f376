"""Prefect tasks: one per stage, each a thin call to a ``textcls`` stage function.

Every task is cached on the key the flow computes (``textcls.pipeline_plan.stage_key``)
with persisted results. The task body also reuses an artifact already on disk under that key,
so a fresh Prefect database never retrains what the artifact store holds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from textcls import config_from_dict
from textcls.artifact_files import FINGERPRINT_FILE, data_fingerprint
from textcls.artifacts import ArtifactRef, artifact_lock, directory_sha256


def _key(context: Any, parameters: dict[str, Any]) -> str:
    """The stage key and where its artifact lives: a cached result never points at another
    output folder or pipeline (two pipelines with the same data section share a stage key)."""
    import hashlib

    place = hashlib.sha256(str(Path(parameters["out"]).resolve()).encode()).hexdigest()[:12]
    return f"textcls-{parameters['stage']}-{parameters['key']}-{place}"


def ref_from_disk(stage: str, out: Path) -> ArtifactRef:
    """The ref of a finished artifact folder (folders are complete by construction)."""
    if stage == "ingest" and (out / FINGERPRINT_FILE).is_file():
        sha = data_fingerprint(out)
    else:
        sha = directory_sha256(out)
    return ArtifactRef(stage=stage, path=str(out.resolve()), sha256=sha)


def _run(stage: str, out: str, work: Any) -> dict[str, Any]:
    target = Path(out)
    with artifact_lock(target):
        if target.exists():
            ref = ref_from_disk(stage, target)
            return {"ref": ref.to_dict(), "status": "reused", "seconds": 0.0}
        start = time.perf_counter()
        ref = work()
    return {"ref": ref.to_dict(), "status": "ran", "seconds": time.perf_counter() - start}


def _config(config: dict[str, Any], base_dir: str) -> Any:
    return config_from_dict(config, base_dir=base_dir)


TASK_OPTIONS: dict[str, Any] = {"persist_result": True, "cache_key_fn": _key}


@task(name="ingest", **TASK_OPTIONS)
def ingest_task(
    stage: str,
    key: str,
    config: dict[str, Any],
    base_dir: str,
    out: str,
    previous_labels: list[str] | None,
) -> dict[str, Any]:
    from textcls.stages.ingest import ingest

    return _run(
        stage, out, lambda: ingest(_config(config, base_dir), out, previous_labels=previous_labels)
    )


@task(name="pretrain", **TASK_OPTIONS)
def pretrain_task(
    stage: str, key: str, config: dict[str, Any], base_dir: str, data_dir: str, out: str
) -> dict[str, Any]:
    from textcls.stages.pretrain import pretrain

    return _run(stage, out, lambda: pretrain(_config(config, base_dir), data_dir, out))


@task(name="teacher", **TASK_OPTIONS)
def teacher_task(
    stage: str,
    key: str,
    config: dict[str, Any],
    base_dir: str,
    data_dir: str,
    out: str,
    init_from: str | None,
) -> dict[str, Any]:
    from textcls.stages.finetune import fine_tune

    return _run(
        stage,
        out,
        lambda: fine_tune(_config(config, base_dir), "teacher", data_dir, out, init_from=init_from),
    )


@task(name="student", **TASK_OPTIONS)
def student_task(
    stage: str,
    key: str,
    config: dict[str, Any],
    base_dir: str,
    data_dir: str,
    teacher_dir: str | None,
    out: str,
    init_from: str | None,
    cache_dir: str,
) -> dict[str, Any]:
    from textcls.stages.distill import distill
    from textcls.stages.finetune import fine_tune

    parsed = _config(config, base_dir)
    if parsed.student.distill is None or teacher_dir is None:
        return _run(
            stage, out, lambda: fine_tune(parsed, "student", data_dir, out, init_from=init_from)
        )
    return _run(
        stage,
        out,
        lambda: distill(
            parsed, data_dir, teacher_dir, out, init_from=init_from, cache_dir=cache_dir
        ),
    )


@task(name="quantize", **TASK_OPTIONS)
def quantize_task(
    stage: str, key: str, step: dict[str, Any], model_dir: str, data_dir: str, out: str
) -> dict[str, Any]:
    from textcls.config import QuantizeStep
    from textcls.stages.quantize import quantize

    return _run(
        stage, out, lambda: quantize(QuantizeStep.model_validate(step), model_dir, data_dir, out)
    )


@task(name="calibrate", **TASK_OPTIONS)
def calibrate_task(
    stage: str, key: str, model_dir: str, data_dir: str, out: str, method: str
) -> dict[str, Any]:
    from textcls.stages.calibrate import calibrate

    return _run(stage, out, lambda: calibrate(model_dir, data_dir, out, method=method))  # type: ignore[arg-type]


@task(name="evaluate", **TASK_OPTIONS)
def evaluate_task(
    stage: str,
    key: str,
    data_dir: str,
    variants: dict[str, str],
    out: str,
    pipeline: str,
    split: str,
    baselines: list[str],
    seed: int,
    measure_cost: bool = True,
    explanations: bool = True,
) -> dict[str, Any]:
    from textcls.stages.evaluate import evaluate

    return _run(
        stage,
        out,
        lambda: evaluate(
            data_dir,
            variants,
            out,
            pipeline=pipeline,
            split=split,
            baselines=baselines,
            seed=seed,
            measure_cost=measure_cost,
            explanations=explanations,
        ),
    )


@task(name="register", cache_policy=NO_CACHE)
def register_task(
    config: dict[str, Any],
    base_dir: str,
    data_dir: str,
    eval_dir: str,
    variants: dict[str, str],
    manifest: dict[str, Any],
) -> dict[str, Any]:
    """Not cached: registering is a side effect, and the registry itself skips a model it
    already holds (by content hash), so rerunning an unchanged pipeline adds no version."""
    from textcls.stages.register import register

    decision = register(_config(config, base_dir), data_dir, eval_dir, variants, manifest)
    return decision.to_dict()
