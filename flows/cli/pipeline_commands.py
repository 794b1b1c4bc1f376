"""`textcls run`, `textcls sweep` and `textcls ingest`: commands that run pipeline stages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from textcls import get_plugins, load_config
from textcls.artifact_files import DATA_REPORT_MD, EVAL_REPORT_MD
from textcls.flows.cli.console import (
    JsonOption,
    SetOption,
    err,
    out,
    print_json,
    reports_errors,
    state,
    warn_load_failures,
)
from textcls.flows.cli.prefect_api import prefect_defaults, shared_prefect_api
from textcls.flows.cli.prefect_logs import hide_failure_reports
from textcls.flows.cli.progress import ConsoleProgress
from textcls.flows.cli.signals import stops_cleanly
from textcls.pipeline_plan import RunLayout


@reports_errors
def ingest_command(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file")],
    output: Annotated[
        Path | None, typer.Option(help="Folder to write data/ into (default: <output>/<name>/data)")
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Run only the ingest stage and print the data report."""
    from textcls.lifecycle import run_stage
    from textcls.stages.ingest import ingest

    warn_load_failures()
    config = load_config(file, overrides or [])
    target = output or Path(config.output) / config.name / "data"
    section = config.model_dump(mode="json")["data"]
    ref = run_stage("ingest", str(target.parent), section, lambda: ingest(config, target))
    out.print((Path(ref.path) / DATA_REPORT_MD).read_text(encoding="utf-8"))
    out.print(f"data: {ref.path}")


@reports_errors
@stops_cleanly
def run_command(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file")],
    only: Annotated[
        str | None, typer.Option(help="Run only this stage (others from cache)")
    ] = None,
    start_from: Annotated[
        str | None, typer.Option("--from", help="Run from this stage on (earlier from cache)")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Where run folders go")] = None,
    overrides: SetOption = None,
    run_id: Annotated[
        str | None, typer.Option(help="Name the run folder (default: time + random suffix)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the whole pipeline as a Prefect flow (ephemeral local API unless PREFECT_API_URL)."""
    from textcls.pipeline_plan import (
        check_folder_name,
        check_runnable,
        enabled_stages,
        select_stages,
    )

    warn_load_failures()
    # Fail fast, before Prefect starts, on a bad file, stage name or run id.
    config = load_config(file, overrides or [])
    check_runnable(config)
    select_stages(enabled_stages(config), only, start_from)
    if run_id is not None:
        check_folder_name(run_id, "--run-id")
    prefect_defaults()
    from textcls.flows.pipeline import textcls_pipeline

    if not state["debug"]:
        hide_failure_reports()
    host = get_plugins()
    show_progress = not state["quiet"]
    if show_progress:
        host.register(ConsoleProgress(), name="textcls-console-progress")
    try:
        manifest = textcls_pipeline(
            config_path=str(file.resolve()),
            overrides=list(overrides or []),
            output=str(output.resolve()) if output else None,
            only=only,
            start_from=start_from,
            run_id=run_id,
        )
    finally:
        if show_progress:
            host.unregister("textcls-console-progress")
    # where the flow wrote it (artifact paths may be shared with other runs and pipelines)
    run_dir = RunLayout(
        output.resolve() if output else Path(config.output), config.name, manifest["run_id"]
    ).run_dir
    report = run_dir / "eval" / EVAL_REPORT_MD
    decision = manifest.get("registry")
    if as_json:
        print_json(
            {
                "pipeline": manifest["pipeline"],
                "run_id": manifest["run_id"],
                "status": manifest["status"],
                "run_folder": str(run_dir),
                "report": str(report) if report.exists() else None,
                "stages": {
                    stage: {"status": record["status"], "seconds": record["seconds"]}
                    for stage, record in manifest["stages"].items()
                },
                "registry": decision,
            }
        )
        return
    table = Table(title=f"{manifest['pipeline']} run {manifest['run_id']}")
    for column in ("stage", "status", "seconds"):
        table.add_column(column)
    for stage, record in manifest["stages"].items():
        table.add_row(stage, record["status"], f"{record['seconds']:.1f}")
    out.print(table)
    out.print(f"run folder: {run_dir}")
    if report.exists():
        out.print(f"report: {report}")
    if decision:
        out.print(f"registry: version {decision['version']}: {decision['reason']}")


@reports_errors
@stops_cleanly
def sweep_command(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file")],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            "-g",
            help="dotted.key=v1,v2,... (repeatable; every combination runs)",
        ),
    ],
    output: Annotated[Path | None, typer.Option(help="Where run folders go")] = None,
    overrides: SetOption = None,
    metric: Annotated[
        str,
        typer.Option(help="accuracy or macro_f1: picks the best row, read on validation"),
    ] = "accuracy",
    sweep_id: Annotated[str | None, typer.Option(help="Name the sweep folder")] = None,
) -> None:
    """Run one pipeline per grid combination, fanned out on the configured task runner."""
    prefect_defaults()
    from textcls.flows.pipeline import new_run_id
    from textcls.flows.sweep import task_runner_for, textcls_sweep
    from textcls.pipeline_plan import check_folder_name
    from textcls.sweep import expand_grid, parse_grid, validate_variants

    if not state["debug"]:
        hide_failure_reports()
    warn_load_failures()
    if sweep_id is not None:
        check_folder_name(sweep_id, "--sweep-id")
    if metric not in ("accuracy", "macro_f1"):
        raise typer.BadParameter(
            f"{metric!r}: the sweep winner is chosen on validation accuracy or macro_f1; "
            "give --metric accuracy or --metric macro_f1",
            param_hint="--metric",
        )
    parsed = parse_grid(grid)
    configs = validate_variants(file, list(overrides or []), expand_grid(parsed))
    runner = task_runner_for(configs[0].orchestration)
    err.print(f"{len(configs)} variants on the {configs[0].orchestration.task_runner} task runner")
    with shared_prefect_api():
        summary = textcls_sweep.with_options(task_runner=runner)(
            config_path=str(file.resolve()),
            grid=parsed,
            sweep_id=sweep_id or new_run_id(),
            overrides=list(overrides or []),
            output=str(output.resolve()) if output else None,
            metric=metric,
        )
    out.print(Path(summary["folder"], "sweep.md").read_text(encoding="utf-8"))
    out.print(f"sweep folder: {summary['folder']}")
    if summary["failed"]:
        err.print(Text(f"{summary['failed']} of {len(configs)} variants failed", style="red"))
        raise typer.Exit(1)
