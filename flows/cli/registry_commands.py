"""`textcls registry`: versions, the champion, promotion and rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from textcls.flows.cli.console import JsonOption, out, print_json, reports_errors

app = typer.Typer(
    help="Model registry: versions, the champion, promotion and rollback.", no_args_is_help=True
)

RegistryArgument = Annotated[
    Path,
    typer.Argument(help="Pipeline YAML file, or a pipeline's registry folder <registry>/<name>"),
]


def _open_registry(target: Path) -> Any:
    from textcls.model_reference import open_registry

    return open_registry(target)


def _tracking(target: Path) -> Any:
    """The trackers of a pipeline file (a registry folder names none), opened before the
    registry changes, so a tracker that cannot be built (its extra missing) stops first."""
    from textcls import get_plugins, load_config
    from textcls.tracking import TrackingSession, open_tracking

    if not target.is_file() or not load_config(target, validate_plugins=False).tracking:
        return TrackingSession()
    return open_tracking(load_config(target), get_plugins())  # validated tracker params


@app.command("list")
@reports_errors
def registry_list(
    target: RegistryArgument,
    as_json: JsonOption = False,
) -> None:
    """Every version with its status, run, variant and score."""
    registry = _open_registry(target)
    versions = registry.versions()
    if as_json:
        print_json({"champion": registry.champion(), "versions": versions})
        return
    if not versions:
        out.print(f"{registry.folder}: no versions yet")
        return
    table = Table(title=f"registry {registry.folder}")
    for column in ("version", "status", "run", "variant", "accuracy", "macro-F1", "registered"):
        table.add_column(column)
    for info in versions:
        table.add_row(
            str(info["version"]),
            info["status"],
            str(info["run_id"]),
            info["variant"],
            f"{info['metrics']['accuracy']:.4f}",
            f"{info['metrics']['macro_f1']:.4f}",
            info["registered"][:19],
        )
    out.print(table)


@app.command("show")
@reports_errors
def registry_show(
    target: RegistryArgument,
    version: Annotated[int | None, typer.Argument(help="Version (default: the champion)")] = None,
    as_json: JsonOption = False,
) -> None:
    """One version: where it is, its metrics, lineage and the promotion decision (JSON)."""
    from textcls.registry import RegistryError

    registry = _open_registry(target)
    number = version if version is not None else registry.champion()
    if number is None:
        raise RegistryError(f"{registry.folder}: no champion yet; give a version")
    print_json(registry.version(number))  # JSON either way: --json is accepted for symmetry


@app.command("promote")
@reports_errors
def registry_promote(
    target: RegistryArgument,
    version: Annotated[int, typer.Argument(help="Version to make the champion")],
    as_json: JsonOption = False,
) -> None:
    """Make a version the champion by hand (recorded in the history, mirrored to trackers)."""
    from textcls.tracking_events import report_alias

    registry = _open_registry(target)
    tracking = _tracking(target)
    if tracking and registry.champion() == version:
        # textcls's registry already agrees; a tracker may not (its server was down when the
        # champion moved), so promoting the champion again re-sends the alias, changing nothing
        report_alias(tracking, registry.pipeline, version, "promote", "alias set again")
        if as_json:
            print_json({"pipeline": registry.pipeline, "champion": version, "action": "resync"})
            return
        out.print(
            f"version {version} already is the champion of {registry.pipeline}; "
            "the trackers' alias was set again"
        )
        return
    registry.promote(version)
    report_alias(tracking, registry.pipeline, version, "promote", "promoted by hand")
    if as_json:
        print_json({"pipeline": registry.pipeline, "champion": version, "action": "promote"})
        return
    out.print(f"version {version} is now the champion of {registry.pipeline}")


@app.command("rollback")
@reports_errors
def registry_rollback(target: RegistryArgument, as_json: JsonOption = False) -> None:
    """Make the previous champion the champion again (mirrored to trackers)."""
    from textcls.tracking_events import report_alias

    registry = _open_registry(target)
    tracking = _tracking(target)
    version = registry.rollback()
    report_alias(tracking, registry.pipeline, version, "rollback", "rollback")
    if as_json:
        print_json({"pipeline": registry.pipeline, "champion": version, "action": "rollback"})
        return
    out.print(f"rolled back: version {version} is the champion of {registry.pipeline} again")
