"""Build the DistillationTrainer for a job: distiller, teacher logits, teacher, projections."""

from __future__ import annotations

import dataclasses
from typing import Any

from textcls.distillation.trainer import DistillationTrainer, hidden_sizes


def distillation_trainer(spec: dict[str, Any], common: dict[str, Any], student: Any) -> Any:
    """``spec`` is job.json's ``distill`` section; ``common`` the usual Trainer arguments."""
    from safetensors.torch import load_file
    from textcls.model_folder import load_model_folder
    from textcls.plugin_manager import get_plugins

    distiller = (
        get_plugins()
        .component("distiller", spec["distiller"]["name"])
        .create(spec["distiller"]["params"])
    )
    logits = load_file(spec["logits_file"])["logits"]
    teacher_model = None
    extra = None
    if spec.get("teacher_in_loop"):
        teacher = load_model_folder(spec["teachers"][0])
        teacher_model = teacher.model
        if hasattr(distiller, "modules"):
            extra = distiller.modules(
                hidden_sizes(student.model, student.tokenizer),
                hidden_sizes(teacher.model, teacher.tokenizer),
            )
    args = dataclasses.replace(common["args"], remove_unused_columns=False)
    return DistillationTrainer(
        **{**common, "args": args},
        distiller=distiller,
        teacher_logits=logits,
        teacher_model=teacher_model,
        extra_modules=extra,
    )
