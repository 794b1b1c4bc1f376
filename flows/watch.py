"""The ``textcls-watch`` flow: notice new data and announce it as a Prefect event.

Each look is cheap (file stats; contents are hashed only when the stats move); the state of the
last look lives in a Prefect Variable per pipeline, so the watcher itself is stateless and any
worker can run it. When the data changed, it emits ``textcls.dataset.updated`` with resource id
``textcls.dataset.<pipeline>`` and a payload naming the pipeline, its config file and the new
content fingerprint; the retrain deployment's trigger listens for exactly that. See
``textcls.data_watch`` for the rules, including the catch-up for coalesced events.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.events import emit_event
from prefect.variables import Variable
from textcls import StageError, get_plugins, load_config
from textcls.data_watch import (
    EVENT,
    content_fingerprint,
    decide,
    resource_id,
    state_key,
    stats_digest,
    watched_files,
)

RETRAIN_DEPLOYMENT = "textcls-retrain/retrain"


def retrain_in_flight(pipeline: str, deployment: str) -> bool:
    """Is a retrain of this pipeline scheduled, waiting or running?"""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            found = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            return False
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(
                        any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]
                    )
                )
            ),
        )
    return any(run.parameters.get("pipeline") in (pipeline, None) for run in runs)


def look(name: str, config_path: str, deployment: str, retry_after_s: float) -> dict[str, Any]:
    """One look at one pipeline's data; emits the event when it should."""
    config = load_config(config_path)
    files = watched_files(config, get_plugins())
    key = state_key("textcls-watch", name)
    decision = decide(
        previous=Variable.get(key, default=None),
        stats=stats_digest(files),
        fingerprint=lambda: content_fingerprint(files),
        trained=Variable.get(state_key("textcls-trained", name), default=None),
        in_flight=lambda: retrain_in_flight(name, deployment),
        now=time.time(),
        retry_after_s=retry_after_s,
    )
    Variable.set(key, decision.state, overwrite=True)
    if decision.emit:
        emit_event(
            event=EVENT,
            resource={"prefect.resource.id": resource_id(name), "prefect.resource.name": name},
            payload={
                "pipeline": name,
                "config": str(config_path),
                "fingerprint": decision.fingerprint,
                "reason": decision.reason,
            },
        )
    return {
        "emitted": decision.emit,
        "reason": decision.reason,
        "fingerprint": decision.fingerprint,
    }


@flow(name="textcls-watch")
def textcls_watch(
    pipelines: dict[str, str],
    retrain_deployment: str = RETRAIN_DEPLOYMENT,
    retry_after_s: float = 900.0,
) -> dict[str, Any]:
    """Look at every declared pipeline's data (``pipelines`` maps names to config files)."""
    logger = get_run_logger()
    results: dict[str, Any] = {}
    broken: list[str] = []
    for name, config_path in pipelines.items():
        path = str(Path(config_path).resolve())
        try:
            results[name] = look(name, path, retrain_deployment, retry_after_s)
        except Exception as error:
            # one broken pipeline (a glob that matches nothing, a bad file) must not hide
            # the others: report it, look at the rest, fail the run at the end
            logger.error("%s: not looked at: %s", name, error)
            results[name] = {"emitted": False, "reason": f"error: {error}", "fingerprint": None}
            broken.append(f"{name}: {error}")
            continue
        logger.info("%s: %s", name, results[name]["reason"])
    if broken:
        raise StageError(
            f"the watcher could not look at {len(broken)} of {len(pipelines)} pipelines "
            f"(the others were looked at): " + "; ".join(broken)
        )
    return results
