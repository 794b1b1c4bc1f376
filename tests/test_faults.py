"""Process faults: a stage killed at any phase is finished by the next run, unchanged.

Each case runs ``fault_driver.py`` in a real child process that trains a tiny student and
registers it, SIGKILLs that process at one phase (mid-training, mid-checkpoint, just before the
artifact is published, just before the registry writes a version or its champion), then reruns
the same work here and compares the result with an uninterrupted run byte for byte.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from model_helpers import toy_data
from textcls.artifacts import file_sha256
from textcls.registry import Registry

TESTS = Path(__file__).resolve().parent
#: What a model folder computes; textcls.json also holds timings, which differ run to run.
MODEL_FILES = ("model.safetensors", "config.json", "tokenizer.json", "labels.json")


def drive(base: Path, phase: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TESTS / "fault_driver.py"), str(base), phase],
        capture_output=True,
        text=True,
        timeout=600,
    )


def fresh(tmp_path: Path, name: str, template: Path) -> Path:
    base = tmp_path / name
    shutil.copytree(template, base, symlinks=True)
    return base


def model_hashes(folder: Path) -> dict[str, str]:
    return {name: file_sha256(folder / name) for name in MODEL_FILES if (folder / name).exists()}


def registry_summary(base: Path) -> dict[str, object]:
    registry = Registry(base / "registry", "toy")
    return {
        "versions": registry.version_numbers(),
        "champion": registry.champion(),
        "lineage": registry.champion_state()["lineage"],
        "model": model_hashes(registry.model_dir(1)) if registry.version_numbers() else None,
    }


def checkpoint(folder: Path, step: int, *, state: bool = True) -> Path:
    """A checkpoint folder with the files Trainer writes, each a real, whole file."""
    import torch
    from safetensors.torch import save_file

    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    save_file({"weight": torch.ones(8, 4)}, str(path / "model.safetensors"))
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        torch.save({"state": torch.arange(16.0)}, path / name)
    if state:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def halve(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "damage",
    ["no trainer_state.json", "model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"],
)
def test_resume_falls_back_to_the_newest_complete_checkpoint(tmp_path, caplog, damage):
    from textcls.training.checkpoints import resumable_checkpoint

    complete = checkpoint(tmp_path, 10)
    broken = checkpoint(tmp_path, 20, state=damage != "no trainer_state.json")
    if damage != "no trainer_state.json":
        halve(broken / damage)
    with caplog.at_level("WARNING", logger="textcls.training"):
        assert resumable_checkpoint(tmp_path) == complete
    assert not broken.exists(), "an incomplete checkpoint is removed, so nothing resumes from it"
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("resume: ignored incomplete checkpoint-20")
    assert damage.split()[-1] in line and line.endswith("resuming from checkpoint-10")


def test_resume_starts_over_when_no_checkpoint_is_complete(tmp_path, caplog):
    from textcls.training.checkpoints import resumable_checkpoint

    halve(checkpoint(tmp_path, 10) / "optimizer.pt")
    with caplog.at_level("WARNING", logger="textcls.training"):
        assert resumable_checkpoint(tmp_path) is None
    assert "training starts over" in caplog.text
    assert resumable_checkpoint(tmp_path / "absent") is None


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fault-template")
    raw, _ = toy_data(base)
    (base / "raw.json").write_text(json.dumps(raw))
    return base


@pytest.fixture(scope="module")
def uninterrupted(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fault-reference") / "run"
    shutil.copytree(template, base, symlinks=True)
    done = drive(base, "none")
    assert done.returncode == 0, done.stderr[-3000:]
    return base


#: (case, the driver's kill phase, a file of checkpoint-20 cut in half after the kill)
CASES = [
    ("mid-training", "training", None),
    ("checkpoint without trainer_state.json", "checkpoint-state", None),
    ("truncated optimizer.pt", "training", "optimizer.pt"),
    ("truncated model.safetensors", "training", "model.safetensors"),
    ("before the artifact is published", "publish", None),
    ("before the registry writes the version", "registry-version", None),
    ("before the registry writes champion.json", "registry-champion", None),
]


@pytest.mark.slow
@pytest.mark.parametrize("case, phase, damage", CASES, ids=[c[0] for c in CASES])
def test_a_stage_killed_at_any_phase_is_finished_by_the_rerun_unchanged(
    tmp_path: Path,
    template: Path,
    uninterrupted: Path,
    case: str,
    phase: str,
    damage: str | None,
) -> None:
    base = fresh(tmp_path, phase, template)
    killed = drive(base, phase)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    # the kill happened where the case says, and left nothing that looks finished
    checkpoints = {p.name: p for p in base.glob(".student.work-*/checkpoints/checkpoint-*")}
    registry = Registry(base / "registry", "toy")
    if phase in ("training", "checkpoint-state", "publish"):
        assert not (base / "student").exists()
        assert checkpoints, "the driver was killed before any checkpoint"
    if phase in ("training", "checkpoint-state"):
        assert "checkpoint-20" in checkpoints, sorted(checkpoints)
    if phase == "checkpoint-state":
        assert not (checkpoints["checkpoint-20"] / "trainer_state.json").exists()
    if damage:
        cut = checkpoints["checkpoint-20"] / damage
        cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    if phase == "registry-version":
        assert (base / "student").is_dir() and registry.version_numbers() == []
    if phase == "registry-champion":
        assert registry.version_numbers() == [1] and registry.champion() is None

    rerun = drive(base, "none")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    if phase == "checkpoint-state" or damage:
        assert "resume: ignored incomplete checkpoint-20" in rerun.stderr, rerun.stderr[-3000:]
        assert "resuming from checkpoint-10" in rerun.stderr
    assert model_hashes(base / "student") == model_hashes(uninterrupted / "student")
    assert registry_summary(base) == registry_summary(uninterrupted)
    assert registry_summary(base)["champion"] == 1
    assert not list(base.glob(".student.work-*")), "the finished job leaves no work folder"
    # a folder half-built by the killed process may stay as a hidden .student.tmp-*; it is
    # never mistaken for the artifact (docs/guarantees.md)
    assert not list(registry.versions_dir.glob(".*"))
