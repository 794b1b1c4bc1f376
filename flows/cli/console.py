"""Console output and error reporting shared by every command.

Exit codes: 0 on success, 2 for usage and configuration errors, 1 for failures while running.
User errors print one clear message; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from textcls import TextclsError, get_plugins

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
state = {"debug": False, "quiet": False}

F = TypeVar("F", bound=Callable[..., Any])

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config value: dotted.key=value (repeatable)"),
]


def reports_errors(func: F) -> F:
    """Turn TextclsError into one message on stderr and its exit code (traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TextclsError as exc:
            if state["debug"]:
                raise
            err.print(f"[bold red]error:[/] {exc}", markup=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def warn_load_failures() -> None:
    """Print one warning per plugin that failed to load (the others still work)."""
    for failure in get_plugins().load_failures:
        err.print(f"[yellow]warning:[/] {failure}", markup=True)
