"""The ``textcls`` command line (typer).

Exit codes: 0 on success, 2 for usage and configuration errors, 1 for failures while running.
User errors print one clear message; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from textcls_core import (
    TextclsError,
    __version__,
    get_plugins,
    hookimpl,
    load_config,
    pipeline_json_schema,
)

app = typer.Typer(
    name="textcls",
    help="Text classification pipelines: ingest, pretrain, fine-tune, distill, quantize, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(
    help="Inspect the loaded plugins and their components.", no_args_is_help=True
)
config_app = typer.Typer(
    help="Validate pipeline files and print their schema.", no_args_is_help=True
)
registry_app = typer.Typer(
    help="Model registry: versions, the champion, promotion and rollback.", no_args_is_help=True
)
app.add_typer(plugins_app, name="plugins")
app.add_typer(config_app, name="config")
app.add_typer(registry_app, name="registry")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}

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
            if _state["debug"]:
                raise
            err.print(f"[bold red]error:[/] {exc}", markup=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


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
) -> None:
    """textcls: one YAML file, one command, from raw text to a small, fast, registered model."""
    _state["debug"] = debug


def _warn_load_failures() -> None:
    for failure in get_plugins().load_failures:
        err.print(f"[yellow]warning:[/] {failure}", markup=True)


# -- plugins --------------------------------------------------------------------------------


@plugins_app.command("list")
@reports_errors
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List loaded plugins: name, version, hooks implemented, components by kind."""
    host = get_plugins()
    infos = host.plugin_infos()
    if as_json:
        payload = {
            "plugins": [
                {
                    "name": i.name,
                    "distribution": i.distribution,
                    "version": i.version,
                    "builtin": i.builtin,
                    "hooks": i.hooks,
                    "components": i.components,
                }
                for i in infos
            ],
            "failures": [
                {"distribution": f.distribution, "entry_point": f.entry_point, "error": f.error}
                for f in host.load_failures
            ],
        }
        out.print_json(json.dumps(payload))
        return
    _warn_load_failures()
    table = Table(title="textcls plugins")
    for column in ("plugin", "distribution", "version", "hooks", "components"):
        table.add_column(column, overflow="fold")
    for info in infos:
        components = "\n".join(
            f"{kind}: {', '.join(names)}" for kind, names in sorted(info.components.items())
        )
        table.add_row(
            info.name,
            info.distribution,
            info.version,
            "\n".join(h.removeprefix("textcls_") for h in info.hooks),
            components,
        )
    out.print(table)


@plugins_app.command("show")
@reports_errors
def plugins_show(name: Annotated[str, typer.Argument(help="Component name, e.g. csv")]) -> None:
    """Describe a component: kind, plugin, description and params with types and defaults."""
    host = get_plugins()
    components = host.find_components(name)
    if not components:
        from textcls_core import UnknownComponentError
        from textcls_core.components import ComponentRegistry

        everything = ComponentRegistry("component")
        for registry in host.registries.values():
            for component in registry:
                if component.name not in everything:
                    everything.add(component)
        raise UnknownComponentError(everything.unknown_message(name))
    for component in components:
        out.print(
            f"[bold]{component.name}[/] ({component.kind}, plugin {component.plugin})", markup=True
        )
        if component.description:
            out.print(f"  {component.description}")
        fields = component.params.model_fields
        if not fields:
            out.print("  params: none")
            continue
        table = Table(show_header=True, box=None, pad_edge=False)
        for column in ("param", "type", "default", "description"):
            table.add_column(column)
        for field_name, info in fields.items():
            default = (
                "required"
                if info.is_required()
                else repr(info.get_default(call_default_factory=True))
            )
            table.add_row(field_name, _type_name(info.annotation), default, info.description or "")
        out.print(table)


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return text or str(annotation).replace("typing.", "")


# -- config ---------------------------------------------------------------------------------


@config_app.command("validate")
@reports_errors
def config_validate(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file")],
    overrides: SetOption = None,
) -> None:
    """Check a pipeline file (and its plugins' params) without running anything."""
    _warn_load_failures()
    config = load_config(file, overrides or [])
    stages = [s for s in ("pretrain", "teacher", "student") if getattr(config, s) is not None]
    if config.quantize:
        stages.append("quantize")
    out.print(
        f"{file}: valid pipeline {config.name!r} (sections: data, "
        f"{', '.join(stages) or 'no model stages'})"
    )


@config_app.command("schema")
@reports_errors
def config_schema() -> None:
    """Print the JSON Schema of pipeline files (for editor validation)."""
    out.print_json(json.dumps(pipeline_json_schema()))


# -- stages run directly (no orchestration) -------------------------------------------------


