"""Experiment tracking: the tracker kind, the session, and MLflow against a real server.

The MLflow tests run the real pipeline flow (tiny models, a real Prefect API) against a real
``mlflow server`` on 127.0.0.1 (SQLite store, local artifacts) and read everything back through
``MlflowClient``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, TINY_TRAIN, toy_rows
from textcls import ConfigError, Tracker, config_from_dict, get_plugins, hookimpl
from textcls.tracking import RunStart, TrackingSession, flatten_params, open_tracking

NEEDS_MLFLOW = 'needs the mlflow extra: pip install "textcls[mlflow]"'


# -- the session and the kind -----------------------------------------------------------------
class Recording(Tracker):
    """A tracker that keeps what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start_run(self, run: RunStart) -> str:
        self.events.append(("start_run", run.run_id))
        return "rec-1"

    def log_metrics(self, stage, metrics, step) -> None:
        self.events.append(("log_metrics", (stage, dict(metrics), step)))

    def end_run(self, status: str) -> None:
        self.events.append(("end_run", status))


class Broken(Tracker):
    def start_run(self, run: RunStart) -> str:
        raise ConnectionError("server down")


def test_a_failing_tracker_warns_once_and_the_others_still_hear_everything(caplog):
    good, bad = Recording(), Broken()
    session = TrackingSession({"broken": bad, "good": good})
    with caplog.at_level(logging.WARNING, logger="textcls.tracking"):
        session.start_run(RunStart("p", "r1", {}, {}))
        session.log_metrics("teacher", {"train/loss": 1.0}, 3)
        session.end_run("completed")
    warnings = [r for r in caplog.records if r.name == "textcls.tracking"]
    assert len(warnings) == 1 and "'broken'" in warnings[0].getMessage()
    assert "server down" in warnings[0].getMessage()
    assert good.events == [
        ("start_run", "r1"),
        ("log_metrics", ("teacher", {"train/loss": 1.0}, 3)),
        ("end_run", "completed"),
    ]
    assert session.lineage() == {
        "good": {"run_id": "rec-1"},
        "broken": {"error": "ConnectionError: server down"},
    }


def test_training_logs_reach_the_session_through_the_trainer_callback(tmp_path):
    from model_helpers import toy_data, with_student
    from textcls.stages.finetune import fine_tune

    raw, data_dir = toy_data(tmp_path)
    recording = Recording()
    with TrackingSession({"rec": recording}).active():
        fine_tune(with_student(raw, tmp_path, "bow", epochs=2), "student", data_dir, tmp_path / "m")
    logged = [e[1] for e in recording.events if e[0] == "log_metrics"]
    assert {stage for stage, _, _ in logged} == {"student"}
    losses = [(step, m["train/loss"]) for _, m, step in logged if "train/loss" in m]
    accuracies = [step for _, m, step in logged if "validation/accuracy" in m]
    assert len(losses) == 2 and losses[0][0] < losses[1][0]  # one per epoch, at its step
    assert len(accuracies) >= 2


def test_each_restart_s_curves_reach_the_session_under_its_own_names(tmp_path):
    from model_helpers import toy_data, with_student
    from textcls.stages.finetune import fine_tune

    raw, data_dir = toy_data(tmp_path)
    recording = Recording()
    config = with_student(raw, tmp_path, "bow", epochs=2, restarts=2)
    with TrackingSession({"rec": recording}).active():
        fine_tune(config, "student", data_dir, tmp_path / "m")
    logged = [e[1] for e in recording.events if e[0] == "log_metrics"]
    assert {stage for stage, _, _ in logged} == {"student"}  # the stage's own metrics
    for run in ("restart-0", "restart-1"):  # each run from step 0, apart from the other
        losses = [step for _, m, step in logged if f"{run}/train/loss" in m]
        assert len(losses) == 2 and losses[0] < losses[1]
    assert not [m for _, m, _ in logged if "train/loss" in m]  # no unnamed curve


