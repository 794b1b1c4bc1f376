"""The data watcher's rules, the retrain trust check, and the deployments file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from textcls import ConfigError, config_from_dict, get_plugins
from textcls.data_watch import (
    content_fingerprint,
    decide,
    state_key,
    stats_digest,
    watched_files,
)
from textcls.flows.retrain import RejectedRequest, requested_pipelines

ROOT = Path(__file__).resolve().parents[1]


class Calls:
    """Counts how often the expensive callbacks run."""

    def __init__(self, fingerprint: str = "f1", in_flight: bool = False):
        self.value, self.busy = fingerprint, in_flight
        self.hashed = self.asked = 0

    def fingerprint(self) -> str:
        self.hashed += 1
        return self.value

    def in_flight(self) -> bool:
        self.asked += 1
        return self.busy


def look(previous, stats, calls, trained=None, now=100.0, retry_after_s=60.0):
    return decide(previous, stats, calls.fingerprint, trained, calls.in_flight, now, retry_after_s)


def test_first_look_records_a_baseline_without_an_event():
    calls = Calls()
    decision = look(None, "s1", calls)
    assert not decision.emit and decision.reason.startswith("first look")
    assert decision.state["fingerprint"] == "f1" and calls.hashed == 1


def test_unchanged_stats_hash_nothing():
    calls = Calls()
    state = look(None, "s1", calls).state
    decision = look(state, "s1", calls, trained="f1")
    assert not decision.emit and decision.reason == "unchanged"
    assert calls.hashed == 1  # only the first look hashed


def test_touched_files_with_the_same_content_are_no_change():
    calls = Calls()
    state = look(None, "s1", calls).state
    decision = look(state, "s2", calls, trained="f1")
    assert not decision.emit and decision.reason == "files touched, content unchanged"
    assert calls.hashed == 2


def test_new_content_emits_once():
    calls = Calls()
    state = look(None, "s1", calls).state
    calls.value = "f2"
    changed = look(state, "s2", calls, trained="f1")
    assert changed.emit and changed.reason == "data changed" and changed.fingerprint == "f2"
    # the next look (no retrain yet, request still fresh) does not emit again
    again = look(changed.state, "s2", calls, trained="f1", now=130.0)
    assert not again.emit and "requested recently" in again.reason


def test_catch_up_when_the_data_was_never_trained_and_nothing_is_running():
    calls = Calls(fingerprint="f2")
    state = {"stats": "s2", "fingerprint": "f2", "requested_at": 0.0}
    busy = look(state, "s2", Calls("f2", in_flight=True), trained="f1", now=500.0)
    assert not busy.emit and "queued or running" in busy.reason
    idle = look(state, "s2", calls, trained="f1", now=500.0)
    assert idle.emit and idle.reason.startswith("catch-up") and idle.state["requested_at"] == 500.0
    assert calls.asked == 1


def test_trained_data_is_left_alone():
    calls = Calls(fingerprint="f2")
    state = {"stats": "s2", "fingerprint": "f2", "requested_at": 0.0}
    decision = look(state, "s2", calls, trained="f2", now=10_000.0)
    assert not decision.emit and calls.asked == 0


def test_stats_and_content_fingerprints_follow_the_files(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("text,label\na,x\n")
    files = [str(data)]
    stats, content = stats_digest(files), content_fingerprint(files)
    data.write_text("text,label\na,x\n")  # same bytes, new mtime
    assert content_fingerprint(files) == content
    data.write_text("text,label\na,x\nb,y\n")
    assert stats_digest(files) != stats and content_fingerprint(files) != content


def test_watched_files_need_local_sources(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\na,x\n")
    local = config_from_dict(
        {"name": "w", "data": {"train": "train*.csv"}, "student": None}, base_dir=tmp_path
    )
    assert watched_files(local, get_plugins()) == [str(tmp_path / "train.csv")]
    hub = config_from_dict(
        {"name": "w", "data": {"source": {"name": "hf-hub"}, "train": "org/data"}},
        base_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match="the watcher needs local files"):
        watched_files(hub, get_plugins())


def test_state_keys_are_prefect_variable_safe():
    assert state_key("textcls-watch", "Support.Intents v2") == "textcls-watch-support-intents-v2"


def test_only_declared_pipelines_are_retrained():
    declared = {"a": "a.yaml", "b": "b.yaml"}
    assert requested_pipelines(declared, "a") == ["a"]
    assert requested_pipelines(declared, None, reason="schedule") == ["a", "b"]
    with pytest.raises(RejectedRequest, match=r"'\.\.\?etc' is not declared.*declared: a, b"):
        requested_pipelines(declared, "../etc")


@pytest.mark.parametrize("pipeline", [None, ""])
def test_an_event_that_names_no_pipeline_retrains_nothing(pipeline):
    declared = {"a": "a.yaml", "b": "b.yaml"}
    with pytest.raises(RejectedRequest, match="must name a pipeline.*nothing was run"):
        requested_pipelines(declared, pipeline, reason="event")


def two_pipelines(tmp_path: Path) -> dict[str, str]:
    """``broken`` (its train glob matches nothing) before ``good`` (ingest only)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from ingest_helpers import csv_text
    from model_helpers import toy_rows

    (tmp_path / "train.csv").write_text(csv_text(toy_rows(40)))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(20, seed=1)))
    pipelines = {}
    for name, train in (("broken", "missing-*.csv"), ("good", "train.csv")):
        config = {"name": name, "data": {"train": train, "validation": "val.csv"}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))
        pipelines[name] = str(tmp_path / f"{name}.yaml")
    return pipelines


