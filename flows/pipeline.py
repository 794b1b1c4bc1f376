"""The ``textcls_pipeline`` flow: ingest, pretrain, teacher, student, quantize, evaluate.

The flow decides order, caching, retries and reporting; each task calls one stage function.
Stage keys come from ``textcls.pipeline_plan``: unchanged inputs mean a cache hit, so a
rerun trains nothing, and changing only ``quantize`` reruns only quantize and evaluate.
Artifacts live in a store shared by runs; each run folder links to what it used and holds a
``manifest.json``. The evaluation becomes Prefect table and markdown artifacts keyed by
pipeline name, so they version across runs in the UI.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger
from textcls import ConfigError, StageError, TextclsError, get_plugins, load_config
from textcls.artifact_files import (
    EVAL_REPORT_MD,
    LABELS_FILE,
    MANIFEST_FILE,
    read_eval_report,
    read_labels,
)
from textcls.flows.interrupts import is_interrupt, signal_name
from textcls.flows.stage_tags import StageTags
from textcls.flows.tasks import (
    calibrate_task,
    evaluate_task,
    ingest_task,
    pretrain_task,
    quantize_task,
    ref_from_disk,
    register_task,
    student_task,
    teacher_task,
)
from textcls.lifecycle import notify
from textcls.manifest import build_manifest, write_manifest
from textcls.pipeline_plan import (
    PlannedStage,
    RunLayout,
    enabled_stages,
    plan_stages,
    select_stages,
)
from textcls.tracking import TrackingSession, open_tracking
from textcls.tracking_events import (
    report_evaluation,
    report_registration,
    report_stage_files,
    run_start,
    stage_outcome,
)

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

IO_STAGES = {"ingest", "quantize"}


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def previous_labels(layout: RunLayout) -> list[str] | None:
    """Label order of the pipeline's latest finished run, so ids stay stable on retrain."""
    runs = sorted(
        (p for p in (layout.root / layout.pipeline).glob(f"*/{MANIFEST_FILE}")),
        key=lambda p: p.stat().st_mtime,
    )
    for manifest in reversed(runs):
        if (manifest.parent / "data" / LABELS_FILE).is_file():
            return read_labels(manifest.parent / "data")
    return None


TASKS = {
    "ingest": ingest_task,
    "pretrain": pretrain_task,
    "teacher": teacher_task,
    "student": student_task,
    "quantize": quantize_task,
    "calibrate": calibrate_task,
    "evaluate": evaluate_task,
}


