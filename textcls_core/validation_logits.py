"""Validation logits predicted once per model, kept in its folder, reused downstream.

Three stages read the same model's logits on the validation split: the training job (the
model card's validation metrics), calibration (the temperature is fitted on them) and the
evaluation (the best variant is chosen on them). Each predicting them itself cost a full
validation pass apiece (seconds for a transformer teacher; BENCHMARKS.md "Where the time
goes"). So the training job predicts validation once, through the ``Predictor`` with the batch
size calibration and evaluation use (the same batches, the same code, hence the same numbers),
and stores the logits in the model folder as ``validation_logits.npz``. Readers take them only
when the key stored beside them matches the one they compute:

- every file that shapes the logits, by content (weights, config, tokenizer files: all but
  ``textcls.json``, the model card, the artifact marker and this file), so a calibrated folder,
  whose files are hard links to its source's, matches, and a changed or re-exported model
  (an int8 ONNX folder) does not;
- the maximum length (in ``textcls.json``: it truncates the texts), and the batch size;
- the texts, in order.

A mismatch or a missing or unreadable file means predicting as before; nothing fails on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from textcls.artifacts import MARKER, file_sha256

if TYPE_CHECKING:
    from textcls.predictor import Predictor

log = logging.getLogger("textcls.validation_logits")

LOGITS_FILE = "validation_logits.npz"
#: The batch size calibration and evaluation score validation at (length-sorted batches: the
#: batch size decides the padding, so the logits' last bits).
BATCH_SIZE = 64
#: Files that do not change a model's logits: metadata, the model card, the marker, this cache.
_NOT_KEYED = frozenset({"textcls.json", "README.md", MARKER, LOGITS_FILE})


def logits_key(folder: str | Path, texts: Sequence[str], batch_size: int, max_length: int) -> str:
    """The key of ``folder``'s logits on ``texts`` at ``batch_size`` and ``max_length``."""
    root = Path(folder)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in _NOT_KEYED):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file_sha256(file).encode() + b"\0")
    digest.update(json.dumps([batch_size, max_length]).encode() + b"\0")
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def write_logits(
    folder: str | Path,
    texts: Sequence[str],
    logits: np.ndarray,
    *,
    batch_size: int,
    max_length: int,
) -> None:
    """Store ``logits`` (as the Predictor computed them on ``texts``) in ``folder``.

    Call it once the model files are in place: the key hashes them.
    """
    key = logits_key(folder, texts, batch_size, max_length)
    with open(Path(folder) / LOGITS_FILE, "wb") as handle:
        np.savez(handle, logits=np.asarray(logits, dtype=np.float32), key=np.asarray(key))


def cached_logits(
    folder: str | Path, texts: Sequence[str], *, batch_size: int, max_length: int
) -> np.ndarray | None:
    """The stored logits when their key matches ``folder``'s files and ``texts``; else None."""
    path = Path(folder) / LOGITS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            key, logits = str(stored["key"]), np.asarray(stored["logits"])
    except (OSError, ValueError, KeyError) as exc:
        log.info("%s: unreadable (%s); predicting instead", path, exc)
        return None
    if len(logits) != len(texts) or key != logits_key(folder, texts, batch_size, max_length):
        return None
    return logits


def validation_logits(
    folder: str | Path, predictor: Predictor, texts: Sequence[str], batch_size: int = BATCH_SIZE
) -> np.ndarray:
    """``predictor``'s logits on ``texts``: from ``folder``'s cache when it holds them."""
    cached = cached_logits(folder, texts, batch_size=batch_size, max_length=predictor.max_length)
    if cached is not None:
        log.info("%s: validation logits reused from %s", Path(folder).name, LOGITS_FILE)
        return cached
    return predictor.logits(texts, batch_size)
