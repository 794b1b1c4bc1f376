"""End to end: a real Prefect server, the served deployments, new data, retrains, the registry.

Starts ``prefect server start`` on 127.0.0.1, serves the deployments from
``deployments/prefect.yaml`` through ``deployments/serve.py``, and then drives them only by
changing files and emitting events, the way production does. Every test runs twice: on SQLite
(in a temporary PREFECT_HOME) and on PostgreSQL, the production database, in a database of its
own created on the server that ``TEXTCLS_TEST_POSTGRES_URL`` names (``.ci/postgres`` sets one
up; without it the PostgreSQL round is skipped, saying so).
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, toy_rows
from textcls.data_watch import content_fingerprint, state_key
from textcls.registry import Registry

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "toy-retrain"
WATCH_INTERVAL_S = 6
#: Prefect's CLI from this interpreter (a venv that sees a global install has no script of it)
PREFECT = [sys.executable, "-m", "prefect"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen, timeout: float = 60) -> int | None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None
    return process.returncode


POSTGRES_URL = os.environ.get("TEXTCLS_TEST_POSTGRES_URL")


@contextmanager
def database(kind: str) -> Iterator[dict[str, str]]:
    """Server settings for ``kind``: SQLite (Prefect's default), or a fresh PostgreSQL database
    that is dropped afterwards, so every round starts from an empty schema."""
    if kind == "sqlite":
        yield {}
        return
    if not POSTGRES_URL:
        pytest.skip("set TEXTCLS_TEST_POSTGRES_URL (see .ci/postgres) to run on PostgreSQL")
    import asyncio

    import asyncpg  # Prefect's PostgreSQL driver, in the dev extra

    admin = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"textcls_e2e_{uuid.uuid4().hex[:8]}"

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield {
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        }
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A project with data, a Prefect server on the database, serve.py serving deployments."""
    with database(request.param) as server_settings:
        yield from _stack(tmp_path_factory, server_settings)


def _stack(tmp_path_factory, server_settings: dict[str, str]) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("deploy-e2e")
    (base / "train.csv").write_text(csv_text(toy_rows(160)))
    (base / "val.csv").write_text(csv_text(toy_rows(40, seed=1)))
    (base / "test.csv").write_text(csv_text(toy_rows(40, seed=2)))
    config = {
        "name": PIPELINE,
        "seed": 3,
        "data": {"train": "train.csv", "validation": "val.csv", "test": "test.csv"},
        "student": {
            "model": {"name": "bow", "params": TINY_MODELS["bow"]},
            "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
            "train": {"epochs": 3, "batch_size": 16, "learning_rate": 0.02, "max_length": 32},
        },
        "evaluate": {"measure_cost": False},
        # a high bar: later versions stay candidates, so the policy's "keep" path is exercised
        "registry": {"path": "registry", "min_improvement": 0.5},
    }
    (base / "pipeline.yaml").write_text(yaml.safe_dump(config))

    home = base / "prefect-home"
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        **server_settings,
    }
    env.pop("PREFECT_API_URL", None)
    server_log = (base / "server.log").open("w")
    server = subprocess.Popen(
        [*PREFECT, "server", "start"] + ["--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    served = None
    try:
        import httpx

        def healthy() -> bool:
            assert server.poll() is None, (base / "server.log").read_text()[-3000:]
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the Prefect server", healthy, timeout=180)
        serve_log = (base / "serve.log").open("w")
        served = subprocess.Popen(
            [sys.executable, "deployments/serve.py"]
            + ["--pipeline", f"{PIPELINE}={base / 'pipeline.yaml'}"]
            + ["--watch-interval", str(WATCH_INTERVAL_S), "--trigger-within", "20"]
            # Shorter than the burst test's wait to settle (360 s): a retrain that hashed the
            # data mid-burst leaves the last change to the watcher's catch-up whenever the
            # trigger's 20 s window swallowed that change's event (with 600 s it timed out).
            + ["--retry-after", "60"],
            cwd=ROOT,
            env={**env, "PREFECT_API_URL": url},
            stdout=serve_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        yield {"base": base, "url": url, "server": server, "served": served}
    finally:
        if served is not None:
            stop(served)
        stop(server)


class Api:
    """Reads from the test's Prefect server."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self) -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        self._settings = temporary_settings({PREFECT_API_URL: self.url})
        self._settings.__enter__()
        self._client = get_client(sync_client=True)
        return self._client.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._client.__exit__(*exc)
        self._settings.__exit__(*exc)


def runs_of(url: str, deployment: str) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.exceptions import ObjectNotFound

    with Api(url) as client:
        try:
            found = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            return []
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id]))
        )


def pipeline_runs(url: str) -> list:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with Api(url) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["textcls-pipeline"]))
        )


def dataset_events(url: str) -> list:
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    with Api(url) as client:
        page = client.read_events(
            filter=EventFilter(
                event=EventNameFilter(name=["textcls.dataset.updated"]),
                resource=EventResourceFilter(id=[f"textcls.dataset.{PIPELINE}"]),
            ),
            limit=50,
        )
    return list(page.events)


def variable(url: str, name: str) -> Any:
    with Api(url) as client:
        found = client.read_variable_by_name(name)
    return None if found is None else found.value


def append_rows(path: Path, seed: int, n: int = 12) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(toy_rows(n, seed=seed))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())


def settled(url: str, base: Path) -> bool:
    """No retrain waiting or running, and the current data is what was last trained."""
    busy = [r for r in runs_of(url, "textcls-retrain/retrain") if not r.state.is_final()]
    current = content_fingerprint([str(base / n) for n in ("train.csv", "val.csv", "test.csv")])
    return not busy and variable(url, state_key("textcls-trained", PIPELINE)) == current


def test_new_data_triggers_one_retrain_and_registers_a_version(stack):
    url, base = stack["url"], stack["base"]
    wait_for(
        "the served deployments",
        lambda: len(runs_of(url, "textcls-watch/watch")) > 0,
        timeout=120,
    )
    # the watcher's first look records a baseline and asks for nothing
    wait_for(
        "the watcher's baseline",
        lambda: variable(url, state_key("textcls-watch", PIPELINE)),
        timeout=120,
    )
    assert dataset_events(url) == [] and runs_of(url, "textcls-retrain/retrain") == []

    append_rows(base / "train.csv", seed=10)
    (run,) = wait_for(
        "a finished retrain",
        lambda: [r for r in runs_of(url, "textcls-retrain/retrain") if r.state.is_final()],
        timeout=300,
    )
    assert run.state.is_completed(), run.state.message
    assert run.parameters["pipeline"] == PIPELINE
    # two more looks of the watcher: still one event and one retrain
    time.sleep(2 * WATCH_INTERVAL_S + 2)
    (event,) = dataset_events(url)
    assert event.payload["pipeline"] == PIPELINE
    assert event.payload["config"] == str((base / "pipeline.yaml").resolve())
    assert event.payload["fingerprint"] == variable(url, state_key("textcls-trained", PIPELINE))
    assert len(runs_of(url, "textcls-retrain/retrain")) == 1
    registry = Registry(base / "registry", PIPELINE)
    assert registry.version_numbers() == [1] and registry.champion() == 1


def test_a_burst_of_changes_gives_at_most_two_retrains(stack):
    url, base = stack["url"], stack["base"]
    retrains_before = {r.id for r in runs_of(url, "textcls-retrain/retrain")}
    pipelines_before = {r.id for r in pipeline_runs(url)}
    for i in range(10):
        append_rows(base / "train.csv", seed=100 + i, n=3)
        time.sleep(0.3)
    time.sleep(WATCH_INTERVAL_S)
    wait_for("the burst to settle", lambda: settled(url, base), timeout=360, every=2)
    time.sleep(2 * WATCH_INTERVAL_S + 2)  # and stay settled for two more looks
    assert settled(url, base)
    retrains = [r for r in runs_of(url, "textcls-retrain/retrain") if r.id not in retrains_before]
    trained = [r for r in pipeline_runs(url) if r.id not in pipelines_before]
    assert 1 <= len(retrains) <= 2, [(r.name, r.state.name) for r in retrains]
    assert 1 <= len(trained) <= 2
    assert all(r.state.is_completed() for r in retrains + trained)
    # each retrain that trained registered its model; the high bar kept the champion. A
    # second retrain, queued while rows were still arriving, can find that the first one
    # already read the final rows: it trains the same bytes (cached stages), and the registry
    # answers "already version N" instead of adding a copy
    registry = Registry(base / "registry", PIPELINE)
    versions = registry.version_numbers()
    assert versions == list(range(1, len(versions) + 1))
    assert 2 <= len(versions) <= 1 + len(trained), (versions, len(trained))
    assert registry.champion() == 1
    for number in registry.version_numbers()[1:]:
        decision = registry.version(number)["decision"]
        assert not decision["promoted"] and decision["reason"].startswith("kept as a candidate")
        assert decision["delta"] < 0.5


EMIT_INTRUDER = """
from prefect.events import emit_event
from prefect.events.worker import EventsWorker

emit_event(
    event="textcls.dataset.updated",
    resource={"prefect.resource.id": "textcls.dataset.intruder"},
    payload={"pipeline": "intruder", "config": "/etc/passwd", "fingerprint": "x"},
)
EventsWorker.drain_all()
"""


def test_an_event_naming_an_undeclared_pipeline_is_rejected(stack):
    # From a process of its own: this one may already hold an events worker bound to another
    # Prefect API (the test harness of other tests).
    url = stack["url"]
    env = {**os.environ, "PREFECT_API_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", EMIT_INTRUDER], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]

    def rejected() -> list:
        return [
            r
            for r in runs_of(url, "textcls-retrain/retrain")
            if r.parameters.get("pipeline") == "intruder" and r.state.is_final()
        ]

    (run,) = wait_for("the rejected retrain", rejected, timeout=180)
    assert run.state.is_failed()
    assert "not declared" in (run.state.message or "")
    assert not (stack["base"] / "runs" / "intruder").exists()


def test_prefect_deploy_creates_the_same_deployments_on_a_work_pool(stack):
    """The other way to run them: ``prefect deploy`` the same prefect.yaml to a work pool."""
    assert stop(stack["served"]) is not None  # serve.py exits cleanly on Ctrl-C
    env = {
        **os.environ,
        "PREFECT_API_URL": stack["url"],
        "PREFECT_HOME": str(stack["base"] / "prefect-home"),
        "TEXTCLS_PROJECT_DIR": str(ROOT),
    }
    for command in (
        [*PREFECT, "work-pool", "create", "textcls-process", "--type", "process"],
        [*PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"],
        # the shipped Docker and Kubernetes (GPU) templates are accepted by the server
        [*PREFECT, "work-pool", "create", "textcls-docker", "--type", "docker"]
        + ["--base-job-template", "deployments/work-pools/docker.json"],
        [*PREFECT, "work-pool", "create", "textcls-k8s-gpu", "--type", "kubernetes"]
        + ["--base-job-template", "deployments/work-pools/kubernetes-gpu.json"],
    ):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with Api(stack["url"]) as client:
        retrain = client.read_deployment_by_name("textcls-retrain/retrain")
        watch = client.read_deployment_by_name("textcls-watch/watch")
        nightly = client.read_deployment_by_name("textcls-retrain/nightly")
        automations = client.read_automations()
        gpu_pool = client.read_work_pool("textcls-k8s-gpu")
    gpu = gpu_pool.base_job_template["variables"]["properties"]["gpu_count"]
    assert gpu["default"] == 1
    assert {d.work_pool_name for d in (retrain, watch, nightly)} == {"textcls-process"}
    assert retrain.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert retrain.parameters["pipelines"] == {"support-intents": "examples/demo/pipeline.yaml"}
    assert retrain.pull_steps[0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": str(ROOT)
    }
    assert nightly.schedules[0].schedule.cron == "0 2 * * *"
    triggers = [a.trigger for a in automations if a.name.startswith("retrain__automation")]
    assert triggers and all(t.expect == {"textcls.dataset.updated"} for t in triggers)


def test_the_server_stops_cleanly(stack):
    server_code = stop(stack["server"])
    assert server_code is not None  # it did not need SIGKILL
    port = int(stack["url"].rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
