"""Console output and error reporting shared by every command.

Exit codes: 0 on success, 2 for usage, configuration and input errors, 1 for failures while running.
User errors print one clear message; ``--debug`` shows the traceback as well.

Both consoles print text as it is: rich markup (``[/]``) and emoji codes (``:x:``) are off, so
a training text, a file name or a column header reaches the terminal unchanged and can never
break the printer. Styled words are added as ``rich.text.Text`` spans, never as markup.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text
from textcls import TextclsError, get_plugins


def _console(stream: Any, **options: Any) -> Console:
    """A console; when the stream is a pipe or file, wide enough that tables are never cut.

    Rich assumes 80 columns when it cannot ask a terminal, which folds and truncates tables
    piped into ``grep``, ``less -S`` or a file; their natural width is what a reader wants there.
    """
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(
        highlight=False, soft_wrap=True, markup=False, emoji=False, width=width, **options
    )


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
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def styled(prefix: str, style: str, message: str) -> Text:
    """``prefix`` in ``style`` followed by ``message`` as plain text (never parsed as markup)."""
    return Text.assemble((prefix, style), " ", message)


def print_error(message: str) -> None:
    """Print ``error: message`` on stderr; if the console fails, print it plainly instead."""
    try:
        err.print(styled("error:", "bold red", message))
    except Exception:  # the real error must never be lost to a failure of the printer
        sys.stderr.write(f"error: {message}\n")


def warn_load_failures() -> None:
    """Print one warning per plugin that failed to load (the others still work)."""
    for failure in get_plugins().load_failures:
        err.print(styled("warning:", "yellow", str(failure)))


def print_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (paths and datetimes as strings)."""
    out.print_json(json.dumps(payload, default=str))
