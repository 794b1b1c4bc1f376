"""``student: {}`` is a whole student: architecture, tokenizer, distiller and recipe filled in."""

from __future__ import annotations

import json

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, TINY_TRAIN, toy_rows
from textcls import config_from_dict
from textcls.student_defaults import (
    DEFAULT_DISTILLER,
    DEFAULT_MODEL,
    DEFAULT_TRAIN,
    DEFAULT_TRANSFER,
)

TEACHER = {
    "model": {"name": "transformer", "params": TINY_MODELS["transformer"]},
    "tokenizer": {"name": "wordpiece", "params": {"vocab_size": 200, "min_frequency": 1}},
    "train": {"batch_size": 16, "max_length": 32, **TINY_TRAIN["transformer"]},
}


def same_component(found, default):
    """Config validation fills in each component's other params: compare the ones we set."""
    params = {k: found["params"].get(k) for k in default["params"]}
    return found["name"] == default["name"] and params == default["params"]


def pipeline(student, teacher=True, tmp_path=None):
    raw = {"name": "defaults", "data": {"train": "train.csv"}, "student": student}
    if teacher:
        raw["teacher"] = TEACHER
    return config_from_dict(raw, base_dir=tmp_path)


def test_an_empty_student_section_is_the_default_student(tmp_path):
    student = pipeline({}, tmp_path=tmp_path).student
    assert same_component(student.model.model_dump(), DEFAULT_MODEL)
    assert student.distill is not None
    assert same_component(student.distill.model_dump(), DEFAULT_DISTILLER)
    assert {k: getattr(student.train, k) for k in DEFAULT_TRAIN} == DEFAULT_TRAIN
    assert student.tokenizer is None  # the architecture's default: word
    assert student.transfer.augment is not None
    assert student.transfer.multiplier == DEFAULT_TRANSFER["multiplier"]
    assert student.transfer.max_size == DEFAULT_TRANSFER["max_size"]


def test_the_default_transfer_set_yields_to_the_sections_own(tmp_path):
    """Augmentation is the distilled default student's; a section's transfer choices win."""
    given = pipeline({"transfer": {"unlabeled": "more.csv"}}, tmp_path=tmp_path).student
    assert str(given.transfer.unlabeled).endswith("more.csv") and given.transfer.augment is not None
    assert given.transfer.multiplier == DEFAULT_TRANSFER["multiplier"]
    plain = pipeline({"transfer": {"multiplier": 1}}, tmp_path=tmp_path).student
    assert plain.transfer.multiplier == 1 and plain.transfer.augment is None
    assert plain.transfer.max_size is None  # the section chose its size: no default cap
    capped = pipeline({"transfer": {"max_size": 900}}, tmp_path=tmp_path).student
    assert capped.transfer.max_size == 900 and capped.transfer.augment is not None
    assert capped.transfer.multiplier == DEFAULT_TRANSFER["multiplier"]
    own = pipeline({"transfer": {"augment": {"mask_prob": 0.3}}}, tmp_path=tmp_path).student
    assert own.transfer.augment.mask_prob == 0.3 and own.transfer.multiplier == 1
    assert pipeline({"distill": None}, tmp_path=tmp_path).student.transfer.augment is None
    assert pipeline({}, teacher=False, tmp_path=tmp_path).student.transfer.augment is None
    named = pipeline({"model": "gru", "distill": {"name": "logits-kl"}}, tmp_path=tmp_path)
    assert named.student.transfer.augment is None  # a chosen model keeps the generic defaults


def test_what_the_section_sets_wins_over_the_defaults(tmp_path):
    student = pipeline({"train": {"epochs": 9}}, tmp_path=tmp_path).student
    assert student.train.epochs == 9
    assert student.train.learning_rate == DEFAULT_TRAIN["learning_rate"]
    assert pipeline({"distill": None}, tmp_path=tmp_path).student.distill is None
    custom = pipeline({"distill": {"name": "logits-mse"}}, tmp_path=tmp_path).student
    assert custom.distill.name == "logits-mse" and custom.model.name == "bilstm"


def test_overriding_a_default_param_keeps_the_default_student(tmp_path):
    """``--set student.model.params.hidden_size=64`` on ``student: {}`` (a sweep, say)."""
    raw = {
        "name": "defaults",
        "data": {"train": "train.csv"},
        "teacher": TEACHER,
        "student": {},
    }
    config = config_from_dict(
        raw, base_dir=tmp_path, overrides=["student.model.params.hidden_size=64"]
    )
    assert config.student.model.name == "bilstm"
    assert config.student.model.params["hidden_size"] == 64
    assert config.student.model.params["embedding_dim"] == DEFAULT_MODEL["params"]["embedding_dim"]
    assert config.student.distill is not None
    assert config.student.train.epochs == DEFAULT_TRAIN["epochs"]


def test_without_a_teacher_the_default_student_trains_on_labels(tmp_path):
    student = pipeline({}, teacher=False, tmp_path=tmp_path).student
    assert student.model.name == "bilstm" and student.distill is None


def test_a_named_model_keeps_the_generic_training_defaults(tmp_path):
    """The recipe fits the default architecture; a chosen model (an hf one, say) keeps 5e-5."""
    student = pipeline({"model": "gru"}, tmp_path=tmp_path).student
    assert student.train.learning_rate == 5e-5 and student.train.epochs == 1
    assert student.distill is None


@pytest.mark.slow
def test_an_empty_student_section_runs_end_to_end(tmp_path, prefect_api):
    """Through the real flow: teacher, distilled default student, int8, evaluation."""
    from textcls.flows.pipeline import textcls_pipeline

    (tmp_path / "train.csv").write_text(csv_text(toy_rows(200)))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(60, seed=1)))
    raw = {
        "name": "empty-student",
        "data": {"train": "train.csv", "validation": "val.csv", "test": "val.csv"},
        "teacher": TEACHER,
        "student": {},
        "quantize": [{"name": "ort-dynamic-int8", "targets": ["student"]}],
        "evaluate": {"measure_cost": False},
        "output": "runs",
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(raw))
    manifest = textcls_pipeline(config_path=str(tmp_path / "pipeline.yaml"))
    assert list(manifest["stages"]) == [
        "ingest",
        "teacher",
        "student",
        "quantize student-ort-dynamic-int8",
        "calibrate teacher",
        "calibrate student",
        "calibrate student-ort-dynamic-int8",
        "evaluate",
    ]
    run_dir = tmp_path / "runs" / "empty-student" / manifest["run_id"]
    meta = json.loads((run_dir / "student" / "textcls.json").read_text())
    assert same_component(meta["model"], DEFAULT_MODEL)
    assert meta["tokenizer"]["name"] == "word"
    assert meta["distill"]["distiller"]["name"] == "logits-kl"
    assert meta["metrics"]["validation_accuracy"] >= 0.85
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    assert report["variants"]["student-ort-dynamic-int8"]["quality"]["accuracy"] >= 0.85
