"""Serve textcls's deployments from one machine, without a work pool.

    python deployments/serve.py [--pipeline NAME=CONFIG ...] [--watch-interval S]

Reads ``deployments/prefect.yaml`` (the file ``prefect deploy`` uses), so what is served here
is what a work pool would run. ``--pipeline`` replaces the declared pipelines; the interval and
trigger-window options exist for tests and demos. Before serving, it creates the per-pipeline
global concurrency limits that keep the retrain and nightly deployments from running one
pipeline twice at once. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEC = Path(__file__).with_name("prefect.yaml")


def load_flow(entrypoint: str) -> Any:
    """``flows/retrain.py:textcls_retrain`` -> the flow object of ``textcls.flows.retrain``.

    Entrypoints name files of the project checkout (what a work pool's worker loads); served
    from this process, the same flows come from the installed ``textcls`` package.
    """
    path, _, name = entrypoint.partition(":")
    module = importlib.import_module("textcls." + path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def build_deployments(
    spec: dict[str, Any],
    pipelines: dict[str, str] | None = None,
    watch_interval_s: float | None = None,
    trigger_within_s: float | None = None,
    retry_after_s: float | None = None,
) -> list[Any]:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.events import DeploymentEventTrigger

    deployments = []
    for item in spec["deployments"]:
        parameters = dict(item.get("parameters") or {})
        if pipelines is not None and "pipelines" in parameters:
            parameters["pipelines"] = pipelines
        if retry_after_s is not None and "retry_after_s" in parameters:
            parameters["retry_after_s"] = retry_after_s
        options: dict[str, Any] = {}
        for schedule in item.get("schedules") or []:
            if "interval" in schedule:
                options["interval"] = watch_interval_s or schedule["interval"]
            elif "cron" in schedule:
                options["cron"] = schedule["cron"]
        triggers = []
        for trigger in item.get("triggers") or []:
            fields = {k: v for k, v in trigger.items() if k != "type"}
            if trigger_within_s is not None:
                fields["within"] = trigger_within_s
            fields["within"] = timedelta(seconds=fields.get("within", 0))
            triggers.append(DeploymentEventTrigger(**fields))
        limit = item.get("concurrency_limit")
        if isinstance(limit, dict):
            options["concurrency_limit"] = ConcurrencyLimitConfig(**limit)
        elif limit is not None:
            options["concurrency_limit"] = limit
        deployments.append(
            load_flow(item["entrypoint"]).to_deployment(
                name=item["name"],
                description=item.get("description"),
                parameters=parameters,
                triggers=triggers or None,
                **options,
            )
        )
    return deployments


def declared_pipelines(spec: dict[str, Any]) -> dict[str, str]:
    for item in spec["deployments"]:
        if "pipelines" in (item.get("parameters") or {}):
            return dict(item["parameters"]["pipelines"])
    return {}


def ensure_pipeline_limits(names: list[str]) -> None:
    """One global concurrency limit of 1 per pipeline (see flows/retrain.py)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from textcls.data_watch import state_key

    with get_client(sync_client=True) as client:
        for name in names:
            limit = state_key("textcls-pipeline", name)
            try:
                client.read_global_concurrency_limit_by_name(limit)
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=limit, limit=1)
                    )
                except ObjectAlreadyExists:
                    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SPEC, help="the prefect.yaml to read")
    parser.add_argument(
        "--pipeline",
        action="append",
        default=None,
        metavar="NAME=CONFIG",
        help="declare a pipeline (repeatable; replaces the file's list)",
    )
    parser.add_argument("--watch-interval", type=float, default=None, help="seconds")
    parser.add_argument("--trigger-within", type=float, default=None, help="seconds")
    parser.add_argument("--retry-after", type=float, default=None, help="seconds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from prefect import serve

    args = parse_args(argv)
    spec = yaml.safe_load(args.file.read_text())
    pipelines = None
    if args.pipeline:
        pipelines = {}
        for item in args.pipeline:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise SystemExit(f"--pipeline {item!r}: expected NAME=CONFIG")
            pipelines[name] = str(Path(path).resolve())
    names = list(pipelines or declared_pipelines(spec))
    ensure_pipeline_limits(names)
    deployments = build_deployments(
        spec, pipelines, args.watch_interval, args.trigger_within, args.retry_after
    )
    print(f"serving {', '.join(d.name for d in deployments)} for {', '.join(names)}", flush=True)
    serve(*deployments)


if __name__ == "__main__":
    main()
