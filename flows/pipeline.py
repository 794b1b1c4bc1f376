"""The ``textcls_pipeline`` flow: ingest, pretrain, teacher, student, quantize, evaluate.

The flow decides order, caching, retries and reporting; each task calls one stage function.
Stage keys come from ``textcls.pipeline_plan``: unchanged inputs mean a cache hit, so a
rerun trains nothing, and changing only ``quantize`` reruns only quantize and evaluate.
Artifacts live in a store shared by runs; each run folder links to what it used and holds a
``manifest.json``. The evaluation becomes Prefect table and markdown artifacts keyed by
pipeline name, so they version across runs in the UI.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from textcls import ConfigError, StageError, TextclsError, get_plugins, load_config
from textcls.flows.tasks import (
    evaluate_task,
    ingest_task,
    pretrain_task,
    quantize_task,
    register_task,
    student_task,
    teacher_task,
)
from textcls.lifecycle import notify
from textcls.manifest import build_manifest, write_manifest
from textcls.pipeline_plan import (
    RunLayout,
    enabled_stages,
    input_stats,
    quantize_variants,
    select_stages,
    stage_key,
)

IO_STAGES = {"ingest", "quantize"}


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def previous_labels(layout: RunLayout) -> list[str] | None:
    """Label order of the pipeline's latest finished run, so ids stay stable on retrain."""
    import json

    runs = sorted(
        (p for p in (layout.root / layout.pipeline).glob("*/manifest.json")),
        key=lambda p: p.stat().st_mtime,
    )
    for manifest in reversed(runs):
        labels = manifest.parent / "data" / "labels.json"
        if labels.is_file():
            return list(json.loads(labels.read_text()))
    return None


class _Runner:
    """Runs one stage task (or takes it from the store), records it, tells the listeners."""

    def __init__(self, layout: RunLayout, allowed: set[str], config: Any, plugins: Any):
        self.layout = layout
        self.allowed = allowed
        self.config = config
        self.plugins = plugins
        self.records: dict[str, Any] = {}
        self.logger = get_run_logger()
        self.current = "planning"

    def begin(self, name: str) -> None:
        """Name the stage being planned, so an error while computing its key names it too."""
        self.current = name

    def __call__(
        self, stage: str, name: str, key: str, section: Any, task: Any, **params: Any
    ) -> dict[str, Any]:
        out = self.layout.artifact(stage, key)
        run_dir = str(self.layout.run_dir)
        notify(
            self.plugins,
            "textcls_stage_started",
            stage=name,
            run_dir=run_dir,
            config=section if isinstance(section, dict) else {"value": section},
        )
        start = time.perf_counter()
        if stage not in self.allowed:
            if not out.exists():
                raise ConfigError(
                    f"stage {name} is needed but not in the artifact store "
                    f"({out}); run the pipeline without --only/--from first"
                )
            from textcls.flows.tasks import ref_from_disk

            result = {"ref": ref_from_disk(stage, out).to_dict(), "status": "reused"}
        else:
            options: dict[str, Any] = {"refresh_cache": not out.exists(), "task_run_name": name}
            if stage in IO_STAGES:
                options.update(
                    retries=self.config.orchestration.retries,
                    retry_delay_seconds=self.config.orchestration.retry_delay_s,
                )
            state = task.with_options(**options)(
                stage=stage, key=key, out=str(out), return_state=True, **params
            )
            if state.is_failed():
                self.fail(name, state)
            result = dict(state.result())
            if state.name == "Cached":
                result["status"] = "cached"
        result.update(key=key, seconds=round(time.perf_counter() - start, 3))
        self.records[name] = result
        notify(
            self.plugins,
            "textcls_stage_finished",
            stage=name,
            run_dir=run_dir,
            artifact={**result["ref"], "status": result["status"]},
        )
        self.logger.info("%s: %s in %.1fs", name, result["status"], result["seconds"])
        return result

    def fail(self, name: str, state: Any) -> None:
        """Tell the listeners, then raise the failed task's own error, named by its stage."""
        try:
            state.result()
        except BaseException as error:
            notify(
                self.plugins,
                "textcls_stage_failed",
                stage=name,
                run_dir=str(self.layout.run_dir),
                error=error,
            )
            message = (
                str(error)
                if isinstance(error, TextclsError)
                else f"{type(error).__name__}: {error}"
            )
            failure = StageError(f"stage {name} failed: {message}")
            if isinstance(error, TextclsError):
                failure.exit_code = error.exit_code  # bad input stays exit 2 inside a stage
            raise failure from error

    def register(self, task: Any, **params: Any) -> dict[str, Any]:
        """Run the register task: a side effect, not an artifact, so it is never cached."""
        run_dir = str(self.layout.run_dir)
        notify(self.plugins, "textcls_stage_started", stage="register", run_dir=run_dir, config={})
        start = time.perf_counter()
        state = task.with_options(task_run_name="register")(**params, return_state=True)
        if state.is_failed():
            self.fail("register", state)
        decision: dict[str, Any] = state.result()
        status = (
            "already registered"
            if decision["already_registered"]
            else ("promoted" if decision["promoted"] else "candidate")
        )
        self.records["register"] = {
            "status": status,
            "version": decision["version"],
            "seconds": round(time.perf_counter() - start, 3),
        }
        notify(
            self.plugins,
            "textcls_stage_finished",
            stage="register",
            run_dir=run_dir,
            artifact={"version": decision["version"], "status": status},
        )
        self.logger.info("register: version %s: %s", decision["version"], decision["reason"])
        publish_decision(self.config.name, self.layout.run_id, decision)
        return decision


