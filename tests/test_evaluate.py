"""Evaluation: metrics checked against scikit-learn and by hand; a tiny end-to-end report."""

from __future__ import annotations

import csv
import json
import struct

import numpy as np
import pytest
from model_helpers import toy_data, with_student
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from textcls.config import QuantizeStep
from textcls.evaluation.metrics import (
    ece_noise_floor,
    ece_p_value,
    expected_calibration_error,
    quality_metrics,
)
from textcls.flows.cli import app
from textcls.stages.evaluate import evaluate
from textcls.stages.finetune import fine_tune
from textcls.stages.quantize import quantize
from typer.testing import CliRunner


def test_expected_calibration_error_by_hand():
    labels = np.array([0, 0, 1, 1])
    # confidences 0.9, 0.9 (one right, one wrong) and 0.6, 0.6 (both right)
    probs = np.array([[0.9, 0.1], [0.1, 0.9], [0.4, 0.6], [0.4, 0.6]])
    ece, bins = expected_calibration_error(labels, probs, bins=10)
    # bin (0.8, 0.9]: accuracy 0.5 vs confidence 0.9; bin (0.5, 0.6]: 1.0 vs 0.6
    assert ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert sum(b["count"] for b in bins) == 4


def test_ece_noise_floor_is_what_a_calibrated_model_measures_and_shrinks_with_rows():
    rng = np.random.default_rng(1)

    def calibrated(n):  # outcomes drawn from the stated confidences: calibrated by construction
        confidence = rng.uniform(0.5, 1.0, n)
        probs = np.stack([confidence, 1 - confidence], axis=1)
        labels = np.where(rng.random(n) < confidence, 0, 1)
        return labels, probs

    # about sqrt(c(1 - c) / n_bin) * sqrt(2 / pi) per bin: ~0.11 at 60 rows over 8 bins
    floors = []
    for n, low, high in ((60, 0.07, 0.16), (400, 0.03, 0.06), (20000, 0.003, 0.01)):
        labels, probs = calibrated(n)
        floor = ece_noise_floor(probs)
        measured = np.mean([expected_calibration_error(*calibrated(n))[0] for _ in range(30)])
        assert low < floor < high, (n, floor)
        assert floor == pytest.approx(measured, rel=0.25), (n, floor, measured)
        floors.append(floor)
    assert floors == sorted(floors, reverse=True)
    # a perfectly certain, always-right model has nothing to sample: floor 0
    assert ece_noise_floor(np.array([[1.0, 0.0]] * 50)) == 0.0


def test_ece_p_value_is_uniform_for_a_calibrated_model_and_small_for_an_over_confident_one():
    rng = np.random.default_rng(2)
    n = 872  # SST-2's test rows

    def model(over: float):  # stated confidences; outcomes drawn from confidence - over
        confidence = rng.uniform(0.55, 1.0, n)
        probs = np.stack([confidence, 1 - confidence], axis=1)
        labels = np.where(rng.random(n) < confidence - over, 0, 1)
        return labels, probs

    # calibrated by construction: p is about uniform, so p < 0.05 about one time in twenty
    ps = []
    for _ in range(200):
        labels, probs = model(0.0)
        ps.append(ece_p_value(probs, expected_calibration_error(labels, probs)[0]))
    assert 0.01 <= np.mean(np.array(ps) < 0.05) <= 0.11
    assert 0.4 < np.median(ps) < 0.6
    # 8 points over-confident: far beyond what 872 rows can hide
    labels, probs = model(0.08)
    assert ece_p_value(probs, expected_calibration_error(labels, probs)[0]) == 1 / 201
    # the same draws as the floor: an ECE at the floor's mean is about the median
    floor = ece_noise_floor(probs)
    assert 0.3 < ece_p_value(probs, floor) < 0.7


def test_the_calibration_table_shows_each_ece_beside_its_own_floor():
    # calibration moves the confidences, so before and after have different floors; one
    # unlabelled "ECE floor" column showed only after's and read as the floor of both
    from textcls.evaluation.trust_sections import calibration_lines

    def metrics(ece: float, floor: float, p: float) -> dict[str, float]:
        return {"ece": ece, "ece_floor": floor, "ece_p": p, "brier": 0.1, "log_loss": 0.3}

    calibration = {
        "temperature": 0.4,
        "before": metrics(0.176, 0.028, 1 / 201),
        "after": metrics(0.011, 0.008, 0.4),
    }
    report = {"split": "test", "variants": {"student": {"calibration": calibration}}}
    lines = calibration_lines(report)
    header = next(line for line in lines if line.startswith("| variant"))
    row = next(line for line in lines if line.startswith("| student"))
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    cells = {k.strip(): v.strip() for k, v in cells.items()}
    assert cells["ECE before"] == "0.176" and cells["ECE floor before"] == "0.028"
    assert cells["ECE after"] == "0.011" and cells["ECE floor after"] == "0.008"
    assert cells["p before"] == "0.005" and cells["p after"] == "0.400"
    assert ece_noise_floor(np.zeros((0, 2))) == 0.0