@app.command("ingest")
@reports_errors
def ingest_command(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file")],
    output: Annotated[
        Path | None, typer.Option(help="Folder to write data/ into (default: <output>/<name>/data)")
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Run only the ingest stage and print the data report."""
    from textcls_core.lifecycle import run_stage
    from textcls_core.stages.ingest import ingest

    _warn_load_failures()
    config = load_config(file, overrides or [])
    target = output or Path(config.output) / config.name / "data"
    section = config.model_dump(mode="json")["data"]
    ref = run_stage("ingest", str(target.parent), section, lambda: ingest(config, target))
    out.print((Path(ref.path) / "data_report.md").read_text(encoding="utf-8"))
    out.print(f"data: {ref.path}")


def prefect_defaults() -> None:
    """Settings for the ephemeral local Prefect API, unless the user chose otherwise.

    A busy 2-core machine can take longer than Prefect's default 20 s to start the temporary
    server; and nothing should try to send telemetry from a training box.
    """
    import os

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


class ConsoleProgress:
    """A lifecycle listener that shows each stage as the pipeline reaches it."""

    def __init__(self) -> None:
        self.statuses: dict[str, tuple[str, float]] = {}

    @hookimpl
    def textcls_stage_started(self, stage: str, run_dir: str, config: dict) -> None:
        err.print(f"[bold]>[/] {stage} ...", markup=True)

    @hookimpl
    def textcls_stage_finished(self, stage: str, run_dir: str, artifact: dict) -> None:
        status = artifact.get("status", "ran")
        err.print(f"[green]done[/] {stage}: {status}", markup=True)

    @hookimpl
    def textcls_stage_failed(self, stage: str, run_dir: str, error: BaseException) -> None:
        err.print(f"[red]failed[/] {stage}", markup=True)


@app.command("run")
@reports_errors
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
) -> None:
    """Run the whole pipeline as a Prefect flow (ephemeral local API unless PREFECT_API_URL)."""
    prefect_defaults()
    from flows.pipeline import textcls_pipeline

    _warn_load_failures()
    load_config(file, overrides or [])  # fail fast, before Prefect starts, on a bad file
    host = get_plugins()
    progress = ConsoleProgress()
    host.register(progress, name="textcls-console-progress")
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
        host.unregister("textcls-console-progress")
    table = Table(title=f"{manifest['pipeline']} run {manifest['run_id']}")
    for column in ("stage", "status", "seconds"):
        table.add_column(column)
    for stage, record in manifest["stages"].items():
        table.add_row(stage, record["status"], f"{record['seconds']:.1f}")
    out.print(table)
    run_dir = Path(manifest["stages"]["ingest"]["ref"]["path"]).parents[1] / manifest["run_id"]
    out.print(f"run folder: {run_dir}")
    report = run_dir / "eval" / "report.md"
    if report.exists():
        out.print(f"report: {report}")
    decision = manifest.get("registry")
    if decision:
        out.print(f"registry: version {decision['version']}: {decision['reason']}")


# -- registry -------------------------------------------------------------------------------

RegistryArgument = Annotated[
    Path,
    typer.Argument(help="Pipeline YAML file, or a pipeline's registry folder <registry>/<name>"),
]


def _open_registry(target: Path) -> Any:
    from textcls_core.registry import Registry, RegistryError

    if target.is_file():
        config = load_config(target)
        if config.registry is None:
            raise RegistryError(f"{target}: the pipeline has no registry section")
        return Registry(config.registry.path, config.name, config.registry.lock_timeout_s)
    if (target / "versions").is_dir() or (target / "champion.json").is_file():
        return Registry(target.parent, target.name)
    raise RegistryError(
        f"{target}: neither a pipeline file nor a registry folder (one holding versions/)"
    )


@registry_app.command("list")
@reports_errors
def registry_list(
    target: RegistryArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every version with its status, run, variant and score."""
    registry = _open_registry(target)
    versions = registry.versions()
    if as_json:
        out.print_json(json.dumps({"champion": registry.champion(), "versions": versions}))
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


@registry_app.command("show")
@reports_errors
def registry_show(
    target: RegistryArgument,
    version: Annotated[int | None, typer.Argument(help="Version (default: the champion)")] = None,
) -> None:
    """One version: where it is, its metrics, lineage and the promotion decision."""
    from textcls_core.registry import RegistryError

    registry = _open_registry(target)
    number = version if version is not None else registry.champion()
    if number is None:
        raise RegistryError(f"{registry.folder}: no champion yet; give a version")
    out.print_json(json.dumps(registry.version(number), default=str))


@registry_app.command("promote")
@reports_errors
def registry_promote(
    target: RegistryArgument,
    version: Annotated[int, typer.Argument(help="Version to make the champion")],
) -> None:
    """Make a version the champion by hand (recorded in the history)."""
    registry = _open_registry(target)
    registry.promote(version)
    out.print(f"version {version} is now the champion of {registry.pipeline}")


@registry_app.command("rollback")
@reports_errors
def registry_rollback(target: RegistryArgument) -> None:
    """Make the previous champion the champion again."""
    registry = _open_registry(target)
    version = registry.rollback()
    out.print(f"rolled back: version {version} is the champion of {registry.pipeline} again")


@contextmanager
def shared_prefect_api() -> Iterator[None]:
    """Make sure there is a Prefect API that other processes can reach, for their lifetime.

    ``textcls run`` may use Prefect's in-process ephemeral API, but sweep variants run in
    child processes (and on Dask workers) that must report to the same API. With no
    ``PREFECT_API_URL`` set, start the local server (SQLite under ``PREFECT_HOME``) for the
    duration of the command and point everything at it.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    err.print("starting a local Prefect API for the sweep ...")
    server.start(timeout=120)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        server.stop()


@app.command("sweep")
@reports_errors
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
    metric: Annotated[str, typer.Option(help="Metric that picks the best row")] = "accuracy",
    sweep_id: Annotated[str | None, typer.Option(help="Name the sweep folder")] = None,
) -> None:
    """Run one pipeline per grid combination, fanned out on the configured task runner."""
    prefect_defaults()
    from flows.pipeline import new_run_id
    from flows.sweep import task_runner_for, textcls_sweep
    from textcls_core.sweep import expand_grid, parse_grid, validate_variants

    _warn_load_failures()
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
        err.print(f"[red]{summary['failed']} of {len(configs)} variants failed[/]", markup=True)
        raise typer.Exit(1)


@app.command("predict")
@reports_errors
def predict_command(
    model_dir: Annotated[Path, typer.Argument(help="A model folder (PyTorch or ONNX)")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Text file, CSV or JSONL of inputs")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column or key holding the text")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from --output)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads")] = None,
) -> None:
    """Classify texts with a trained or exported model; JSONL or CSV with probabilities."""
    from rich.progress import Progress

    from flows.predict_io import read_texts, render, write_atomic
    from textcls_core.predictor import Predictor

    chosen = fmt or ("csv" if output is not None and output.suffix.lower() == ".csv" else "jsonl")
    if chosen not in ("jsonl", "csv"):
        raise typer.BadParameter(f"--format must be jsonl or csv, not {chosen!r}")
    inputs = read_texts(file, text_column, texts or [])
    predictor = Predictor.load(model_dir, threads=threads)
    with Progress(console=err, transient=True, disable=file is None) as progress:
        task = progress.add_task("predicting", total=len(inputs))
        probabilities = predictor.logits(
            inputs, batch_size, progress=lambda n: progress.advance(task, n)
        )
    predictions = predictor.predictions_from_logits(probabilities)
    content = render(inputs, predictions, predictor.labels, chosen)
    if output is None:
        sys.stdout.write(content)
    else:
        write_atomic(output, content)
        err.print(f"{len(inputs)} predictions written to {output}")


@app.command("evaluate")
@reports_errors
def evaluate_command(
    model_dirs: Annotated[list[Path], typer.Argument(help="Model folders to compare")],
    data: Annotated[
        Path, typer.Option("--data", help="Pipeline YAML, ingested data folder, or a labelled file")
    ],
    split: Annotated[str, typer.Option(help="Split to score (test, validation)")] = "test",
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder")] = Path("eval"),
    baseline: Annotated[
        list[str] | None, typer.Option("--baseline", help="Also train and score a baseline")
    ] = None,
    cost: Annotated[bool, typer.Option(help="Measure latency, throughput, memory")] = True,
) -> None:
    """Score existing models side by side without retraining; writes report.md and plots."""
    from flows.evaluate_data import resolve_data
    from textcls_core.model_folder import read_meta
    from textcls_core.stages.evaluate import evaluate

    _warn_load_failures()
    model_labels = read_meta(model_dirs[0]).get("labels", [])
    data_dir, pipeline = resolve_data(data, output, model_labels)
    names = _variant_names(model_dirs)
    ref = evaluate(
        data_dir,
        dict(zip(names, model_dirs, strict=True)),
        output / "report",
        pipeline=pipeline,
        split=split,
        baselines=baseline or [],
        measure_cost=cost,
    )
    out.print((Path(ref.path) / "report.md").read_text(encoding="utf-8"))
    out.print(f"report: {Path(ref.path) / 'report.md'}")


def _variant_names(folders: list[Path]) -> list[str]:
    names: list[str] = []
    for folder in folders:
        name, n = folder.name, 2
        while name in names:
            name, n = f"{folder.name}-{n}", n + 1
        names.append(name)
    return names


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
