"""`textcls serve` under load: the int8 student and the fp32 teacher of one SST-2 run.

One SST-2 run on a small budget (2,000 training rows, MiniLM teacher 1 epoch, BiLSTM student
distilled from it, student quantized to int8 with ORT dynamic quantization) is trained once
and cached under --work. Then, in one invocation on 127.0.0.1:

- offline throughput of each model: ``Predictor.logits`` as ``textcls predict`` calls it
  (batch 32, model load excluded), the ceiling for texts/s;
- a bare echo endpoint on the same ASGI stack (FastAPI on uvicorn, same server settings) that
  parses the JSON body and sends it back, the ceiling for requests/s;
- ``textcls serve`` of each model, at concurrency 1, 16 and 64 with 1 and 32 texts per request:
  requests/s, texts/s, p50/p95/p99 latency, errors.

Each row is bounded: at most --requests requests or --seconds seconds, whichever comes first,
after an unmeasured warm-up at the same load (a fifth of either bound).
The load generator is a minimal asyncio HTTP/1.1 keep-alive client (one connection per
concurrent user): on 2 shared cores, a heavier client (httpx, aiohttp) would take CPU from
the server it measures. Run:

    python bench/serve_load.py [--train-examples 2000] [--requests 3000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finetune_teacher import HYPER, MODEL  # noqa: E402  (the same teacher budget)
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2"
STUDENT = {
    "model": {"name": "bilstm", "params": {"embedding_dim": 128, "hidden_size": 128}},
    "tokenizer": {"name": "word", "params": {"min_frequency": 2, "vocab_size": 20000}},
    "train": {"epochs": 3, "batch_size": 64, "learning_rate": 2e-3, "max_length": 64},
    "distill": {"name": "logits-kl", "params": {"temperature": 2.0, "alpha": 0.9}},
}
GRID = [(c, n) for n in (1, 32) for c in (1, 16, 64)]
#: Server options for every target (set from the command line): one worker, since the event loop
#: and the model thread already share the 2 cores.
SERVE_OPTIONS: list[str] = []


# -- the SST-2 run ------------------------------------------------------------------------


def train(work: Path, examples: int) -> dict[str, Path]:
    """Teacher (fp32 PyTorch) and int8 student of one small SST-2 run; cached in ``work``."""
    models = {"student-int8": work / "student-int8", "teacher": work / "teacher"}
    if all((path / "textcls.json").is_file() for path in models.values()):
        return models
    from textcls import config_from_dict
    from textcls.config import QuantizeStep
    from textcls.stages.distill import distill
    from textcls.stages.finetune import fine_tune
    from textcls.stages.ingest import ingest
    from textcls.stages.quantize import quantize

    config = config_from_dict(
        {
            "name": "sst2-serve",
            "seed": 13,
            "data": {
                "train": str(DATA / "train.part*.csv"),
                "validation": str(DATA / "validation.csv"),
                "max_train_examples": examples,
            },
            "teacher": {"model": {"name": "hf", "params": {"pretrained": MODEL}}, "train": HYPER},
            "student": STUDENT,
        },
        base_dir=work,
    )
    steps = [
        ("ingest", work / "data", lambda: ingest(config, work / "data")),
        (
            "teacher",
            work / "teacher",
            lambda: fine_tune(config, "teacher", work / "data", work / "teacher"),
        ),
        (
            "student",
            work / "student",
            lambda: distill(config, work / "data", work / "teacher", work / "student"),
        ),
        (
            "student-int8",
            work / "student-int8",
            lambda: quantize(
                QuantizeStep(name="ort-dynamic-int8"),
                work / "student",
                work / "data",
                work / "student-int8",
            ),
        ),
    ]
    for name, folder, action in steps:
        if folder.exists():
            continue
        start = time.perf_counter()
        action()
        print(f"trained {name} in {time.perf_counter() - start:.0f}s", flush=True)
    return models


def validation_texts(work: Path) -> list[str]:
    import datasets

    return list(datasets.load_from_disk(str(work / "data"))["validation"]["text"])


def offline_throughput(folder: Path, texts: list[str], seconds: float) -> float:
    """Texts/s of ``Predictor.logits(texts, 32)``, the call ``textcls predict`` makes."""
    from textcls.predictor import Predictor

    predictor = Predictor.load(folder)
    predictor.logits(texts[:64], 32)  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        predictor.logits(texts, 32)
        done += len(texts)
    return done / (time.perf_counter() - start)


# -- servers ------------------------------------------------------------------------------


def echo_app() -> Any:
    """A bare endpoint on the serving stack: parse the JSON body, send it back."""
    import orjson
    from fastapi import FastAPI
    from fastapi.responses import Response

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        payload = orjson.loads(await request.body())
        return Response(orjson.dumps(payload), media_type="application/json")

    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(target: str, log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int, str]:
    port = free_port()
    if target == "echo":
        command = [sys.executable, __file__, "--echo-server", str(port)]
        path = "/echo"
    else:
        command = [sys.executable, "-m", "textcls.flows.cli", "serve", target]
        command += ["--port", str(port), *SERVE_OPTIONS, *extra]
        path = "/predict"
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    ready = "/health" if target == "echo" else "/ready"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server for {target} exited:\n{log.read_text()}")
        try:
            status, _ = asyncio.run(one_request(port, "GET", ready, b""))
            if status == 200:
                return process, port, path
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"server for {target} not ready:\n{log.read_text()}")


def stop_server(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


# -- the load generator -------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: pre-encoded requests, Content-Length responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def encode(method: str, path: str, body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def one_request(port: int, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    connection = await Connection.open(port)
    try:
        return await connection.send(encode(method, path, body))
    finally:
        connection.close()


async def load(
    port: int,
    path: str,
    bodies: list[bytes],
    concurrency: int,
    requests: int,
    seconds: float,
    versions: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Concurrent users, each on its own connection, until the request or time bound; with
    ``versions``, count the model version named by each answer."""
    import numpy as np

    encoded = [encode("POST", path, body) for body in bodies]
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def user(offset: int) -> None:
        nonlocal issued
        connection = await Connection.open(port)
        try:
            while issued < requests and time.perf_counter() < deadline:
                request = encoded[(issued + offset) % len(encoded)]
                issued += 1
                sent = time.perf_counter()
                try:
                    status, body = await connection.send(request)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    errors.append(repr(exc))
                    connection.close()
                    connection = await Connection.open(port)
                    continue
                latencies.append(time.perf_counter() - sent)
                if status != 200:
                    errors.append(f"HTTP {status}")
                elif versions is not None:
                    version = str(json.loads(body)["model"]["version"])
                    versions[version] = versions.get(version, 0) + 1
        finally:
            connection.close()

    await asyncio.gather(*(user(i * 7) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    done = len(latencies)
    return {
        "requests": done,
        "seconds": elapsed,
        "requests_per_s": done / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
    }


def bodies_for(texts: list[str], per_request: int) -> list[bytes]:
    bodies = []
    for start in range(0, 64 * per_request, per_request):
        chunk = [texts[(start + i) % len(texts)] for i in range(per_request)]
        bodies.append(json.dumps({"texts": chunk}).encode())
    return bodies


def measure_target(
    target: str, texts: list[str], log: Path, requests: int, seconds: float
) -> list[dict[str, Any]]:
    process, port, path = start_server(target, log)
    rows = []
    try:
        warm = bodies_for(texts, 1)
        asyncio.run(load(port, path, warm, 4, 100, 5))
        for concurrency, per_request in GRID:
            bodies = bodies_for(texts, per_request)
            # Warm-up at the row's own load (not measured): new connections, new batch shapes.
            asyncio.run(load(port, path, bodies, concurrency, requests // 5, seconds / 5))
            row = asyncio.run(load(port, path, bodies, concurrency, requests, seconds))
            row.update(concurrency=concurrency, texts_per_request=per_request)
            row["texts_per_s"] = row["requests_per_s"] * per_request
            rows.append(row)
            print(
                f"{target[-40:]:>40} c{concurrency:<3} x{per_request:<3} "
                f"{row['requests_per_s']:8.1f} req/s {row['texts_per_s']:9.1f} texts/s "
                f"p50 {row['p50_ms']:7.1f} p99 {row['p99_ms']:7.1f} ms errors {row['errors']}",
                flush=True,
            )
    finally:
        code = stop_server(process)
    rows.append({"exit_code": code})
    return rows


def swap_under_load(
    models: dict[str, Path], texts: list[str], log: Path, seconds: float
) -> dict[str, Any]:
    """Serve a registry's champion at concurrency 16 while it is promoted and rolled back."""
    import tempfile

    from textcls.predictor import Predictor
    from textcls.registry import Registry

    with tempfile.TemporaryDirectory(prefix="registry-", dir=log.parent) as root:
        registry = Registry(root, "sst2-serve")
        sample = texts[:100]
        labels = [p.label for p in Predictor.load(models["student-int8"]).predict(sample)]
        for variant in ("student-int8", "teacher"):  # v1, v2 (not promoted: v1 set the labels)
            registry.register(
                models[variant],
                test_texts=sample,
                test_labels=labels,
                manifest={"run_id": "serve-load"},
                metrics={"accuracy": 0.0, "macro_f1": 0.0},
                variant=variant,
            )
        assert registry.champion() == 1
        process, port, path = start_server(f"{registry.folder}@champion", log, "--poll-s", "0.5")
        versions: dict[str, int] = {}

        async def scenario() -> dict[str, Any]:
            run = asyncio.create_task(
                load(port, path, bodies_for(texts, 1), 16, 10**9, seconds, versions)
            )
            await asyncio.sleep(seconds / 3)
            await asyncio.to_thread(registry.promote, 2)
            await asyncio.sleep(seconds / 3)
            await asyncio.to_thread(registry.rollback)
            return await run

        try:
            row = asyncio.run(scenario())
        finally:
            code = stop_server(process)
    row.update(versions=versions, exit_code=code)
    print(f"hot swap under load: {row['requests']} requests, {row['errors']} errors, {versions}")
    return row


# -- report -------------------------------------------------------------------------------


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    info = result["machine"]
    offline = result["offline_texts_per_s"]
    tables = []
    names = {"echo": "echo endpoint", "student-int8": "student int8", "teacher": "teacher fp32"}
    lines = [
        "| target | concurrency | texts/request | requests/s | texts/s | p50 ms | p95 ms "
        "| p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target in ("echo", "student-int8", "teacher"):
        for row in result["rows"][target]:
            lines.append(
                markdown_row(
                    names[target],
                    row["concurrency"],
                    row["texts_per_request"],
                    f"{row['requests_per_s']:,.0f}",
                    f"{row['texts_per_s']:,.0f}",
                    f"{row['p50_ms']:.1f}",
                    f"{row['p95_ms']:.1f}",
                    f"{row['p99_ms']:.1f}",
                    row["errors"],
                )
            )
    tables.append("\n".join(lines))
    ratios = result["ratios"]
    swap = result["swap"]
    verdict = {True: "met", False: "not met"}
    load_note = (
        f"Load average {result['loadavg_before'][0]:.1f} before and "
        f"{result['loadavg_after'][0]:.1f} after the run"
    )
    return f"""## Serving under load

`python bench/serve_load.py --train-examples {args.train_examples} --requests {args.requests} \\
--seconds {args.seconds:g} --max-batch {args.max_batch} --max-wait-ms {args.max_wait_ms:g}` on {info["cpu"]} ({info["cores"]} cores), everything on 127.0.0.1 in
one invocation: one SST-2 run ({args.train_examples:,} training rows; MiniLM teacher 1 epoch, seq
64; BiLSTM student distilled from it, then ORT dynamic int8), served by `textcls serve`
({" ".join(SERVE_OPTIONS[:4])}, one worker); a bare echo endpoint on the same FastAPI + uvicorn
stack; and offline `Predictor.logits` (batch 32, default threads, as `textcls predict` runs it)
as the ceiling for texts/s, measured just before and just after each model's served rows (mean):
student int8 **{offline["student-int8"]:,.0f}** texts/s
({" / ".join(f"{v:,.0f}" for v in result["offline_runs_texts_per_s"]["student-int8"])}),
teacher fp32 **{offline["teacher"]:,.0f}** texts/s
({" / ".join(f"{v:,.0f}" for v in result["offline_runs_texts_per_s"]["teacher"])}). Each row: at most {args.requests:,} requests or
{args.seconds:g} s, after an unmeasured warm-up at the same load; latency is per request, seen
by the client. The load generator (Python,
asyncio) runs on the same 2 cores as the server. {load_note}: {result["machine_note"]}.

{tables[0]}

The issue's targets, for the int8 student:

| target | measured | goal | |
|---|---:|---:|---|
| texts/s at c64 x 32 vs offline | {ratios["texts_vs_offline"]:.0%} | >= 70% | {verdict[ratios["texts_vs_offline"] >= 0.7]} |
| requests/s at 1 text vs echo, c16 / c64 | {ratios["rps_vs_echo"]["16"]:.0%} / {ratios["rps_vs_echo"]["64"]:.0%} | >= 50% | {verdict[min(ratios["rps_vs_echo"]["16"], ratios["rps_vs_echo"]["64"]) >= 0.5]} |
| requests/s at 1 text vs echo, c1 (nothing to batch) | {ratios["rps_vs_echo"]["1"]:.0%} | >= 50% | {verdict[ratios["rps_vs_echo"]["1"] >= 0.5]} |
| p99 at c16 x 1 vs echo's p99 | {ratios["p99_vs_echo"]:.2f}x | <= 2x | {verdict[ratios["p99_vs_echo"] <= 2]} |
| errors in every row | {result["total_errors"]} | 0 | {verdict[result["total_errors"] == 0]} |

Hot swap under load: `textcls serve <registry>/sst2-serve@champion --poll-s 0.5` at
concurrency 16, one text per request, for {swap["seconds"]:.0f} s; the champion went from v1
(student int8) to v2 (teacher fp32) a third of the way in and back to v1 at two thirds.
{swap["requests"]:,} requests, **{swap["errors"]} failed**; answered by
{", ".join(f"v{v}: {n:,}" for v, n in sorted(swap["versions"].items()))} (p99
{swap["p99_ms"]:.0f} ms, the teacher's batches included). `tests/test_serve.py` checks the same
on every run, with each answer compared to the version it names.

Every server exited with {sorted(set(result["exit_codes"].values()))} after SIGTERM.

How to read it. The server runs the model on `--threads` = cores - 1 = 1 thread here (a core
stays free for the event loop and, here, the load generator); offline prediction uses every
core. A model call expected to take at most `--inline-ms` (20 ms; the model's measured seconds
per text times the batch's texts) runs on the event loop itself: for the int8 student that is
nearly every call, which saves the hand-off to the model thread and the GIL hand-offs between the two
threads (py-spy showed the loop waiting for the GIL in its socket writes); the teacher's larger
calls run in the model thread while the loop keeps answering. At concurrency 1 nothing can be
batched: each request pays a single-text model call (tokenize, one ONNX Runtime run, about as
long as echo's whole round trip) on top of what echo pays, so that row is bounded by the
model's single-text latency, not by the HTTP stack. From concurrency 16 on, requests that
arrive while the model runs share the next call (`textcls_serve_batch_requests` in `/metrics`):
one model call answers many requests, which keeps served requests/s within reach of echo's.
With 32 texts per request, the served rate approaches offline
prediction because the per-request HTTP work is spread over 32 texts.{teacher_note(result)}
"""


def teacher_note(result: dict[str, Any]) -> str:
    """Say so when the offline ceiling fell below what the server delivered for the teacher."""
    served = max(r["texts_per_s"] for r in result["rows"]["teacher"])
    offline = result["offline_texts_per_s"]["teacher"]
    if offline >= served:
        return ""
    return (
        f"\n\nThe teacher's offline rate ({offline:,.0f} texts/s) is below what the server "
        f"delivered ({served:,.0f} texts/s): offline prediction runs torch on every core, and "
        "with other work on the machine a 2-thread torch slows down far more than the "
        "server's single inference thread. Quiet, the same offline measurement gave about "
        "320 texts/s in an earlier run."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-examples", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=3000, help="At most, per row")
    parser.add_argument("--seconds", type=float, default=10.0, help="At most, per row")
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/textcls-serve-bench"), help="Trained models"
    )
    parser.add_argument("--max-batch", type=int, default=16, help="textcls serve --max-batch")
    parser.add_argument("--max-wait-ms", type=float, default=2.0, help="textcls serve option")
    parser.add_argument("--note", default="other work ran on the machine at the same time")
    parser.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        import uvicorn

        # uvicorn raises SIGTERM again once drained; exit 0 as `textcls serve` does
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        uvicorn.run(echo_app(), host="127.0.0.1", port=args.echo_server, log_level="warning")
        return
    SERVE_OPTIONS[:] = [
        "--max-batch",
        str(args.max_batch),
        "--max-wait-ms",
        f"{args.max_wait_ms:g}",
    ]
    SERVE_OPTIONS.extend(["--log-level", "warning"])
    if not (DATA / "validation.csv").is_file():
        print(f"skipped: {DATA} not found (the shared SST-2 CSVs)")
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args.work.mkdir(parents=True, exist_ok=True)
    loadavg_before = os.getloadavg()
    models = train(args.work, args.train_examples)
    texts = validation_texts(args.work)
    rows, codes, offline, offline_runs = {}, {}, {}, {}
    for name, target in (("echo", "echo"), *((n, str(p)) for n, p in models.items())):
        if name != "echo":  # offline just before and after the served rows: the machine drifts
            offline_runs[name] = [offline_throughput(Path(target), texts, args.seconds / 2)]
        measured = measure_target(
            target, texts, args.work / f"{name}.log", args.requests, args.seconds
        )
        codes[name] = measured.pop()["exit_code"]
        rows[name] = measured
        if name != "echo":
            offline_runs[name].append(offline_throughput(Path(target), texts, args.seconds / 2))
            offline[name] = sum(offline_runs[name]) / 2
            print(f"offline {name}: {[round(v) for v in offline_runs[name]]} texts/s", flush=True)

    def row(target: str, concurrency: int, per_request: int) -> dict[str, Any]:
        return next(
            r
            for r in rows[target]
            if r["concurrency"] == concurrency and r["texts_per_request"] == per_request
        )

    swap = swap_under_load(models, texts, args.work / "swap.log", args.seconds)
    codes["swap"] = swap.pop("exit_code")
    ratios = {
        "texts_vs_offline": row("student-int8", 64, 32)["texts_per_s"] / offline["student-int8"],
        "rps_vs_echo": {
            str(c): row("student-int8", c, 1)["requests_per_s"]
            / row("echo", c, 1)["requests_per_s"]
            for c in (1, 16, 64)
        },
        "p99_vs_echo": row("student-int8", 16, 1)["p99_ms"] / row("echo", 16, 1)["p99_ms"],
    }
    result = {
        "offline_texts_per_s": offline,
        "offline_runs_texts_per_s": offline_runs,
        "rows": rows,
        "swap": swap,
        "ratios": ratios,
        "exit_codes": codes,
        "total_errors": sum(r["errors"] for target in rows.values() for r in target)
        + swap["errors"],
        "serve_options": SERVE_OPTIONS,
        "train_examples": args.train_examples,
        "loadavg_before": loadavg_before,
        "loadavg_after": os.getloadavg(),
        "machine_note": args.note,
    }
    save_result("serve_load", result)
    result["machine"] = machine_info()
    print(json.dumps(ratios, indent=2))
    update_section("serve-load", report(result, args))


if __name__ == "__main__":
    main()
