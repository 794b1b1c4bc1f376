"""Stage artifacts on disk: atomic directory writes, content hashes and small references.

Stages talk through artifact directories. A stage builds its output in a temporary sibling
directory and renames it into place only when complete, so a crash never leaves a directory that
looks finished. What crosses a task boundary is an ``ArtifactRef``: stage, path and sha256.

Replacing a folder deletes what was in it, so ``atomic_dir`` replaces only folders that textcls
wrote itself: each one it publishes holds a marker file (``MARKER``) listing the files it wrote.
An existing target that is not empty and has no marker is someone else's (a user's ``data/``
folder, notes, the repository root), and a textcls folder that has gained files since is no
longer only textcls's: both are refused with ``OutputFolderError`` before any work is done.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from textcls.errors import OutputFolderError

#: The file that marks a folder as written by textcls (safe for textcls to replace).
MARKER = ".textcls-artifact"


@dataclass(frozen=True)
class ArtifactRef:
    """A finished stage artifact: small enough to pass between processes and to cache."""

    stage: str
    path: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def is_textcls_folder(path: str | Path) -> bool:
    """True when ``path`` is a folder textcls published (it holds the marker file)."""
    return (Path(path) / MARKER).is_file()


#: Temporary names textcls itself uses inside a folder (``write_text_atomic``).
_OWN_TEMPORARY = re.compile(r"\..+\.tmp-[0-9a-f]{8}")


def _relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


def foreign_files(folder: str | Path) -> list[str]:
    """Files in a textcls folder that are not among those it published (a user's additions)."""
    folder = Path(folder)
    try:
        written = set(json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return [MARKER]  # a damaged marker vouches for nothing
    return [
        name
        for name in _relative_files(folder)
        if name not in written and name != MARKER and not _OWN_TEMPORARY.fullmatch(name)
    ]


def check_replaceable(final: str | Path) -> None:
    """Refuse a target that exists and holds anything textcls did not write.

    Absent targets, empty folders and folders textcls published (the marker lists every file;
    nothing else was added since) may be (re)written.
    """
    final = Path(final)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise OutputFolderError(
            f"{final}: exists and is not a folder textcls wrote; textcls will not replace it. "
            "Choose another output path, or move it away."
        )
    if not final.is_dir() or not any(final.iterdir()):
        return
    if not is_textcls_folder(final):
        raise OutputFolderError(
            f"{final}: the folder exists and holds files textcls did not write (no {MARKER} "
            "marker); textcls never replaces such a folder. Choose another output path, or "
            "move or empty this folder first."
        )
    added = foreign_files(final)
    if added:
        more = f" and {len(added) - 1} more" if len(added) > 1 else ""
        raise OutputFolderError(
            f"{final}: textcls wrote this folder, but it now also holds {added[0]!r}{more}, "
            "which textcls did not write; replacing the folder would delete it. Move those "
            "files out, or choose another output path."
        )


def _write_marker(folder: Path) -> None:
    files = [name for name in _relative_files(folder) if name != MARKER]
    marker = {"written_by": "textcls", "note": "safe for textcls to replace", "files": files}
    (folder / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


@contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``final`` in one rename.

    ``final`` must be absent, empty or written by textcls (see ``check_replaceable``); the check
    runs before the caller builds anything and again just before the swap.
    """
    final = Path(final)
    check_replaceable(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_marker(tmp)
    try:
        check_replaceable(final)  # the user may have put files there while the stage ran
    except OutputFolderError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write text to a temporary sibling file and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to a temporary file and rename it over ``path``."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


@contextmanager
def artifact_lock(final: str | Path) -> Iterator[None]:
    """Hold an exclusive lock for building ``final`` (released if the process dies).

    Two runs that need the same artifact (variants of a sweep, a retrain racing a manual run)
    then build it once: the second waits, finds it finished, and reuses it.
    """
    from filelock import FileLock

    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final.parent / f".{final.name}.lock")):
        yield


#: Documentation that later stages rewrite (the evaluation adds its numbers to model cards);
#: it describes an artifact but is not part of what the artifact computes.
UNHASHED = frozenset({"README.md", MARKER})


def directory_sha256(path: str | Path) -> str:
    """Hash of every file's relative path and bytes, in sorted order (model cards excluded)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in UNHASHED):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(file_sha256(file).encode())
    return digest.hexdigest()


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def quiet_datasets() -> Iterator[None]:
    """Hide ``datasets``' per-operation progress bars (save, map) inside a stage."""
    from datasets.utils import logging as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            ds_logging.enable_progress_bar()