def test_quality_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + np.eye(3)[labels] * 1.5
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = quality_metrics(labels, probs, ["a", "b", "c"])
    predicted = probs.argmax(1)
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert m["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(labels, predicted, average="weighted"))
    assert m["log_loss"] == pytest.approx(log_loss(labels, probs))
    assert sum(m["per_class"][k]["support"] for k in "abc") == 300
    assert np.trace(np.array(m["confusion_matrix"])) == (predicted == labels).sum()
    low, high = m["accuracy_ci95"]
    assert low < m["accuracy"] < high
    assert "roc_auc" not in m  # multi-class


def test_binary_tasks_get_roc_and_pr_auc():
    labels = np.array([0, 1, 0, 1, 1])
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.45, 0.55], [0.9, 0.1]])
    m = quality_metrics(labels, probs, ["neg", "pos"])
    assert m["roc_auc"] == pytest.approx(roc_auc_score(labels, probs[:, 1]))
    assert 0 < m["pr_auc"] <= 1


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-eval")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bilstm"), "student", data_dir, base / "student")
    quantize(
        QuantizeStep(name="ort-dynamic-int8"), base / "student", data_dir, base / "student-int8"
    )
    (base / "cards-before-evaluation").write_text((base / "student" / "README.md").read_text())
    ref = evaluate(
        data_dir,
        {"student": base / "student", "student-int8": base / "student-int8"},
        base / "eval",
        pipeline="toy",
        baselines=["tfidf-logreg"],
    )
    return base, data_dir, ref


def test_report_json_holds_every_variant_with_quality_and_cost(evaluated):
    base, _, ref = evaluated
    report = json.loads((base / "eval" / "report.json").read_text())
    assert report["schema_version"] == 2 and report["split"] == "test"
    assert report["selected_on"] == "validation"
    assert set(report["variants"]) == {"student", "student-int8", "tfidf-logreg"}
    for variant in report["variants"].values():
        assert {
            "accuracy",
            "macro_f1",
            "ece",
            "accuracy_ci95",
            "macro_f1_ci95",
            "confusion_matrix",
            "per_class",
            "log_loss",
            "roc_auc",
        } <= set(variant["quality"])
        cost = variant["cost"]
        assert cost["throughput"] > 0 and cost["latency_b1_p95_ms"] >= cost["latency_b1_p50_ms"]
        assert cost["size_mb"] > 0
    assert report["variants"]["student"]["cost"]["peak_rss_mb"] > 50
    assert report["variants"]["student"]["cost"]["parameters"] > 0
    assert report["variants"]["student-int8"]["cost"]["backend"] == "onnx"
    assert report["best"] in report["variants"]
    chosen = {n: v["selection"]["accuracy"] for n, v in report["variants"].items()}
    assert chosen[report["best"]] == max(chosen.values())
    assert report["variants"]["tfidf-logreg"]["notes"] == ["trained on the train split"]


def test_report_markdown_and_plots_are_readable(evaluated):
    base, _, _ = evaluated
    text = (base / "eval" / "report.md").read_text()
    assert text.startswith("# Evaluation: toy")
    assert "| student-int8 |" in text and "95% CI" in text and "## Per class" in text
    assert "## Data" in text  # the data report section
    for name in (
        "confusion_student.png",
        "confusion_tfidf-logreg.png",
        "reliability.png",
        "pareto.png",
    ):
        width, height = png_size(base / "eval" / "plots" / name)
        assert width >= 400 and height >= 400
        assert f"plots/{name}" in text


def test_errors_csv_lists_confident_mistakes(evaluated):
    base, _, _ = evaluated
    with open(base / "eval" / "errors.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert (
        list(rows[0]) == ["variant", "true_label", "predicted_label", "confidence", "text"]
        if rows
        else True
    )
    for row in rows:
        assert row["true_label"] != row["predicted_label"]


