"""Label issues at ingest: cleanlab finds injected label flips, names file and line, drops them."""

from __future__ import annotations

import json
import logging
import random
import tempfile

import numpy as np
import pytest
from ingest_helpers import csv_text, run_ingest
from model_helpers import TINY_MODELS, toy_rows
from textcls import config_from_dict
from textcls.config import label_issue_encoder
from textcls.data import label_issues as label_issues_module
from textcls.data.label_issues import (
    METHOD,
    find_label_issues,
    label_issues_from_probabilities,
)
from textcls.data.teacher_folds import TEMP_PREFIX
from textcls.flows.cli import app
from textcls.pipeline_plan import RunLayout, plan_stages
from textcls.plugin_manager import get_plugins
from textcls.stages.ingest import ingest
from typer.testing import CliRunner


def flipped_rows(n: int, share: float, seed: int = 7) -> tuple[list[tuple[str, str]], set[int]]:
    """Toy rows with ``share`` of the labels flipped; returns the rows and the flipped indices."""
    rows = toy_rows(n, seed=3)
    flipped = set(random.Random(seed).sample(range(n), round(n * share)))
    other = {"pos": "neg", "neg": "pos"}
    return [(t, other[y]) if i in flipped else (t, y) for i, (t, y) in enumerate(rows)], flipped


def pipeline_finding_issues_with(model: str, teacher: dict) -> dict:
    """A pipeline on train.csv / val.csv whose ingest looks for label issues with ``model``."""
    return {
        "name": "t",
        "seed": 3,
        "data": {
            "train": "train.csv",
            "validation": "val.csv",
            "test": "val.csv",
            "drop_duplicates": False,
            "label_issues_model": model,
        },
        "teacher": teacher,
    }


def test_cleanlab_finds_the_flipped_rows_of_a_small_set():
    rows, flipped = flipped_rows(300, 0.1)
    issues, note = find_label_issues([t for t, _ in rows], [y for _, y in rows], seed=1)
    assert note is None
    found = {issue.index for issue in issues}
    precision = len(found & flipped) / len(found)
    recall = len(found & flipped) / len(flipped)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    for issue in issues:
        assert issue.suggested != issue.given
        assert issue.suggested_probability > issue.given_probability
    # ranked by confidence: the most suspect (lowest probability of its label) first
    given = [issue.given_probability for issue in issues]
    assert given == sorted(given)


def test_clean_labels_give_few_issues():
    rows = toy_rows(300, seed=3)
    issues, _ = find_label_issues([t for t, _ in rows], [y for _, y in rows], seed=1)
    assert len(issues) <= 3


def test_a_class_with_one_row_is_not_checked_and_says_why():
    issues, note = find_label_issues(["a b", "c d", "e f"], ["x", "x", "y"], seed=0)
    assert issues == [] and "class 'y' has 1 training row" in note


def test_probabilities_from_any_model_work():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    probs = np.where(labels[:, None] == np.arange(2), 0.9, 0.1)
    probs[0] = [0.02, 0.98]  # labelled 0, a model is sure it is 1
    issues = label_issues_from_probabilities(labels, probs, ["a", "b"])
    assert [(i.index, i.given, i.suggested) for i in issues] == [(0, "a", "b")]