class _Runner:
    """Runs one planned stage (or takes it from the store), records it, tells the listeners."""

    def __init__(
        self,
        layout: RunLayout,
        allowed: set[str],
        config: Any,
        plugins: PluginHost,
        stage_tags: StageTags,
        tracking: TrackingSession | None = None,
    ):
        self.layout = layout
        self.allowed = allowed
        self.config = config
        self.plugins = plugins
        self.tracking = tracking or TrackingSession()
        self.stage_tags = stage_tags
        self.records: dict[str, Any] = {}
        self.logger = get_run_logger()
        self.current = "planning"

    def stage(self, planned: PlannedStage) -> dict[str, Any]:
        """Run an artifact-making stage: cached on its key, stored in the shared store."""
        key = planned.key(self.records, self.config.seed)
        out = self.layout.artifact(planned.stage, key)
        with self._announced(planned) as record:
            if planned.stage not in self.allowed:
                if not out.exists():
                    raise ConfigError(
                        f"stage {planned.name} is needed but not in the artifact store "
                        f"({out}); run the pipeline without --only/--from first"
                    )
                record.update(ref=ref_from_disk(planned.stage, out).to_dict(), status="reused")
            else:
                options: dict[str, Any] = {
                    "refresh_cache": not out.exists(),
                    "task_run_name": planned.name,
                    "tags": self.stage_tags.for_stage(planned.stage),
                }
                if planned.stage in IO_STAGES:
                    options.update(
                        retries=self.config.orchestration.retries,
                        retry_delay_seconds=self.config.orchestration.retry_delay_s,
                    )
                task = TASKS[planned.stage].with_options(**options)
                state = task(
                    stage=planned.stage,
                    key=key,
                    out=str(out),
                    return_state=True,
                    **planned.arguments(self.records),
                )
                if state.is_failed():
                    self.fail(planned.name, state)
                record.update(state.result())
                if state.name == "Cached":
                    record["status"] = "cached"
            record["key"] = key
        if planned.link is not None:
            self.layout.link(planned.link, Path(record["ref"]["path"]))
        return record

    def register(self, planned: PlannedStage, manifest: dict[str, Any]) -> dict[str, Any]:
        """Run the register step: a side effect, not an artifact, so it is never cached."""
        with self._announced(planned) as record:
            task = register_task.with_options(
                task_run_name="register", tags=self.stage_tags.for_stage("register")
            )
            state = task(**planned.arguments(self.records), manifest=manifest, return_state=True)
            if state.is_failed():
                self.fail("register", state)
            decision: dict[str, Any] = state.result()
            record.update(
                status="already registered"
                if decision["already_registered"]
                else ("promoted" if decision["promoted"] else "candidate"),
                version=decision["version"],
            )
        self.logger.info("register: version %s: %s", decision["version"], decision["reason"])
        return decision

    @contextmanager
    def _announced(self, planned: PlannedStage) -> Iterator[dict[str, Any]]:
        """Tell the listeners a stage starts; time it, record it, tell them it finished."""
        run_dir = str(self.layout.run_dir)
        section = planned.section
        notify(
            self.plugins,
            "textcls_stage_started",
            stage=planned.name,
            run_dir=run_dir,
            config=section if isinstance(section, dict) else {"value": section},
        )
        self.tracking.stage_started(
            planned.name, section if isinstance(section, dict) else {"value": section}
        )
        start = time.perf_counter()
        record: dict[str, Any] = {}
        yield record
        record["seconds"] = round(time.perf_counter() - start, 3)
        self.records[planned.name] = record
        # an artifact stage reports its ref; the register step, the version it registered
        artifact = {
            **record.get("ref", {"version": record.get("version")}),
            "status": record["status"],
        }
        notify(
            self.plugins,
            "textcls_stage_finished",
            stage=planned.name,
            run_dir=run_dir,
            artifact=artifact,
        )
        self.track_finished(planned.name, record, artifact)
        self.logger.info("%s: %s in %.1fs", planned.name, record["status"], record["seconds"])

    def track_finished(self, name: str, record: dict[str, Any], artifact: dict[str, Any]) -> None:
        """The stage's outcome, its files worth keeping and, after ingest, the data's hash."""
        if not self.tracking:
            return
        runs = self.layout.root / self.layout.pipeline
        outcome = stage_outcome(name, record, artifact, runs)
        if outcome is not None:
            self.tracking.stage_finished(outcome)
        if isinstance(artifact.get("path"), str):
            report_stage_files(self.tracking, name, Path(artifact["path"]))
        if name == "ingest" and artifact.get("sha256"):
            self.tracking.set_tags({"textcls.data_fingerprint": str(artifact["sha256"])})

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


