"""The shipped demo: its data regenerates exactly, and the README's main command runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"


def test_demo_data_is_what_make_data_writes(tmp_path):
    sys.path.insert(0, str(DEMO))
    try:
        import make_data
    finally:
        sys.path.remove(str(DEMO))
    make_data.write(tmp_path)
    for split in ("train", "validation", "test"):
        assert (tmp_path / f"{split}.csv").read_bytes() == (
            DEMO / "data" / f"{split}.csv"
        ).read_bytes()


def test_demo_splits_are_balanced_disjoint_and_large_enough_to_measure_calibration():
    """400 validation and 400 test rows (100 per intent): at 60 rows one example moved a
    confidence bin by 2-10 points of accuracy, so ECE could not be read to 0.05."""
    import csv
    from collections import Counter

    splits = {
        split: list(csv.DictReader(open(DEMO / "data" / f"{split}.csv", encoding="utf-8")))
        for split in ("train", "validation", "test")
    }
    per_intent = {"train": 60, "validation": 100, "test": 100}
    for split, rows in splits.items():
        assert Counter(row["label"] for row in rows) == {
            intent: per_intent[split] for intent in ("billing", "shipping", "technical", "account")
        }
    texts = [{row["text"] for row in rows} for rows in splits.values()]
    assert sum(map(len, texts)) == len(set().union(*texts)) == 240 + 400 + 400


def test_demo_pipeline_is_valid():
    from textcls import load_config

    config = load_config(DEMO / "pipeline.yaml")
    assert config.teacher is not None and config.student is not None and config.quantize


@pytest.mark.slow
def test_readme_demo_command_runs_end_to_end(tmp_path):
    """`textcls run examples/demo/pipeline.yaml`, as a user runs it (ephemeral Prefect API)."""
    readme = (ROOT / "README.md").read_text()
    assert "textcls run examples/demo/pipeline.yaml" in readme
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"))
    env.pop("PREFECT_API_URL", None)
    script = Path(sys.executable).with_name("textcls")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "textcls.flows.cli"]
    result = subprocess.run(
        [*command, "run", "examples/demo/pipeline.yaml", "--output", str(tmp_path / "runs")]
        + ["--set", f"registry.path={tmp_path / 'registry'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "report:" in result.stdout
    console = result.stdout + result.stderr
    # no bytecode dumps (dill's disassembly leaked through Prefect's log_prints) or tracebacks
    for noise in ("LOAD_GLOBAL", "RETURN_VALUE", "Traceback"):
        assert noise not in console
    # textcls's own progress lines, evaluation included; Prefect's run chatter stays in the UI
    assert "  scoring student-ort-dynamic-int8 on" in result.stderr
    assert "Created task run" not in console
    runs = list((tmp_path / "runs" / "support-intents").glob("2*/manifest.json"))
    manifest = json.loads(runs[0].read_text())
    assert manifest["status"] == "completed"
    report = json.loads((runs[0].parent / "eval" / "report.json").read_text())
    assert set(report["variants"]) == {
        "teacher",
        "student",
        "teacher-ort-dynamic-int8",
        "student-ort-dynamic-int8",
        "tfidf-logreg",
    }
    student = report["variants"]["student"]
    teacher = report["variants"]["teacher"]
    assert student["quality"]["accuracy"] >= 0.7
    assert student["cost"]["size_mb"] * 20 < teacher["cost"]["size_mb"]
    # the int8 student is registered and, being the first, promoted
    assert manifest["registry"]["version"] == 1 and manifest["registry"]["promoted"]
    assert "registry: version 1: first version" in result.stdout
    version = tmp_path / "registry" / "support-intents" / "versions" / "1"
    assert json.loads((version / "version.json").read_text())["variant"] == (
        "student-ort-dynamic-int8"
    )
