"""Random restarts (``train.restarts``): several seeds, the best on validation kept, resumable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
from model_helpers import kill_once_written, toy_data, with_student
from textcls import config_from_dict
from textcls.errors import ConfigError
from textcls.predictor import Predictor
from textcls.stages.finetune import fine_tune
from textcls.training.restarts import chosen_run


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-restarts")
    raw, data_dir = toy_data(base)
    return base, raw, data_dir


def validation_accuracy(folder: Path, data_dir: Path) -> float:
    validation = datasets.load_from_disk(str(data_dir))["validation"]
    probabilities = Predictor.load(folder).probabilities(list(validation["text"]))
    return float((np.argmax(probabilities, -1) == np.asarray(validation["label"])).mean())


def test_the_run_best_on_validation_is_kept_and_every_run_recorded(toy):
    base, raw, data_dir = toy
    # a few steps each, so the seeds leave the runs apart
    short = {"max_steps": 4, "batch_size": 8, "learning_rate": 0.02}
    config = with_student(raw, base, "bow", restarts=3, **short)
    ref = fine_tune(config, "student", data_dir, base / "restarted")
    metrics = json.loads((Path(ref.path) / "textcls.json").read_text())["metrics"]
    runs = metrics["restarts"]
    assert [run["seed"] for run in runs] == [5, 6, 7]  # the pipeline's seed, then the next ones
    assert len({run["validation_loss"] for run in runs}) == 3, "the seeds made no difference"
    chosen = metrics["chosen_restart"]
    best = max(run["validation_accuracy"] for run in runs)
    assert runs[chosen]["validation_accuracy"] == metrics["validation_accuracy"] == best
    assert all(run["validation_accuracy"] < best for run in runs[:chosen])  # ties: the earlier
    assert metrics["chosen_by"] == "validation_accuracy"
    # the folder holds the chosen run's model: its predictions score what was recorded
    assert validation_accuracy(Path(ref.path), data_dir) == pytest.approx(
        metrics["validation_accuracy"]
    )
    # what the job cost: every run's seconds
    assert metrics["train_runtime_s"] == pytest.approx(sum(r["train_runtime_s"] for r in runs))
    card = (Path(ref.path) / "README.md").read_text()
    assert "## Restarts (3 runs, the best by validation_accuracy kept)" in card
    kept = [line for line in card.splitlines() if line.endswith("| yes |")]
    assert len(kept) == 1 and kept[0].startswith(f"| {chosen} | {5 + chosen} |")
    assert not list(base.glob(".restarted.work-*")), "the work folder, runs included, is removed"

    # run 0 is the single run with the same seed: restarts only add runs
    single = fine_tune(with_student(raw, base, "bow", **short), "student", data_dir, base / "one")
    one = json.loads((Path(single.path) / "textcls.json").read_text())["metrics"]
    assert one["validation_loss"] == pytest.approx(runs[0]["validation_loss"])
    assert "restarts" not in one


def test_the_artifact_keeps_its_runs_validation_logits_without_hashing_again(toy, monkeypatch):
    """The chosen run's files are linked, not copied: the logits' cache knows them by inode."""
    import textcls.validation_logits as validation_logits

    base, raw, data_dir = toy
    config = with_student(raw, base, "bow", restarts=2, max_steps=4, batch_size=8)
    ref = fine_tune(config, "student", data_dir, base / "linked")
    texts = list(datasets.load_from_disk(str(data_dir))["validation"]["text"])

    def no_hashing(path):
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(validation_logits, "file_sha256", no_hashing)
    logits = validation_logits.cached_logits(
        ref.path, texts, batch_size=validation_logits.BATCH_SIZE, max_length=32
    )
    assert logits is not None and len(logits) == len(texts)


def test_a_stopped_job_resumes_after_its_last_finished_run(toy, monkeypatch):
    import textcls.stages.finetune as finetune_stage
    from textcls.training.job import run_job, train_in_work_dir

    base, raw, data_dir = toy
    kept: list[Path] = []

    def run_and_keep_work_dir(work_dir, processes, out_dir, stage):
        run_job(work_dir, processes)
        kept.append(work_dir)

    monkeypatch.setattr(finetune_stage, "execute_job", run_and_keep_work_dir)
    config = with_student(raw, base, "bow", restarts=3, max_steps=4, batch_size=8)
    out = base / "resumed-restarts"
    fine_tune(config, "student", data_dir, out)
    (work_dir,) = kept
    first = json.loads((out / "textcls.json").read_text())["metrics"]
    finished = {k: (work_dir / "restarts" / str(k) / "model.safetensors").stat() for k in (0, 1)}

    # stopped during the third run: its folder was never published, the first two were
    shutil.rmtree(work_dir / "restarts" / "2")
    shutil.rmtree(out)
    metrics = train_in_work_dir(work_dir)
    for k, stat in finished.items():  # not trained again
        again = (work_dir / "restarts" / str(k) / "model.safetensors").stat()
        assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)

    def outcomes(runs):  # seeded: the third run is the same again, but for its seconds
        return [{k: v for k, v in run.items() if k != "train_runtime_s"} for run in runs]

    assert outcomes(metrics["restarts"]) == outcomes(first["restarts"])
    assert (out / "model.safetensors").is_file()


def test_the_choice_reads_the_configured_metric_and_ties_go_to_the_earlier_run():
    runs = [
        {"validation_accuracy": 0.8, "validation_loss": 0.5},
        {"validation_accuracy": 0.9, "validation_loss": 0.6},
        {"validation_accuracy": 0.9, "validation_loss": 0.4},
    ]
    assert chosen_run(runs, "accuracy") == 1
    assert chosen_run(runs, "loss") == 2
    diverged = [{"validation_loss": float("nan")}, {"validation_loss": 0.7}]
    assert chosen_run(diverged, "loss") == 1
    assert chosen_run(list(reversed(diverged)), "loss") == 0


def test_label_issue_folds_train_the_teacher_once_each(tmp_path):
    from textcls.data.teacher_folds import _trained_once

    raw = {
        "name": "r",
        "data": {"train": "t.csv", "test": "t.csv"},
        "teacher": {"model": {"name": "bow", "params": {}}, "train": {"restarts": 3}},
    }
    config = config_from_dict(raw, base_dir=tmp_path)
    folds = _trained_once(config)
    assert folds.teacher is not None and folds.teacher.train.restarts == 1
    assert config.teacher is not None and config.teacher.train.restarts == 3  # not changed


def test_restarts_are_checked_where_they_are_set(tmp_path):
    base = {"name": "r", "data": {"train": "t.csv", "test": "t.csv"}}
    teacher = {"model": {"name": "bow", "params": {}}}
    with pytest.raises(ConfigError, match="restarts"):
        config_from_dict(
            {**base, "teacher": {**teacher, "train": {"restarts": 0}}}, base_dir=tmp_path
        )
    pretrain = {"objective": "word2vec", "train": {"restarts": 2}}
    with pytest.raises(ConfigError, match="pretraining runs once"):
        config_from_dict({**base, "teacher": teacher, "pretrain": pretrain}, base_dir=tmp_path)
    ok = config_from_dict(
        {**base, "teacher": {**teacher, "train": {"restarts": 3}}}, base_dir=tmp_path
    )
    assert ok.teacher is not None and ok.teacher.train.restarts == 3


@pytest.mark.slow
def test_restarts_under_torchrun(toy):
    """Every rank runs every restart (each a collective training); rank 0 alone writes each
    run's folder and the chosen artifact."""
    base, raw, data_dir = toy
    config = with_student(raw, base, "bilstm", epochs=2, processes=2, threads=1, restarts=2)
    ref = fine_tune(config, "student", data_dir, base / "ddp-restarts")
    metrics = json.loads((Path(ref.path) / "textcls.json").read_text())["metrics"]
    assert metrics["processes"] == 2
    assert [run["seed"] for run in metrics["restarts"]] == [5, 6]
    assert metrics["chosen_restart"] == chosen_run(metrics["restarts"], "accuracy")
    assert validation_accuracy(Path(ref.path), data_dir) == pytest.approx(
        metrics["validation_accuracy"]
    )