@flow(name="textcls-pipeline", log_prints=True)
def textcls_pipeline(
    config_path: str,
    overrides: list[str] | None = None,
    output: str | None = None,
    only: str | None = None,
    start_from: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Run the pipeline described by ``config_path``; returns the run's manifest."""
    plugins = get_plugins()
    config = load_config(config_path, overrides or [])
    layout = RunLayout(
        Path(output or config.output), config.name, new_run_id() if run_id is None else run_id
    )
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    stages = enabled_stages(config)
    allowed = select_stages(stages, only, start_from)
    dump = config.model_dump(mode="json")
    base_dir = str(config.base_dir)
    seed = config.seed
    started = datetime.now(UTC)
    run = _Runner(layout, allowed, config, plugins)
    data_sha = None
    registry_decision = None

    def lineage() -> dict[str, Any]:
        """The manifest fields every record of this run shares, as they stand now."""
        return {
            "pipeline": config.name,
            "run_id": layout.run_id,
            "config": dump,
            "config_source": config.source,
            "stages": run.records,
            "data_fingerprint": data_sha,
            "started": started,
        }

    try:
        labels = previous_labels(layout)
        # Not keyed on the previous run's labels: they only keep ids stable, and new labels
        # come with new data, which the input stats already change.
        run.begin("ingest")
        key = stage_key(
            "ingest", {"data": dump["data"], "inputs": input_stats(config, plugins)}, {}, seed
        )
        ingest = run(
            "ingest",
            "ingest",
            key,
            dump["data"],
            ingest_task,
            config=dump,
            base_dir=base_dir,
            previous_labels=labels,
        )
        data_dir, data_sha = ingest["ref"]["path"], ingest["ref"]["sha256"]
        layout.link("data", Path(data_dir))

        pretrain_dir = None
        if config.pretrain is not None:
            target = dump[config.pretrain.target]
            run.begin("pretrain")
            key = stage_key(
                "pretrain",
                {"pretrain": dump["pretrain"], "target": target},
                {"data": data_sha},
                seed,
            )
            result = run(
                "pretrain",
                "pretrain",
                key,
                dump["pretrain"],
                pretrain_task,
                config=dump,
                base_dir=base_dir,
                data_dir=data_dir,
            )
            pretrain_dir = result["ref"]["path"]
            layout.link("pretrain", Path(pretrain_dir))

        teacher_dir = None
        if config.teacher is not None:
            init = pretrain_dir if config.pretrain and config.pretrain.target == "teacher" else None
            run.begin("teacher")
            key = stage_key(
                "teacher",
                dump["teacher"],
                {"data": data_sha, "pretrain": _sha(run, "pretrain", init)},
                seed,
            )
            result = run(
                "teacher",
                "teacher",
                key,
                dump["teacher"],
                teacher_task,
                config=dump,
                base_dir=base_dir,
                data_dir=data_dir,
                init_from=init,
            )
            teacher_dir = result["ref"]["path"]
            layout.link("teacher", Path(teacher_dir))

        student_dir = None
        if config.student is not None:
            init = pretrain_dir if config.student.init == "pretrain" else None
            upstream = {"data": data_sha, "pretrain": _sha(run, "pretrain", init)}
            if config.student.distill is not None:
                if teacher_dir is None:
                    raise ConfigError("student.distill needs a teacher section to learn from")
                upstream["teacher"] = run.records["teacher"]["ref"]["sha256"]
            run.begin("student")
            key = stage_key("student", dump["student"], upstream, seed)
            result = run(
                "student",
                "student",
                key,
                dump["student"],
                student_task,
                config=dump,
                base_dir=base_dir,
                data_dir=data_dir,
                teacher_dir=teacher_dir,
                init_from=init,
                cache_dir=str(layout.artifacts / "teacher-logits"),
            )
            student_dir = result["ref"]["path"]
            layout.link("student", Path(student_dir))

        models = {"teacher": teacher_dir, "student": student_dir}
        variants = {name: path for name, path in models.items() if path}
        for name, step, target in quantize_variants(config):
            step_dump = step.model_dump(mode="json")
            run.begin(f"quantize {name}")
            key = stage_key(
                "quantize",
                step_dump,
                {"data": data_sha, "model": run.records[target]["ref"]["sha256"]},
                seed,
            )
            result = run(
                "quantize",
                f"quantize {name}",
                key,
                step_dump,
                quantize_task,
                step=step_dump,
                model_dir=models[target],
                data_dir=data_dir,
            )
            variants[name] = result["ref"]["path"]
            layout.link(f"quantized/{name}", Path(variants[name]))

        if variants:
            evaluate_section = dump["evaluate"]
            upstream = {name: run.records[_record_name(name)]["ref"]["sha256"] for name in variants}
            run.begin("evaluate")
            key = stage_key("evaluate", evaluate_section, {"data": data_sha, **upstream}, seed)
            result = run(
                "evaluate",
                "evaluate",
                key,
                evaluate_section,
                evaluate_task,
                data_dir=data_dir,
                variants=variants,
                pipeline=config.name,
                split=config.evaluate.split,
                baselines=config.evaluate.baselines,
                seed=seed,
                measure_cost=config.evaluate.measure_cost,
            )
            eval_dir = Path(result["ref"]["path"])
            layout.link("eval", eval_dir)
            publish_report(config.name, eval_dir)
            if config.registry is not None and "register" in allowed:
                run.begin("register")
                snapshot = build_manifest(**lineage(), status="registering")
                registry_decision = run.register(
                    register_task,
                    config=dump,
                    base_dir=base_dir,
                    data_dir=data_dir,
                    eval_dir=str(eval_dir),
                    variants=variants,
                    manifest=snapshot,
                )
    except BaseException as error:
        if isinstance(error, TextclsError) and not isinstance(error, (StageError, ConfigError)):
            error = StageError(f"stage {run.current} failed: {error}")
        write_manifest(
            layout.run_dir / "manifest.json",
            **lineage(),
            status="failed",
            error=str(error),
            registry=registry_decision,
        )
        raise error from None
    return write_manifest(
        layout.run_dir / "manifest.json",
        **lineage(),
        status="completed",
        registry=registry_decision,
    )


def _sha(run: _Runner, stage: str, path: str | None) -> str | None:
    return run.records[stage]["ref"]["sha256"] if path else None


def _record_name(variant: str) -> str:
    return variant if variant in ("teacher", "student") else f"quantize {variant}"


def artifact_key(pipeline: str, suffix: str = "evaluation") -> str:
    """``<pipeline>-<suffix>`` in what Prefect artifact keys allow: lowercase, digits, dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", pipeline.lower()).strip("-") + f"-{suffix}"


def publish_report(pipeline: str, eval_dir: Path) -> None:
    """The evaluation as Prefect table and markdown artifacts, versioned by pipeline name."""
    import json

    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    report = json.loads((eval_dir / "report.json").read_text())
    rows = [
        {
            "variant": name,
            "accuracy": round(v["quality"]["accuracy"], 4),
            "macro_f1": round(v["quality"]["macro_f1"], 4),
            "ece": round(v["quality"]["ece"], 4),
            "size_mb": round(v["cost"]["size_mb"], 2),
            "throughput": round(v["cost"]["throughput"], 1),
            "latency_p50_ms": round(v["cost"]["latency_b1_p50_ms"], 2),
        }
        for name, v in report["variants"].items()
    ]
    key = artifact_key(pipeline)
    create_table_artifact(table=rows, key=key, description=f"{pipeline}: variants side by side")
    create_markdown_artifact(
        markdown=(eval_dir / "report.md").read_text(),
        key=f"{key}-report",
        description=f"{pipeline}: evaluation report",
    )


def publish_decision(pipeline: str, run_id: str, decision: dict[str, Any]) -> None:
    """The registry decision as a markdown artifact beside the evaluation, keyed by pipeline."""
    from prefect.artifacts import create_markdown_artifact

    key = artifact_key(pipeline, "registry")
    create_markdown_artifact(
        markdown=(
            f"# {pipeline}: registry\n\nRun `{run_id}` registered version "
            f"{decision['version']}.\n\n{decision['reason']}\n"
        ),
        key=key,
        description=f"{pipeline}: promoted or kept, and why",
    )
