"""`textcls serve`: a model folder or the registry's champion behind an HTTP API."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from textcls.flows.cli.console import err, reports_errors


@reports_errors
def serve_command(
    target: Annotated[
        str,
        typer.Argument(
            help="A model folder (PyTorch or ONNX), PIPELINE_FILE@champion (follows promotions "
            "and rollbacks) or PIPELINE_FILE@v3"
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one model each)")] = 1,
    max_batch: Annotated[
        int,
        typer.Option(
            min=1,
            help="Most texts gathered into one model call (small batches let the event loop "
            "answer one batch while the model computes the next; raise it with more cores)",
        ),
    ] = 16,
    max_wait_ms: Annotated[
        float, typer.Option(min=0, help="Longest wait for more requests to fill a batch")
    ] = 2.0,
    inline_ms: Annotated[
        float,
        typer.Option(
            min=0,
            help="Run a model call expected to take at most this long on the event loop "
            "(no thread or GIL hand-off); longer calls run in the model thread, so the loop "
            "keeps answering meanwhile. 0: always the thread",
        ),
    ] = 20.0,
    max_batch_texts: Annotated[int, typer.Option(min=1, help="Most texts in one request")] = 256,
    max_chars: Annotated[int, typer.Option(min=1, help="Longest text accepted")] = 10_000,
    poll_s: Annotated[
        float, typer.Option(min=0.05, help="How often to check the registry's champion")
    ] = 1.0,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Inference threads per worker (default: cores / workers - 1)"),
    ] = None,
    drain_s: Annotated[
        float, typer.Option(min=0, help="On SIGTERM, wait this long for in-flight requests")
    ] = 10.0,
    access_log: Annotated[bool, typer.Option(help="Log every request")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve predictions over HTTP: POST /predict, /health, /ready, /metadata, /metrics, /docs."""
    from textcls.flows.serve.server import run_server
    from textcls.flows.serve.settings import ServeSettings

    if threads is None:
        # Leave a core to the event loop that parses and answers requests: inference threads
        # that spin on every core starve it (measured in bench/serve_load.py).
        threads = max(1, (os.cpu_count() or 1) // workers - 1)
    settings = ServeSettings(
        target=target,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        inline_ms=inline_ms,
        max_batch_texts=max_batch_texts,
        max_chars=max_chars,
        poll_s=poll_s,
        threads=threads,
    )
    err.print(f"serving {target} on http://{host}:{port} (API docs: /docs)")
    run_server(
        settings,
        host=host,
        port=port,
        workers=workers,
        drain_s=drain_s,
        access_log=access_log,
        log_level=log_level,
    )
