"""Every kind of bad input stops ingest with a message naming file and line, and how to fix it."""

from __future__ import annotations

import pytest
from ingest_helpers import csv_text, run_ingest
from textcls import DataError

GOOD = [("good movie", "pos"), ("bad movie", "neg"), ("great film", "pos"), ("awful film", "neg")]


def ingest_error(tmp_path, **data) -> str:
    with pytest.raises(DataError) as info:
        run_ingest(tmp_path, **data)
    assert not (tmp_path / "out" / "data").exists(), "a failed ingest must not leave output"
    return str(info.value)


def test_missing_file(tmp_path):
    message = ingest_error(tmp_path, train="nope.csv")
    assert message.startswith(f"data.train: file not found: {tmp_path / 'nope.csv'}")
    assert "relative paths resolve against the pipeline file's folder" in message


def test_glob_matching_nothing(tmp_path):
    message = ingest_error(tmp_path, train="parts/*.csv")
    assert message.startswith("data.train: no file matches")


def test_missing_column_lists_columns_found(tmp_path, write):
    path = write("train.csv", csv_text(GOOD, header="sentence,label"))
    message = ingest_error(tmp_path, train="train.csv")
    assert message == (
        f"{path}:1: column 'text' not found; columns found: sentence, label. Set "
        "data.text_column to one of them (or check data.source.params.delimiter)."
    )


def test_missing_label_column(tmp_path, write):
    write("train.csv", csv_text(GOOD))
    message = ingest_error(tmp_path, train="train.csv", label_column="sentiment")
    assert (
        "column 'sentiment' not found; columns found: text, label. Set data.label_column" in message
    )


def test_invalid_bytes_in_declared_encoding(tmp_path, write):
    good = csv_text(GOOD).encode()
    path = write("train.csv", good + b"caf\xe9 au lait,pos\n")
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith(f"{path}:6: bytes b'\\xe9' at column 4 are not valid utf-8")
    assert "Set data.source.params.encoding" in message
    # declaring the real encoding reads it
    ds, _, _ = run_ingest(
        tmp_path, train="train.csv", source={"name": "csv", "params": {"encoding": "latin-1"}}
    )
    assert "café au lait" in [t for split in ds.values() for t in split["text"]]


def test_malformed_row_is_an_error_with_its_line(tmp_path, write):
    text = csv_text(GOOD) + 'one,two,three\r\n"multi\nline",neg\r\n'
    path = write("train.csv", text)
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith(f"{path}:6: malformed row: expected 2 fields, found 3.")
    assert "data.bad_rows: skip" in message


def test_malformed_rows_skipped_when_config_says_so(tmp_path, write):
    rows = GOOD * 3
    path = write("train.csv", csv_text(rows) + "x,y,z\r\n" + "a,b,c,d\r\n")
    ds, report, _ = run_ingest(tmp_path, train="train.csv", bad_rows="skip", drop_duplicates=False)
    assert report["dropped"]["train"]["malformed row"] == 2
    assert report["skipped_rows"][:2] == [
        {"where": f"{path}:14", "reason": "expected 2 fields, found 3"},
        {"where": f"{path}:15", "reason": "expected 2 fields, found 4"},
    ]
    assert sum(d.num_rows for d in ds.values()) == 12


def test_byte_order_mark(tmp_path, write):
    path = write("train.csv", "\ufeff" + csv_text(GOOD * 2))
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith(f"{path}:1: the file starts with a UTF-8 byte-order mark")
    assert "encoding: utf-8-sig" in message
    ds, report, _ = run_ingest(
        tmp_path,
        train="train.csv",
        drop_duplicates=False,
        source={"name": "csv", "params": {"encoding": "utf-8-sig"}},
    )
    assert report["labels"] == ["neg", "pos"]


def test_empty_file_and_header_only(tmp_path, write):
    path = write("empty.csv", "")
    assert ingest_error(tmp_path, train="empty.csv") == (
        f"{path}: the file is empty; it needs a header line and data rows."
    )
    write("header.csv", "text,label\n")
    message = ingest_error(tmp_path, train="header.csv")
    assert "no data rows" in message and "header.csv" in message