@pytest.mark.parametrize("policy", ["report", "drop"])
def test_ingest_lists_likely_mislabeled_rows_with_file_and_line(tmp_path, policy):
    rows, flipped = flipped_rows(300, 0.1)
    (tmp_path / "train.csv").write_text(csv_text(rows))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(40, seed=9)))
    dataset, report, out = run_ingest(
        tmp_path,
        train="train.csv",
        validation="val.csv",
        test="val.csv",
        drop_duplicates=False,
        label_issues=policy,
    )
    found = report["label_issues"]
    assert found["policy"] == policy and found["checked_rows"] == 300
    issues = found["issues"]
    assert found["found"] == len(issues) >= 0.8 * len(flipped)
    for issue in issues:
        # where names the CSV line: header is line 1, row i is line i + 2
        line = int(issue["where"].rsplit(":", 1)[1])
        text, label = rows[line - 2]
        assert issue["where"].startswith(str(tmp_path / "train.csv"))
        assert issue["text"] == text and issue["given"] == label
    lines = {int(i["where"].rsplit(":", 1)[1]) - 2 for i in issues}
    assert len(lines & flipped) >= 0.8 * len(lines)
    markdown = (out / "data_report.md").read_text()
    assert "Likely mislabeled rows" in markdown and issues[0]["where"] in markdown
    if policy == "drop":
        assert found["dropped"] == len(issues)
        assert dataset["train"].num_rows == 300 - len(issues)
        assert report["dropped"]["train"]["likely mislabeled (data.label_issues: drop)"] == len(
            issues
        )
        kept = set(dataset["train"]["text"])
        assert not any(issue["text"] in kept for issue in issues if issue["text"])
    else:
        assert found["dropped"] == 0 and dataset["train"].num_rows == 300


@pytest.mark.parametrize(
    "rule", ["confident_learning", "low_self_confidence", "predicted_neq_given"]
)
def test_the_filter_option_is_cleanlabs_rule_and_the_report_names_it(tmp_path, rule):
    rows, _ = flipped_rows(300, 0.1)
    (tmp_path / "train.csv").write_text(csv_text(rows))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(40, seed=9)))
    common = {"train": "train.csv", "validation": "val.csv", "test": "val.csv"}
    _, report, out = run_ingest(tmp_path, **common, drop_duplicates=False, label_issues_filter=rule)
    found = report["label_issues"]
    assert found["filter"] == rule and f"filter_by={rule}" in found["method"]
    assert f"filter_by={rule}" in (out / "data_report.md").read_text()
    # the very rows cleanlab's rule flags on the same out-of-fold probabilities (seed 3: the
    # helper's config), which differ from the default rule's
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    expected, _ = find_label_issues(texts, labels, 3, filter_by=rule)
    default, _ = find_label_issues(texts, labels, 3)
    lines = [int(i["where"].rsplit(":", 1)[1]) - 2 for i in found["issues"]]
    assert sorted(lines) == sorted(i.index for i in expected)
    assert {i.index for i in expected} != {i.index for i in default}


def test_the_filters_default_keeps_the_ingest_cache_key_and_a_rule_changes_it(tmp_path):
    (tmp_path / "train.csv").write_text(csv_text(toy_rows(20)))
    layout = RunLayout(tmp_path / "runs", "t", "r1")

    def key(**data: str) -> str:
        raw = {"name": "t", "data": {"train": "train.csv", **data}}
        config = config_from_dict(raw, base_dir=tmp_path)
        (ingest_step, *_) = plan_stages(config, layout, get_plugins())
        return ingest_step.key({}, config.seed)

    assert key() == key(label_issues_filter="auto")
    assert key(label_issues_filter="confident_learning") != key()


def test_label_issues_off_looks_for_nothing(tmp_path):
    rows, _ = flipped_rows(100, 0.1)
    (tmp_path / "train.csv").write_text(csv_text(rows))
    _, report, out = run_ingest(tmp_path, train="train.csv", label_issues="off")
    # nothing looked for, and the report says the check was off (an empty {} said nothing)
    assert report["label_issues"] == {
        "policy": "off",
        "note": "not checked (data.label_issues: off)",
    }
    assert "not checked (data.label_issues: off)" in (out / "data_report.md").read_text()


# --- data.label_issues_model: encoder (the teacher's frozen pretrained encoder) -----------------

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
HF_TEACHER = {"model": {"name": "hf", "params": {"pretrained": MINILM}}}


