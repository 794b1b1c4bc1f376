"""Which Trainer checkpoint a resumed job may start from.

Trainer writes a checkpoint file by file into ``checkpoint-N`` (weights, optimizer, scheduler,
RNG state, and ``trainer_state.json`` last), so a process killed while saving leaves a folder
that looks like a checkpoint but cannot be loaded; Trainer's own "latest checkpoint" would pick
it and fail on every later run. Here a checkpoint counts only if every file it needs is whole;
incomplete ones are removed (they live in textcls's own work folder) and the job resumes from
the newest complete one, or starts over when there is none.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
import zipfile
from pathlib import Path

log = logging.getLogger("textcls.training")

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
#: Files Trainer writes with ``torch.save`` (zip archives); present in every checkpoint (none is
#: written after the last step: see ``final_checkpoint.py``).
_TORCH_FILES = ("optimizer.pt", "scheduler.pt")


def checkpoint_steps(checkpoints: Path) -> list[tuple[int, Path]]:
    """Every ``checkpoint-N`` folder under ``checkpoints``, by step, newest last."""
    if not checkpoints.is_dir():
        return []
    found = []
    for path in checkpoints.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def incomplete_reason(checkpoint: Path) -> str | None:
    """Why ``checkpoint`` cannot be resumed from, or None when every file it needs is whole."""
    state = checkpoint / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"trainer_state.json is unreadable ({error})"
    weights = checkpoint / "model.safetensors"
    if not weights.is_file():
        return "no model.safetensors"
    reason = _safetensors_problem(weights)
    if reason:
        return reason
    # one RNG file per process: rng_state.pth, or rng_state_<rank>.pth under torchrun
    rng_files = sorted(checkpoint.glob("rng_state*.pth"))
    if not rng_files:
        return "no rng_state.pth"
    for path in [checkpoint / name for name in _TORCH_FILES] + rng_files:
        reason = _torch_file_problem(path)
        if reason:
            return reason
    return None


def _safetensors_problem(path: Path) -> str | None:
    """A safetensors file is whole when its header parses and its tensors fill the file."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            (header_len,) = struct.unpack("<Q", handle.read(8))
            if header_len > size - 8:
                return f"{path.name} is truncated"
            header = json.loads(handle.read(header_len))
    except (OSError, ValueError, struct.error):
        return f"{path.name} is truncated"
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + header_len + end != size:
        return f"{path.name} is truncated ({size} bytes, {8 + header_len + end} expected)"
    return None


def _torch_file_problem(path: Path) -> str | None:
    """``torch.save`` writes a zip archive; a truncated one has no readable central directory."""
    if not path.is_file():
        return f"no {path.name}"
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                return f"{path.name} is corrupt"
    except (OSError, zipfile.BadZipFile, EOFError):
        return f"{path.name} is truncated"
    return None


def resumable_checkpoint(checkpoints: Path) -> Path | None:
    """The newest complete checkpoint; incomplete newer ones are removed, with one log line."""
    steps = checkpoint_steps(checkpoints)
    skipped: list[str] = []
    for _step, path in reversed(steps):
        reason = incomplete_reason(path)
        if reason is None:
            if skipped:
                log.warning(
                    "resume: ignored incomplete %s (the process was killed while saving); "
                    "resuming from %s",
                    ", ".join(skipped),
                    path.name,
                )
            return path
        skipped.append(f"{path.name} ({reason})")
        shutil.rmtree(path, ignore_errors=True)
    if skipped:
        log.warning(
            "resume: ignored incomplete %s (the process was killed while saving); "
            "no complete checkpoint is left, so training starts over",
            ", ".join(skipped),
        )
    return None