def test_the_watcher_reports_a_broken_pipeline_and_still_looks_at_the_next(tmp_path, prefect_api):
    from prefect.variables import Variable
    from textcls import StageError
    from textcls.flows.watch import textcls_watch

    pipelines = two_pipelines(tmp_path)
    with pytest.raises(StageError, match=r"1 of 2 pipelines.*broken: .*missing-\*\.csv"):
        textcls_watch(pipelines=pipelines)
    assert Variable.get(state_key("textcls-watch", "good"))["fingerprint"]
    assert Variable.get(state_key("textcls-watch", "broken"), default=None) is None


def test_the_nightly_loop_goes_on_after_a_broken_pipeline(tmp_path, prefect_api):
    from textcls import StageError
    from textcls.flows.retrain import textcls_retrain

    pipelines = two_pipelines(tmp_path)
    with pytest.raises(StageError, match=r"1 of 2 pipelines failed.*broken: "):
        textcls_retrain(pipelines=pipelines, reason="schedule", output=str(tmp_path / "runs"))
    (manifest,) = (tmp_path / "runs" / "good").glob("*/manifest.json")
    assert '"status": "completed"' in manifest.read_text()


def test_deployments_file_builds_three_deployments():
    sys.path.insert(0, str(ROOT / "deployments"))
    import serve

    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    built = {d.name: d for d in serve.build_deployments(spec)}
    assert set(built) == {"retrain", "watch", "nightly"}
    retrain = built["retrain"]
    (trigger,) = retrain.triggers
    assert trigger.expect == {"textcls.dataset.updated"}
    assert trigger.for_each == {"prefect.resource.id"} and trigger.threshold == 1
    assert trigger.parameters["pipeline"] == "{{ event.payload.pipeline }}"
    assert retrain.concurrency_limit == 1
    assert retrain.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert built["watch"].schedules[0].schedule.interval.total_seconds() == 300
    assert built["nightly"].schedules[0].schedule.cron == "0 2 * * *"
    # every declared pipeline file exists and is valid
    for path in serve.declared_pipelines(spec).values():
        from textcls import load_config

        load_config(ROOT / path)
