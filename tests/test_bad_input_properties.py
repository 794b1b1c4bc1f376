"""Property tests: whatever the bytes or overrides, a located error or success, never a crash.

Hypothesis writes arbitrary CSV and JSON Lines files and arbitrary ``--set`` overrides. Each
example must either work or raise a ``TextclsError`` whose message starts with the place it
concerns (the file, ``data.<split>``, or the config source / override); any other exception is
a bug this suite exists to find.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import make_config
from textcls import ConfigError, TextclsError, config_from_dict
from textcls.stages.ingest import ingest

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

cell = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
label = st.one_of(cell, st.sampled_from(["pos", "neg", "NaN", "null", "N/A", "", " "]))


def try_ingest(base: Path, train: str, **data: object) -> None:
    """Ingest ``train``: success, or a TextclsError that names the file or the field."""
    out = base / "out"
    shutil.rmtree(out, ignore_errors=True)
    try:
        ingest(make_config(base, train=train, **data), out)
    except TextclsError as exc:
        message = str(exc)
        assert message.startswith((str(base), "data.")), message
        assert not out.exists(), "a failed ingest must leave no output"
        return
    assert (out / "labels.json").is_file()


@pytest.fixture
def folder():
    with tempfile.TemporaryDirectory(prefix="textcls-prop-") as name:
        yield Path(name)


@SETTINGS
@given(
    rows=st.lists(st.lists(cell, min_size=0, max_size=4), max_size=30),
    header=st.lists(st.sampled_from(["text", "label", "x", "text", ""]), min_size=1, max_size=4),
    skip=st.booleans(),
)
def test_any_csv_table_is_ingested_or_located(folder, rows, header, skip):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    (folder / "train.csv").write_text(buffer.getvalue(), encoding="utf-8")
    try_ingest(folder, "train.csv", bad_rows="skip" if skip else "error")


@SETTINGS
@given(data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"text,label\n"]))
def test_any_bytes_as_csv_are_ingested_or_located(folder, data, prefix):
    (folder / "train.csv").write_bytes(prefix + data)
    try_ingest(folder, "train.csv")


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | cell,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(cell, inner, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(
    records=st.lists(
        st.one_of(
            st.fixed_dictionaries({"text": json_value, "label": json_value}),
            st.fixed_dictionaries({"text": cell, "label": label}),
            json_value,
        ),
        max_size=30,
    ),
    garbage=st.lists(st.text(max_size=20), max_size=2),
    skip=st.booleans(),
)
def test_any_json_lines_are_ingested_or_located(folder, records, garbage, skip):
    lines = [json.dumps(r) for r in records] + garbage
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try_ingest(
        folder,
        "train.jsonl",
        source="jsonl",
        bad_rows="skip" if skip else "error",
    )


BASE = {
    "name": "t",
    "data": {"train": "train.csv"},
    "student": {"model": "bow", "train": {"epochs": 1}},
    "quantize": [{"name": "ort-dynamic-int8"}],
}
key = st.lists(
    st.sampled_from(
        ["data", "train", "student", "model", "params", "train", "epochs", "quantize", "0",
         "1", "-1", "name", "registry", "variant", "", "x", "seed", "text_column"]
    ),
    min_size=1,
    max_size=4,
).map(".".join)  # fmt: skip
value = st.one_of(
    st.sampled_from([".inf", "-.inf", ".nan", "1e999", "[1, 2]", "{a: 1}", "null", "*x", "&a"]),
    st.sampled_from(["'", '"', "[", "{", ": :", "- -", "!!python/object:os.system"]),
    st.text(max_size=12),
)


@SETTINGS
@given(overrides=st.lists(st.tuples(key, value).map("=".join), max_size=3))
def test_any_set_override_validates_or_is_located(overrides):
    try:
        config_from_dict(BASE, source="p.yaml", base_dir="/tmp", overrides=overrides)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(("p.yaml", "--set")), message
