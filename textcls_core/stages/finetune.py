"""The fine-tuning stage: train the teacher (or a student on hard labels) with Trainer.

Writes a model folder (see ``textcls.model_folder``) and returns its ArtifactRef. Training
is resumable: see ``textcls.training.job``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textcls.artifact_files import data_fingerprint, read_labels
from textcls.artifacts import ArtifactRef
from textcls.config import PipelineConfig
from textcls.training.job import (
    Role,
    execute_job,
    job_ready,
    job_spec,
    model_meta,
    prepare_job,
    role_section,
    work_dir_for,
)

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost


def fine_tune(
    config: PipelineConfig,
    role: Role,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    init_from: str | None = None,
    plugins: PluginHost | None = None,
) -> ArtifactRef:
    """Train ``role``'s model on the ingested data in ``data_dir``; write it to ``out_dir``."""
    import datasets
    from textcls.training.builders import build_model, build_tokenizer

    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    section = role_section(config, role)
    train = section.train
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    data_sha = data_fingerprint(data_dir)
    work_dir = work_dir_for(
        out_dir,
        {
            "role": role,
            "section": section.model_dump(mode="json"),
            "seed": config.seed,
            "data": data_sha,
            "init_from": init_from,
        },
    )
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
        meta = model_meta(
            config,
            role,
            section,
            tokenizer_ref.model_dump(mode="json"),
            labels,
            data_sha,
            init_from,
        )
        job = job_spec(meta, data_dir, out_dir)
        prepare_job(work_dir, model, tokenizer, job)
    return execute_job(work_dir, train.processes, out_dir, role)
