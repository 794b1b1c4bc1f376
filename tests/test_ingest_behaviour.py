"""Ingest behaviour: sources, cleaning, splits, labels, fingerprints, unlabelled text."""

from __future__ import annotations

import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import csv_text, labels_of, make_config, run_ingest
from textcls import DataError
from textcls.artifact_files import read_labels
from textcls.data.clean import unescape_entities
from textcls.data.unlabeled import load_unlabeled_texts
from textcls.stages.ingest import ingest


def balanced_rows(n_per_class: int, classes=("a", "b", "c")) -> list[tuple[str, str]]:
    return [(f"text {label} number {i}", label) for label in classes for i in range(n_per_class)]


def test_tsv_source_unquoted_by_default(tmp_path, write):
    rows = ['he said "hi"\tpos', "plain\tneg", 'x "y\tpos', "z\tneg"]
    write("train.tsv", "text\tlabel\n" + "\n".join(rows) + "\n")
    ds, report, _ = run_ingest(
        tmp_path,
        source="tsv",
        train="train.tsv",
        validation="train.tsv",
        test="train.tsv",
        leakage="warn",
    )
    assert 'he said "hi"' in list(ds["train"]["text"])
    assert report["splits"]["train"]["rows"] == 4


def test_jsonl_source_with_joined_text_columns(tmp_path, write):
    records = [
        {"title": f"T{i}", "description": f"d {i}", "y": "a" if i % 2 else "b"} for i in range(20)
    ]
    write("train.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    ds, _, _ = run_ingest(
        tmp_path,
        source="jsonl",
        train="train.jsonl",
        text_column=["title", "description"],
        label_column="y",
        text_separator=" - ",
    )
    texts = set(ds["train"]["text"]) | set(ds["validation"]["text"]) | set(ds["test"]["text"])
    assert "T3 - d 3" in texts


def test_jsonl_invalid_line_names_line(tmp_path, write):
    path = write("train.jsonl", '{"text": "a", "label": "x"}\n{not json}\n')
    with pytest.raises(DataError) as info:
        run_ingest(tmp_path, source="jsonl", train="train.jsonl")
    assert str(info.value).startswith(f"{path}:2: invalid JSON")


def test_parquet_source_with_integer_labels_and_names(tmp_path):
    table = pa.table({"sentence": [f"s{i}" for i in range(30)], "y": [i % 2 for i in range(30)]})
    pq.write_table(table, tmp_path / "train.parquet")
    ds, report, _ = run_ingest(
        tmp_path,
        source="parquet",
        train="train.parquet",
        text_column="sentence",
        label_column="y",
        label_names=["negative", "positive"],
    )
    assert report["labels"] == ["negative", "positive"]
    assert ds["train"].features["label"].names == ["negative", "positive"]
    row = ds["train"][0]
    assert row["label"] == int(row["text"][1:]) % 2


def test_text_folder_source(tmp_path, write):
    for label in ("ham", "spam"):
        for i in range(6):
            write(f"corpus/{label}/{i}.txt", f"  {label} message {i}\n")
    ds, report, _ = run_ingest(tmp_path, source="text-folder", train="corpus")
    assert report["labels"] == ["ham", "spam"]
    assert sum(split.num_rows for split in ds.values()) == 12
    assert "ham message 0" in [t for split in ds.values() for t in split["text"]]


def test_hf_disk_source_maps_class_labels(tmp_path):
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    saved = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"text": [f"t{i}" for i in range(20)], "label": [i % 2 for i in range(20)]},
                features=features,
            ),
            "validation": datasets.Dataset.from_dict(
                {"text": ["v0", "v1"], "label": [0, 1]}, features=features
            ),
        }
    )
    saved.save_to_disk(str(tmp_path / "saved"))
    ds, report, _ = run_ingest(
        tmp_path, source="hf-disk", train="saved", validation="saved#validation"
    )
    assert report["labels"] == ["neg", "pos"]
    assert labels_of(ds["validation"]) == ["neg", "pos"]
    with pytest.raises(DataError, match="no split 'nope'; splits found: train, validation"):
        run_ingest(tmp_path, source="hf-disk", train="saved#nope")


def test_hf_hub_source_offline_fails_fast_and_clearly(tmp_path):
    with pytest.raises(DataError) as info:
        run_ingest(tmp_path, source="hf-hub", train="stanfordnlp/sst2")
    message = str(info.value)
    assert "HF_HUB_OFFLINE is set" in message and "hf-disk" in message


