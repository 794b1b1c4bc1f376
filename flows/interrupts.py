"""SIGTERM and SIGINT stop textcls cleanly: cleanup runs, temporary servers stop.

Python turns SIGINT into ``KeyboardInterrupt`` but leaves SIGTERM (what Docker, Kubernetes and
process supervisors send) at its default, which kills the process on the spot: no ``finally``
blocks, no ``atexit``, so the temporary Prefect server that ``textcls run`` started would be
left running. Prefect's flow engine installs its own SIGTERM handler while a flow runs, and on
leaving the flow re-sends the signal to the handler it found; with the handler below that is a
``Terminated`` exception, so the manifest is written (``cancelled``), ``atexit`` stops the
server, and the command exits with 128 + the signal number, like a shell.
Used by the CLI, ``deployments/serve.py`` and the watcher.
"""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every path that cleans up after one cleans up after both."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_stopping = {"signal": 0}


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    if _stopping["signal"]:
        return  # already stopping: let the cleanup that is running finish
    _stopping["signal"] = signum
    raise Terminated(signum)


def install_handlers() -> None:
    """Make SIGTERM raise ``Terminated`` in the main thread (SIGINT already raises)."""
    _stopping["signal"] = 0
    signal.signal(signal.SIGTERM, _raise_terminated)


def is_interrupt(error: BaseException) -> bool:
    """True for Ctrl-C, SIGTERM, and Prefect's own wrapper of SIGTERM inside a flow."""
    from prefect.exceptions import TerminationSignal

    return isinstance(error, (KeyboardInterrupt, TerminationSignal))


def signal_name(error: BaseException) -> str:
    """SIGINT or SIGTERM, for the message and the exit code."""
    if isinstance(error, Terminated):
        return signal.Signals(error.signum).name
    number = getattr(error, "signal", None)
    return signal.Signals(number).name if number else "SIGINT"
