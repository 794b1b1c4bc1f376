"""Teacher logits, computed once per (teacher artifact, transfer set) and cached on disk.

Strategies that need only logits never run the teacher inside the student's training loop:
the teacher scores the whole transfer set once, in length-sorted batches, and the result is
stored as ``<teacher sha>-<transfer sha>.safetensors`` in the cache folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from textcls.artifacts import directory_sha256

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

log = logging.getLogger("textcls.distill")


def texts_sha256(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


@torch.no_grad()
def teacher_logits(
    model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int = 64
) -> torch.Tensor:
    """Logits (N, C) for ``texts``, batched by length so little padding is computed."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: torch.Tensor | None = None
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        encoded = tokenizer(
            [texts[i] for i in index],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        logits = model(**encoded).logits.float()
        if out is None:
            out = torch.empty(len(texts), logits.shape[-1])
        out[torch.tensor(index)] = logits
    assert out is not None, "no texts to score"
    return out


def cached_teacher_logits(
    teacher_dir: str | Path,
    texts: Sequence[str],
    cache_dir: str | Path,
    *,
    max_length: int,
    plugins: PluginHost | None = None,
) -> torch.Tensor:
    """Teacher logits for ``texts``, from the cache when this teacher already scored them."""
    from safetensors.torch import load_file, save_file
    from textcls.model_folder import load_model_folder

    key = f"{directory_sha256(teacher_dir)[:16]}-{texts_sha256(texts)[:16]}-{max_length}"
    path = Path(cache_dir) / f"{key}.safetensors"
    if path.is_file():
        log.info("teacher logits from cache %s", path)
        return load_file(str(path))["logits"]
    loaded = load_model_folder(teacher_dir, plugins=plugins)
    logits = teacher_logits(loaded.model, loaded.tokenizer, texts, max_length=max_length)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    save_file({"logits": logits.contiguous()}, str(tmp))
    os.replace(tmp, path)
    return logits
