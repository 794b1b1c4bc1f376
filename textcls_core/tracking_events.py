"""What a pipeline run tells its trackers, built from textcls's own files.

The flow (or any orchestrator) calls these at the points of a run where the facts exist on
disk: the run's start, a stage's end, the evaluation report, the registry decision. Keeping the
translation here keeps the flow to one line per event and lets another orchestrator report the
same way.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from textcls.artifact_files import (
    DATA_REPORT_JSON,
    DATA_REPORT_MD,
    EVAL_REPORT_JSON,
    EVAL_REPORT_MD,
    MANIFEST_FILE,
    read_eval_report,
)
from textcls.config import PipelineConfig
from textcls.manifest import git_revision, package_versions
from textcls.registry import Registry
from textcls.tracking import (
    RegistryEvent,
    RunStart,
    StageOutcome,
    TrackingSession,
    evaluation_metrics,
    flatten_params,
    redact_params,
)

log = logging.getLogger("textcls.tracking")
F = TypeVar("F", bound=Callable[..., Any])


def never_fails_the_run(function: F) -> F:
    """Reporting reads textcls's files to build events; if that goes wrong (a report edited by
    hand, a registry file damaged), the trackers miss the event, with a warning, and the
    pipeline goes on, as it does when a tracker itself fails."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - tracking is an observer
            log.warning(
                "could not report to the trackers (%s): %s: %s",
                function.__name__,
                type(exc).__name__,
                exc,
            )
            return None

    return guarded  # type: ignore[return-value]


MODEL_CARD = "README.md"
#: model folders whose card the run keeps beside it (the run folder's links)
CARD_STAGES = ("pretrain", "teacher", "student")


def run_start(config: PipelineConfig, run_id: str, flow_run_id: str | None) -> RunStart:
    """Tags (pipeline, run ids, git revision, package versions) and the flattened config."""
    tags = {
        "textcls.pipeline": config.name,
        "textcls.run_id": run_id,
        "textcls.version": package_versions()["textcls"] or "",
    }
    if flow_run_id:
        tags["textcls.prefect_flow_run_id"] = flow_run_id
    if config.source:
        tags["textcls.config_file"] = config.source
        revision = git_revision(Path(config.source).parent)
        if revision:
            tags["textcls.git_revision"] = revision
    for package, version in package_versions().items():
        if version:
            tags[f"textcls.package.{package}"] = version
    params = redact_params(flatten_params(config.model_dump(mode="json")))
    return RunStart(pipeline=config.name, run_id=run_id, tags=tags, params=params)


def producer_of(pipeline_runs: Path, stage: str, path: str) -> dict[str, Any] | None:
    """The earlier run of this pipeline that ran ``stage`` into ``path``, from its manifest.

    Returns ``{"run_id", "tracking"}`` (its tracker run ids), or None when no manifest says
    so (the artifact came from another pipeline sharing the store, or from before tracking).
    """
    first: tuple[float, dict[str, Any]] | None = None
    for manifest_path in pipeline_runs.glob(f"*/{MANIFEST_FILE}"):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            record = manifest["stages"][stage]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not isinstance(record, dict) or record.get("status") != "ran":
            continue
        if (record.get("ref") or {}).get("path") != path:
            continue
        found = {"run_id": manifest.get("run_id"), "tracking": manifest.get("tracking") or {}}
        mtime = manifest_path.stat().st_mtime
        if first is None or mtime < first[0]:  # the run that made it, not a later reuser
            first = (mtime, found)
    return None if first is None else first[1]


@never_fails_the_run
def stage_outcome(
    name: str, record: dict[str, Any], artifact: dict[str, Any], pipeline_runs: Path
) -> StageOutcome | None:
    """A finished stage; for one taken from the store, the run that produced its artifact."""
    status = str(record.get("status"))
    produced_by = None
    path = artifact.get("path")
    if status in ("cached", "reused") and isinstance(path, str):
        produced_by = producer_of(pipeline_runs, name, path)
    return StageOutcome(
        stage=name,
        status=status,
        seconds=float(record.get("seconds", 0.0)),
        artifact=artifact,
        produced_by=produced_by,
    )


@never_fails_the_run
def report_stage_files(session: TrackingSession, name: str, folder: Path) -> None:
    """Artifacts worth keeping from a stage's folder: the data report, model cards."""
    if not session:
        return
    if name == "ingest":
        for file_name in (DATA_REPORT_JSON, DATA_REPORT_MD):
            if (folder / file_name).is_file():
                session.log_artifact(str(folder / file_name), "data")
    elif name in CARD_STAGES and (folder / MODEL_CARD).is_file():
        session.log_artifact(str(folder / MODEL_CARD), f"model_cards/{name}")


@never_fails_the_run
def report_evaluation(session: TrackingSession, eval_dir: Path) -> None:
    """Every variant's metrics, and the report (markdown, JSON, plots) as artifacts."""
    if not session:
        return
    report = read_eval_report(eval_dir)
    for variant, numbers in report["variants"].items():
        session.log_evaluation(variant, evaluation_metrics(numbers))
    for file_name in (EVAL_REPORT_MD, EVAL_REPORT_JSON):
        session.log_artifact(str(eval_dir / file_name), "eval")
    if (eval_dir / "plots").is_dir():
        session.log_artifact(str(eval_dir / "plots"), "eval/plots")


@never_fails_the_run
def report_registration(
    session: TrackingSession, config: PipelineConfig, decision: dict[str, Any], run_id: str
) -> None:
    """Mirror a registered version (not one the registry already held)."""
    if not session or config.registry is None or decision.get("already_registered"):
        return
    registry = Registry(config.registry.path, config.name)
    number = int(decision["version"])
    tags = {
        f"textcls.decision.{key}": str(value)
        for key, value in decision.items()
        if key not in ("version",) and value is not None
    }
    info = registry.version(number)
    tags["textcls.variant"] = str(info.get("variant"))
    tags["textcls.model_sha256"] = str(info.get("model_sha256"))
    session.model_registered(
        RegistryEvent(
            pipeline=config.name,
            version=number,
            action="registered",
            promoted=bool(decision.get("promoted")),
            reason=str(decision.get("reason", "")),
            model_dir=str(registry.model_dir(number)),
            tags=tags,
            run_id=run_id,
        )
    )


@never_fails_the_run
def report_alias(
    session: TrackingSession, pipeline: str, version: int, action: str, reason: str
) -> None:
    """The champion moved by hand (``textcls registry promote|rollback``)."""
    if not session:
        return
    session.alias_moved(
        RegistryEvent(
            pipeline=pipeline, version=version, action=action, promoted=True, reason=reason
        )
    )
