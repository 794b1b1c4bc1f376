"""What a pipeline run will do: its stages, their cache keys and where their artifacts live.

Orchestration-free, so any orchestrator (the Prefect flow, a notebook) plans the same way.

A stage's key hashes its name, its own config section, the hashes of the artifacts it reads,
the seed and the textcls version, never a model object. The ingest key uses the input files'
sizes and modification times, so new data means a new key. Artifacts are stored by key::

    <output>/<pipeline>/artifacts/<stage>-<key>/      immutable, shared by runs
    <output>/<pipeline>/<run_id>/                     one run: manifest.json + links
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textcls.config import PipelineConfig, QuantizeStep
from textcls.data.files import expand_inputs
from textcls.data.fingerprint import source_stats
from textcls.errors import ConfigError
from textcls.version import __version__

STAGE_ORDER = (
    "ingest",
    "pretrain",
    "teacher",
    "student",
    "quantize",
    "evaluate",
    "register",
)


def stage_key(stage: str, section: Any, upstream: dict[str, str], seed: int) -> str:
    """The cache key of one stage run."""
    blob = json.dumps(
        {
            "stage": stage,
            "section": section,
            "upstream": upstream,
            "seed": seed,
            "textcls": __version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def input_stats(config: PipelineConfig, plugins: Any) -> list[dict[str, Any]]:
    """Size and mtime of every local input file of the data section (cheap to read)."""
    component = plugins.component("data_source", config.data.source.name)
    if not component.metadata.get("local_files", False):
        return []
    files: list[str] = []
    for name in ("train", "validation", "test"):
        value = getattr(config.data, name)
        if value is not None:
            files += expand_inputs(value, f"data.{name}")
    return source_stats(files)


def enabled_stages(config: PipelineConfig) -> list[str]:
    stages = ["ingest"]
    if config.pretrain is not None:
        stages.append("pretrain")
    if config.teacher is not None:
        stages.append("teacher")
    if config.student is not None:
        stages.append("student")
    if config.quantize:
        stages.append("quantize")
    if config.teacher is not None or config.student is not None:
        stages.append("evaluate")
        if config.registry is not None:
            stages.append("register")
    return stages


def quantize_variants(config: PipelineConfig) -> list[tuple[str, QuantizeStep, str]]:
    """(variant name, step, target) for every quantize step and target that exists."""
    variants: list[tuple[str, QuantizeStep, str]] = []
    for step in config.quantize:
        for target in step.targets:
            if getattr(config, target) is None:
                raise ConfigError(
                    f"quantize: step {step.name!r} targets {target!r}, but the "
                    f"pipeline has no {target} section"
                )
            variants.append((f"{target}-{step.name}", step, target))
    return variants


def select_stages(stages: list[str], only: str | None, start_from: str | None) -> set[str]:
    """The stages that may run; the others must come from the cache."""
    for name, value in (("--only", only), ("--from", start_from)):
        if value is not None and value not in stages:
            raise ConfigError(
                f"{name} {value}: not a stage of this pipeline; its stages are {', '.join(stages)}"
            )
    if only is not None:
        return {only}
    if start_from is not None:
        return set(stages[stages.index(start_from) :])
    return set(stages)


_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_folder_name(value: str, what: str) -> str:
    """A run or sweep id names one folder: letters, digits, ``.``, ``_``, ``-``; no paths.

    ``../../x`` or ``/tmp/x`` would put a run outside the pipeline's output folder.
    """
    if not _FOLDER_NAME.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r}: must be one folder name of letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (at most 128 characters); not a path, not empty"
        )
    return value


@dataclass
class RunLayout:
    """Folders of one pipeline run."""

    root: Path
    pipeline: str
    run_id: str
    artifacts: Path = field(init=False)
    run_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        check_folder_name(self.run_id, "run id")
        self.artifacts = self.root / self.pipeline / "artifacts"
        self.run_dir = self.root / self.pipeline / self.run_id

    def artifact(self, stage: str, key: str) -> Path:
        return self.artifacts / f"{stage}-{key}"

    def link(self, name: str, target: Path) -> None:
        """``run_dir/name`` -> the shared artifact (a relative symlink)."""
        link = self.run_dir / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path(_relative(target, link.parent)))


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())