def test_pretraining_curves_reach_the_session_as_the_pretrain_stage(tmp_path):
    from model_helpers import toy_data
    from textcls.stages.pretrain import pretrain

    raw, data_dir = toy_data(tmp_path, n=120)
    config = config_from_dict(
        {
            **raw,
            "pretrain": {
                "objective": "clm",
                "target": "student",
                "train": {"epochs": 2, "batch_size": 32, "learning_rate": 0.005, "max_length": 16},
            },
            "student": {
                "model": {"name": "gru", "params": TINY_MODELS["gru"]},
                "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
                "init": "pretrain",
            },
        },
        base_dir=tmp_path,
    )
    recording = Recording()
    with TrackingSession({"rec": recording}).active():
        pretrain(config, data_dir, tmp_path / "pretrained")
    logged = [e[1] for e in recording.events if e[0] == "log_metrics"]
    assert {stage for stage, _, _ in logged} == {"pretrain"}
    assert len([step for _, m, step in logged if "validation/loss" in m]) >= 2


def test_reporting_from_damaged_files_warns_and_never_raises(tmp_path, caplog):
    from textcls.tracking_events import report_evaluation

    (tmp_path / "report.json").write_text("{not json")
    recording = Recording()
    with caplog.at_level(logging.WARNING, logger="textcls.tracking"):
        report_evaluation(TrackingSession({"rec": recording}), tmp_path)
    assert recording.events == []
    (warning,) = [r for r in caplog.records if r.name == "textcls.tracking"]
    assert "report_evaluation" in warning.getMessage()


def test_flatten_params_gives_dotted_keys():
    flat = flatten_params(
        {"teacher": {"train": {"epochs": 3}}, "quantize": [{"name": "q"}], "pretrain": None}
    )
    assert flat == {"teacher.train.epochs": "3", "quantize.0.name": "q", "pretrain": "None"}


def test_mlflow_is_a_listed_tracker_with_typed_params():
    pytest.importorskip("mlflow", reason=NEEDS_MLFLOW)
    component = get_plugins().component("tracker", "mlflow")
    assert component.capabilities.registry_mirror  # type: ignore[attr-defined]
    assert component.validate_params({}).tracking_uri is None  # type: ignore[attr-defined]


def test_a_tracker_that_breaks_the_contract_disables_only_its_plugin():
    class NotATracker:  # no start_run, end_run, ...
        def __init__(self, params):
            self.params = params

    class Plugin:
        @hookimpl
        def textcls_register_trackers(self, register):
            register("half", NotATracker)

    host = get_plugins()
    assert host.register(Plugin(), name="half-tracker") is None
    (failure,) = [f for f in host.load_failures if f.entry_point == "half-tracker"]
    assert "tracker 'half'" in failure.error and "start_run" in failure.error
    assert "mlflow" in host.registry("tracker")


def _config(tmp_path: Path, tracking: list) -> dict:
    (tmp_path / "train.csv").write_text(csv_text(toy_rows(20)))
    return {"name": "t", "data": {"train": "train.csv"}, "tracking": tracking}


@pytest.mark.parametrize(
    ("tracking", "message"),
    [
        ([{"name": "mlflw"}], "unknown tracker 'mlflw'. Did you mean 'mlflow'?"),
        ([{"name": "mlflow", "params": {"tracking_uri": "ftp://x"}}], "scheme 'ftp'"),
        ([{"name": "mlflow", "params": {"experimnt": "x"}}], "Extra inputs are not permitted"),
        ([{"name": "mlflow"}, "mlflow"], r"tracking\[1\] repeats tracking\[0\]"),
        ([{"name": "mlflow", "params": {"tracking_uri": "file:///x"}}], "sqlite:///mlflow.db"),
        ([{"name": "mlflow", "params": {"tracking_uri": "mlruns"}}], "MLFLOW_ALLOW_FILE_STORE"),
    ],
)
def test_bad_tracking_sections_are_config_errors(tmp_path, tracking, message, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_config(tmp_path, tracking), base_dir=tmp_path)


