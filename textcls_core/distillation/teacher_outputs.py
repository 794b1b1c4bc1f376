"""Teacher logits, computed once per (teacher, text) and cached on disk by content.

Strategies that need only logits never run the teacher inside the student's training loop: the
teacher scores the transfer set once, in length-sorted batches, before training starts.

The cache holds one store per (teacher artifact, ``max_length``):
``<teacher sha>-<max_length>.safetensors`` with ``keys`` (the first 8 bytes of each text's
SHA-256, as int64) and ``logits`` (one row per key). A request scores only the texts the store
lacks (each distinct text once, so the duplicates that augmentation makes cost nothing), then
rewrites the store with the new rows (temporary file, then rename: a crash leaves the old store
whole). A 100k-text transfer set costs one teacher pass; a rerun with the same teacher and
texts, or a larger transfer set that contains them, scores only what is new. 64-bit keys make a
collision among a million texts about a 1 in 30 million chance.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from textcls.artifacts import directory_sha256
from textcls.length_batches import length_sorted_batches

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

log = logging.getLogger("textcls.distill")

#: Texts per teacher batch (sorted by length first, so little padding is computed).
BATCH_SIZE = 64


def texts_sha256(texts: Sequence[str]) -> str:
    """One digest of a list of texts, in order."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def text_key(text: str) -> int:
    """A text's cache key: the first 8 bytes of its SHA-256 as a signed 64-bit integer."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little", signed=True)


@dataclass
class TeacherPass:
    """What scoring a transfer set cost: reported in the student's textcls.json."""

    texts: int  # in the transfer set
    distinct: int  # distinct texts among them
    scored: int  # scored by the teacher now (the rest came from the cache)
    seconds: float  # loading the teacher and scoring ``scored`` texts
    texts_per_s: float | None  # scored / seconds, when anything was scored

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@torch.no_grad()
def teacher_logits(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    batch_size: int = BATCH_SIZE,
) -> torch.Tensor:
    """Logits (N, C) for ``texts``, batched by length so little padding is computed."""
    model.eval()
    out: torch.Tensor | None = None
    for index in length_sorted_batches(texts, batch_size):
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


def cache_path(cache_dir: str | Path, teacher_sha: str, max_length: int) -> Path:
    """The store of one teacher's logits at one ``max_length``."""
    return Path(cache_dir) / f"{teacher_sha[:16]}-{max_length}.safetensors"


def _read_store(path: Path) -> dict[int, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        return {}
    try:
        stored = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        log.warning("teacher-logit cache %s is unreadable (%s); scoring afresh", path, exc)
        return {}
    return dict(zip(stored["keys"].tolist(), stored["logits"], strict=True))


def _write_store(path: Path, rows: dict[int, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    keys = torch.tensor(list(rows), dtype=torch.int64)
    logits = torch.stack(list(rows.values())).contiguous()
    save_file({"keys": keys, "logits": logits}, str(tmp))
    os.replace(tmp, path)


def cached_teacher_logits(
    teacher_dir: str | Path,
    texts: Sequence[str],
    cache_dir: str | Path,
    *,
    max_length: int,
    plugins: PluginHost | None = None,
    teacher_sha: str | None = None,
) -> tuple[torch.Tensor, TeacherPass]:
    """Teacher logits (N, C) for ``texts``; only texts the cache lacks are scored.

    ``teacher_sha`` (the teacher folder's ``directory_sha256``) saves hashing the folder again
    when the caller has it.
    """
    from textcls.model_folder import load_model_folder

    sha = teacher_sha or directory_sha256(teacher_dir)
    path = cache_path(cache_dir, sha, max_length)
    keys = [text_key(t) for t in texts]
    store = _read_store(path)
    missing: dict[int, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in store:
            missing.setdefault(key, text)
    started = time.perf_counter()
    if missing:
        loaded = load_model_folder(teacher_dir, plugins=plugins)
        scored = teacher_logits(
            loaded.model, loaded.tokenizer, list(missing.values()), max_length=max_length
        )
        store.update(zip(missing, scored, strict=True))
        _write_store(path, store)
    seconds = time.perf_counter() - started
    log.info(
        "teacher logits: %d texts, %d scored in %.1fs, the rest from %s",
        len(texts),
        len(missing),
        seconds,
        path,
    )
    logits = torch.stack([store[k] for k in keys]) if keys else torch.empty(0, 0)
    stats = TeacherPass(
        texts=len(texts),
        distinct=len(set(keys)),
        scored=len(missing),
        seconds=round(seconds, 3),
        texts_per_s=round(len(missing) / seconds, 1) if missing and seconds > 0 else None,
    )
    return logits, stats
