"""A lifecycle listener that shows each stage on the console as the pipeline reaches it."""

from __future__ import annotations

from textcls import hookimpl
from textcls.flows.cli.console import err, styled


class ConsoleProgress:
    """Prints one line when a stage starts, finishes or fails."""

    @hookimpl
    def textcls_stage_started(self, stage: str, run_dir: str, config: dict) -> None:
        err.print(styled(">", "bold", f"{stage} ..."))

    @hookimpl
    def textcls_stage_finished(self, stage: str, run_dir: str, artifact: dict) -> None:
        status = artifact.get("status", "ran")
        err.print(styled("done", "green", f"{stage}: {status}"))

    @hookimpl
    def textcls_stage_failed(self, stage: str, run_dir: str, error: BaseException) -> None:
        err.print(styled("failed", "red", stage))
