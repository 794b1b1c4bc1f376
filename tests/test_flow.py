"""The Prefect pipeline flow end to end on tiny models, under a real Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, TINY_TRAIN, toy_rows
from textcls import ConfigError, StageError

PIPELINE = {
    "name": "toy-flow",
    "seed": 5,
    "data": {
        "train": "train.csv",
        "validation": "val.csv",
        "test": "val.csv",
        "drop_duplicates": False,
    },
    "teacher": {
        "model": {"name": "transformer", "params": TINY_MODELS["transformer"]},
        "tokenizer": {"name": "wordpiece", "params": {"vocab_size": 200, "min_frequency": 1}},
        "train": {"batch_size": 16, "max_length": 32, **TINY_TRAIN["transformer"]},
    },
    "student": {
        "model": {"name": "bow", "params": TINY_MODELS["bow"]},
        "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
        "distill": {"name": "logits-kl"},
        "train": {"epochs": 3, "batch_size": 16, "learning_rate": 0.02, "max_length": 32},
    },
    "quantize": [{"name": "ort-dynamic-int8", "targets": ["student"]}],
    "evaluate": {"baselines": ["tfidf-logreg"]},
    "output": "runs",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("flow")
    (base / "train.csv").write_text(csv_text(toy_rows(200)))
    (base / "val.csv").write_text(csv_text(toy_rows(60, seed=1)))
    (base / "pipeline.yaml").write_text(yaml.safe_dump(PIPELINE))
    return base


def run(project: Path, *overrides: str, **options):
    from textcls.flows.pipeline import textcls_pipeline

    return textcls_pipeline(
        config_path=str(project / "pipeline.yaml"), overrides=list(overrides), **options
    )


def statuses(manifest) -> dict[str, str]:
    return {stage: record["status"] for stage, record in manifest["stages"].items()}


@pytest.fixture(scope="module")
def first_run(project, prefect_api):
    return run(project)


def test_first_run_runs_every_stage_and_links_a_run_folder(project, first_run):
    assert set(statuses(first_run).values()) == {"ran"}
    assert list(first_run["stages"]) == [
        "ingest",
        "teacher",
        "student",
        "quantize student-ort-dynamic-int8",
        "calibrate teacher",
        "calibrate student",
        "calibrate student-ort-dynamic-int8",
        "evaluate",
    ]
    run_dir = project / "runs" / "toy-flow" / first_run["run_id"]
    for name in ("data", "teacher", "student", "quantized/student-ort-dynamic-int8", "eval"):
        assert (run_dir / name).is_symlink() and (run_dir / name).resolve().is_dir()
    assert (run_dir / "eval" / "report.md").is_file()
    # every variant is evaluated (and would be registered) in its calibrated folder
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    for variant in ("teacher", "student", "student-ort-dynamic-int8"):
        calibrated = (run_dir / "calibrated" / variant).resolve()
        assert report["variants"][variant]["path"] == str(calibrated)
        meta = json.loads((calibrated / "textcls.json").read_text())
        assert meta["calibration"]["temperature"] > 0
        assert report["variants"][variant]["calibration"]["temperature"] == pytest.approx(
            meta["calibration"]["temperature"]
        )
    assert report["selected_on"] == "validation"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["data_fingerprint"] == first_run["stages"]["ingest"]["ref"]["sha256"]
    assert manifest["config"]["student"]["distill"]["name"] == "logits-kl"
    assert manifest["packages"]["prefect"] and manifest["host"]["python"]
    assert all(r["ref"]["sha256"] and r["key"] for r in manifest["stages"].values())


def test_evaluation_is_published_as_prefect_artifacts(first_run):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_latest_artifacts()
    keys = {a.key for a in artifacts}
    assert {"toy-flow-evaluation", "toy-flow-evaluation-report"} <= keys
    table = next(a for a in artifacts if a.key == "toy-flow-evaluation")
    assert "student-ort-dynamic-int8" in str(table.data)
    # the report's pictures travel inside it: relative links break in the UI
    report = next(a for a in artifacts if a.key == "toy-flow-evaluation-report")
    assert "](data:image/png;base64,iVBORw0KGgo" in str(report.data)
    assert "](plots/" not in str(report.data)


def test_the_flow_run_is_named_after_the_run_id_and_tagged(first_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        (flow_run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[first_run["run_id"]]))
        )
        task_runs = client.read_task_runs()
    assert {"textcls", "pipeline:toy-flow"} <= set(flow_run.tags)
    # no concurrency limit names a stage, so no stage task pays Prefect's slot request
    mine = [run for run in task_runs if run.flow_run_id == flow_run.id]
    assert {run.name for run in mine} >= {"ingest", "teacher", "calibrate student", "evaluate"}
    assert not [tag for run in mine for tag in run.tags if tag.startswith("stage:")]


def test_a_stage_named_by_a_concurrency_limit_is_tagged_so_the_limit_queues_it(project, first_run):
    """`prefect concurrency-limit create stage:evaluate 1` (docs/pipeline.md) reaches the task."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag="stage:evaluate", concurrency_limit=1)
        try:
            manifest = run(project)  # cached stages are task runs too
        finally:
            client.delete_concurrency_limit_by_tag(tag="stage:evaluate")
        (flow_run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[manifest["run_id"]]))
        )
        tags = {
            run.name: set(run.tags)
            for run in client.read_task_runs()
            if run.flow_run_id == flow_run.id
        }
    assert tags["evaluate"] == {"stage:evaluate"}
    assert all(not names for stage, names in tags.items() if stage != "evaluate")