def test_config_validate_exits_2_on_an_unknown_tracker(tmp_path):
    from textcls.flows.cli import app
    from typer.testing import CliRunner

    (tmp_path / "p.yaml").write_text(yaml.safe_dump(_config(tmp_path, [{"name": "wandb"}])))
    result = CliRunner().invoke(app, ["config", "validate", str(tmp_path / "p.yaml")])
    assert result.exit_code == 2 and "unknown tracker 'wandb'" in result.output


def test_without_the_extra_the_error_names_it(tmp_path, monkeypatch):
    config = config_from_dict(_config(tmp_path, [{"name": "mlflow"}]), base_dir=tmp_path)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if MLflow were not installed
    with pytest.raises(ConfigError, match=r'pip install "textcls\[mlflow\]"'):
        open_tracking(config, get_plugins())


# -- a real MLflow server -----------------------------------------------------------------------
PIPELINE = {
    "name": "tracked-flow",
    "seed": 5,
    "data": {
        "train": "train.csv",
        "validation": "val.csv",
        "test": "val.csv",
        "drop_duplicates": False,
    },
    "teacher": {
        "model": {"name": "transformer", "params": TINY_MODELS["transformer"]},
        "tokenizer": {"name": "wordpiece", "params": {"vocab_size": 200, "min_frequency": 1}},
        "train": {"batch_size": 16, "max_length": 32, **TINY_TRAIN["transformer"], "epochs": 3},
    },
    "student": {
        "model": {"name": "bow", "params": TINY_MODELS["bow"]},
        "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
        "distill": {"name": "logits-kl"},
        # the first version is weak (a learning rate that barely moves it), so a retrain that
        # learns properly is promoted
        "train": {"epochs": 2, "batch_size": 16, "learning_rate": 1.0e-6, "max_length": 32},
    },
    "evaluate": {"baselines": [], "measure_cost": False},
    "registry": {"path": "registry", "variant": "student"},
    "output": "runs",
}
RETRAIN = "student.train.learning_rate=0.02"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("mlflow", reason=NEEDS_MLFLOW)
    from mlflow_server import mlflow_server

    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, server, prefect_api):
    """The project, its first run, an unchanged rerun and a retrain that promotes."""
    from textcls.flows.pipeline import textcls_pipeline

    base = tmp_path_factory.mktemp("tracked")
    (base / "train.csv").write_text(csv_text(toy_rows(200)))
    (base / "val.csv").write_text(csv_text(toy_rows(60, seed=1)))
    pipeline = {**PIPELINE, "tracking": [{"name": "mlflow", "params": {"tracking_uri": server}}]}
    (base / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))

    def run(*overrides: str):
        return textcls_pipeline(config_path=str(base / "pipeline.yaml"), overrides=list(overrides))

    first = run()
    again = run()
    retrain = run(RETRAIN)
    return {"base": base, "first": first, "again": again, "retrain": retrain, "run": run}


@pytest.fixture(scope="module")
def client(server):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=server)


def mlflow_run(client, manifest):
    return client.get_run(manifest["tracking"]["mlflow"]["run_id"])


def stage_runs(client, parent) -> dict:
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    return {r.data.tags["textcls.stage"]: r for r in children}


