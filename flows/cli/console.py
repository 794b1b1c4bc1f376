"""Console output and error reporting shared by every command.

Exit codes: 0 on success, 2 for usage and configuration errors, 1 for failures while running.
User errors print one clear message; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from textcls import TextclsError, get_plugins


def _console(stream: Any, **options: Any) -> Console:
    """A console; when the stream is a pipe or file, wide enough that tables are never cut.

    Rich assumes 80 columns when it cannot ask a terminal, which folds and truncates tables
    piped into ``grep``, ``less -S`` or a file; their natural width is what a reader wants there.
    """
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(highlight=False, soft_wrap=True, width=width, **options)


#: Width assumed for pipes and files: wider than any table textcls prints.
PIPE_WIDTH = 4000
out = _console(sys.stdout)
err = _console(sys.stderr, stderr=True)
state = {"debug": False, "quiet": False}

F = TypeVar("F", bound=Callable[..., Any])

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]

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


def print_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (paths and datetimes as strings)."""
    out.print_json(json.dumps(payload, default=str))