KILLED_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from model_helpers import with_student
from textcls.stages.finetune import fine_tune
raw, base = json.loads({raw!r}), Path({base!r})
config = with_student(raw, base, "bilstm", max_steps=120, eval_steps=20, batch_size=32, restarts=2)
fine_tune(config, "student", base / "data", base / "killed-restarts")
"""


def test_a_run_killed_midway_resumes_from_its_own_last_checkpoint(toy):
    base, raw, data_dir = toy
    script = KILLED_SCRIPT.format(
        tests=str(Path(__file__).parent), raw=json.dumps(raw), base=str(base)
    )
    pattern = ".killed-restarts.work-*/restarts/1.checkpoints/checkpoint-*/trainer_state.json"
    kill_once_written(script, base, pattern, timeout=300)
    assert not (base / "killed-restarts").exists()
    config = with_student(
        raw, base, "bilstm", max_steps=120, eval_steps=20, batch_size=32, restarts=2
    )
    ref = fine_tune(config, "student", data_dir, base / "killed-restarts")
    runs = json.loads((Path(ref.path) / "textcls.json").read_text())["metrics"]["restarts"]
    assert runs[0]["resumed_from_step"] == 0  # finished before the kill
    assert runs[1]["resumed_from_step"] >= 20 and runs[1]["global_step"] == 120
    assert not list(base.glob(".killed-restarts.work-*"))