@pytest.mark.slow
def test_a_tracked_run_records_tags_params_and_lineage_both_ways(tracked, client):
    manifest = tracked["first"]
    run = mlflow_run(client, manifest)
    assert run.info.run_name == manifest["run_id"] and run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["textcls.pipeline"] == "tracked-flow"
    assert tags["textcls.run_id"] == manifest["run_id"]
    assert tags["textcls.prefect_flow_run_id"] == manifest["prefect_flow_run_id"]
    assert tags["textcls.data_fingerprint"] == manifest["data_fingerprint"]
    assert tags["textcls.package.torch"] == manifest["packages"]["torch"]
    params = run.data.params
    assert float(params["teacher.train.epochs"]) == 3
    assert params["student.distill.name"] == "logits-kl"
    assert params["tracking.0.name"] == "mlflow"
    assert client.get_experiment(run.info.experiment_id).name == "tracked-flow"
    # the manifest on disk holds the MLflow run id, and the Prefect flow run is named by run id
    on_disk = json.loads(
        (
            tracked["base"] / "runs" / "tracked-flow" / manifest["run_id"] / "manifest.json"
        ).read_text()
    )
    assert on_disk["tracking"]["mlflow"]["run_id"] == run.info.run_id
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(manifest["prefect_flow_run_id"])
    assert flow_run.name == manifest["run_id"]


@pytest.mark.slow
def test_every_training_stage_has_metric_histories_with_several_steps(tracked, client):
    run = mlflow_run(client, tracked["first"])
    stages = stage_runs(client, run)
    calibrated = {"calibrate teacher", "calibrate student"}
    assert set(stages) == {"ingest", "teacher", "student", *calibrated, "evaluate", "register"}
    for stage in ("teacher", "student"):
        history = client.get_metric_history(stages[stage].info.run_id, "validation/accuracy")
        assert len({m.step for m in history}) >= 2, stage
        losses = client.get_metric_history(stages[stage].info.run_id, "train/loss")
        assert len(losses) >= 2 and losses[0].step < losses[-1].step
        # and in the parent, for comparing runs
        assert len(client.get_metric_history(run.info.run_id, f"{stage}/train/loss")) >= 2
    assert stages["teacher"].data.tags["textcls.stage.status"] == "ran"
    assert run.data.metrics["stage/teacher/seconds"] > 0
    assert run.data.metrics["stage/teacher/cached"] == 0


@pytest.mark.slow
def test_evaluation_metrics_and_artifacts_are_in_the_run(tracked, client):
    run = mlflow_run(client, tracked["first"])
    metrics = run.data.metrics
    for variant in ("teacher", "student"):
        assert 0 <= metrics[f"eval/{variant}/accuracy"] <= 1
        assert f"eval/{variant}/macro_f1" in metrics

    def paths(path=None):
        found = []
        for info in client.list_artifacts(run.info.run_id, path):
            found += paths(info.path) if info.is_dir else [info.path]
        return found

    artifacts = set(paths())
    assert {
        "eval/report.md",
        "eval/report.json",
        "data/data_report.json",
        "model_cards/teacher/README.md",
        "model_cards/student/README.md",
        "manifest.json",
    } <= artifacts
    assert any(p.startswith("eval/plots/") and p.endswith(".png") for p in artifacts)
    local = client.download_artifacts(run.info.run_id, "manifest.json")
    assert json.loads(Path(local).read_text())["run_id"] == tracked["first"]["run_id"]


@pytest.mark.slow
def test_a_cached_stage_says_so_and_links_the_run_that_produced_it(tracked, client):
    first = mlflow_run(client, tracked["first"])
    again = mlflow_run(client, tracked["again"])
    stages = stage_runs(client, again)
    teacher = stages["teacher"].data.tags
    assert teacher["textcls.stage.status"] == "cached"
    assert teacher["textcls.produced_by.run_id"] == tracked["first"]["run_id"]
    assert teacher["textcls.produced_by.mlflow_run_id"] == first.info.run_id
    assert again.data.metrics["stage/teacher/cached"] == 1


