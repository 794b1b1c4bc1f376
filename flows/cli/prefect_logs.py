"""Keep Prefect's failure reports off the console, so a failed run ends in one located line.

When a stage fails, Prefect's engine logs the exception with its traceback ("Encountered
exception during execution", "Task run failed with exception") and a "Finished in state
Failed(...)" line that repeats the message; the command then prints the located error itself.
Without ``--debug`` those reports are dropped from the console handler only: the Prefect API
(the UI's logs of the run) still receives every record, traceback included.
"""

from __future__ import annotations

import logging


class _NoFailureReports(logging.Filter):
    """Drops Prefect's records that carry a traceback or announce a failed or crashed state."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("prefect"):
            return True
        if record.exc_info or record.exc_text:
            return False
        message = record.getMessage()
        return not (
            message.startswith("Finished in state")
            and ("Failed(" in message or "Crashed(" in message)
        )


_FILTER = _NoFailureReports()


def hide_failure_reports() -> None:
    """Add the filter to Prefect's console handlers (idempotent)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
