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

A mismatch or a missing or unreadable file means predicting as before; nothing fails on it,
and a log line (``textcls.validation_logits``, INFO) says which part differed.

Reading without re-hashing. The writer records, beside each keyed file's sha256, the file's
identity and state when it hashed it: device, inode, size and modification time in
nanoseconds (``os.stat``). A reader whose file still has all four takes the recorded sha256
instead of reading the bytes again (the teacher's 90 MB were hashed by the training job,
calibrate, evaluate and quantize's gate in turn; a calibrated folder's files are hard links,
the same inodes). Why that is exact enough for a key that must never match a changed model:

- a copied or re-exported folder has new inodes (``shutil.copytree``, ``cp``, ``git``,
  a new ``save_pretrained``, textcls's own atomic folder writes): hashed again, by content;
- a file rewritten in place (same inode) gets a new mtime from the kernel on every write, and
  the stat is taken before the bytes are hashed, so a write during hashing also shows;
- a file deleted and another created under the same inode number would also need the same
  size and the same mtime to the nanosecond (the kernel's timestamp tick, a few ms at most).

What it does not catch: someone who rewrites a file in place with the same size and then sets
its mtime back (``os.utime``, ``touch -d``) to the recorded nanosecond, or a same-size rewrite
within one timestamp tick of the hashing on a file system with coarse times (FAT: 2 s). textcls
never writes a published folder in place; those need deliberate work on the folder, and the
ctime, which would catch them, also changes when a calibrated folder hard-links the files, so
it would make every downstream read hash again. Anything that fails the check is hashed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

#: relative path -> (device, inode, size, mtime_ns, sha256), as the writer hashed each file
FileRecord = dict[str, tuple[int, int, int, int, str]]


def _stat_of(file: Path) -> tuple[int, int, int, int]:
    st = file.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _keyed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in _NOT_KEYED)


def _file_hashes(root: Path, known: FileRecord | None = None) -> FileRecord:
    """Each keyed file's identity and sha256; taken from ``known`` where the file is unchanged
    (same device, inode, size and mtime: see the module docstring), else read and hashed."""
    hashes: FileRecord = {}
    for file in _keyed_files(root):
        name = file.relative_to(root).as_posix()
        stat = _stat_of(file)  # before hashing: a write during the hash changes the mtime
        record = (known or {}).get(name)
        if record is not None and tuple(record[:4]) == stat:
            sha = record[4]
        else:
            sha = file_sha256(file)
        hashes[name] = (*stat, sha)
    return hashes


def _key_parts(
    hashes: FileRecord, texts: Sequence[str], batch_size: int, max_length: int
) -> dict[str, str]:
    """The key (one digest over everything, as before) and its parts' digests (for the log)."""
    whole, files, text_digest = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    for name in sorted(hashes):
        entry = name.encode() + b"\0" + hashes[name][4].encode() + b"\0"
        whole.update(entry)
        files.update(entry)
    settings = json.dumps([batch_size, max_length])
    whole.update(settings.encode() + b"\0")
    for text in texts:
        entry = text.encode("utf-8", "surrogatepass") + b"\0"
        whole.update(entry)
        text_digest.update(entry)
    return {
        "key": whole.hexdigest(),
        "files": files.hexdigest(),
        "settings": settings,
        "texts": text_digest.hexdigest(),
    }


def write_logits(
    folder: str | Path,
    texts: Sequence[str],
    logits: np.ndarray,
    *,
    batch_size: int,
    max_length: int,
) -> None:
    """Store ``logits`` (as the Predictor computed them on ``texts``) in ``folder``.

    Call it once the model files are in place: the key hashes them, and records what it
    hashed so that readers need not hash the same bytes again.
    """
    hashes = _file_hashes(Path(folder))
    parts = _key_parts(hashes, texts, batch_size, max_length)
    with open(Path(folder) / LOGITS_FILE, "wb") as handle:
        np.savez(
            handle,
            logits=np.asarray(logits, dtype=np.float32),
            key=np.asarray(parts["key"]),
            parts=np.asarray(json.dumps(parts)),
            files=np.asarray(json.dumps(hashes)),
        )


def _stored(path: Path) -> tuple[np.ndarray, str, dict[str, str], FileRecord] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            logits, key = np.asarray(stored["logits"]), str(stored["key"])
            parts = json.loads(str(stored["parts"])) if "parts" in stored.files else {}
            files = json.loads(str(stored["files"])) if "files" in stored.files else {}
    except (OSError, ValueError, KeyError) as exc:
        log.info("%s: unreadable (%s); predicting instead", path, exc)
        return None
    return logits, key, parts, _valid_record(files)


def _valid_record(files: Any) -> FileRecord:
    """The writer's file record, or nothing (a damaged one only means hashing every file)."""
    if not isinstance(files, dict):
        return {}
    valid: FileRecord = {}
    for name, record in files.items():
        if (
            isinstance(record, list)
            and len(record) == 5
            and all(isinstance(v, int) and not isinstance(v, bool) for v in record[:4])
            and isinstance(record[4], str)
        ):
            valid[name] = (record[0], record[1], record[2], record[3], record[4])
    return valid


def cached_logits(
    folder: str | Path, texts: Sequence[str], *, batch_size: int, max_length: int
) -> np.ndarray | None:
    """The stored logits when their key matches ``folder``'s files and ``texts``; else None
    (and an INFO line saying what differed)."""
    folder = Path(folder)
    path = folder / LOGITS_FILE
    if not path.is_file():
        log.info("%s: no %s; predicting validation", folder.name, LOGITS_FILE)
        return None
    stored = _stored(path)
    if stored is None:
        return None
    logits, key, stored_parts, files = stored
    if len(logits) != len(texts):
        log.info(
            "%s: %s holds %d rows, validation has %d; predicting validation",
            folder.name,
            LOGITS_FILE,
            len(logits),
            len(texts),
        )
        return None
    parts = _key_parts(_file_hashes(folder, files), texts, batch_size, max_length)
    if key != parts["key"]:
        differing = [
            part for part in ("files", "settings", "texts") if stored_parts.get(part) != parts[part]
        ]
        log.info(
            "%s: %s is for other %s (stored %s, now batch size and max length %s); "
            "predicting validation",
            folder.name,
            LOGITS_FILE,
            " and ".join(differing) or "inputs",
            stored_parts.get("settings", "?"),
            parts["settings"],
        )
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