@pytest.mark.slow
def test_registered_versions_are_mirrored_and_the_alias_follows_the_champion(tracked, client):
    from textcls.flows.cli import app
    from typer.testing import CliRunner

    assert tracked["first"]["registry"]["promoted"]
    assert tracked["again"]["registry"]["already_registered"]  # no new version for a rerun
    assert tracked["retrain"]["registry"]["promoted"], tracked["retrain"]["registry"]["reason"]
    versions = client.search_model_versions("name = 'tracked-flow'")
    by_textcls = {int(v.tags["textcls.version"]): v for v in versions}
    assert sorted(by_textcls) == [1, 2]
    second = by_textcls[2]
    assert second.run_id == tracked["retrain"]["tracking"]["mlflow"]["run_id"]
    assert second.tags["textcls.decision.promoted"] == "True"
    assert "promoted" in second.description
    assert second.source.endswith("registry/v2/model")
    model_files = client.list_artifacts(second.run_id, "registry/v2/model")
    assert {"textcls.json", "model.safetensors"} <= {Path(f.path).name for f in model_files}
    # a retrain that promotes moved the alias
    assert client.get_model_version_by_alias("tracked-flow", "champion").version == (second.version)
    pipeline = str(tracked["base"] / "pipeline.yaml")
    rolled = CliRunner().invoke(app, ["registry", "rollback", pipeline])
    assert rolled.exit_code == 0, rolled.output
    champion = client.get_model_version_by_alias("tracked-flow", "champion")
    assert champion.version == by_textcls[1].version
    assert champion.tags["textcls.rollback"] == "rollback"
    promoted = CliRunner().invoke(app, ["registry", "promote", pipeline, "2"])
    assert promoted.exit_code == 0, promoted.output
    champion = client.get_model_version_by_alias("tracked-flow", "champion")
    assert champion.version == second.version


@pytest.mark.slow
def test_promoting_the_champion_again_sets_an_alias_that_fell_behind(tracked, client):
    from textcls.flows.cli import app
    from textcls.registry import Registry
    from typer.testing import CliRunner

    registry = Registry(tracked["base"] / "registry", "tracked-flow")
    champion = registry.champion()
    mirrored = {
        int(v.tags["textcls.version"]): v.version
        for v in client.search_model_versions("name = 'tracked-flow'")
    }
    other = next(m for v, m in mirrored.items() if v != champion)
    client.set_registered_model_alias("tracked-flow", "champion", other)  # the mirror drifted
    history = registry.champion_state()["history"]
    pipeline = str(tracked["base"] / "pipeline.yaml")
    result = CliRunner().invoke(app, ["registry", "promote", pipeline, str(champion)])
    assert result.exit_code == 0, result.output
    assert "alias was set again" in result.output
    alias = client.get_model_version_by_alias("tracked-flow", "champion")
    assert alias.version == mirrored[champion]
    assert registry.champion() == champion and registry.champion_state()["history"] == history