def test_cleaning_steps_and_switches(tmp_path, write):
    rows = [
        ("Tom&#39;s  caf\u00e9 &lt;b&gt;", "a"),
        ("It #39;s quot;fine quot;", "b"),
        ("ＦＵＬＬ width", "a"),
        ("x", "b"),
    ]
    write("train.csv", csv_text(rows))
    ds, _, _ = run_ingest(tmp_path, train="train.csv", validation="train.csv", test="train.csv")
    assert list(ds["train"]["text"]) == ["Tom's café <b>", 'It \'s "fine "', "FULL width", "x"]
    ds, _, _ = run_ingest(
        tmp_path,
        train="train.csv",
        validation="train.csv",
        test="train.csv",
        cleaning={
            "unescape_html": False,
            "unicode_normalization": None,
            "collapse_whitespace": False,
            "lowercase": True,
        },
    )
    assert list(ds["train"]["text"])[0] == "tom&#39;s  café &lt;b&gt;"
    assert list(ds["train"]["text"])[2] == "ｆｕｌｌ width"


def test_vectorised_and_python_unescaping_agree():
    import pyarrow as pa
    from textcls.data.clean import _unescape_array

    texts = [
        "Tom&#39;s",
        "AT&amp;T",
        "&amp;lt;b&amp;gt;",
        "caf&eacute; &lt;3",
        "x #39;s",
        "plain",
        " quot;hi quot;",
        "&#8364; 5",
        "a&amp;b &copy;",
        "Co#39;s",
    ]
    expected = [unescape_entities(t) for t in texts]
    assert _unescape_array(pa.array(texts)).to_pylist() == expected
    assert expected[2] == "&lt;b&gt;" and expected[3] == "café <3"


def test_whitespace_collapse_matches_the_plain_regex():
    import pyarrow as pa
    import pyarrow.compute as pc
    from textcls.data.clean import _collapse_whitespace

    texts = [" a  b ", "a\tb", "a \n b", "plain text", "\u00a0x\u2003y ", "", None]
    plain = pc.utf8_trim_whitespace(pc.replace_substring_regex(pa.array(texts), r"\s+", " "))
    assert _collapse_whitespace(pa.array(texts)).to_pylist() == plain.to_pylist()


def test_unescape_repairs_bare_entities_only():
    assert unescape_entities("Wall St.#39;s quot;bears quot;") == 'Wall St.\'s "bears "'
    assert unescape_entities("AT&amp;T") == "AT&T"
    assert unescape_entities("the equation x;lt;y stays") == "the equation x;lt;y stays"


def test_length_filters_are_counted(tmp_path, write):
    rows = [("ok text", "a"), ("no", "b"), ("fine text", "b"), ("x" * 50, "a")] * 3
    write(
        "train.csv",
        csv_text([(f"{t} {i}" if len(t) < 20 else t, y) for i, (t, y) in enumerate(rows)]),
    )
    _, report, _ = run_ingest(
        tmp_path,
        train="train.csv",
        validation="train.csv",
        test="train.csv",
        drop_duplicates=False,
        cleaning={"min_chars": 5, "max_chars": 30},
        long_text_chars=20,
    )
    assert report["dropped"]["train"] == {"shorter than 5 chars": 3, "longer than 30 chars": 3}


def test_long_texts_are_reported(tmp_path, write):
    path = write("train.csv", csv_text([("short", "a"), ("y" * 300, "b"), ("z", "b")]))
    _, report, _ = run_ingest(
        tmp_path, train="train.csv", validation="train.csv", test="train.csv", long_text_chars=100
    )
    assert report["long_texts"]["train"] == {"count": 1, "threshold": 100, "first": f"{path}:3"}
    assert any("longer than 100 chars" in w for w in report["warnings"])


def test_duplicates_exact_and_normalised(tmp_path, write):
    rows = [("Same text", "a"), ("Same text", "a"), ("same   TEXT", "a"), ("other", "b")]
    write("train.csv", csv_text(rows))
    ds, report, _ = run_ingest(
        tmp_path, train="train.csv", validation="train.csv", test="train.csv"
    )
    assert report["duplicates"]["train"] == {"exact": 1, "after_cleaning": 1, "normalised": 2}
    assert list(ds["train"]["text"]) == ["Same text", "same TEXT", "other"]


def test_conflicting_labels_reported(tmp_path, write):
    write("train.csv", csv_text([("dunno", "a"), ("dunno", "b"), ("x", "a")]))
    _, report, _ = run_ingest(tmp_path, train="train.csv", validation="train.csv", test="train.csv")
    assert report["conflicts"]["train"] == {
        "texts": 1,
        "examples": [{"text": "dunno", "labels": ["a", "b"]}],
    }