def test_evaluation_leaves_upstream_model_cards_as_they_were(evaluated):
    from huggingface_hub import ModelCard

    base, _, _ = evaluated
    card = (base / "student" / "README.md").read_text()
    assert card == (base / "cards-before-evaluation").read_text()
    assert "## Evaluation" not in card
    # the card the training stage wrote carries Hub metadata a tool can read
    data = ModelCard.load(base / "student" / "README.md").data.to_dict()
    assert data["library_name"] == "textcls" and data["pipeline_tag"] == "text-classification"
    assert data["textcls"]["labels"] == ["neg", "pos"] and data["textcls"]["model"] == "bilstm"
    assert len(data["textcls"]["data_sha256"]) == 64


def test_evaluate_command_with_a_labelled_csv(evaluated, tmp_path):
    base, _, _ = evaluated
    (tmp_path / "holdout.csv").write_text(
        "text,label\ngood great film,pos\nawful dull plot,neg\nsuperb lovely,pos\nbad poor,neg\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(base / "student"),
            str(base / "student-int8"),
            "--data",
            str(tmp_path / "holdout.csv"),
            "--output",
            str(tmp_path / "out"),
            "--no-cost",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    assert report["variants"]["student"]["quality"]["examples"] == 4
    assert report["labels"] == ["neg", "pos"]
    # one file: it is scored and reported, and the report says nothing else chose
    assert report["split"] == report["selected_on"] == "test"
    data_report = json.loads((tmp_path / "out" / "ingested" / "data_report.json").read_text())
    assert data_report["leakage"] == {}  # the scored file is not a training set
    assert "also appears in train" not in result.output  # no "60 of 60 rows" leakage warning


def test_evaluate_no_explain_switches_the_reports_explanations_off(evaluated, tmp_path):
    from textcls.stages.evaluate import EXPLANATIONS_OFF

    base, _, _ = evaluated
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("text,label\ngood great film,pos\nawful dull plot,neg\n")
    command = ["evaluate", str(base / "student"), "--data", str(holdout), "--no-cost"]
    result = CliRunner().invoke(app, [*command, "--no-explain", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    assert report["explanations"]["skipped"] == EXPLANATIONS_OFF
    assert not (tmp_path / "out" / "report" / "explanations.html").exists()


def test_evaluate_with_one_file_never_trains_a_baseline_on_it(evaluated, tmp_path):
    base, _, _ = evaluated
    holdout = tmp_path / "holdout.csv"
    holdout.write_text(
        "text,label\ngood great film,pos\nawful dull plot,neg\nsuperb lovely,pos\nbad poor,neg\n"
    )
    command = ["evaluate", str(base / "student"), "--data", str(holdout), "--no-cost"]
    alone = CliRunner().invoke(
        app, [*command, "--baseline", "tfidf-logreg", "-o", str(tmp_path / "a")]
    )
    assert alone.exit_code == 0, alone.output
    report = json.loads((tmp_path / "a" / "report" / "report.json").read_text())
    assert set(report["variants"]) == {"student"}
    assert any("--train FILE" in note for note in report["notes"])
    assert "skipped" in (tmp_path / "a" / "report" / "report.md").read_text()
    with_train = CliRunner().invoke(
        app,
        [*command, "--baseline", "tfidf-logreg", "--train", str(base / "train.csv")]
        + ["-o", str(tmp_path / "b")],
    )
    assert with_train.exit_code == 0, with_train.output
    report = json.loads((tmp_path / "b" / "report" / "report.json").read_text())
    assert report["variants"]["tfidf-logreg"]["quality"]["examples"] == 4
    ingested = json.loads((tmp_path / "b" / "ingested" / "data_report.json").read_text())
    assert ingested["splits"]["train"]["rows"] == 200  # trained on --train, not the scored file
    missing = CliRunner().invoke(app, [*command, "--train", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "--train" in missing.output


def test_evaluate_command_with_an_ingested_data_folder(evaluated, tmp_path):
    base, data_dir, _ = evaluated
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(base / "student"),
            "--data",
            str(data_dir),
            "--split",
            "validation",
            "--output",
            str(tmp_path / "o"),
            "--no-cost",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Scored on the **validation** split" in result.stdout
    as_json = CliRunner().invoke(
        app,
        ["evaluate", str(base / "student"), "--data", str(data_dir), "--split", "validation"]
        + ["--output", str(tmp_path / "j"), "--no-cost", "--json"],
    )
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.stdout)
    assert payload["split"] == "validation" and payload["report_folder"].endswith("report")
    assert payload["variants"]["student"]["quality"]["accuracy"] == pytest.approx(
        json.loads((tmp_path / "o" / "report" / "report.json").read_text())["variants"]["student"][
            "quality"
        ]["accuracy"]
    )
