"""Student initialisation from a subset of the teacher's layers (DistilBERT style).

The student keeps the teacher's architecture and width with fewer layers: the embeddings, the
chosen encoder layers (spread evenly by default), the pooler and the classifier are copied.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from textcls.errors import ConfigError


def spread_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """``student_layers`` indices from ``range(teacher_layers)``, first and last included."""
    if student_layers >= teacher_layers:
        return list(range(teacher_layers))
    return [int(i) for i in np.linspace(0, teacher_layers - 1, student_layers).round()]


def _encoder_layers(model: Any) -> Any:
    base = getattr(model, model.base_model_prefix, None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None:
        raise ConfigError(
            f"student.init: teacher-layers needs a BERT-family teacher (encoder.layer); the "
            f"teacher is {type(model).__name__}"
        )
    return layers


def student_from_teacher_layers(
    teacher: Any, student_params: dict[str, Any], layers: list[int] | None
) -> Any:
    """A copy of ``teacher`` keeping only ``layers`` of its encoder."""
    teacher_layers = _encoder_layers(teacher)
    # the encoder's own config: a wrapper (the hf model's conv or attention-pool head) has
    # no hidden_size of its own
    width = getattr(teacher, teacher.base_model_prefix).config.hidden_size
    wanted_width = student_params.get("hidden_size", width)
    if wanted_width != width:
        raise ConfigError(
            f"student.init: teacher-layers keeps the teacher's width ({width}); set "
            f"student.model.params.hidden_size: {width}, or use init: scratch"
        )
    count = len(layers) if layers else int(student_params.get("num_layers", 0)) or 1
    chosen = layers or spread_layers(len(teacher_layers), count)
    bad = [i for i in chosen if not 0 <= i < len(teacher_layers)]
    if bad:
        raise ConfigError(
            f"student.init_layers: {bad} out of range; the teacher has "
            f"{len(teacher_layers)} layers (0 to {len(teacher_layers) - 1})"
        )
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(chosen)
    nested = getattr(config, "encoder", None)
    if isinstance(nested, dict):  # a wrapper that builds its encoder from a stored config
        nested["num_hidden_layers"] = len(chosen)
    student = type(teacher)(config)
    state = teacher.state_dict()
    prefix = f"{teacher.base_model_prefix}.encoder.layer."
    mapped = {}
    for key, value in state.items():
        if key.startswith(prefix):
            index, rest = key[len(prefix) :].split(".", 1)
            if int(index) in chosen:
                mapped[f"{prefix}{chosen.index(int(index))}.{rest}"] = value
        else:
            mapped[key] = value
    missing, unexpected = student.load_state_dict(mapped, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ConfigError(
            f"student.init: teacher-layers could not map the weights "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    student.config.textcls_teacher_layers = chosen
    return student


def copy_teacher_embeddings(teacher: Any, student: Any) -> None:
    """Start the student's token embeddings from the teacher's (same tokenizer, same width)."""
    import torch

    source = teacher.get_input_embeddings().weight
    target = student.get_input_embeddings().weight
    if tuple(source.shape) != tuple(target.shape):
        raise ConfigError(
            f"student.init: teacher-embeddings needs the student's embedding matrix to match the "
            f"teacher's {tuple(source.shape)} (vocabulary x width), but it is "
            f"{tuple(target.shape)}; set student.model.params.embedding_dim: {source.shape[1]}"
        )
    with torch.no_grad():
        target.copy_(source)
