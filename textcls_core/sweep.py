"""Sweeps: one pipeline file, a grid of overrides, one pipeline run per combination.

Orchestration-free: the grid is parsed and expanded here, every variant's config is validated
before anything runs (a bad value names its grid key and the variant), and the summary is
built from the variants' manifests and evaluation reports. The Prefect side (``flows/sweep.py``)
only fans the variants out.

A grid option reads ``dotted.key=v1,v2,...``; each value is parsed as YAML, like ``--set``.
Commas inside brackets or quotes do not split, so ``student.model.params.kernel_sizes=[2,3],[3,4]``
is two values.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from textcls.artifact_files import EVAL_REPORT_JSON
from textcls.config import PipelineConfig, load_config
from textcls.errors import ConfigError

MAX_VARIANTS = 200


@dataclass(frozen=True)
class SweepVariant:
    """One combination of grid values; ``overrides`` are ``--set`` strings."""

    index: int
    values: dict[str, str] = field(default_factory=dict)

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.values.items()]

    @property
    def label(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.values.items())

    @property
    def name(self) -> str:
        return f"v{self.index:03d}"


def split_values(text: str) -> list[str]:
    """Split on commas that are outside brackets, braces and quotes."""
    values: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return values


def parse_grid(specs: list[str]) -> dict[str, list[str]]:
    """``["a.b=1,2", "c=x,y"]`` to ``{"a.b": ["1", "2"], "c": ["x", "y"]}``, checked."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, rest = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"--grid {spec!r}: expected dotted.key=v1,v2,..., "
                "e.g. --grid student.train.learning_rate=1e-3,3e-3"
            )
        if key in grid:
            raise ConfigError(f"--grid {spec!r}: {key} is already in the grid; give it once")
        values = split_values(rest)
        if any(not value for value in values):
            raise ConfigError(f"--grid {spec!r}: empty value; separate values with single commas")
        for value in values:
            try:
                yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise ConfigError(f"--grid {spec!r}: value {value!r} is not valid YAML") from exc
        if len(set(values)) != len(values):
            raise ConfigError(f"--grid {spec!r}: a value is listed twice")
        grid[key] = values
    if not grid:
        raise ConfigError("a sweep needs at least one --grid key=v1,v2,...")
    return grid


def expand_grid(grid: dict[str, list[str]]) -> list[SweepVariant]:
    """Every combination, in the order the keys and values were given."""
    count = 1
    for values in grid.values():
        count *= len(values)
    if count > MAX_VARIANTS:
        raise ConfigError(
            f"the grid has {count} combinations, more than {MAX_VARIANTS}; "
            "sweep fewer keys or values at a time"
        )
    keys = list(grid)
    return [
        SweepVariant(index=i, values=dict(zip(keys, combo, strict=True)))
        for i, combo in enumerate(itertools.product(*(grid[k] for k in keys)))
    ]


def validate_variants(
    config_path: str | Path, overrides: list[str], variants: list[SweepVariant]
) -> list[PipelineConfig]:
    """Load every variant's config now, so a bad value fails before any training starts."""
    configs = []
    for variant in variants:
        try:
            configs.append(load_config(config_path, [*overrides, *variant.overrides]))
        except ConfigError as exc:
            raise ConfigError(f"sweep variant {variant.name} ({variant.label}): {exc}") from None
    return configs


def variant_rows(variant: SweepVariant, outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per evaluated model of a finished variant (one 'failed' row otherwise)."""
    base = {"variant": variant.name, **variant.values}
    if outcome.get("status") != "completed":
        return [{**base, "model": None, "status": "failed", "error": outcome.get("error", "")}]
    report_path = Path(outcome["run_dir"]) / "eval" / EVAL_REPORT_JSON
    if not report_path.is_file():
        return [{**base, "model": None, "status": "completed", "run_id": outcome["run_id"]}]
    report = json.loads(report_path.read_text())
    rows = []
    for model, result in report["variants"].items():
        quality, cost = result["quality"], result.get("cost") or {}
        rows.append(
            {
                **base,
                "model": model,
                "status": "completed",
                "run_id": outcome["run_id"],
                "accuracy": quality["accuracy"],
                "macro_f1": quality["macro_f1"],
                # what the winner is chosen on (the report's own choice reads validation too)
                "validation_accuracy": (result.get("selection") or {}).get("accuracy"),
                "validation_macro_f1": (result.get("selection") or {}).get("macro_f1"),
                "throughput": cost.get("throughput"),
                "size_mb": cost.get("size_mb"),
            }
        )
    return rows


def summarize(
    sweep_id: str,
    pipeline: str,
    grid: dict[str, list[str]],
    variants: list[SweepVariant],
    outcomes: list[dict[str, Any]],
    metric: str = "accuracy",
) -> dict[str, Any]:
    """Rows for every variant and model, and the best completed row by validation ``metric``.

    The winner is chosen on validation; its test ``metric`` is reported, never compared.
    """
    rows = [
        row
        for variant, outcome in zip(variants, outcomes, strict=True)
        for row in variant_rows(variant, outcome)
    ]
    chosen_by = f"validation_{metric}"
    scored = [row for row in rows if row.get(chosen_by) is not None]
    best = max(scored, key=lambda row: row[chosen_by]) if scored else None
    return {
        "sweep_id": sweep_id,
        "pipeline": pipeline,
        "grid": grid,
        "metric": metric,
        "selected_on": "validation",
        "variants": [
            {"name": v.name, "values": v.values, **o}
            for v, o in zip(variants, outcomes, strict=True)
        ],
        "rows": rows,
        "best": best,
        "failed": sum(1 for o in outcomes if o.get("status") != "completed"),
    }


def render_summary(summary: dict[str, Any]) -> str:
    """A markdown table of the sweep, best row first in the prose."""
    keys = list(summary["grid"])
    lines = [f"# Sweep {summary['sweep_id']} of {summary['pipeline']}", ""]
    best = summary["best"]
    if best is not None:
        chosen = ", ".join(f"{k}={best[k]}" for k in keys)
        lines.append(
            f"Best by validation {summary['metric']}: **{best['model']}** of "
            f"{best['variant']} ({chosen}), validation {summary['metric']} "
            f"{best['validation_' + summary['metric']]:.4f}, test {summary['metric']} "
            f"{_number(best.get(summary['metric']), 4)} (reported, not compared)."
        )
    if summary["failed"]:
        lines.append(f"{summary['failed']} variant(s) failed; their errors are below.")
    lines += [
        "",
        "| variant | " + " | ".join(keys) + " | model | accuracy | macro-F1 | ex/s | MB |",
        "|---|" + "---|" * len(keys) + "---|---:|---:|---:|---:|",
    ]
    for row in summary["rows"]:
        cells = [row["variant"], *(str(row[k]) for k in keys), str(row["model"] or "-")]
        if row["status"] == "failed":
            cells += ["failed", "", "", ""]
        else:
            cells += [
                _number(row.get("accuracy"), 4),
                _number(row.get("macro_f1"), 4),
                _number(row.get("throughput"), 1),
                _number(row.get("size_mb"), 2),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    errors = [v for v in summary["variants"] if v.get("status") != "completed"]
    if errors:
        lines += ["", "## Errors", ""]
        lines += [f"- {v['name']}: {v.get('error', '')}" for v in errors]
    return "\n".join(lines) + "\n"


def _number(value: Any, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"
