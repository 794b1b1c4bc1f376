"""The conformance battery for a tracker component.

A tracker is driven through one whole pipeline run's events, in the order the flow sends them
(start, tags, stages ran and cached, training metrics at two steps, artifacts, evaluation, a
registered version, the end), then through a failed run, then through a champion move without
a run, as ``textcls registry promote`` sends it. Every event must be accepted without error and
``start_run`` must return a run id (``str``) or None. The battery runs in ``workdir`` as the
current folder, so a tracker that writes locally by default (MLflow's ``./mlruns``) writes
there and nowhere else.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult
from textcls.tracking import RegistryEvent, RunStart, StageOutcome


def check_tracker(
    name: str, params: dict[str, Any] | None = None, *, workdir: str | Path
) -> list[CheckResult]:
    """Run every tracker check on the tracker component ``name``."""
    from textcls.plugin_manager import get_plugins

    component = get_plugins().component("tracker", name)
    work = Path(workdir).resolve()
    state = SimpleNamespace(params=sample_params(component, params), component=component)
    battery = Battery("tracker", name)
    with contextlib.chdir(work):
        battery.run("build", lambda: _build(state))
        battery.run("completed-run", lambda: _completed_run(state, work), needs=["build"])
        battery.run("failed-run", lambda: _failed_run(state), needs=["build"])
        battery.run("alias-without-run", lambda: _alias(state), needs=["completed-run"])
    return battery.results


def _build(state: SimpleNamespace) -> str:
    tracker = state.component.create(state.params)
    return type(tracker).__name__


def _start(tracker: Any, run_id: str) -> str | None:
    answer = tracker.start_run(
        RunStart(
            pipeline="textcls-check",
            run_id=run_id,
            tags={"textcls.pipeline": "textcls-check", "textcls.run_id": run_id},
            params={"teacher.train.epochs": "2", "seed": "13"},
        )
    )
    if answer is not None and not isinstance(answer, str):
        raise CheckFailed(
            f"start_run returned {type(answer).__name__}; return the tracker's run id (str) or None"
        )
    return answer


def _completed_run(state: SimpleNamespace, work: Path) -> str:
    files = work / "artifacts"
    (files / "plots").mkdir(parents=True, exist_ok=True)
    (files / "report.md").write_text("# report\n")
    (files / "plots" / "a.txt").write_text("plot\n")
    model = work / "model"
    model.mkdir(exist_ok=True)
    (model / "textcls.json").write_text("{}\n")
    tracker = state.component.create(state.params)
    run_id = _start(tracker, "check-run-1")
    tracker.set_tags({"textcls.data_fingerprint": "0" * 64})
    tracker.stage_started("ingest", {"train": "train.csv"})
    tracker.stage_finished(
        StageOutcome("ingest", "cached", 0.1, {"path": str(files), "sha256": "0" * 64}, None)
    )
    tracker.stage_started("teacher", {"epochs": 2})
    for step in (1, 2):
        tracker.log_metrics("teacher", {"train/loss": 1.0 / step, "epoch": float(step)}, step)
    tracker.stage_finished(
        StageOutcome("teacher", "ran", 1.5, {"path": str(model), "sha256": "1" * 64})
    )
    tracker.log_artifact(str(files / "report.md"), "eval")
    tracker.log_artifact(str(files / "plots"), "eval/plots")
    tracker.log_evaluation("teacher", {"accuracy": 0.9, "macro_f1": 0.89})
    tracker.model_registered(
        RegistryEvent(
            pipeline="textcls-check",
            version=1,
            action="registered",
            promoted=True,
            reason="first version",
            model_dir=str(model),
            tags={"textcls.decision.promoted": "True"},
            run_id="check-run-1",
        )
    )
    tracker.end_run("completed")
    return f"run {run_id}" if run_id else "no run id"


def _failed_run(state: SimpleNamespace) -> str:
    tracker = state.component.create(state.params)
    _start(tracker, "check-run-2")
    tracker.stage_started("teacher", {})
    tracker.end_run("failed")  # the open stage must be closed too, without an error
    return "a run that failed mid-stage ended cleanly"


def _alias(state: SimpleNamespace) -> str:
    tracker = state.component.create(state.params)
    tracker.alias_moved(
        RegistryEvent(
            pipeline="textcls-check",
            version=1,
            action="promote",
            promoted=True,
            reason="promoted by hand",
        )
    )
    return "champion moved to version 1"
