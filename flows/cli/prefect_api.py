"""Where the CLI gets its Prefect API: the ephemeral one, or a local server for child processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from textcls.flows.cli.console import err


def prefect_defaults() -> None:
    """Settings for the ephemeral local Prefect API, unless the user chose otherwise.

    A machine busy with training can take longer than Prefect's default 20 s to start the
    temporary server; and nothing should try to send telemetry from a training box.
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@contextmanager
def shared_prefect_api() -> Iterator[None]:
    """Make sure there is a Prefect API that other processes can reach, for their lifetime.

    ``textcls run`` may use Prefect's in-process ephemeral API, but sweep variants run in
    child processes (and on Dask workers) that must report to the same API. With no
    ``PREFECT_API_URL`` set, start the local server (SQLite under ``PREFECT_HOME``) for the
    duration of the command and point everything at it.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    err.print("starting a local Prefect API for the sweep ...")
    server.start(timeout=120)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            try:
                yield
            finally:
                _send_what_is_queued()
    finally:
        server.stop()


def _send_what_is_queued(timeout_s: float = 5.0) -> None:
    """Send queued flow-run logs and events while the server still runs. Otherwise Prefect's
    exit hook sends them after ``server.stop()`` and retries a dead server for about a minute
    (an interrupted sweep took 70 s to exit, all of it there)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        service.drain_all(timeout=timeout_s)
