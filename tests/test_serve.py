"""`textcls serve` against real server processes on 127.0.0.1, and registry references.

Tiny bag-of-words models train in seconds; each server is a real `textcls serve` process on a
free port, spoken to over HTTP. Covered: the API and OpenAPI page, every 4xx case, batching
equivalence with offline prediction, hot swap under concurrent load with zero failed requests,
SIGTERM drain with exit 0, and `FILE@champion` / `FILE@v2` in predict and evaluate.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from model_helpers import toy_data, with_student
from textcls.flows.cli import app
from textcls.model_reference import resolve_model, split_reference
from textcls.predictor import Predictor
from textcls.registry import Registry, RegistryError
from textcls.stages.finetune import fine_tune
from typer.testing import CliRunner

runner = CliRunner()
TEXTS = [
    "the film was great and lovely",
    "awful dull plot, a nasty story",
    "superb",
    "the movie is sad and poor and the plot was terrible",
    "a nice happy film",
]
#: A loaded 2-core machine: imports and model loads can take many seconds.
START_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    """Two tiny models, registered as v1 (champion) and v2 of a pipeline file's registry."""
    base = tmp_path_factory.mktemp("serve")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bow", epochs=1), "student", data_dir, base / "one")
    fine_tune(with_student(raw, base, "bow", epochs=3), "student", data_dir, base / "two")
    pipeline = base / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump({**raw, "registry": {"path": "registry"}}))
    registry = Registry(base / "registry", raw["name"])
    texts, labels = read_test_set_from(data_dir)
    for name in ("one", "two"):
        registry.register(
            base / name,
            test_texts=texts,
            test_labels=labels,
            manifest={"run_id": f"run-{name}", "data_fingerprint": f"fp-{name}"},
            metrics={"accuracy": 0.5, "macro_f1": 0.5},
            variant="student",
        )
    if registry.champion() != 1:
        registry.rollback()
    assert registry.champion() == 1
    return {"base": base, "pipeline": pipeline, "registry": registry, "data": data_dir}


def read_test_set_from(data_dir: Path) -> tuple[list[str], list[str]]:
    import datasets

    test = datasets.load_from_disk(str(data_dir))["test"]
    names = json.loads((data_dir / "labels.json").read_text())
    return list(test["text"]), [names[i] for i in test["label"]]


def offline(folder: Path, texts: list[str]) -> list[dict]:
    """The unbatched reference: the Predictor called directly, one text at a time."""
    predictor = Predictor.load(folder)
    return [
        {"label": p.label, "probabilities": p.probabilities}
        for text in texts
        for p in predictor.predict([text], batch_size=1)
    ]


