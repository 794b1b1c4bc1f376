"""Start uvicorn for ``textcls serve``: check the target first, drain on SIGTERM, exit 0.

uvicorn's graceful shutdown does the draining: on SIGTERM it stops accepting connections,
lets in-flight requests finish (up to ``drain_s``), then runs the app's shutdown. Afterwards it
raises the signal again so that the process's previous handler runs; the handler installed
here makes that a clean exit 0 instead of death by SIGTERM (what Kubernetes and systemd expect
of a drained server).
"""

from __future__ import annotations

import signal
import socket
from types import FrameType

from textcls.errors import TextclsError
from textcls.flows.serve.settings import ServeSettings

APP = "textcls.flows.serve.app:app_from_environment"


class ServeError(TextclsError):
    """The server cannot start as asked (bad target, busy port)."""

    exit_code = 2


def check_target(target: str) -> str:
    """Resolve the reference now, so a bad target fails before the server starts."""
    from textcls.errors import DataError
    from textcls.model_folder import read_meta
    from textcls.model_reference import resolve_model

    resolved = resolve_model(target)
    try:
        read_meta(resolved.path)
    except DataError as exc:
        raise ServeError(str(exc)) from None
    return str(resolved.path)


def check_port(host: str, port: int) -> None:
    """A busy port is a clear usage error, not a uvicorn traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or stop "
                "the process that holds it"
            ) from None


def _drained(signum: int, frame: FrameType | None) -> None:
    """Runs when uvicorn re-raises SIGTERM after draining: nothing left to do, exit 0."""


def run_server(
    settings: ServeSettings,
    *,
    host: str,
    port: int,
    workers: int,
    drain_s: float,
    access_log: bool,
    log_level: str,
) -> None:
    """Serve until SIGTERM or Ctrl-C; returns after in-flight requests have drained."""
    import uvicorn

    check_target(settings.target)
    check_port(host, port)
    settings.to_environment()
    signal.signal(signal.SIGTERM, _drained)
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=drain_s,
        access_log=access_log,
        log_level=log_level,
        lifespan="on",
    )