def test_empty_text_names_the_right_line_after_a_multiline_record(tmp_path, write):
    text = csv_text(GOOD) + '"two\nline text",pos\r\n"",neg\r\n'
    path = write("train.csv", text)
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith(f"{path}:8: empty or missing text in column 'text'.")
    assert "data.bad_rows: skip" in message


def test_whitespace_only_text_counts_as_empty(tmp_path, write):
    path = write("train.csv", csv_text(GOOD + [("   ", "pos")]))
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith(f"{path}:6: empty or missing text")


def test_null_label(tmp_path, write):
    path = write("train.csv", csv_text(GOOD + [("fine movie", "")]))
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith(f"{path}:6: empty or missing label in column 'label'.")


def test_null_text_in_jsonl(tmp_path, write):
    lines = [f'{{"text": "{t}", "label": "{y}"}}' for t, y in GOOD] + [
        '{"text": null, "label": "pos"}'
    ]
    path = write("train.jsonl", "\n".join(lines) + "\n")
    message = ingest_error(tmp_path, train="train.jsonl", source="jsonl")
    assert message.startswith(f"{path}:5: empty or missing text")


def test_empty_rows_skipped_and_reported(tmp_path, write):
    path = write("train.csv", csv_text(GOOD * 2 + [("", "pos"), ("text", "")]))
    ds, report, _ = run_ingest(tmp_path, train="train.csv", bad_rows="skip", drop_duplicates=False)
    assert report["dropped"]["train"] == {"empty text": 1, "empty label": 1}
    assert {"where": f"{path}:10", "reason": "empty text"} in report["skipped_rows"]
    assert {"where": f"{path}:11", "reason": "empty label"} in report["skipped_rows"]


def test_single_class_train(tmp_path, write):
    write("train.csv", csv_text([("a", "pos"), ("b", "pos"), ("c", "pos")]))
    message = ingest_error(tmp_path, train="train.csv")
    assert message.startswith("data.train: every training row has the label 'pos'")
    assert "at least two classes" in message


def test_validation_label_train_never_saw(tmp_path, write):
    write("train.csv", csv_text(GOOD))
    path = write("val.csv", csv_text([("ok film", "pos"), ("meh", "neutral"), ("hm", "neutral")]))
    message = ingest_error(
        tmp_path, train="train.csv", validation="val.csv", test="val.csv", leakage="warn"
    )
    assert message.startswith(
        f"{path}:3: validation has labels that train never saw: 'neutral' (2 rows)."
    )


def test_leakage_error_policy(tmp_path, write):
    write("train.csv", csv_text(GOOD))
    path = write("val.csv", csv_text([("new text", "pos"), ("bad movie", "neg")]))
    message = ingest_error(
        tmp_path, train="train.csv", validation="val.csv", test="val.csv", leakage="error"
    )
    assert message.startswith(
        f"{path}:3: validation: 1 of 2 rows have a text that also appears in train"
    )
    assert "data.leakage: drop" in message


def test_integer_label_out_of_range(tmp_path, write):
    path = write("train.csv", csv_text([("a", "0"), ("b", "1"), ("c", "7")]))
    message = ingest_error(tmp_path, train="train.csv", label_names=["neg", "pos"])
    assert message.startswith(
        f"{path}:4: label '7' is neither a name in data.label_names nor an id from 0 to 1."
    )


def test_failed_rerun_keeps_the_previous_output(tmp_path, write):
    write("train.csv", csv_text(GOOD * 3))
    _, _, out = run_ingest(tmp_path, train="train.csv", drop_duplicates=False)
    before = sorted(p.name for p in out.iterdir())
    write("train.csv", "")
    with pytest.raises(DataError):
        run_ingest(tmp_path, train="train.csv")
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in out.parent.iterdir()] == ["data"]  # no temporary leftovers