@pytest.mark.slow  # ~12 s on two busy cores; the ingest test below covers the same path faster
def test_the_encoder_method_finds_the_flipped_rows_of_a_small_set():
    rows, flipped = flipped_rows(200, 0.1)
    issues, note = find_label_issues(
        [t for t, _ in rows], [y for _, y in rows], seed=1, encoder=MINILM
    )
    assert note is None
    found = {issue.index for issue in issues}
    hit = len(found & flipped)
    assert hit >= 0.8 * len(flipped) and hit >= 0.8 * len(found), (len(found), hit)


def test_the_encoder_option_reaches_the_data_report(tmp_path):
    rows, flipped = flipped_rows(200, 0.1)
    (tmp_path / "train.csv").write_text(csv_text(rows))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(20, seed=9)))
    raw = pipeline_finding_issues_with("encoder", HF_TEACHER)
    out = tmp_path / "data"
    ingest(config_from_dict(raw, base_dir=tmp_path), out)
    found = json.loads((out / "data_report.json").read_text())["label_issues"]
    assert found["model"] == "encoder" and MINILM in found["method"]
    assert "TF-IDF" in found["method"] and found["seconds"] > 0
    lines = {int(i["where"].rsplit(":", 1)[1]) - 2 for i in found["issues"]}
    assert len(lines & flipped) >= 0.8 * len(flipped)
    markdown = (out / "data_report.md").read_text()
    assert f"frozen {MINILM} embeddings" in markdown
    # the default stays the TF-IDF model, and the report says so
    raw["data"]["label_issues_model"] = "tfidf"
    ingest(config_from_dict(raw, base_dir=tmp_path), tmp_path / "data-tfidf")
    report = json.loads((tmp_path / "data-tfidf" / "data_report.json").read_text())
    assert report["label_issues"]["model"] == "tfidf"
    assert report["label_issues"]["method"] == METHOD


@pytest.mark.parametrize(
    ("teacher", "why"),
    [
        (None, "there is no teacher section"),
        ("{name: bilstm}", "the teacher is 'bilstm', not a pretrained hf model"),
    ],
)
def test_the_encoder_without_a_pretrained_hf_teacher_is_a_config_error(write, teacher, why):
    write("train.csv", csv_text(toy_rows(10)))
    text = "name: t\ndata:\n  train: train.csv\n  label_issues_model: encoder\n"
    if teacher is not None:
        text += f"teacher:\n  model: {teacher}\n"
    pipeline = write("pipeline.yaml", text)
    result = CliRunner().invoke(app, ["config", "validate", str(pipeline)])
    assert result.exit_code == 2
    assert f"{pipeline}:4: data.label_issues_model: 'encoder' embeds" in result.stderr
    assert why in result.stderr and "set data.label_issues_model: tfidf" in result.stderr
    # with the check off (an unquoted YAML off, read as false), the option is moot: valid
    pipeline.write_text(
        text.replace("  label_issues_model", "  label_issues: off\n  label_issues_model")
    )
    assert CliRunner().invoke(app, ["config", "validate", str(pipeline)]).exit_code == 0


def test_the_encoder_with_an_hf_teacher_lacking_pretrained_says_what_is_missing(write):
    # it read "the teacher is 'hf', not a pretrained hf model": what was missing went unsaid
    write("train.csv", csv_text(toy_rows(10)))
    text = "name: t\ndata:\n  train: train.csv\n  label_issues_model: encoder\n"
    pipeline = write("pipeline.yaml", text + "teacher:\n  model: {name: hf}\n")
    result = CliRunner().invoke(app, ["config", "validate", str(pipeline)])
    assert result.exit_code == 2
    assert "the hf teacher has no params.pretrained" in result.stderr
    assert "not a pretrained hf model" not in result.stderr


def test_the_ingest_cache_key_follows_the_label_issue_model(tmp_path):
    (tmp_path / "train.csv").write_text(csv_text(toy_rows(20)))
    raw = {"name": "t", "data": {"train": "train.csv"}, "teacher": HF_TEACHER}
    keys = set()
    for model in ("tfidf", "encoder"):
        raw["data"]["label_issues_model"] = model
        config = config_from_dict(raw, base_dir=tmp_path)
        layout = RunLayout(tmp_path / "runs", "t", "r1")
        (ingest_step, *_) = plan_stages(config, layout, get_plugins())
        keys.add(ingest_step.key({}, config.seed))
    assert len(keys) == 2


