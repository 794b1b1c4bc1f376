"""`textcls plugins`: what is loaded, and each component's params."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from textcls import get_plugins
from textcls.flows.cli.console import (
    JsonOption,
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
        from textcls.components import ComponentRegistry

        everything = ComponentRegistry("component")
        for registry in host.registries.values():
            for component in registry:
                if component.name not in everything:
                    everything.add(component)
        raise UnknownComponentError(everything.unknown_message(name))
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
            f"[bold]{component.name}[/] ({component.kind}, plugin {component.plugin})", markup=True
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
