"""Lifecycle hooks fire around a stage; a failing listener never hides the stage's outcome."""

from __future__ import annotations

import pytest
from ingest_helpers import csv_text
from textcls import get_plugins, hookimpl
from textcls.artifacts import ArtifactRef
from textcls.flows.cli import app
from textcls.lifecycle import run_stage
from typer.testing import CliRunner


class Recorder:
    def __init__(self):
        self.events = []

    @hookimpl
    def textcls_stage_started(self, stage, run_dir, config):
        self.events.append(("started", stage, config))

    @hookimpl
    def textcls_stage_finished(self, stage, run_dir, artifact):
        self.events.append(("finished", stage, artifact["sha256"]))

    @hookimpl
    def textcls_stage_failed(self, stage, run_dir, error):
        self.events.append(("failed", stage, str(error)))


class Broken:
    @hookimpl
    def textcls_stage_started(self, stage, run_dir, config):
        raise RuntimeError("listener bug")

    @hookimpl
    def textcls_stage_failed(self, stage, run_dir, error):
        raise RuntimeError("listener bug")


@pytest.fixture
def recorder():
    host = get_plugins()
    recorder, broken = Recorder(), Broken()
    host.register(recorder, name="recorder")
    host.register(broken, name="broken-listener")
    yield recorder
    host.unregister("recorder")
    host.unregister("broken-listener")


def test_started_and_finished(recorder, tmp_path):
    ref = run_stage("demo", str(tmp_path), {"k": 1}, lambda: ArtifactRef("demo", "p", "abc"))
    assert ref.sha256 == "abc"
    assert recorder.events == [("started", "demo", {"k": 1}), ("finished", "demo", "abc")]


def test_failed_reraises_the_stage_error(recorder, tmp_path):
    def boom():
        raise ValueError("stage broke")

    with pytest.raises(ValueError, match="stage broke"):
        run_stage("demo", str(tmp_path), {}, boom)
    assert recorder.events[-1] == ("failed", "demo", "stage broke")


def test_ingest_command_fires_the_hooks(recorder, write, tmp_path):
    write("train.csv", csv_text([("a", "x"), ("b", "y"), ("c", "x")]))
    path = write(
        "p.yaml", "name: p\ndata: {train: train.csv, validation: train.csv, test: train.csv}\n"
    )
    result = CliRunner().invoke(app, ["ingest", str(path), "--output", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["started", "finished"]
    assert recorder.events[0][2]["train"] == str(tmp_path / "train.csv")