def test_a_drop_that_could_not_check_warns(tmp_path):
    # a user asked for drop; one class with one row means no check ran: a warning, not silence
    rows = [*toy_rows(60, seed=3), ("a lone example of a third class", "rare")]
    (tmp_path / "train.csv").write_text(csv_text(rows))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(20, seed=9)))
    _, report, out = run_ingest(
        tmp_path, train="train.csv", validation="val.csv", test="val.csv", label_issues="drop"
    )
    assert report["label_issues"]["dropped"] == 0
    (warning,) = [w for w in report["warnings"] if "mislabeled" in w]
    assert "class 'rare' has 1 training row" in warning and "nothing was dropped" in warning
    assert warning in (out / "data_report.md").read_text()


def test_a_drop_of_most_of_train_warns(tmp_path):
    # 45% of labels flipped: drop removed over half of train with one progress line, no warning
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(20, seed=9)))
    for share, warns in ((0.45, True), (0.1, False)):
        rows, _ = flipped_rows(200, share)
        (tmp_path / "train.csv").write_text(csv_text(rows))
        _, report, _ = run_ingest(
            tmp_path, train="train.csv", validation="val.csv", test="val.csv", label_issues="drop"
        )
        found = report["label_issues"]
        big = [w for w in report["warnings"] if w.startswith("data.label_issues: drop removed")]
        assert bool(big) == warns, (share, found["dropped"], report["warnings"])
        if warns:
            assert f"removed {found['dropped']} of 200 training rows" in big[0]


@pytest.mark.parametrize("word", ["on", "yes", "true"])
def test_an_unquoted_yes_word_asks_which_policy_is_meant(write, word):
    # YAML reads on/yes/true as true; "Input should be 'report', 'drop' or 'off'" left the user
    # wondering why the word they wrote was not accepted
    write("train.csv", csv_text(toy_rows(10)))
    pipeline = write(
        "pipeline.yaml", f"name: t\ndata:\n  train: train.csv\n  label_issues: {word}\n"
    )
    result = CliRunner().invoke(app, ["config", "validate", str(pipeline)])
    assert result.exit_code == 2
    assert f"{pipeline}:4" in result.stderr and "data.label_issues" in result.stderr
    assert "YAML read this as true" in result.stderr and "report" in result.stderr


# --- data.label_issues_model: teacher (the pipeline's teacher, fine-tuned once per fold) --------

#: A bag-of-words teacher with a word tokenizer: five fine-tunes in seconds.
TINY_TEACHER = {
    "model": {"name": "bow", "params": TINY_MODELS["bow"]},
    "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
    "train": {"epochs": 4, "batch_size": 16, "learning_rate": 0.05, "max_length": 16},
}