def test_unchanged_rerun_trains_nothing(project, first_run):
    again = run(project)
    assert set(statuses(again).values()) == {"cached"}
    assert again["stages"]["student"]["ref"] == first_run["stages"]["student"]["ref"]


def test_changing_only_quantize_reruns_only_quantize_and_evaluate(project, first_run):
    changed = run(project, "quantize.0.max_accuracy_drop=2.0", "evaluate.measure_cost=false")
    assert statuses(changed) == {
        "ingest": "cached",
        "teacher": "cached",
        "student": "cached",
        "quantize student-ort-dynamic-int8": "ran",
        "calibrate teacher": "cached",
        "calibrate student": "cached",
        "calibrate student-ort-dynamic-int8": "ran",
        "evaluate": "ran",
    }


def test_calibration_none_evaluates_the_folders_as_trained(project, first_run):
    manifest = run(project, "evaluate.calibration=none", "evaluate.measure_cost=false")
    assert not any(name.startswith("calibrate") for name in manifest["stages"])
    run_dir = project / "runs" / "toy-flow" / manifest["run_id"]
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    assert report["variants"]["student"]["path"] == manifest["stages"]["student"]["ref"]["path"]
    assert report["variants"]["student"]["calibration"] is None


def test_only_runs_one_stage_from_cached_inputs(project, first_run):
    manifest = run(project, "evaluate.baselines=[]", "evaluate.measure_cost=false", only="evaluate")
    assert statuses(manifest)["evaluate"] == "ran"
    assert statuses(manifest)["teacher"] == "reused"


def test_only_ingest_runs_on_an_empty_store(project, prefect_api, tmp_path):
    # `textcls run --only ingest` on a first run went on to the teacher and failed: "stage
    # teacher is needed but not in the artifact store"; nothing after the one stage is needed
    manifest = run(project, only="ingest", output=str(tmp_path / "fresh"))
    assert manifest["status"] == "completed"
    assert statuses(manifest) == {"ingest": "ran"}


def test_only_needs_its_inputs_in_the_store(project, first_run):
    with pytest.raises(ConfigError, match="stage student is needed but not in the artifact"):
        run(project, "student.train.epochs=1", only="evaluate")


def test_a_failing_stage_fails_the_flow_with_its_name_and_error(project, first_run):
    with pytest.raises(StageError) as info:
        run(project, "data.train=missing.csv")
    assert str(info.value).startswith("stage ingest failed: data.train: file not found")
    manifests = sorted(
        (project / "runs" / "toy-flow").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime
    )
    failed = json.loads(manifests[-1].read_text())
    assert failed["status"] == "failed" and "file not found" in failed["error"]


def test_an_error_inside_a_stage_task_names_the_stage(project, first_run):
    with pytest.raises(StageError) as info:
        run(
            project,
            "student.model.name=transformer",
            "student.tokenizer=null",
            "student.model.params={hidden_size: 32, num_layers: 1, num_heads: 2}",
            "student.init=teacher-layers",
            "student.init_layers=[7]",
        )
    assert str(info.value).startswith(
        "stage student failed: student.init_layers: [7] out of range; the teacher has 2 layers"
    )


def test_unknown_stage_name_for_only(project, first_run):
    with pytest.raises(ConfigError, match="--only distil: not a stage of this pipeline"):
        run(project, only="distil")


def test_a_cached_rerun_links_everything_its_manifest_lists(project, first_run):
    again = run(project)
    store = (project / "runs" / "toy-flow" / "artifacts").resolve()
    run_dir = project / "runs" / "toy-flow" / again["run_id"]
    for name in ("data", "teacher", "student", "quantized/student-ort-dynamic-int8", "eval"):
        assert (run_dir / name).resolve().is_dir(), name
        assert (run_dir / name).resolve().is_relative_to(store), name


def test_two_pipelines_sharing_an_output_folder_each_print_their_own_run_folder(project, first_run):
    from textcls.flows.cli import app
    from typer.testing import CliRunner

    # same data section, hence the same ingest key as toy-flow's
    twin = ["--set", "name=toy-twin", "--set", "teacher=null", "--set", "student.distill=null"]
    twin += ["--set", "quantize=[]", "--set", "evaluate.measure_cost=false"]
    result = CliRunner().invoke(app, ["run", str(project / "pipeline.yaml"), *twin])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("run folder: ")]
    run_dir = Path(line.removeprefix("run folder: "))
    assert run_dir.parent == (project / "runs" / "toy-twin").resolve()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["pipeline"] == "toy-twin"
    for record in manifest["stages"].values():
        assert Path(record["ref"]["path"]).is_relative_to(run_dir.parent)
    assert (run_dir / "data").resolve().is_relative_to(run_dir.parent)
