"""Ingest the shared benchmark sets, read in place, with the expected counts and labels."""

from __future__ import annotations

from ingest_helpers import run_ingest


def test_sst2_from_its_two_part_files(shared_data, tmp_path):
    ds, report, _ = run_ingest(
        tmp_path,
        train=str(shared_data / "sst2/train.part*.csv"),
        validation=str(shared_data / "sst2/validation.csv"),
    )
    assert report["splits"]["train"]["files"] == [
        str(shared_data / "sst2/train.part1.csv"),
        str(shared_data / "sst2/train.part2.csv"),
    ]
    assert report["labels"] == ["negative", "positive"]
    assert report["duplicates"]["train"]["exact"] == 366  # as the data README counts them
    assert report["dropped"]["train"] == {"duplicate": 366}
    assert ds["validation"].num_rows == 872
    # 67,349 rows minus 366 duplicates, with a stratified 10% carved as test
    assert ds["train"].num_rows + ds["test"].num_rows == 67349 - 366
    assert ds["test"].num_rows == round((67349 - 366) * 0.1)
    assert "carved from train" in report["splits"]["test"]["provenance"]


def test_ag_news_four_classes_with_entities_unescaped(shared_data, tmp_path):
    ds, report, _ = run_ingest(
        tmp_path,
        train=str(shared_data / "ag_news/train.csv"),
        validation=str(shared_data / "ag_news/validation.csv"),
        test=str(shared_data / "ag_news/test.csv"),
    )
    assert report["labels"] == ["Business", "Sci/Tech", "Sports", "World"]
    assert report["duplicates"]["train"]["exact"] == 0  # as the data README says
    # cleaning (entities, Unicode, whitespace) can make distinct raw rows equal: counted, dropped
    assert ds["train"].num_rows + report["dropped"].get("train", {}).get("duplicate", 0) == 8990
    assert ds["validation"].num_rows == 999
    test_labels = report["splits"]["test"]["labels"]
    assert set(test_labels) == {"Business", "Sci/Tech", "Sports", "World"}
    assert sum(test_labels.values()) + report["dropped"]["test"]["duplicate"] == 7600
    # 6 exact duplicate rows in the official test file are dropped and reported
    assert report["duplicates"]["test"]["exact"] == 6
    assert ds["test"].num_rows == 7600 - report["dropped"]["test"]["duplicate"]
    texts = ds["train"]["text"]
    assert not any("#39;" in t or "&lt;" in t for t in texts)
    assert any("'s" in t for t in texts)


def test_sms_spam_keeps_imbalance(shared_data, tmp_path):
    ds, report, _ = run_ingest(
        tmp_path,
        train=str(shared_data / "sms_spam/train.csv"),
        validation=str(shared_data / "sms_spam/validation.csv"),
        test=str(shared_data / "sms_spam/test.csv"),
    )
    assert report["labels"] == ["ham", "spam"]
    assert report["splits"]["validation"]["labels"] == {"ham": 452, "spam": 64}
    assert report["splits"]["test"]["labels"] == {"ham": 452, "spam": 64}
    assert ds["train"].num_rows <= 4128
    assert report["splits"]["train"]["labels"]["spam"] <= 514


def test_chnsenticorp_duplicates_and_leakage(shared_data, tmp_path):
    ds, report, _ = run_ingest(
        tmp_path,
        train=str(shared_data / "chnsenticorp/train.csv"),
        validation=str(shared_data / "chnsenticorp/validation.csv"),
        test=str(shared_data / "chnsenticorp/validation_no_overlap.csv"),
        leakage="drop",
    )
    assert report["labels"] == ["negative", "positive"]
    assert report["duplicates"]["train"]["exact"] == 1327  # as the data README counts them
    assert report["conflicts"]["train"]["texts"] == 24
    # the README: 335 of the 1,178 distinct dev texts also appear in train
    leak = report["leakage"]["validation"]
    assert leak["distinct_texts"] == 335
    # one leaked text appears in dev with both labels: two rows
    assert leak["rows"] == report["dropped"]["validation"]["also in train"] == 336
    assert ds["validation"].num_rows == 1200 - 21 - 336 == 843
    # the no-overlap file shares nothing with train
    assert "test" not in report["leakage"]
    assert ds["test"].num_rows == 843
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in ds["test"]["text"][:20])
