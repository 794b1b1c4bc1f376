"""Commands that stop cleanly on SIGINT and SIGTERM (see ``textcls.flows.interrupts``)."""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from textcls.flows.interrupts import install_handlers, is_interrupt, signal_name

F = TypeVar("F", bound=Callable[..., Any])


def stops_cleanly(func: F) -> F:
    """Install the handlers, and turn an interrupt into one line and exit code 128 + signal."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from textcls.flows.cli.console import err

        install_handlers()
        try:
            return func(*args, **kwargs)
        except BaseException as error:
            if not is_interrupt(error):
                raise
            name = signal_name(error)
            err.print(f"cancelled by {name}")
            raise typer.Exit(128 + signal.Signals[name].value) from None

    return wrapper  # type: ignore[return-value]
