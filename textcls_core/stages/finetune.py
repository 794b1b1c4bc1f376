"""The fine-tuning stage: train the teacher (or a student on hard labels) with Trainer.

Writes a model folder (see ``textcls.model_folder``) and returns its ArtifactRef. Training
is resumable: see ``textcls.training.job``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from textcls.artifacts import ArtifactRef
from textcls.config import PipelineConfig, StudentConfig, TeacherConfig
from textcls.errors import ConfigError
from textcls.version import __version__

Role = Literal["teacher", "student"]


def role_section(config: PipelineConfig, role: Role) -> TeacherConfig | StudentConfig:
    section = getattr(config, role)
    if section is None:
        raise ConfigError(f"{config.source or 'config'}: no {role} section to train")
    return section  # type: ignore[no-any-return]


def data_fingerprint(data_dir: str | Path) -> str:
    return str(json.loads((Path(data_dir) / "fingerprint.json").read_text())["content_sha256"])


def work_key(parts: dict[str, Any]) -> str:
    """Hash of everything that shapes a training result: names its resumable work folder."""
    blob = json.dumps({**parts, "textcls": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def fine_tune(
    config: PipelineConfig,
    role: Role,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    init_from: str | None = None,
    plugins: Any = None,
) -> ArtifactRef:
    """Train ``role``'s model on the ingested data in ``data_dir``; write it to ``out_dir``."""
    import datasets
    from textcls.stages.ingest import read_labels
    from textcls.training.builders import build_model, build_tokenizer
    from textcls.training.job import execute_job, job_ready, prepare_job

    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    section = role_section(config, role)
    train = section.train
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    data_sha = data_fingerprint(data_dir)
    key = work_key(
        {
            "role": role,
            "section": section.model_dump(mode="json"),
            "seed": config.seed,
            "data": data_sha,
            "init_from": init_from,
        }
    )
    work_dir = out_dir.parent / f".{out_dir.name}.work-{key}"
    if not job_ready(work_dir):
        dataset = datasets.load_from_disk(str(data_dir))
        labels = read_labels(data_dir)
        tokenizer, tokenizer_ref = build_tokenizer(
            section.model,
            section.tokenizer,
            lambda: iter(dataset["train"]["text"]),
            train,
            plugins,
            init_from,
        )
        from transformers import set_seed

        set_seed(config.seed)  # the initial weights are part of what the seed fixes
        model = build_model(section.model, tokenizer, labels, plugins, init_from)
        meta = {
            "pipeline": config.name,
            "role": role,
            "model": section.model.model_dump(mode="json"),
            "tokenizer": tokenizer_ref.model_dump(mode="json"),
            "labels": labels,
            "data_sha256": data_sha,
            "init_from": init_from,
            "train": train.model_dump(mode="json"),
            "seed": config.seed,
        }
        job = {
            "meta": meta,
            "train": meta["train"],
            "seed": config.seed,
            "data_dir": str(data_dir),
            "out_dir": str(out_dir),
        }
        prepare_job(work_dir, model, tokenizer, job)
    return execute_job(work_dir, train.processes, out_dir, role)
