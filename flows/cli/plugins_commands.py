"""`textcls plugins`: what is loaded, each component's params, and the conformance checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from textcls import ConfigError, get_plugins
from textcls.flows.cli.console import (
    JsonOption,
    err,
    out,
    print_json,
    reports_errors,
    warn_load_failures,
)

app = typer.Typer(help="Inspect the loaded plugins and their components.", no_args_is_help=True)


@app.command("list")
@reports_errors
def plugins_list(
    as_json: JsonOption = False,
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
            "clashes": host.clashes(),
        }
        out.print_json(json.dumps(payload))
        return
    warn_load_failures()
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
    for kind, clashes in host.clashes().items():
        for name, plugins in clashes.items():
            choices = " or ".join(f"{p}:{name}" for p in plugins)
            out.print(
                f"clash: {len(plugins)} plugins register a {kind} named {name!r} "
                f"({', '.join(plugins)}); a pipeline names one as {choices}",
                markup=False,
            )


@app.command("show")
@reports_errors
def plugins_show(
    name: Annotated[str, typer.Argument(help="Component name, e.g. csv")],
    as_json: JsonOption = False,
) -> None:
    """Describe a component: kind, plugin, description and params with types and defaults."""
    host = get_plugins()
    components = host.find_components(name)
    if not components:
        from textcls import UnknownComponentError
        from textcls.components import unknown_name_message

        every_name = sorted({n for registry in host.registries.values() for n in registry.names()})
        raise UnknownComponentError(unknown_name_message("component", name, every_name))
    if as_json:
        print_json(
            [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "plugin": c.plugin,
                    "description": c.description,
                    "params_schema": c.params.model_json_schema(),
                }
                for c in components
            ]
        )
        return
    for component in components:
        out.print(
            Text.assemble(
                (component.name, "bold"), f" ({component.kind}, plugin {component.plugin})"
            )
        )
        if component.description:
            out.print(f"  {component.description}")
        declared = component.capabilities.model_dump(exclude_defaults=True)
        if declared:
            listing = ", ".join(f"{k}={_short(v)}" for k, v in sorted(declared.items()))
            out.print(f"  capabilities: {listing}", markup=False)
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


def _short(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if callable(value):
        return getattr(value, "__qualname__", None) or type(value).__name__
    return str(value)


STATUS_STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


@app.command("check")
@reports_errors
def plugins_check(
    names: Annotated[list[str], typer.Argument(help="Component names, e.g. bilstm logits-kl")],
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--params",
            "-p",
            help='Params for one component, as NAME=JSON, e.g. \'hf={"pretrained": "path"}\' '
            "(repeatable; default: the component's defaults and documented examples)",
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Check only components of this kind")
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the checks' files (models, ONNX exports) in this folder"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run the conformance checks (textcls.testing) on components, in seconds, on tiny data.

    Exit 0 when every check passes, 1 with a table of the failures.
    """
    from textcls.testing import check_component, failures

    overrides = _parse_params(params or [])
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ConfigError(
            f"--params names {', '.join(unknown)}, which is not among the components to check "
            f"({', '.join(names)})"
        )
    _validate_params(get_plugins(), overrides, kind)
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise ConfigError(f"--keep {keep}: the folder is not empty; give a new or empty folder")
    warn_load_failures()
    results = []
    for name in names:
        workdir = keep / name if keep is not None else None
        found = check_component(name, overrides.get(name), kind=kind, workdir=workdir)
        results += found
        if not as_json:
            out.print(_results_table(found, title=f"textcls plugins check {name}"))
    failed = failures(results)
    if as_json:
        payload = {"passed": not failed, "results": [r.to_dict() for r in results]}
        out.print_json(json.dumps(payload))
    elif failed:
        err.print(_results_table(failed, title="failed checks"))
        err.print(
            Text.assemble(
                (f"{len(failed)} of {len(results)} checks failed", "bold red"),
                f" ({', '.join(sorted({r.component for r in failed}))})",
            )
        )
    else:
        passed = sum(r.status == "passed" for r in results)
        skipped = len(results) - passed
        out.print(
            Text.assemble(
                (f"all {passed} checks passed", "green"), f", {skipped} skipped" if skipped else ""
            )
        )
    if failed:
        raise typer.Exit(1)


def _parse_params(values: list[str]) -> dict[str, dict[str, Any]]:
    """``NAME=JSON`` options into {name: params}; a malformed one is a usage error (exit 2)."""
    parsed: dict[str, dict[str, Any]] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise ConfigError(
                f"--params {value!r}: write NAME=JSON, e.g. bilstm='{{\"hidden_size\": 32}}'"
            )
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"--params {name}: not valid JSON ({exc.msg} at column {exc.colno}): {text!r}"
            ) from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"--params {name}: give a JSON object, e.g. {name}='{{}}'")
        parsed[name] = loaded
    return parsed


def _validate_params(host: Any, overrides: dict[str, dict[str, Any]], kind: str | None) -> None:
    """Bad ``--params`` are a usage error (exit 2), not a failed check.

    Only the components that will be checked (of ``kind``, when given) validate them: ``hf``
    names both a tokenizer and a model, whose params differ.
    """
    from pydantic import ValidationError
    from textcls.testing import sample_params

    for name, given in overrides.items():
        for component in host.find_components(name):
            if kind is not None and component.kind != kind:
                continue
            try:
                component.validate_params(sample_params(component, given))
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                raise ConfigError(f"--params {name} ({component.kind}): {problems}") from None


def _results_table(results: list[Any], *, title: str) -> Table:
    table = Table(title=title)
    for column in ("kind", "component", "check", "status", "s", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        style = STATUS_STYLE[r.status]
        table.add_row(
            # Text cells: a component's name or detail is shown as it is, never as markup
            Text(r.kind),
            Text(r.component),
            Text(r.check),
            Text(r.status, style=style),
            f"{r.seconds:.1f}",
            Text(r.detail),
        )
    return table
