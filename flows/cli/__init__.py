"""The ``textcls`` command line (typer): one module per command group, wired here.

Exit codes: 0 on success, 2 for usage, configuration and input errors, 1 for failures while running.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from textcls import __version__
from textcls.flows.cli import (
    config_commands,
    explain_commands,
    model_commands,
    pipeline_commands,
    plugins_commands,
    registry_commands,
    serve_commands,
)
from textcls.flows.cli.console import err, out, state
from textcls.flows.cli.logs import NORMAL, QUIET, VERBOSE, configure_logging

app = typer.Typer(
    name="textcls",
    help="Text classification pipelines: ingest, pretrain, fine-tune, distill, quantize, evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(plugins_commands.app, name="plugins")
app.add_typer(config_commands.app, name="config")
app.add_typer(registry_commands.app, name="registry")
app.command("run")(pipeline_commands.run_command)
app.command("sweep")(pipeline_commands.sweep_command)
app.command("ingest")(pipeline_commands.ingest_command)
app.command("predict")(model_commands.predict_command)
app.command("evaluate")(model_commands.evaluate_command)
app.command("explain")(explain_commands.explain_command)
app.command("serve")(serve_commands.serve_command)


def _version(value: bool) -> None:
    if value:
        out.print(f"textcls {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings, errors and results.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also Prefect's run logs and debug lines.")
    ] = False,
) -> None:
    """textcls: one YAML file, one command, from raw text to a small, fast, registered model."""
    state["debug"] = debug
    state["quiet"] = quiet
    configure_logging(QUIET if quiet else VERBOSE if verbose else NORMAL)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