@flow(name="textcls-pipeline")
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
    tracking = open_tracking(config, plugins)  # a missing extra fails here, before training
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    flow_run_id = name_flow_run(layout.run_id, config.name)
    allowed = select_stages(enabled_stages(config), only, start_from)
    started = datetime.now(UTC)
    run = _Runner(layout, allowed, config, plugins, StageTags.from_api(get_run_logger()), tracking)
    registry_decision = None
    if tracking:
        tracking.start_run(run_start(config, layout.run_id, flow_run_id))

    def lineage() -> dict[str, Any]:
        """The manifest fields every record of this run shares, as they stand now."""
        ingest = run.records.get("ingest")
        return {
            "pipeline": config.name,
            "run_id": layout.run_id,
            "config": config.model_dump(mode="json"),
            "config_source": config.source,
            "stages": run.records,
            "data_fingerprint": ingest["ref"]["sha256"] if ingest else None,
            "started": started,
            "prefect_flow_run_id": flow_run_id,
            "tracking": tracking.lineage(),
        }

    def finish_tracking(status: str) -> None:
        """The manifest as the run's last artifact, then the tracker runs end."""
        if tracking:
            tracking.log_artifact(str(layout.run_dir / MANIFEST_FILE), None)
            tracking.end_run(status)

    try:
        with textcls_logs_in_prefect(), tracking.active():
            plan = plan_stages(config, layout, plugins, previous_labels(layout))
            if only is not None:
                # one stage: what comes after it is not needed (and need not be in the store)
                last = max((i for i, step in enumerate(plan) if step.stage == only), default=-1)
                plan = plan[: last + 1] if last >= 0 else plan
            for planned in plan:
                run.current = planned.name
                if planned.stage != "register":
                    run.stage(planned)
                elif "register" in allowed:
                    snapshot = build_manifest(**lineage(), status="registering")
                    registry_decision = run.register(planned, snapshot)
                    publish_decision(config.name, layout.run_id, registry_decision)
                    report_registration(tracking, config, registry_decision, layout.run_id)
                if planned.stage == "evaluate":
                    publish_report(config.name, Path(run.records["evaluate"]["ref"]["path"]))
                    report_evaluation(tracking, Path(run.records["evaluate"]["ref"]["path"]))
    except BaseException as error:
        if is_interrupt(error):
            # SIGINT/SIGTERM: record it, then let the signal go on stopping the process
            write_manifest(
                layout.run_dir / "manifest.json",
                **lineage(),
                status="cancelled",
                error=f"cancelled by {signal_name(error)} during {run.current}",
                registry=registry_decision,
            )
            finish_tracking("cancelled")
            raise
        if isinstance(error, TextclsError) and not isinstance(error, (StageError, ConfigError)):
            named = StageError(f"stage {run.current} failed: {error}")
            named.exit_code = error.exit_code  # bad input stays exit 2, wherever it is found
            error = named
        write_manifest(
            layout.run_dir / MANIFEST_FILE,
            **lineage(),
            status="failed",
            error=str(error),
            registry=registry_decision,
        )
        finish_tracking("failed")
        raise error from None
    manifest = write_manifest(
        layout.run_dir / MANIFEST_FILE,
        **lineage(),
        status="completed",
        registry=registry_decision,
    )
    finish_tracking("completed")
    return manifest


def name_flow_run(run_id: str, pipeline: str) -> str | None:
    """Name the Prefect flow run after the textcls run id and tag it with the pipeline.

    The run id names the run folder, so the UI and the disk say the same thing. A failure here
    is cosmetic and never stops the run. Returns the flow run's id (for the manifest and the
    trackers' tags), or None outside a flow run.
    """
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    flow_run_id = str(context.flow_run.id)
    tags = sorted({*context.flow_run.tags, "textcls", f"pipeline:{pipeline}"})
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id=context.flow_run.id, name=run_id, tags=tags)
    except Exception as exc:  # noqa: BLE001 - the UI name is not worth failing a run for
        get_run_logger().warning("could not name the flow run %s: %s", run_id, exc)
    return flow_run_id


@contextmanager
def textcls_logs_in_prefect() -> Iterator[None]:
    """Send the ``textcls`` loggers' records to the Prefect UI while the flow runs."""
    from prefect.logging.handlers import APILogHandler

    logger = logging.getLogger("textcls")
    handler = APILogHandler()
    logger.addHandler(handler)
    level = logger.level
    if level == logging.NOTSET:  # outside the CLI (deployments, notebooks): INFO, not WARNING
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def artifact_key(pipeline: str, suffix: str = "evaluation") -> str:
    """``<pipeline>-<suffix>`` in what Prefect artifact keys allow: lowercase, digits, dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", pipeline.lower()).strip("-") + f"-{suffix}"


def publish_report(pipeline: str, eval_dir: Path) -> None:
    """The evaluation as Prefect table and markdown artifacts, versioned by pipeline name."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    report = read_eval_report(eval_dir)
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
        markdown=embed_images((eval_dir / EVAL_REPORT_MD).read_text(), eval_dir),
        key=f"{key}-report",
        description=f"{pipeline}: evaluation report",
    )


def embed_images(markdown: str, folder: Path) -> str:
    """Inline the report's ``plots/*.png`` as data URIs.

    The UI shows an artifact far from the run folder, where relative image links break; the
    pictures are small (tens of KB), so they travel inside the markdown.
    """
    import base64

    def inline(match: re.Match[str]) -> str:
        path = folder / match.group(2)
        if not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"![{match.group(1)}](data:image/png;base64,{data})"

    return re.sub(r"!\[([^\]]*)\]\((plots/[^)\s]+\.png)\)", inline, markdown)


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
