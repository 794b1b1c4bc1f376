"""`textcls config`: validate pipeline files, print their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from textcls import load_config, pipeline_json_schema
from textcls.flows.cli.console import (
    JsonOption,
    SetOption,
    out,
    print_json,
    reports_errors,
    warn_load_failures,
)
from textcls.pipeline_plan import check_runnable

app = typer.Typer(help="Validate pipeline files and print their schema.", no_args_is_help=True)


@app.command("validate")
@reports_errors
def config_validate(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file")],
    overrides: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a pipeline file (and its plugins' params) without running anything."""
    warn_load_failures()
    config = load_config(file, overrides or [])
    check_runnable(config)
    stages = [s for s in ("pretrain", "teacher", "student") if getattr(config, s) is not None]
    if config.quantize:
        stages.append("quantize")
    if as_json:
        print_json({"file": str(file), "valid": True, "pipeline": config.name, "stages": stages})
        return
    out.print(
        f"{file}: valid pipeline {config.name!r} (sections: data, "
        f"{', '.join(stages) or 'no model stages'})"
    )


@app.command("schema")
@reports_errors
def config_schema() -> None:
    """Print the JSON Schema of pipeline files (for editor validation)."""
    out.print_json(json.dumps(pipeline_json_schema()))