@pytest.mark.slow  # five fine-tunes: 1-3 minutes on two busy cores
def test_the_teacher_option_finds_the_flips_reports_itself_and_leaves_no_temp_folder(
    tmp_path, monkeypatch, caplog
):
    rows, flipped = flipped_rows(200, 0.1)
    data = tmp_path / "data_in"
    data.mkdir()
    (data / "train.csv").write_text(csv_text(rows))
    (data / "val.csv").write_text(csv_text(toy_rows(40, seed=9)))
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the fold folders go
    raw = pipeline_finding_issues_with("teacher", TINY_TEACHER)
    out = tmp_path / "out" / "data"
    with caplog.at_level(logging.INFO, logger="textcls.data"):
        ingest(config_from_dict(raw, base_dir=data), out)
    # five fine-tunes ran, one per fold ...
    assert sum("label issues: teacher fold" in r.getMessage() for r in caplog.records) == 5
    found = json.loads((out / "data_report.json").read_text())["label_issues"]
    assert found["model"] == "teacher" and "pipeline's teacher" in found["method"]
    # `auto` with the teacher: the least self-confident rows, as many as confident learning
    assert found["filter"] == "low_self_confidence"
    assert "filter_by=low_self_confidence" in found["method"]
    assert "TF-IDF" in found["method"] and "embeddings" not in found["method"]  # not hf
    assert found["seconds"] > 0
    lines = {int(i["where"].rsplit(":", 1)[1]) - 2 for i in found["issues"]}
    hit = len(lines & flipped)
    # a 16-dim bag of words on 160 rows per fold is weaker than TF-IDF here (it hashes words
    # into buckets); random flags would be 10% precise
    assert hit >= 0.6 * len(flipped) and hit >= 0.75 * len(lines), (len(lines), hit)
    assert all(i["suggested"] != i["given"] for i in found["issues"])
    assert "pipeline's teacher" in (out / "data_report.md").read_text()
    # ... in temp folders that are gone, and nothing was written beside the user's data
    # (torch may keep its own compile cache there: not ours)
    assert not [p for p in temp.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert sorted(p.name for p in data.iterdir()) == ["train.csv", "val.csv"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["data"]


def test_the_teacher_option_without_a_teacher_is_a_config_error(write):
    write("train.csv", csv_text(toy_rows(10)))
    text = "name: t\ndata:\n  train: train.csv\n  label_issues_model: teacher\n"
    pipeline = write("pipeline.yaml", text)
    result = CliRunner().invoke(app, ["config", "validate", str(pipeline)])
    assert result.exit_code == 2
    assert f"{pipeline}:4: data.label_issues_model: 'teacher' fine-tunes" in result.stderr
    assert "there is no teacher section" in result.stderr
    assert "set data.label_issues_model: tfidf" in result.stderr
    # any teacher kind will do (not only a pretrained hf one)
    pipeline.write_text(text + "teacher:\n  model: {name: bilstm}\n")
    assert CliRunner().invoke(app, ["config", "validate", str(pipeline)]).exit_code == 0


def test_the_ingest_cache_key_follows_the_teacher_when_it_finds_the_label_issues(
    tmp_path, monkeypatch
):
    (tmp_path / "train.csv").write_text(csv_text(toy_rows(20)))

    def key(model: str, epochs: int) -> str:
        teacher = {**TINY_TEACHER, "train": {**TINY_TEACHER["train"], "epochs": epochs}}
        raw = {
            "name": "t",
            "data": {"train": "train.csv", "label_issues_model": model},
            "teacher": teacher,
        }
        config = config_from_dict(raw, base_dir=tmp_path)
        (ingest_step, *_) = plan_stages(
            config, RunLayout(tmp_path / "runs", "t", "r1"), get_plugins()
        )
        return ingest_step.key({}, config.seed)

    # an hf teacher's pretrained encoder is averaged in too; another kind's is not
    hf = {"name": "t", "data": {"train": "train.csv", "label_issues_model": "teacher"}}
    config = config_from_dict({**hf, "teacher": HF_TEACHER}, base_dir=tmp_path)
    assert label_issue_encoder(config) == MINILM
    assert (
        label_issue_encoder(config_from_dict({**hf, "teacher": TINY_TEACHER}, base_dir=tmp_path))
        is None
    )
    # the teacher's recipe decides which rows are flagged only when it is the model asked for
    assert key("teacher", 4) != key("teacher", 5)
    # so does the rule `auto` stands for with the teacher: a release that changes it (as
    # session 9 did, both -> low_self_confidence) re-runs the check instead of reusing it
    before = {model: key(model, 4) for model in ("teacher", "tfidf")}
    monkeypatch.setattr(label_issues_module, "TEACHER_FILTER", "both")
    assert key("teacher", 4) != before["teacher"] and key("tfidf", 4) == before["tfidf"]
    assert key("tfidf", 4) == key("tfidf", 5)
    assert key("teacher", 4) != key("tfidf", 4)
