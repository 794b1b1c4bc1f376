"""What a pipeline run will do: its stages, their cache keys and where their artifacts live.

Orchestration-free, so any orchestrator (the Prefect flow, a notebook) plans the same way:
``plan_stages`` lists the run's steps as ``PlannedStage`` records, each naming the artifacts it
reads by the record name of the step that makes them, and the flow runs them in one loop.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textcls.config import (
    PipelineConfig,
    QuantizeStep,
    label_issue_encoder,
    label_issue_teacher,
)
from textcls.contracts import DataSourceCapabilities
from textcls.data.files import expand_inputs
from textcls.data.fingerprint import source_stats
from textcls.data.label_issues import resolved_filter
from textcls.errors import ConfigError
from textcls.version import __version__

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost


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


def input_stats(config: PipelineConfig, plugins: PluginHost) -> list[dict[str, Any]]:
    """Size and mtime of every local input file of the data section (cheap to read)."""
    component = plugins.component("data_source", config.data.source.name)
    if not component.capabilities_as(DataSourceCapabilities).local_files:
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
        if config.evaluate.calibration != "none":
            stages.append("calibrate")
        stages.append("evaluate")
        if config.registry is not None:
            stages.append("register")
    return stages


def quantize_variants(config: PipelineConfig) -> list[tuple[str, QuantizeStep, str]]:
    """(variant name, step, target) for every quantize step and target.

    Config validation has checked that every target has its section.
    """
    return [
        (f"{target}-{step.name}", step, target)
        for step in config.quantize
        for target in step.targets
    ]


@dataclass(frozen=True)
class PlannedStage:
    """One step of a run: which stage runs, on what, and where the run folder links it.

    ``key_section`` (default: ``section``), or a callable returning it, is what the key hashes.
    ``needs`` and ``paths`` name upstream steps by record name; their artifacts are known only
    once those steps ran, so the runner resolves them: ``needs`` (role -> record) puts each
    upstream artifact's hash into this step's cache key, ``paths`` (task argument -> record,
    or -> {name: record} for a mapping argument) hands the task the upstream folders.
    """

    stage: str
    name: str
    section: Any
    link: str | None
    needs: Mapping[str, str] = field(default_factory=dict)
    paths: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    key_section: Any = None

    def key(self, records: Mapping[str, Mapping[str, Any]], seed: int) -> str:
        """The cache key, from this step's section and the hashes of what it reads."""
        upstream = {role: records[name]["ref"]["sha256"] for role, name in self.needs.items()}
        section = self.section if self.key_section is None else self.key_section
        if callable(section):
            section = section()
        return stage_key(self.stage, section, upstream, seed)

    def arguments(self, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The task's keyword arguments: known params plus the upstream artifact folders."""

        def path(name: str) -> str:
            return str(records[name]["ref"]["path"])

        resolved: dict[str, Any] = dict(self.params)
        for argument, source in self.paths.items():
            resolved[argument] = (
                path(source)
                if isinstance(source, str)
                else {variant: path(name) for variant, name in source.items()}
            )
        return resolved


def check_runnable(config: PipelineConfig) -> None:
    """What a whole pipeline run needs beyond a valid file.

    A distilling student needs the pipeline's teacher section (the ``distill`` stage function
    itself also takes any teacher folder, so the config alone allows it). ``textcls config
    validate`` and ``textcls run`` check this before anything starts.
    """
    student = config.student
    if student is not None and student.distill is not None and config.teacher is None:
        raise ConfigError(
            "student.distill needs a teacher section to learn from; add teacher: or remove "
            "student.distill to train the student on the labels alone"
        )


def _ingest_key(
    config: PipelineConfig, dump: dict[str, Any], plugins: PluginHost
) -> dict[str, Any]:
    data = dict(dump["data"])
    if data.get("label_issues_filter") == "auto":
        # the default: the keys of pipelines that never set it stay what they were
        del data["label_issues_filter"]
    key = {
        "data": data,
        "inputs": input_stats(config, plugins),
        "label_issue_encoder": label_issue_encoder(config),
    }
    teacher = label_issue_teacher(config)
    if teacher is not None:  # absent otherwise: other pipelines' keys stay what they were
        key["label_issue_teacher"] = teacher
        if config.data.label_issues_filter == "auto":
            # the rule `auto` stands for with the teacher: a release that changes it re-checks
            key["label_issue_filter"] = resolved_filter("auto", teacher=True)
    return key


def plan_stages(
    config: PipelineConfig,
    layout: RunLayout,
    plugins: PluginHost,
    previous_labels: list[str] | None = None,
) -> list[PlannedStage]:
    """Every step of one run of ``config``, in the order they run."""
    check_runnable(config)
    dump = config.model_dump(mode="json")
    common = {"config": dump, "base_dir": str(config.base_dir)}
    data = {"data": "ingest"}
    plan = [
        PlannedStage(
            "ingest",
            "ingest",
            dump["data"],
            link="data",
            # Not keyed on the previous run's labels: they only keep ids stable, and new labels
            # come with new data, which the input stats already change.
            # (a callable: reading the input files' stats belongs to the ingest step, whose
            # errors then name it). With data.label_issues_model: encoder the teacher's
            # pretrained checkpoint decides which rows are flagged (and dropped), so it is keyed;
            # with teacher, the whole teacher section (model, tokenizer, train recipe) is.
            key_section=lambda: _ingest_key(config, dump, plugins),
            params={**common, "previous_labels": previous_labels},
        )
    ]
    pretrain_target = config.pretrain.target if config.pretrain is not None else None
    if config.pretrain is not None:
        plan.append(
            PlannedStage(
                "pretrain",
                "pretrain",
                dump["pretrain"],
                link="pretrain",
                key_section={"pretrain": dump["pretrain"], "target": dump[config.pretrain.target]},
                needs=data,
                paths={"data_dir": "ingest"},
                params=common,
            )
        )
    if config.teacher is not None:
        from_pretrain = pretrain_target == "teacher"
        plan.append(
            PlannedStage(
                "teacher",
                "teacher",
                dump["teacher"],
                link="teacher",
                needs={**data, **({"pretrain": "pretrain"} if from_pretrain else {})},
                paths={
                    "data_dir": "ingest",
                    **({"init_from": "pretrain"} if from_pretrain else {}),
                },
                params={**common, **({} if from_pretrain else {"init_from": None})},
            )
        )
    if config.student is not None:
        from_pretrain = config.student.init == "pretrain"
        distilled = config.student.distill is not None
        plan.append(
            PlannedStage(
                "student",
                "student",
                dump["student"],
                link="student",
                needs={
                    **data,
                    **({"pretrain": "pretrain"} if from_pretrain else {}),
                    **({"teacher": "teacher"} if distilled else {}),
                },
                paths={
                    "data_dir": "ingest",
                    **({"init_from": "pretrain"} if from_pretrain else {}),
                    **({"teacher_dir": "teacher"} if distilled else {}),
                },
                params={
                    **common,
                    **({} if from_pretrain else {"init_from": None}),
                    **({} if distilled else {"teacher_dir": None}),
                    "cache_dir": str(layout.artifacts / "teacher-logits"),
                },
            )
        )
    variants = {role: role for role in ("teacher", "student") if getattr(config, role)}
    for variant, step, target in quantize_variants(config):
        step_dump = step.model_dump(mode="json")
        name = f"quantize {variant}"
        plan.append(
            PlannedStage(
                "quantize",
                name,
                step_dump,
                link=f"quantized/{variant}",
                needs={**data, "model": target},
                paths={"model_dir": target, "data_dir": "ingest"},
                params={"step": step_dump},
            )
        )
        variants[variant] = name
    if variants and config.evaluate.calibration != "none":
        variants = _calibrate_steps(plan, variants, config.evaluate.calibration)
    if variants:
        plan.append(
            PlannedStage(
                "evaluate",
                "evaluate",
                dump["evaluate"],
                link="eval",
                needs={**data, **variants},
                paths={"data_dir": "ingest", "variants": variants},
                params={
                    "pipeline": config.name,
                    "split": config.evaluate.split,
                    "baselines": config.evaluate.baselines,
                    "seed": config.seed,
                    "measure_cost": config.evaluate.measure_cost,
                    "explanations": config.evaluate.explanations,
                },
            )
        )
        if config.registry is not None:
            plan.append(
                PlannedStage(
                    "register",
                    "register",
                    dump["registry"],
                    link=None,
                    paths={"data_dir": "ingest", "eval_dir": "evaluate", "variants": variants},
                    params=common,
                )
            )
    return plan


def _calibrate_steps(
    plan: list[PlannedStage], variants: dict[str, str], method: str
) -> dict[str, str]:
    """One calibrate step per variant; returns variant -> the step whose folder to evaluate.

    Calibration writes a new folder (cached stage outputs are never edited), so evaluation and
    registration read the calibrated folders, and ``textcls predict`` on a registered version
    gets the same probabilities as the report.
    """
    calibrated = {}
    for variant, record in variants.items():
        name = f"calibrate {variant}"
        plan.append(
            PlannedStage(
                "calibrate",
                name,
                {"method": method},
                link=f"calibrated/{variant}",
                needs={"data": "ingest", "model": record},
                paths={"model_dir": record, "data_dir": "ingest"},
                params={"method": method},
            )
        )
        calibrated[variant] = name
    return calibrated


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
