"""Trustworthy numbers: choices never read test; calibration fixes confidences, never labels.

Real models (tiny BiLSTMs, an int8 ONNX export), real scipy and ONNX Runtime. Two data folders
are built so that the property under test is visible:

- ``disagree``: test holds the validation texts with every label flipped, so the variant that
  is best on validation is worst on test. A choice that read test would pick the other one.
- ``noisy``: validation and test have a quarter of their labels flipped, so a model trained on
  clean labels is wrong a quarter of the time; ``loud`` is the trained student with its
  classifier layer scaled 8x, which changes no prediction but makes it sure of every one:
  deliberately over-confident.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from ingest_helpers import csv_text
from model_helpers import toy_rows, with_student
from textcls import config_from_dict
from textcls.artifacts import directory_sha256
from textcls.calibration import fit_temperature, negative_log_likelihood
from textcls.config import QuantizeStep
from textcls.evaluation.metrics import expected_calibration_error
from textcls.predictor import Predictor
from textcls.stages.calibrate import calibrate
from textcls.stages.evaluate import evaluate
from textcls.stages.finetune import fine_tune
from textcls.stages.ingest import ingest
from textcls.stages.quantize import quantize
from textcls.stages.register import choose_variant
from textcls.sweep import SweepVariant, render_summary, summarize

FLIP = {"pos": "neg", "neg": "pos"}


def _flip(rows, share, seed):
    chosen = set(random.Random(seed).sample(range(len(rows)), round(len(rows) * share)))
    return [(t, FLIP[y]) if i in chosen else (t, y) for i, (t, y) in enumerate(rows)]


def _ingest(base, name, validation, test):
    (base / f"{name}-val.csv").write_text(csv_text(validation))
    (base / f"{name}-test.csv").write_text(csv_text(test))
    raw = {
        "name": name,
        "data": {
            "train": "train.csv",
            "validation": f"{name}-val.csv",
            "test": f"{name}-test.csv",
            "drop_duplicates": False,
            "label_issues": "off",
        },
    }
    ingest(config_from_dict(raw, base_dir=base), base / name)
    return base / name


def _loud_copy(source, target, factor):
    """The model in ``source`` with its output layer scaled: same argmax, louder logits."""
    import shutil

    from safetensors.numpy import load_file, save_file

    shutil.copytree(source, target)
    weights = load_file(str(source / "model.safetensors"))
    for name in ("classifier.weight", "classifier.bias"):
        weights[name] = weights[name] * factor
    save_file(weights, str(target / "model.safetensors"), metadata={"format": "pt"})


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("trust")
    (base / "train.csv").write_text(csv_text(toy_rows(200)))
    validation = toy_rows(60, seed=1)
    data = _ingest(base, "data", validation, validation)
    raw = {"name": "trust", "seed": 5, "data": {"train": "train.csv"}}
    fine_tune(with_student(raw, base, "bilstm"), "student", data, base / "strong")
    fine_tune(
        with_student(raw, base, "bilstm", max_steps=2, learning_rate=0.001),
        "student",
        data,
        base / "weak",
    )
    _loud_copy(base / "strong", base / "loud", 8.0)
    disagree = _ingest(base, "disagree", validation, [(t, FLIP[y]) for t, y in validation])
    noisy = _ingest(
        base,
        "noisy",
        _flip(toy_rows(200, seed=11), 0.25, 1),
        _flip(toy_rows(200, seed=12), 0.25, 2),
    )
    return base, disagree, noisy


def test_no_mistake_on_validation_leaves_the_temperature_alone():
    # separable rows: the NLL keeps falling as T -> 0, so a fit would sharpen to 0/1
    logits = np.array([[3.0, -1.0], [-2.0, 1.0], [0.5, 0.0]])
    assert fit_temperature(logits, np.array([0, 1, 0])) == 1.0
    assert fit_temperature(logits, np.array([0, 1, 1])) != 1.0  # one mistake: a real fit


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 3)) * 2
    probabilities = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(3, p=p) for p in probabilities])
    # a model that says the same thing 4x too loudly: the fitted temperature undoes it
    fitted = fit_temperature(true_logits * 4, labels)
    assert fitted == pytest.approx(4.0, rel=0.1)
    assert negative_log_likelihood(true_logits * 4, labels, fitted) < negative_log_likelihood(
        true_logits * 4, labels, 1.0
    )


def test_no_choice_reads_the_test_split(models, tmp_path):
    base, disagree, _ = models
    ref = evaluate(
        disagree,
        {"strong": base / "strong", "weak": base / "weak"},
        tmp_path / "eval",
        pipeline="trust",
        baselines=["tfidf-logreg"],
        measure_cost=False,
    )
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    variants = report["variants"]
    # the precondition that makes this test able to fail: validation and test disagree
    val = {n: v["selection"]["accuracy"] for n, v in variants.items()}
    test = {n: v["quality"]["accuracy"] for n, v in variants.items()}
    assert val["strong"] > val["weak"] and test["weak"] > test["strong"]
    assert report["selected_on"] == "validation" and report["split"] == "test"
    assert report["best"] == max(val, key=val.get) != max(test, key=test.get)
    markdown = (tmp_path / "eval" / "report.md").read_text()
    assert "Best by validation accuracy" in markdown and "## Selection (validation)" in markdown

    # the registry's default variant: models only, read on validation
    config = config_from_dict(
        {"name": "trust", "data": {"train": "train.csv"}, "registry": {"path": "reg"}},
        base_dir=base,
    )
    assert choose_variant(config, report) == "strong"

    # a sweep's winner: two runs, each with one model, disagreeing the same way
    outcomes = []
    for name in ("strong", "weak"):
        run = tmp_path / f"run-{name}"
        (run / "eval").mkdir(parents=True)
        one = {**report, "variants": {"student": variants[name]}}
        (run / "eval" / "report.json").write_text(json.dumps(one))
        outcomes.append({"status": "completed", "run_dir": str(run), "run_id": name})
    sweep = [SweepVariant(0, {"lr": "a"}), SweepVariant(1, {"lr": "b"})]
    summary = summarize("s", "trust", {"lr": ["a", "b"]}, sweep, outcomes)
    assert summary["best"]["run_id"] == "strong"
    assert "Best by validation accuracy" in render_summary(summary)
    assert ref.sha256


def test_calibration_fixes_an_over_confident_model_and_keeps_every_prediction(models, tmp_path):
    base, _, noisy = models
    quantize(QuantizeStep(name="ort-dynamic-int8"), base / "loud", noisy, tmp_path / "int8")
    sources = {"student": base / "loud", "student-int8": tmp_path / "int8"}
    before_sha = {n: directory_sha256(p) for n, p in sources.items()}
    before_meta = {n: (p / "textcls.json").read_text() for n, p in sources.items()}
    calibrated = {}
    for name, folder in sources.items():
        calibrated[name] = tmp_path / f"calibrated-{name}"
        calibrate(folder, noisy, calibrated[name])
    # cached upstream folders are never edited: same bytes, same textcls.json
    assert {n: directory_sha256(p) for n, p in sources.items()} == before_sha
    assert {n: (p / "textcls.json").read_text() for n, p in sources.items()} == before_meta

    import datasets

    test = datasets.load_from_disk(str(noisy))["test"]
    texts, labels = list(test["text"]), np.asarray(test["label"])
    for name, folder in calibrated.items():
        meta = json.loads((folder / "textcls.json").read_text())
        assert meta["calibration"]["fitted_on"] == "validation"
        assert meta["calibration"]["temperature"] > 1.5  # over-confident: it cools down
        raw = Predictor.load(sources[name])
        fixed = Predictor.load(folder)
        assert fixed.temperature == meta["calibration"]["temperature"]
        p_raw, p_fixed = raw.probabilities(texts), fixed.probabilities(texts)
        assert (p_raw.argmax(1) == p_fixed.argmax(1)).all()  # argmax never changes
        ece_raw, _ = expected_calibration_error(labels, p_raw)
        ece_fixed, _ = expected_calibration_error(labels, p_fixed)
        assert ece_raw > 0.15 and ece_fixed < 0.7 * ece_raw, (name, ece_raw, ece_fixed)
        # predict's path (logits then predictions) gives the same probabilities
        predictions = fixed.predict(texts)
        said = np.array([[p.probabilities[label] for label in fixed.labels] for p in predictions])
        assert np.allclose(said, p_fixed, atol=1e-6)

    evaluate(noisy, calibrated, tmp_path / "eval", pipeline="noisy", measure_cost=False)
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    for variant in report["variants"].values():
        c = variant["calibration"]
        assert c["after"]["ece"] < c["before"]["ece"] and c["after"]["brier"] < c["before"]["brier"]
        assert variant["quality"]["ece"] == pytest.approx(c["after"]["ece"])
    markdown = (tmp_path / "eval" / "report.md").read_text()
    assert "## Calibration (test)" in markdown and "ECE before" in markdown
    assert (tmp_path / "eval" / "plots" / "reliability.png").stat().st_size > 10_000


def test_a_bad_temperature_is_a_clear_error(models, tmp_path):
    base, _, noisy = models
    calibrate(base / "strong", noisy, tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "textcls.json").read_text())
    meta["calibration"]["temperature"] = -1
    (tmp_path / "c" / "textcls.json").write_text(json.dumps(meta))
    from textcls.errors import DataError

    with pytest.raises(DataError, match="calibration.temperature must be a positive number"):
        Predictor.load(tmp_path / "c")