def assert_same_predictions(got: list[dict], expected: list[dict]) -> None:
    assert [p["label"] for p in got] == [p["label"] for p in expected]
    for g, e in zip(got, expected, strict=True):
        assert g["probabilities"].keys() == e["probabilities"].keys()
        np.testing.assert_allclose(
            [g["probabilities"][k] for k in e["probabilities"]],
            list(e["probabilities"].values()),
            atol=1e-5,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A `textcls serve` process and a client for it."""

    def __init__(self, target: str | Path, *options: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_handle = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "textcls.flows.cli", "serve", str(target)]
            + ["--port", str(self.port), *options],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/ready").status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"server not ready in {START_TIMEOUT_S}s:\n{self.log.read_text()}")

    def predict(self, texts: list, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.client).post("/predict", json={"texts": texts})

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()


@contextlib.contextmanager
def serving(target: str | Path, *options: str, log: Path) -> Iterator[Server]:
    server = Server(target, *options, log=log)
    try:
        server.wait_ready()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def folder_server(project, tmp_path_factory) -> Iterator[Server]:
    """A model folder served with small limits and a long batching window."""
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    options = ("--max-batch-texts", "8", "--max-chars", "200", "--max-wait-ms", "150")
    with serving(project["base"] / "two", *options, log=log) as server:
        yield server


# -- references ---------------------------------------------------------------------------


def test_references_resolve_to_registry_versions(project):
    pipeline = project["pipeline"]
    champion = resolve_model(f"{pipeline}@champion")
    assert champion.version == 1 and champion.pipeline == "toy"
    assert champion.path == project["registry"].model_dir(1)
    assert champion.data_fingerprint == "fp-one" and champion.variant == "student"
    assert resolve_model(f"{pipeline}@v2").version == 2
    assert resolve_model(f"{project['registry'].folder}@2").path == project["registry"].model_dir(2)
    folder = resolve_model(project["base"] / "two")
    assert folder.version is None and folder.path == project["base"] / "two"
    with pytest.raises(RegistryError, match="neither 'champion' nor a version"):
        resolve_model(f"{pipeline}@latest")
    with pytest.raises(RegistryError, match="no version 9"):
        resolve_model(f"{pipeline}@v9")


def test_a_folder_with_an_at_sign_is_a_folder(tmp_path):
    folder = tmp_path / "model@v1"
    folder.mkdir()
    assert split_reference(folder) is None
    assert split_reference(tmp_path / "pipeline.yaml@champion") == (
        tmp_path / "pipeline.yaml",
        "champion",
    )


def test_predict_and_evaluate_accept_registry_references(project, tmp_path):
    pipeline = project["pipeline"]
    for selector, version in (("champion", 1), ("v2", 2)):
        result = runner.invoke(app, ["predict", f"{pipeline}@{selector}", *TEXTS[:2]])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        expected = offline(project["registry"].model_dir(version), TEXTS[:2])
        assert [r["label"] for r in rows] == [e["label"] for e in expected]
    result = runner.invoke(
        app,
        [
            "evaluate",
            f"{pipeline}@champion",
            f"{pipeline}@v2",
            "--data",
            str(project["data"]),
            "--no-cost",
            "--output",
            str(tmp_path / "eval"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = (tmp_path / "eval" / "report" / "report.md").read_text()
    assert "toy-v1" in report and "toy-v2" in report


def test_a_bad_reference_is_a_usage_error(project, tmp_path):
    result = runner.invoke(app, ["predict", f"{project['pipeline']}@v7", "hello"])
    assert result.exit_code == 2 and "no version 7" in result.output
    empty = tmp_path / "empty.yaml"
    empty.write_text(yaml.safe_dump({"name": "nothing", "data": {"train": "x.csv"}}))
    result = runner.invoke(app, ["serve", f"{empty}@champion"])
    assert result.exit_code == 2 and "no registry section" in result.output
    result = runner.invoke(app, ["serve", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "model folder not found" in result.output


def test_a_busy_port_is_a_usage_error(project):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = runner.invoke(app, ["serve", str(project["base"] / "two"), "--port", str(port)])
    assert result.exit_code == 2 and "choose another --port" in result.output


# -- the API ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_api(folder_server, project):
    server = folder_server
    assert server.client.get("/health").json() == {"status": "ok"}
    ready = server.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True

    response = server.predict(TEXTS)
    assert response.status_code == 200
    body = response.json()
    assert_same_predictions(body["predictions"], offline(project["base"] / "two", TEXTS))
    assert body["model"] == {
        "pipeline": "toy",
        "version": None,
        "variant": "two",
        "data_fingerprint": body["model"]["data_fingerprint"],
    }
    assert body["model"]["data_fingerprint"]

    metadata = server.client.get("/metadata").json()
    assert metadata["labels"] == ["neg", "pos"]
    assert metadata["card"]["architecture"] == "bow" and metadata["card"]["backend"] == "pytorch"
    assert "validation_accuracy" in metadata["metrics"]
    assert metadata["limits"]["max_batch_texts"] == 8 and metadata["follows_champion"] is False

    spec = server.client.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    schema = predict["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["texts"]["type"] == "array"
    assert {"200", "400", "413", "415", "422"} <= set(predict["responses"])
    assert {"/health", "/ready", "/metadata", "/metrics"} <= set(spec["paths"])
    assert "swagger" in server.client.get("/docs").text.lower()

    metrics = server.client.get("/metrics").text
    assert 'textcls_serve_requests_total{status="200"}' in metrics
    assert "textcls_serve_request_latency_seconds_bucket" in metrics
    assert "textcls_serve_batch_texts_bucket" in metrics
    assert 'textcls_serve_model_info{pipeline="toy"' in metrics


BAD_REQUESTS = [
    ("empty list", {"json": {"texts": []}}, 422, "empty_texts"),
    ("a number", {"json": {"texts": ["fine", 3]}}, 422, "not_a_string"),
    ("null item", {"json": {"texts": [None]}}, 422, "not_a_string"),
    ("texts not a list", {"json": {"texts": "one text"}}, 422, "invalid_body"),
    ("no texts key", {"json": {"text": ["a"]}}, 422, "invalid_body"),
    ("a list body", {"json": ["a"]}, 422, "invalid_body"),
    ("too many texts", {"json": {"texts": ["a"] * 9}}, 413, "too_many_texts"),
    ("a text too long", {"json": {"texts": ["ok", "x" * 201]}}, 413, "text_too_long"),
    (
        "malformed JSON",
        {"content": b'{"texts": ["a"', "headers": {"content-type": "application/json"}},
        400,
        "malformed_json",
    ),
    (
        "wrong content type",
        {"content": b'{"texts": ["a"]}', "headers": {"content-type": "text/plain"}},
        415,
        "unsupported_media_type",
    ),
    ("no content type", {"content": b'{"texts": ["a"]}'}, 415, "unsupported_media_type"),
    (
        "a body too large",
        {"content": b" " * 200_000, "headers": {"content-type": "application/json"}},
        413,
        "body_too_large",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_kwargs", "status", "kind"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_clear_4xx_json_error(folder_server, request_kwargs, status, kind):
    response = folder_server.client.post("/predict", **request_kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == kind
    assert len(error["message"]) > 20  # says what is wrong and how to fix it
    # the server keeps serving after a bad request
    assert folder_server.predict(["fine"]).status_code == 200
    metrics = folder_server.client.get("/metrics").text
    assert f'textcls_serve_errors_total{{type="{kind}"}}' in metrics


@pytest.mark.slow
def test_concurrent_requests_share_a_model_call_and_match_unbatched_results(folder_server, project):
    server = folder_server
    requests = [TEXTS[i % 5 : i % 5 + 1 + i % 3] for i in range(12)]
    results: list[httpx.Response | None] = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            barrier.wait()
            results[i] = server.predict(requests[i], client)

    before = batch_counts(server)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = batch_counts(server)

    reference = dict(zip(TEXTS, offline(project["base"] / "two", TEXTS), strict=True))
    for texts, response in zip(requests, results, strict=True):
        assert response is not None and response.status_code == 200
        assert_same_predictions(response.json()["predictions"], [reference[t] for t in texts])
    calls = after[0] - before[0]
    gathered = after[1] - before[1]
    assert gathered == len(requests)
    assert calls < len(requests), "concurrent requests were not gathered into shared calls"


def test_short_model_calls_run_on_the_event_loop_and_long_ones_in_the_model_thread(project):
    import asyncio

    from textcls.flows.serve.batcher import DynamicBatcher
    from textcls.flows.serve.served_model import ModelHolder, load_served

    served = load_served(resolve_model(project["base"] / "two"), threads=1)
    assert 0 < served.seconds_per_text < 1
    ran_in: list[str] = []
    logits = served.predictor.logits

    def recorded(texts, batch_size=32, progress=None):
        ran_in.append(threading.current_thread().name)
        return logits(texts, batch_size, progress)

    served.predictor.logits = recorded  # type: ignore[method-assign]
    holder = ModelHolder(str(project["base"] / "two"))
    holder.current = served

    async def predict(inline_ms: float) -> list:
        batcher = DynamicBatcher(holder, max_batch=16, max_wait_ms=0, inline_ms=inline_ms)
        batcher.start()
        try:
            predictions, answered_by = await batcher.predict(TEXTS[:3])
        finally:
            await batcher.stop()
        assert answered_by is served
        return predictions

    # an hour: any call inlines, however slow a loaded machine makes torch (1.4 s per text seen)
    on_the_loop = asyncio.run(predict(inline_ms=3_600_000.0))
    in_the_thread = asyncio.run(predict(inline_ms=0.0))
    assert ran_in == ["MainThread", "textcls-model_0"]
    assert on_the_loop == in_the_thread == served.predictor.predict(TEXTS[:3])


def test_queued_many_text_requests_share_one_call_up_to_the_drain_cap(project):
    """A batch waits for max_batch texts only, but takes what is already queued up to
    DRAIN_FACTOR x max_batch texts: requests larger than max_batch share a call."""
    import asyncio

    from textcls.flows.serve.batcher import DRAIN_FACTOR, DynamicBatcher
    from textcls.flows.serve.served_model import ModelHolder, load_served

    served = load_served(resolve_model(project["base"] / "two"), threads=1)
    calls: list[int] = []
    logits = served.predictor.logits

    def recorded(texts, batch_size=32, progress=None):
        calls.append(len(texts))
        return logits(texts, batch_size, progress)

    served.predictor.logits = recorded  # type: ignore[method-assign]
    holder = ModelHolder(str(project["base"] / "two"))
    holder.current = served
    max_batch = 2
    per_request = 3  # each request alone is over max_batch
    cap = max_batch * DRAIN_FACTOR
    requests = [TEXTS[i % 3 : i % 3 + per_request] for i in range(cap // per_request + 2)]

    async def run() -> list:
        batcher = DynamicBatcher(holder, max_batch=max_batch, max_wait_ms=0)
        # every request is queued before the batcher's loop first runs
        pending = [asyncio.ensure_future(batcher.predict(texts)) for texts in requests]
        await asyncio.sleep(0)
        batcher.start()
        try:
            return [predictions for predictions, _ in await asyncio.gather(*pending)]
        finally:
            await batcher.stop()

    answers = asyncio.run(run())
    fits = cap // per_request
    assert calls == [fits * per_request, (len(requests) - fits) * per_request]
    for texts, predictions in zip(requests, answers, strict=True):
        assert predictions == served.predictor.predict(texts)


def batch_counts(server: Server) -> tuple[float, float]:
    """(model calls, requests they served) from /metrics."""
    values = {}
    for line in server.client.get("/metrics").text.splitlines():
        for name in ("textcls_serve_batch_requests_count", "textcls_serve_batch_requests_sum"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    return values["textcls_serve_batch_requests_count"], values["textcls_serve_batch_requests_sum"]


# -- hot swap -----------------------------------------------------------------------------


@pytest.mark.slow
def test_hot_swap_follows_the_champion_without_failing_a_request(project, tmp_path):
    registry: Registry = project["registry"]
    assert registry.champion() == 1
    expected = {v: offline(registry.model_dir(v), TEXTS[:2]) for v in (1, 2)}
    failures: list[str] = []
    answered: list[int] = []
    stop = threading.Event()

    with serving(
        f"{project['pipeline']}@champion", "--poll-s", "0.2", log=tmp_path / "server.log"
    ) as server:

        def load() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                while not stop.is_set():
                    try:
                        response = server.predict(TEXTS[:2], client)
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                        continue
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                        continue
                    body = response.json()
                    version = body["model"]["version"]
                    try:  # the response names the version that really answered
                        assert_same_predictions(body["predictions"], expected[version])
                    except AssertionError as exc:
                        failures.append(f"version {version} named, another answered: {exc}")
                    answered.append(version)

        def wait_for(version: int) -> float:
            start = time.monotonic()
            while time.monotonic() - start < 60:
                if answered and answered[-1] == version:
                    return time.monotonic() - start
                time.sleep(0.05)
            raise AssertionError(f"version {version} never answered; last {answered[-5:]}")

        clients = [threading.Thread(target=load) for _ in range(4)]
        for thread in clients:
            thread.start()
        try:
            wait_for(1)
            registry.promote(2)
            promotion_s = wait_for(2)
            assert server.client.get("/metadata").json()["model"]["version"] == 2
            registry.rollback()
            rollback_s = wait_for(1)
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
        metrics = server.client.get("/metrics").text

    assert failures == []
    assert len(answered) > 20
    assert 2 in answered and answered[-1] == 1
    assert promotion_s < 30 and rollback_s < 30  # "within seconds", on a loaded machine
    assert "textcls_serve_model_swaps_total 2.0" in metrics
    assert "textcls_serve_model_version 1.0" in metrics
    # the registry is back as the fixture made it
    assert registry.champion() == 1


# -- graceful shutdown --------------------------------------------------------------------


def start_slow_upload(port: int, texts: list[str]) -> tuple[socket.socket, bytes]:
    """Open a /predict request and send only half its body: a client still uploading."""
    body = json.dumps({"texts": texts}).encode()
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.sendall(head + body[: len(body) // 2])
    return connection, body[len(body) // 2 :]


def finish_upload(connection: socket.socket, rest: bytes) -> tuple[int, dict]:
    """Send the rest of the body and read the whole response."""
    with connection:
        connection.sendall(rest)
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(head.split()[1]), json.loads(body)


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests_and_exits_0(project, tmp_path):
    server = Server(project["base"] / "one", log=tmp_path / "s.log")
    try:
        server.wait_ready()
        # Requests in flight at SIGTERM: their bodies are still arriving.
        uploads = [start_slow_upload(server.port, TEXTS[i : i + 2]) for i in range(3)]
        time.sleep(0.5)
        signalled = time.monotonic()
        os.kill(server.process.pid, signal.SIGTERM)
        time.sleep(1.0)  # the server is draining now: it must still take the rest of each body
        answers = [finish_upload(connection, rest) for connection, rest in uploads]
        code = server.process.wait(60)
        took = time.monotonic() - signalled
        with pytest.raises(OSError):  # and it accepts no new connection after the drain
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    finally:
        server.close()
    log = server.log.read_text()
    expected = offline(project["base"] / "one", TEXTS[:4])
    for i, (status, body) in enumerate(answers):
        assert status == 200, (body, log)
        assert_same_predictions(body["predictions"], expected[i : i + 2])
    assert code == 0, log
    assert took < 15, f"drain and exit took {took:.1f}s"
    assert "Application shutdown complete" in log


def test_a_champion_that_cannot_load_leaves_the_old_model_serving(project, tmp_path):
    """A promoted version whose model is broken: the holder keeps the old one and says so."""
    import asyncio
    import shutil

    from textcls.flows.serve.served_model import ModelHolder

    registry = Registry(tmp_path / "registry", "toy")
    for version in (1, 2):
        shutil.copytree(
            project["registry"].versions_dir / str(version), registry.versions_dir / str(version)
        )
    shutil.copy(project["registry"].folder / "champion.json", registry.folder / "champion.json")
    (registry.model_dir(2) / "model.safetensors").write_bytes(b"not weights")
    failures: list[int] = []

    async def scenario() -> int | None:
        holder = ModelHolder(
            f"{registry.folder}@champion", on_reload_failure=lambda: failures.append(1)
        )
        await holder.load()
        follow = asyncio.create_task(holder.follow(0.05))
        registry.promote(2)
        await asyncio.sleep(1.5)
        follow.cancel()
        assert holder.current is not None
        return holder.current.resolved.version

    assert asyncio.run(scenario()) == 1
    assert failures == [1]  # reported once, not on every poll


@pytest.mark.slow
def test_several_workers_serve_and_stop_cleanly(project, tmp_path):
    """--workers 2: uvicorn's supervisor starts two processes, each with its model."""
    server = Server(project["base"] / "two", "--workers", "2", log=tmp_path / "w.log")
    try:
        server.wait_ready()
        expected = offline(project["base"] / "two", TEXTS[:1])
        deadline = time.monotonic() + START_TIMEOUT_S
        answered = 0
        while answered < 6 and time.monotonic() < deadline:
            # each request on a new connection; a worker still loading answers 503 not_ready
            response = httpx.post(f"{server.url}/predict", json={"texts": TEXTS[:1]}, timeout=60)
            if response.status_code == 200:
                assert_same_predictions(response.json()["predictions"], expected)
                answered += 1
            else:
                assert response.json()["error"]["type"] == "not_ready"
                time.sleep(0.2)
        assert answered == 6
        os.kill(server.process.pid, signal.SIGTERM)
        code = server.process.wait(60)
    finally:
        server.close()
    log = server.log.read_text()
    assert code == 0, log
    assert log.count("Application startup complete") == 2
    assert log.count("Application shutdown complete") == 2


def test_the_serving_app_does_not_import_prefect():
    """Serving needs no orchestrator: the app and its server import neither Prefect nor torch
    (the model folder's backend loads torch only when it is a PyTorch model)."""
    code = (
        "import sys, textcls.flows.serve.app, textcls.flows.serve.server\n"
        "print(sorted(m for m in ('prefect', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
