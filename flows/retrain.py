"""The ``textcls-retrain`` flow: rerun a declared pipeline on its current data.

Started by the ``retrain`` deployment's event trigger (one ``textcls.dataset.updated`` event
names a pipeline; an event naming none is rejected) or by the ``nightly`` schedule (every
declared pipeline; one that fails does not stop the others).

Trust: an event names a pipeline, never a path. The deployment's own ``pipelines`` parameter
maps the names it may run to their config files; a request for any other name is rejected,
logged, and fails the run without touching anything.

Coalescing: a retrain that starts and finds the data already trained (an earlier run of a
burst got the latest files) skips; the pipeline's cache makes a scheduled rerun on unchanged
data train nothing. A per-pipeline Prefect global concurrency limit (``textcls-pipeline-<name>``,
created by ``deployments/serve.py`` or ``prefect gcl create``) keeps the event-triggered and the
scheduled deployment from running one pipeline twice at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.concurrency.sync import concurrency
from prefect.variables import Variable
from textcls import ConfigError, StageError, TextclsError, get_plugins, load_config
from textcls.data_watch import content_fingerprint, state_key, watched_files
from textcls.flows.pipeline import textcls_pipeline


class RejectedRequest(TextclsError):
    """A retrain request for a pipeline this deployment does not declare."""

    exit_code = 2


def requested_pipelines(
    pipelines: dict[str, str], pipeline: str | None, reason: str = "event"
) -> list[str]:
    """The names to retrain: the requested one if declared, or all of them for a schedule.

    Only the schedule retrains everything: an event always names one pipeline, so an event
    (or any other request) whose ``pipeline`` is null or empty is rejected, never widened.
    """
    if pipeline is None or pipeline == "":
        if reason == "schedule":
            return list(pipelines)
        raise RejectedRequest(
            f"rejected: a {reason!r} request must name a pipeline (got {pipeline!r}); only "
            "the schedule (reason: schedule) retrains every declared pipeline; nothing was run"
        )
    if pipeline not in pipelines:
        shown = re.sub(r"[^\w.-]", "?", pipeline)[:100]
        raise RejectedRequest(
            f"rejected: pipeline {shown!r} is not declared in this deployment's parameters "
            f"(declared: {', '.join(sorted(pipelines)) or 'none'}); nothing was run"
        )
    return [pipeline]


def retrain_one(name: str, config_path: str, reason: str, output: str | None) -> dict[str, Any]:
    logger = get_run_logger()
    config = load_config(config_path)
    if config.name != name:
        raise ConfigError(
            f"deployment parameter pipelines.{name}: {config_path} holds pipeline "
            f"{config.name!r}; use that name as the key"
        )
    files = watched_files(config, get_plugins())
    trained_key = state_key("textcls-trained", name)
    with concurrency(state_key("textcls-pipeline", name), occupy=1, strict=False):
        current = content_fingerprint(files)
        if reason == "event" and Variable.get(trained_key, default=None) == current:
            logger.info("%s: already trained on this data; nothing to do", name)
            return {"status": "skipped", "reason": "already trained on this data"}
        manifest = textcls_pipeline(config_path=config_path, output=output)
        Variable.set(trained_key, current, overwrite=True)
    decision = manifest.get("registry") or {}
    logger.info("%s: run %s; %s", name, manifest["run_id"], decision.get("reason", "no registry"))
    return {
        "status": "retrained",
        "run_id": manifest["run_id"],
        "fingerprint": current,
        "registry": decision or None,
    }


@flow(name="textcls-retrain")
def textcls_retrain(
    pipelines: dict[str, str],
    pipeline: str | None = None,
    fingerprint: str | None = None,
    reason: str = "event",
    output: str | None = None,
) -> dict[str, Any]:
    """Retrain ``pipeline`` (or every declared pipeline when none is named)."""
    logger = get_run_logger()
    try:
        names = requested_pipelines(pipelines, pipeline, reason)
    except RejectedRequest as error:
        logger.error("%s", error)
        raise
    if fingerprint:
        logger.info("requested for data fingerprint %s", fingerprint[:16])
    results: dict[str, Any] = {}
    broken: list[str] = []
    for name in names:
        try:
            results[name] = retrain_one(name, str(Path(pipelines[name]).resolve()), reason, output)
        except Exception as error:
            # the nightly loop goes on to the next pipeline; the run fails at the end
            logger.error("%s: %s", name, error)
            results[name] = {"status": "failed", "error": str(error)}
            broken.append(f"{name}: {error}")
    if broken:
        raise StageError(
            f"{len(broken)} of {len(names)} pipelines failed (the others ran): " + "; ".join(broken)
        )
    return results
