"""Sweeps: grid parsing, and real fan-outs on the thread pool and a local Dask cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, toy_rows
from textcls import ConfigError
from textcls.flows.cli import app
from textcls.sweep import expand_grid, parse_grid, split_values, validate_variants
from typer.testing import CliRunner

runner = CliRunner()

PIPELINE = {
    "name": "toy-sweep",
    "seed": 3,
    "data": {"train": "train.csv", "validation": "val.csv", "test": "val.csv"},
    "student": {
        "model": {"name": "bow", "params": TINY_MODELS["bow"]},
        "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
        "train": {"epochs": 2, "batch_size": 16, "learning_rate": 0.02, "max_length": 32},
    },
    "evaluate": {"measure_cost": False},
    "output": "runs",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("sweep")
    (base / "train.csv").write_text(csv_text(toy_rows(120)))
    (base / "val.csv").write_text(csv_text(toy_rows(40, seed=1)))
    (base / "pipeline.yaml").write_text(yaml.safe_dump(PIPELINE))
    return base


# -- grid parsing ----------------------------------------------------------------------------


def test_values_split_on_top_level_commas_only():
    assert split_values("1e-3, 3e-3") == ["1e-3", "3e-3"]
    assert split_values("[2,3],[3,4]") == ["[2,3]", "[3,4]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]


def test_grid_expands_to_every_combination_in_order():
    grid = parse_grid(["a.x=1,2", "b=p,q,r"])
    variants = expand_grid(grid)
    assert [v.values for v in variants][:4] == [
        {"a.x": "1", "b": "p"},
        {"a.x": "1", "b": "q"},
        {"a.x": "1", "b": "r"},
        {"a.x": "2", "b": "p"},
    ]
    assert len(variants) == 6 and variants[5].overrides == ["a.x=2", "b=r"]
    assert [v.name for v in variants[:2]] == ["v000", "v001"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["novalue"], "expected dotted.key=v1,v2"),
        (["a=1,,2"], "empty value"),
        (["a=1", "a=2"], "already in the grid"),
        (["a=1,1"], "listed twice"),
        ([], "at least one --grid"),
    ],
)
def test_bad_grids_say_what_to_fix(specs, message):
    with pytest.raises(ConfigError, match=message):
        parse_grid(specs)


def test_too_many_combinations_are_refused_before_anything_runs():
    grid = {f"k{i}": ["1", "2"] for i in range(8)}  # 256 combinations
    with pytest.raises(ConfigError, match="256 combinations"):
        expand_grid(grid)


def test_a_bad_variant_value_names_the_variant_and_the_field(project):
    variants = expand_grid(parse_grid(["student.train.epochs=1,-1"]))
    with pytest.raises(ConfigError) as caught:
        validate_variants(project / "pipeline.yaml", [], variants)
    assert "sweep variant v001 (student.train.epochs=-1)" in str(caught.value)
    assert "student.train.epochs" in str(caught.value)


def test_cli_rejects_a_bad_grid_with_exit_code_2_and_runs_nothing(project, tmp_path):
    result = runner.invoke(
        app,
        [
            "sweep",
            str(project / "pipeline.yaml"),
            "--grid",
            "student.model.name=bow,nosuch",
            "--output",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "v001" in result.output and "nosuch" in result.output
    assert not any(tmp_path.iterdir())


def test_cli_refuses_a_winner_metric_validation_does_not_have(project, tmp_path):
    result = runner.invoke(
        app,
        ["sweep", str(project / "pipeline.yaml"), "--grid", "seed=1,2", "--metric", "throughput"]
        + ["--output", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "validation accuracy or macro_f1" in result.output
    assert not any(tmp_path.iterdir())


# -- real sweeps -----------------------------------------------------------------------------


def _flow_runs(name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[name])))


def _sweep(project: Path, output: Path, *args: str) -> tuple[int, dict | None, str]:
    result = runner.invoke(
        app,
        ["sweep", str(project / "pipeline.yaml"), "--output", str(output), *args],
    )
    folders = list((output / "toy-sweep" / "sweeps").glob("*/sweep.json"))
    summary = json.loads(folders[0].read_text()) if folders else None
    return result.exit_code, summary, result.output


def _manifest(summary: dict, name: str) -> dict:
    variant = next(v for v in summary["variants"] if v["name"] == name)
    return json.loads((Path(variant["run_dir"]) / "manifest.json").read_text())


@pytest.mark.slow
def test_thread_sweep_runs_each_variant_once_and_shares_unchanged_stages(
    project, tmp_path, prefect_api
):
    before = len(_flow_runs("textcls-pipeline"))
    code, summary, output = _sweep(
        project, tmp_path, "--grid", "student.train.learning_rate=0.01,0.05", "--sweep-id", "lr"
    )
    assert code == 0, output
    assert summary["failed"] == 0
    assert [v["values"] for v in summary["variants"]] == [
        {"student.train.learning_rate": "0.01"},
        {"student.train.learning_rate": "0.05"},
    ]
    first, second = (_manifest(summary, n) for n in ("v000", "v001"))
    # each variant really used its own value
    assert first["config"]["student"]["train"]["learning_rate"] == 0.01
    assert second["config"]["student"]["train"]["learning_rate"] == 0.05
    # the data did not change across the grid: built once, reused by the other variant
    ingest = sorted(m["stages"]["ingest"]["status"] for m in (first, second))
    assert ingest in (["cached", "ran"], ["ran", "reused"])
    assert first["stages"]["ingest"]["ref"] == second["stages"]["ingest"]["ref"]
    # the student did change: two different artifacts, both trained
    assert first["stages"]["student"]["status"] == second["stages"]["student"]["status"] == "ran"
    assert first["stages"]["student"]["ref"]["path"] != second["stages"]["student"]["ref"]["path"]
    # one row per evaluated model per variant; the best row is the best on validation
    models = {(row["variant"], row["model"]) for row in summary["rows"]}
    assert models == {("v000", "student"), ("v001", "student")}
    assert summary["best"]["validation_accuracy"] == max(
        r["validation_accuracy"] for r in summary["rows"]
    )
    assert summary["selected_on"] == "validation"
    assert "Best by validation accuracy" in output and "sweep folder:" in output
    # both variants reported to the same Prefect API as flow runs of their own
    assert len(_flow_runs("textcls-pipeline")) == before + 2
    assert len(_flow_runs("textcls-sweep")) >= 1
    # the thread pool runs the mapped tasks in this process
    assert {v["task_pid"] for v in summary["variants"]} == {os.getpid()}


@pytest.mark.slow
def test_a_failing_variant_is_reported_and_the_others_finish(project, tmp_path, prefect_api):
    code, summary, output = _sweep(
        project,
        tmp_path,
        "--grid",
        "data.text_column=text,missing_column",
        "--set",
        "student.train.epochs=1",
    )
    assert code == 1
    assert summary["failed"] == 1
    failed = next(v for v in summary["variants"] if v["status"] == "failed")
    assert failed["name"] == "v001"
    assert "missing_column" in failed["error"] and "ingest" in failed["error"]
    assert next(v for v in summary["variants"] if v["name"] == "v000")["status"] == "completed"
    assert "1 of 2 variants failed" in output


@pytest.mark.slow
def test_dask_sweep_runs_variants_on_a_local_cluster(project, tmp_path, prefect_api):
    pytest.importorskip("prefect_dask", reason="prefect-dask is part of the dev install")
    code, summary, output = _sweep(
        project,
        tmp_path,
        "--grid",
        "student.train.epochs=1,2",
        "--set",
        "orchestration.task_runner=dask",
        "--set",
        "orchestration.dask_workers=2",
    )
    assert code == 0, output
    assert "on the dask task runner" in output
    assert summary["failed"] == 0 and len(summary["rows"]) == 2
    epochs = [
        _manifest(summary, n)["config"]["student"]["train"]["epochs"] for n in ("v000", "v001")
    ]
    assert epochs == [1, 2]
    # the mapped tasks ran in Dask worker processes, not in this one
    assert os.getpid() not in {v["task_pid"] for v in summary["variants"]}