@pytest.mark.slow
def test_a_server_that_is_down_leaves_the_pipeline_green_with_one_warning(tracked, caplog):
    from mlflow_server import free_port

    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="textcls.tracking"):
        manifest = tracked["run"](RETRAIN, f"tracking.0.params.tracking_uri={down}")
    assert manifest["status"] == "completed"
    warnings = [r for r in caplog.records if r.name == "textcls.tracking"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert down in warnings[0].getMessage() and "did not answer" in warnings[0].getMessage()
    assert "did not answer" in manifest["tracking"]["mlflow"]["error"]


# -- credentials, broken factories, third-party trackers ----------------------------------------
def test_credentials_never_reach_tracker_params_tags_or_errors(tmp_path, caplog):
    from textcls.tracking_events import run_start

    secret_uri = "http://alice:hunter2@127.0.0.1:1"
    config = config_from_dict(
        _config(tmp_path, [{"name": "mlflow", "params": {"tracking_uri": secret_uri}}]),
        base_dir=tmp_path,
        validate_plugins=False,
    )
    start = run_start(config, "r1", None)
    assert start.params["tracking.0.params.tracking_uri"] == "http://alice:***@127.0.0.1:1"
    assert not any("hunter2" in v for v in [*start.params.values(), *start.tags.values()])

    class Leaky(Tracker):
        def start_run(self, run):
            raise ConnectionError(f"cannot reach {secret_uri}/api")

    session = TrackingSession({"leaky": Leaky()})
    with caplog.at_level(logging.WARNING, logger="textcls.tracking"):
        session.start_run(start)
    assert "hunter2" not in caplog.text and "alice:***@127.0.0.1" in caplog.text
    assert "hunter2" not in json.dumps(session.lineage())


def test_a_stage_section_reaches_trackers_with_credentials_masked():
    recording = Recording()
    recording.stage_started = lambda stage, config: recording.events.append((stage, config))
    section = {
        "source": {"name": "hf-hub", "params": {"token": "hf_abc", "revision": "main"}},
        "train": ["s3://key:sekret@bucket/train.csv"],
        "max_tokens": 5,
    }
    TrackingSession({"rec": recording}).stage_started("ingest", section)
    assert recording.events == [
        (
            "ingest",
            {
                "source": {"name": "hf-hub", "params": {"token": "***", "revision": "main"}},
                "train": ["s3://key:***@bucket/train.csv"],
                "max_tokens": 5,
            },
        )
    ]
    assert section["source"]["params"]["token"] == "hf_abc"  # the flow's own copy is untouched


def test_secret_named_params_are_masked_and_others_kept():
    from textcls.tracking import redact_params

    assert redact_params(
        {
            "data.source.params.token": "hf_abc",
            "tracking.0.params.api_key": "k",
            "data.source.params.hf_token": "None",
            "teacher.train.max_tokens": "512",
            "x.uri": "postgresql://u:pw@db/mlflow",
        }
    ) == {
        "data.source.params.token": "***",
        "tracking.0.params.api_key": "***",
        "data.source.params.hf_token": "None",
        "teacher.train.max_tokens": "512",
        "x.uri": "postgresql://u:***@db/mlflow",
    }


def test_a_tracker_whose_factory_raises_is_switched_off_not_fatal(tmp_path, caplog):
    class Plugin:
        @hookimpl
        def textcls_register_trackers(self, register):
            def connect_now(params):
                raise ConnectionRefusedError("no server at startup")

            register("eager", connect_now)

    host = get_plugins()
    assert host.register(Plugin(), name="eager-tracker"), host.load_failures
    try:
        config = config_from_dict(_config(tmp_path, [{"name": "eager"}]), base_dir=tmp_path)
        with caplog.at_level(logging.WARNING, logger="textcls.tracking"):
            session = open_tracking(config, host)
    finally:
        host.unregister("eager-tracker")
    assert not session and "no server at startup" in caplog.text
    assert session.lineage() == {"eager": {"error": "ConnectionRefusedError: no server at startup"}}


class JsonLines(Tracker):
    """A third-party tracker as plugins.md describes one: every event, one JSON line."""

    def __init__(self, params) -> None:
        self.path = Path("events.jsonl")

    def _write(self, event: str, *args: object) -> None:
        with self.path.open("a") as out:
            out.write(json.dumps([event, *(str(a) for a in args)]) + "\n")

    def start_run(self, run):
        self._write("start_run", run.run_id)
        return f"jsonl-{run.run_id}"

    def stage_finished(self, outcome):
        self._write("stage_finished", outcome.stage, outcome.status)

    def log_artifact(self, path, artifact_path=None):
        if not Path(path).exists():
            raise FileNotFoundError(path)
        self._write("log_artifact", artifact_path)

    def end_run(self, status):
        self._write("end_run", status)


def test_a_third_party_tracker_passes_the_conformance_checks(tmp_path):
    from textcls.testing import check_component

    class Plugin:
        @hookimpl
        def textcls_register_trackers(self, register):
            register("jsonl-events", JsonLines)

    host = get_plugins()
    assert host.register(Plugin(), name="jsonl-tracker"), host.load_failures
    try:
        results = check_component("jsonl-events", kind="tracker", workdir=tmp_path)
    finally:
        host.unregister("jsonl-tracker")
    assert [(r.check, r.status) for r in results] == [
        ("build", "passed"),
        ("completed-run", "passed"),
        ("failed-run", "passed"),
        ("alias-without-run", "passed"),
    ], results
    (written,) = tmp_path.rglob("events.jsonl")  # the checks run in a folder under workdir
    events = [json.loads(line)[0] for line in written.read_text().splitlines()]
    assert events[0] == "start_run" and "log_artifact" in events and events.count("end_run") == 2


def test_the_conformance_checks_fail_a_tracker_that_raises(tmp_path):
    from textcls.testing import check_component

    class Plugin:
        @hookimpl
        def textcls_register_trackers(self, register):
            register("broken-events", lambda params: Broken())

    host = get_plugins()
    assert host.register(Plugin(), name="broken-tracker"), host.load_failures
    try:
        results = check_component("broken-events", kind="tracker", workdir=tmp_path)
    finally:
        host.unregister("broken-tracker")
    status = {r.check: r.status for r in results}
    assert status["build"] == "passed" and status["completed-run"] == "failed"
    assert "server down" in next(r.detail for r in results if r.check == "completed-run")


def test_the_probe_sends_uri_credentials_as_basic_auth_and_never_shows_them():
    pytest.importorskip("mlflow", reason=NEEDS_MLFLOW)
    import base64
    import http.server
    import threading

    from mlflow_server import free_port
    from textcls.plugins.mlflow_tracker import MlflowTracker, TrackerUnavailable

    seen: list[tuple[str, str | None]] = []

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        params = get_plugins().component("tracker", "mlflow").validate_params({})
        MlflowTracker(params)._probe(f"http://alice:p%40ss@127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
    assert seen == [("/health", "Basic " + base64.b64encode(b"alice:p@ss").decode())]
    with pytest.raises(TrackerUnavailable) as down:
        MlflowTracker(params)._probe(f"http://alice:hunter2@127.0.0.1:{free_port()}")
    assert "hunter2" not in str(down.value) and "did not answer" in str(down.value)


@pytest.mark.slow
def test_a_deleted_experiment_is_one_warning_that_says_how_to_fix_it(server, client, caplog):
    experiment = client.create_experiment("in-the-trash")
    client.delete_experiment(experiment)
    mlflow = get_plugins().component("tracker", "mlflow")
    session = TrackingSession(
        {"mlflow": mlflow.create({"tracking_uri": server, "experiment": "in-the-trash"})}
    )
    with caplog.at_level(logging.WARNING, logger="textcls.tracking"):
        session.start_run(RunStart("p", "r1", {}, {}))
        session.end_run("completed")
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "textcls.tracking"]
    assert "'in-the-trash'" in warning and "is deleted" in warning
    assert f"mlflow experiments restore --experiment-id {experiment}" in warning


def test_the_manifest_keeps_no_credentials(tmp_path):
    """The run folder and the registry's copy of the manifest mask what trackers never get."""
    from datetime import UTC, datetime

    from textcls.manifest import write_manifest

    config = {
        "tracking": [{"name": "mlflow", "params": {"tracking_uri": "http://al:hunter2@h:5000"}}],
        "data": {"source": {"name": "hf-hub", "params": {"token": "hf_secret", "split": "x"}}},
    }
    manifest = write_manifest(
        tmp_path / "manifest.json",
        pipeline="p",
        run_id="r",
        config=config,
        config_source=None,
        stages={},
        data_fingerprint=None,
        started=datetime.now(UTC),
        status="completed",
    )
    written = (tmp_path / "manifest.json").read_text()
    assert "hunter2" not in written and "hf_secret" not in written
    assert manifest["config"]["tracking"][0]["params"]["tracking_uri"] == "http://al:***@h:5000"
    assert manifest["config"]["data"]["source"]["params"] == {"token": "***", "split": "x"}
    assert config["data"]["source"]["params"]["token"] == "hf_secret"  # the caller's copy kept