def test_leakage_drop_and_warn(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(5)))
    write("val.csv", csv_text([("text a number 1", "a"), ("fresh", "b")]))
    ds, report, _ = run_ingest(
        tmp_path, train="train.csv", validation="val.csv", test="val.csv", leakage="drop"
    )
    assert list(ds["validation"]["text"]) == ["fresh"]
    assert report["leakage"]["test"]["rows"] == 1
    ds, report, _ = run_ingest(
        tmp_path, train="train.csv", validation="val.csv", test="val.csv", leakage="warn"
    )
    assert ds["validation"].num_rows == 2
    assert any("also appears in train" in w for w in report["warnings"])


def test_carved_splits_are_stratified_and_seeded(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(40)))
    ds, report, _ = run_ingest(tmp_path, train="train.csv")
    assert {k: v.num_rows for k, v in ds.items()} == {"train": 96, "validation": 12, "test": 12}
    assert report["splits"]["test"]["labels"] == {"a": 4, "b": 4, "c": 4}
    again, _, _ = run_ingest(tmp_path, train="train.csv")
    assert list(again["test"]["text"]) == list(ds["test"]["text"])
    config = make_config(tmp_path, train="train.csv")
    config.seed = 4
    ingest(config, tmp_path / "other")
    other = datasets.load_from_disk(str(tmp_path / "other"))
    assert list(other["test"]["text"]) != list(ds["test"]["text"])
    splits = [set(ds[s]["text"]) for s in ("train", "validation", "test")]
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])


def test_max_train_examples_keeps_class_balance(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(100)))
    ds, report, _ = run_ingest(tmp_path, train="train.csv", max_train_examples=30)
    assert report["splits"]["train"]["labels"] == {"a": 10, "b": 10, "c": 10}
    assert report["dropped"]["train"]["over max_train_examples"] == 240 - 30
    assert ds["validation"].num_rows == 30  # carved from the full train before the limit


def test_label_ids_stay_stable_and_new_labels_are_appended(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(10, classes=("b", "c", "a", "d"))))
    config = make_config(tmp_path, train="train.csv")
    ingest(config, tmp_path / "run2", previous_labels=["c", "a", "b"])
    assert read_labels(tmp_path / "run2") == ["c", "a", "b", "d"]
    report = json.loads((tmp_path / "run2" / "data_report.json").read_text())
    assert report["new_labels"] == ["d"]
    assert any("new labels" in w for w in report["warnings"])
    ingest(config, tmp_path / "run1")
    assert read_labels(tmp_path / "run1") == ["a", "b", "c", "d"]


def test_numeric_labels_sort_naturally(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(5, classes=("10", "2", "1"))))
    _, report, _ = run_ingest(tmp_path, train="train.csv")
    assert report["labels"] == ["1", "2", "10"]


def test_fingerprint_is_stable_and_tracks_content(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(20)))
    config = make_config(tmp_path, train="train.csv")
    first = ingest(config, tmp_path / "a").sha256
    assert ingest(config, tmp_path / "b").sha256 == first
    fingerprint = json.loads((tmp_path / "a" / "fingerprint.json").read_text())
    assert fingerprint["content_sha256"] == first
    assert fingerprint["sources"][0]["path"] == str(tmp_path / "train.csv")
    assert fingerprint["sources"][0]["size"] > 0
    write("train.csv", csv_text(balanced_rows(20) + [("one more", "a")]))
    assert ingest(config, tmp_path / "c").sha256 != first


def test_data_report_markdown_is_written(tmp_path, write):
    write("train.csv", csv_text(balanced_rows(10)))
    _, _, out = run_ingest(tmp_path, train="train.csv")
    text = (out / "data_report.md").read_text()
    assert text.startswith("## Data")
    assert "| train | 24 | 8 | 8 | 8 |" in text


def test_unlabelled_text_for_pretraining(tmp_path, write):
    write("corpus.csv", "text\nfirst sentence\n\n  \nsecond   sentence\n")
    config = make_config(tmp_path, train="corpus.csv")
    texts = load_unlabeled_texts(config, str(tmp_path / "corpus.csv"), "pretrain.corpus")
    assert texts.to_pylist() == ["first sentence", "second sentence"]


@pytest.mark.parametrize("form", ["NFC", "NFKC", "NFD", "NFKD"])
def test_unicode_normalisation_matches_python_whatever_the_pyarrow(form):
    # pyarrow 25.0's utf8_normalize leaves NFC and NFKC decomposed; textcls checks and falls back
    import unicodedata

    import pyarrow as pa
    from textcls.data.clean import unicode_normalize

    texts = ["caf\u00e9", "cafe\u0301", "\uff26\uff35\uff2c\uff2c", None, "\u00c5ngstr\u00f6m"]
    got = unicode_normalize(pa.array(texts), form).to_pylist()
    assert got == [None if t is None else unicodedata.normalize(form, t) for t in texts]
