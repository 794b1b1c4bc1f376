"""How much the CLI says: textcls's own progress lines, and how loud Prefect and libraries are.

By default the console shows textcls's INFO lines (one per long step) and only warnings from
Prefect and the libraries; ``-q`` keeps warnings and errors only, ``-v`` shows Prefect's own run
logs and textcls's DEBUG lines. The Prefect UI always receives Prefect's full run logs: only the
console handler's level changes (``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL``), and it must be set
before Prefect is first imported, which the commands do lazily.
"""

from __future__ import annotations

import logging
import os

from textcls.flows.cli.console import err

QUIET, NORMAL, VERBOSE = -1, 0, 1


class ConsoleLogHandler(logging.Handler):
    """Writes records of the ``textcls`` loggers to stderr, without interpreting markup."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.levelno >= logging.WARNING:
                err.print(f"{record.levelname.lower()}: {message}", markup=False, highlight=False)
            else:
                err.print(f"  {message}", markup=False, highlight=False, style="dim")
        except Exception:  # a log line must never take the command down
            self.handleError(record)


def configure_logging(verbosity: int) -> None:
    """Set up console logging for one CLI invocation (``verbosity``: QUIET, NORMAL or VERBOSE)."""
    logger = logging.getLogger("textcls")
    logger.setLevel(
        logging.WARNING
        if verbosity <= QUIET
        else logging.DEBUG
        if verbosity >= VERBOSE
        else logging.INFO
    )
    if not any(isinstance(h, ConsoleLogHandler) for h in logger.handlers):
        logger.addHandler(ConsoleLogHandler())
    # this handler prints textcls's lines; the root logger's (Prefect's console) must not again
    logger.propagate = False
    prefect_console = "INFO" if verbosity >= VERBOSE else "WARNING"
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", prefect_console)
