"""Hostile files and configs: exit code 2, a message that names the place, nothing changed.

Each case builds a folder of files, runs one command, and asserts the three guarantees of
docs/guarantees.md: the exit code is 2, the message names the location (file and line, config
field, or model folder), and every file in the folder is byte-for-byte what it was (no output
left behind, nothing of the user's replaced or deleted).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import csv_text
from model_helpers import toy_data, with_student
from textcls.flows.cli import app
from typer.testing import CliRunner

runner = CliRunner()

ROWS = [(f"sample text number {i}", "pos" if i % 2 else "neg") for i in range(24)]
GOOD_CSV = csv_text(ROWS)
BAD_LINE = len(ROWS) + 2  # the line after the header and every good row


def pipeline(data: str = "  train: train.csv\n", extra: str = "") -> str:
    return f"name: t\ndata:\n{data}{extra}"


def jsonl(*records: object) -> str:
    good = [{"text": text, "label": label} for text, label in ROWS]
    return "".join(json.dumps(r) + "\n" for r in [*good, *records])


def parquet(text: pa.Array, label: pa.Array) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        pq.write_table(pa.table({"text": text, "label": label}), path)

    return write


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders)."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@dataclass
class Case:
    """A hostile input: files to write, the command, and where its error must point."""

    id: str
    files: dict[str, str | bytes | Callable[[Path], None]]
    args: list[str]
    where: str
    stdin: bytes | None = None
    also: list[str] = field(default_factory=list)


N = len(ROWS)
TEXT_PARQUET = pa.array([f"t{i}" for i in range(N)])
LABELS = ["pos" if i % 2 else "neg" for i in range(N)]
ALIAS_BOMB = (
    "a: &a ["
    + ",".join(["lol"] * 9)
    + "]\n"
    + "".join(
        f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
)

DATA_CASES = [
    *[
        Case(
            f"null-like-label-{value or 'empty'}",
            {"train.csv": GOOD_CSV + f"one more text,{value}\n", "p.yaml": pipeline()},
            ["ingest", "{dir}/p.yaml"],
            f"train.csv:{BAD_LINE}: ",
            also=["missing label" if value else "empty or missing label"],
        )
        for value in ("NaN", "nan", "NA", "null", "None", "N/A", "")
    ],
    *[
        Case(
            f"jsonl-label-{name}",
            {
                "train.jsonl": jsonl({"text": "x", "label": value}),
                "p.yaml": pipeline("  source: jsonl\n  train: train.jsonl\n"),
            },
            ["ingest", "{dir}/p.yaml"],
            f"train.jsonl:{N + 1}: ",
            also=["label"],
        )
        for name, value in [
            ("true", True),
            ("false", False),
            ("list", ["pos"]),
            ("object", {"a": 1}),
            ("nan", float("nan")),
        ]
    ],
    Case(
        "duplicate-csv-header",
        {"train.csv": GOOD_CSV.replace("text,label", "text,label,text", 1), "p.yaml": pipeline()},
        ["ingest", "{dir}/p.yaml"],
        "train.csv:1: the header names column 'text' twice",
    ),
    Case(
        "utf16-declared-utf8-split",
        {
            "train.csv": GOOD_CSV.encode("utf-16"),
            "val.csv": GOOD_CSV,
            "p.yaml": pipeline(
                "  source: {name: csv, params: {encoding: utf-16}}\n"
                "  train: train.csv\n  validation: val.csv\n"
            ),
        },
        ["ingest", "{dir}/p.yaml"],
        "val.csv:1: ",
        also=["byte-order mark"],
    ),
    Case(
        "parquet-list-labels",
        {
            "train.parquet": parquet(TEXT_PARQUET, pa.array([[v] for v in LABELS])),
            "p.yaml": pipeline("  source: parquet\n  train: train.parquet\n"),
        },
        ["ingest", "{dir}/p.yaml"],
        "train.parquet: column 'label' has type list",
    ),
    Case(
        "parquet-binary-text-not-utf8",
        {
            "train.parquet": parquet(
                pa.array([f"t{i}".encode() for i in range(N - 1)] + [b"\xff\xfe"], pa.binary()),
                pa.array(LABELS),
            ),
            "p.yaml": pipeline("  source: parquet\n  train: train.parquet\n"),
        },
        ["ingest", "{dir}/p.yaml"],
        f"train.parquet, row {N}: column 'text' holds bytes that are not UTF-8",
    ),
    Case(
        "parquet-float-nan-label",
        {
            "train.parquet": parquet(
                TEXT_PARQUET, pa.array([float("nan") if i == 5 else float(i % 2) for i in range(N)])
            ),
            "p.yaml": pipeline("  source: parquet\n  train: train.parquet\n"),
        },
        ["ingest", "{dir}/p.yaml"],
        "train.parquet, row 6: missing label ('nan' means no value",
    ),
    Case(
        "markup-in-header-is-printed-as-is",
        {"train.csv": GOOD_CSV.replace("text,label", "body[/],:x:", 1), "p.yaml": pipeline()},
        ["ingest", "{dir}/p.yaml"],
        "train.csv:1: column 'text' not found; columns found: body[/], :x:",
    ),
]

CONFIG_CASES = [
    Case(
        "yaml-not-utf8",
        {"train.csv": GOOD_CSV, "p.yaml": b"name: t\n# caf\xe9\ndata:\n  train: train.csv\n"},
        ["config", "validate", "{dir}/p.yaml"],
        "p.yaml:2: bytes b'\\xe9' are not UTF-8",
    ),
    Case(
        "yaml-duplicate-key",
        {"train.csv": GOOD_CSV, "p.yaml": pipeline("  train: train.csv\n  train: other.csv\n")},
        ["config", "validate", "{dir}/p.yaml"],
        "p.yaml:4: invalid YAML: duplicate key 'train' (first on line 3)",
    ),
    Case(
        "yaml-alias-bomb",
        {"p.yaml": ALIAS_BOMB},
        ["config", "validate", "{dir}/p.yaml"],
        "p.yaml:",
        also=["aliases"],
    ),
    Case(
        "epochs-inf",
        {
            "train.csv": GOOD_CSV,
            "p.yaml": pipeline(extra="student:\n  model: bow\n  train: {epochs: .inf}\n"),
        },
        ["config", "validate", "{dir}/p.yaml"],
        "p.yaml:6: student.train.epochs: must be a finite number",
    ),
    Case(
        "learning-rate-nan-by-override",
        {"train.csv": GOOD_CSV, "p.yaml": pipeline(extra="student:\n  model: bow\n")},
        ["config", "validate", "{dir}/p.yaml", "--set", "student.train.learning_rate=.nan"],
        "(--set student.train.learning_rate): student.train.learning_rate: must be a finite",
    ),
    Case(
        "registry-variant-typo",
        {
            "train.csv": GOOD_CSV,
            "p.yaml": pipeline(extra="student:\n  model: bow\nregistry:\n  variant: studnet\n"),
        },
        ["config", "validate", "{dir}/p.yaml"],
        "p.yaml:7: registry.variant: 'studnet' is not a model variant",
    ),
    *[
        Case(
            f"run-id-{name}",
            {"train.csv": GOOD_CSV, "p.yaml": pipeline(extra="student:\n  model: bow\n")},
            ["run", "{dir}/p.yaml", "--run-id", value],
            f"--run-id {value!r}: must be one folder name",
        )
        for name, value in [("parent", "../../x"), ("absolute", "/tmp/x"), ("empty", "")]
    ],
    *[
        Case(
            f"bad-{option}",
            {"train.csv": GOOD_CSV, "p.yaml": pipeline(extra="student:\n  model: bow\n")},
            ["run", "{dir}/p.yaml", option, "trian"],
            f"{option} trian: not a stage of this pipeline",
        )
        for option in ("--only", "--from")
    ],
]

REGISTRY_VERSION = {
    "version": 1,
    "pipeline": "t",
    "run_id": "r1",
    "variant": "student",
    "model_sha256": "0" * 64,
    "registered": "2026-01-01T00:00:00",
    "metrics": {"accuracy": 0.9, "macro_f1": 0.9},
}

REGISTRY_CASES = [
    Case(
        f"registry-{name}",
        {"reg/t/versions/1/version.json": version, "reg/t/champion.json": champion},
        ["registry", "list", "{dir}/reg/t"],
        where,
    )
    for name, version, champion, where in [
        (
            "champion-not-json",
            json.dumps(REGISTRY_VERSION),
            '{"version": 1,',
            "champion.json:1: not valid JSON",
        ),
        (
            "champion-a-list",
            json.dumps(REGISTRY_VERSION),
            "[1, 2]",
            "champion.json: expected a JSON object",
        ),
        (
            "champion-version-a-string",
            json.dumps(REGISTRY_VERSION),
            '{"version": "one", "lineage": [], "history": []}',
            "champion.json: field 'version' is missing or invalid",
        ),
        (
            "version-without-metrics",
            json.dumps({k: v for k, v in REGISTRY_VERSION.items() if k != "metrics"}),
            '{"version": 1, "lineage": [1], "history": [{"version": 1}]}',
            "versions/1/version.json: field 'metrics' is missing or invalid",
        ),
    ]
]


def run_case(case: Case, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    before = snapshot(folder)
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    start = time.perf_counter()
    result = runner.invoke(app, args, input=case.stdin)
    seconds = time.perf_counter() - start
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stderr.startswith("error: "), result.stderr
    assert case.where in result.stderr, result.stderr
    for text in case.also:
        assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert snapshot(folder) == before, "a refused input must leave every file as it was"
    assert seconds < 60, f"refusing took {seconds:.0f} s"


@pytest.mark.parametrize("case", DATA_CASES + CONFIG_CASES + REGISTRY_CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_with_its_location(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path / "case")


def test_alias_bomb_is_refused_in_seconds(tmp_path):
    (tmp_path / "p.yaml").write_text(ALIAS_BOMB)
    start = time.perf_counter()
    result = runner.invoke(app, ["config", "validate", str(tmp_path / "p.yaml")])
    assert result.exit_code == 2
    assert time.perf_counter() - start < 20


# -- data loss -----------------------------------------------------------------------------------


def test_ingest_refuses_an_output_folder_it_did_not_write(tmp_path):
    (tmp_path / "train.csv").write_text(GOOD_CSV)
    (tmp_path / "p.yaml").write_text(pipeline())
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    (mine / "sub" / "more.txt").write_text("more")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["ingest", str(tmp_path / "p.yaml"), "--output", str(mine)])
    assert result.exit_code == 2, result.output
    assert f"{mine}: the folder exists and holds files textcls did not write" in result.stderr
    assert snapshot(tmp_path) == before


def test_ingest_replaces_its_own_output_and_an_empty_folder(tmp_path):
    (tmp_path / "train.csv").write_text(GOOD_CSV)
    (tmp_path / "p.yaml").write_text(pipeline())
    target = tmp_path / "out"
    target.mkdir()
    for _ in range(2):  # an empty folder, then the folder textcls wrote
        result = runner.invoke(app, ["ingest", str(tmp_path / "p.yaml"), "--output", str(target)])
        assert result.exit_code == 0, result.output
        assert (target / "labels.json").is_file() and (target / ".textcls-artifact").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_ingest_refuses_its_own_folder_once_a_user_file_is_added(tmp_path):
    (tmp_path / "train.csv").write_text(GOOD_CSV)
    (tmp_path / "p.yaml").write_text(pipeline())
    target = tmp_path / "out"
    args = ["ingest", str(tmp_path / "p.yaml"), "--output", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    (target / "train" / "my-notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{target}: textcls wrote this folder, but it now also holds 'train/my-notes.txt'" in (
        result.stderr
    )
    assert snapshot(tmp_path) == before


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny trained bag-of-words model folder (labels neg, pos)."""
    from textcls.stages.finetune import fine_tune

    base = tmp_path_factory.mktemp("bad-input-model")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bow", epochs=1), "student", data_dir, base / "bow")
    return base / "bow"


def test_evaluate_output_dot_leaves_the_users_data_folder_alone(model, tmp_path, monkeypatch):
    work = tmp_path / "project"
    (work / "data").mkdir(parents=True)
    rows = csv_text([("good great film", "pos"), ("awful dull plot", "neg")] * 3)
    (work / "data" / "test.csv").write_text(rows)
    (work / "data" / "notes.md").write_text("keep me")
    before = snapshot(work / "data")
    monkeypatch.chdir(work)
    result = runner.invoke(
        app, ["evaluate", str(model), "--data", "data/test.csv", "-o", ".", "--no-cost"]
    )
    assert result.exit_code == 0, result.output
    assert snapshot(work / "data") == before
    assert (work / "ingested" / "labels.json").is_file()
    assert (work / "report" / "report.md").is_file()


def corrupt_copy(model: Path, tmp_path: Path, meta: object) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    (folder / "textcls.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize(
    ("meta", "where"),
    [
        (["not", "an", "object"], "textcls.json: expected a JSON object"),
        ({"labels": ["neg", "pos"]}, "textcls.json: field 'model' must be an object"),
        ({"model": {"name": "bow"}, "labels": "pos"}, "textcls.json: field 'labels' must list"),
        (
            {"model": {"name": "bow"}, "labels": ["neg", "pos"], "train": {"max_length": "x"}},
            "textcls.json: train.max_length must be a positive integer",
        ),
    ],
    ids=["list", "no-model", "labels-a-string", "max-length-a-string"],
)
def test_damaged_model_folder_is_named(model, tmp_path, meta, where):
    folder = corrupt_copy(model, tmp_path, meta)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["predict", str(folder), "a text"])
    assert result.exit_code == 2, result.output
    assert f"{folder / where}" in result.stderr
    assert snapshot(tmp_path) == before


PREDICT_CASES = [
    Case("binary-file", {"in.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR"}, ["-f", "{dir}/in.txt"],
         "in.txt:3: holds NUL bytes"),
    Case("latin-1-file", {"in.txt": "caf\u00e9 au lait\n".encode("latin-1")},
         ["-f", "{dir}/in.txt"], "in.txt:1: bytes b'\\xe9' are not valid utf-8"),
    Case("mixed-encoding-file", {"in.txt": "déjà vu\n".encode() + "caf\u00e9\n".encode("cp1252")},
         ["-f", "{dir}/in.txt"], "in.txt:2: bytes b'\\xe9'"),
    Case("binary-stdin", {}, [], "<stdin>:1: bytes b'\\xff'", stdin=b"\xff\xfe\xfa text\n"),
    Case("empty-stdin", {}, [], "no texts to classify in standard input", stdin=b""),
    Case("empty-file", {"in.txt": "\n\n"}, ["-f", "{dir}/in.txt"],
         "no texts to classify in"),
    Case("jsonl-text-null", {"in.jsonl": '{"text": "fine"}\n{"text": null}\n'},
         ["-f", "{dir}/in.jsonl"], "in.jsonl:2: 'text' is null, not a string"),
    Case("jsonl-text-a-list", {"in.jsonl": '{"text": ["a"]}\n'},
         ["-f", "{dir}/in.jsonl"], "in.jsonl:1: 'text' is list, not a string"),
    Case("output-is-a-folder", {"out/keep.txt": "mine"}, ["a text", "-o", "{dir}/out"],
         "--output {dir}/out: is a folder"),
    Case("file-is-a-folder", {"in/keep.txt": "mine"}, ["-f", "{dir}/in"], "in: is a folder"),
]  # fmt: skip


@pytest.mark.parametrize("case", PREDICT_CASES, ids=lambda c: c.id)
def test_predict_refuses_bad_input(model, tmp_path, case):
    folder = tmp_path / "case"
    case = Case(
        case.id,
        case.files,
        ["predict", str(model), *case.args],
        case.where.replace("{dir}", str(folder)),
        case.stdin,
    )
    run_case(case, folder)
    assert not list(folder.rglob(".pred.*")), "no temporary prediction file may be left"


def test_predict_keeps_unicode_line_separators_inside_a_text(model, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"text": "one\u2028two"}, ensure_ascii=False) + "\n")
    result = runner.invoke(app, ["predict", str(model), "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"] == "one\u2028two"


def test_predict_bad_encoding_is_fixed_by_naming_it(model, tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes("caf\u00e9 au lait\n".encode("latin-1"))
    result = runner.invoke(app, ["predict", str(model), "-f", str(path), "--encoding", "latin-1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"] == "caf\u00e9 au lait"


# -- labels ----------------------------------------------------------------------------------


def test_null_like_labels_are_skipped_and_reported_with_bad_rows_skip(tmp_path):
    from ingest_helpers import run_ingest

    values = ["NaN", "null", "None", "N/A"]
    rows = GOOD_CSV + "".join(f"extra text {i},{v}\n" for i, v in enumerate(values))
    (tmp_path / "train.csv").write_text(rows)
    data, report, _ = run_ingest(tmp_path, train="train.csv", bad_rows="skip")
    assert data["train"].features["label"].names == ["neg", "pos"]
    assert report["dropped"]["train"] == {"empty label": len(values)}
    reasons = {r["where"].rsplit("/", 1)[-1]: r["reason"] for r in report["skipped_rows"]}
    for i, value in enumerate(values):
        assert reasons[f"train.csv:{BAD_LINE + i}"] == (
            f"missing label ({value!r} means no value; not a class)"
        )


def test_a_declared_label_may_be_a_null_like_word(tmp_path):
    from ingest_helpers import run_ingest

    rows = csv_text([(t, "None" if lab == "neg" else "toxic") for t, lab in ROWS])
    (tmp_path / "train.csv").write_text(rows)
    data, _, _ = run_ingest(tmp_path, train="train.csv", label_names=["None", "toxic"])
    assert data["train"].features["label"].names == ["None", "toxic"]


def test_the_label_set_is_the_current_datas(tmp_path):
    """A retrain never inherits a previous run's labels; persisting labels keep their ids."""
    from ingest_helpers import make_config
    from textcls.stages.ingest import ingest

    rows = [(f"text {i}", ["a", "b", "c"][i % 3]) for i in range(30)]
    (tmp_path / "train.csv").write_text(csv_text(rows))
    out = tmp_path / "out"
    ingest(make_config(tmp_path, train="train.csv"), out, previous_labels=["x", "c", "a", "b"])
    report = json.loads((out / "data_report.json").read_text())
    assert json.loads((out / "labels.json").read_text()) == ["c", "a", "b"]
    assert report["dropped_labels"] == ["x"] and report["new_labels"] == []
    assert any("no longer has" in w and "'x'" in w for w in report["warnings"])


def test_a_retrain_that_drops_a_champions_label_says_so(tmp_path):
    from textcls.registry import _dropped_labels_note

    for name, labels in (("champion", ["a", "b", "c"]), ("challenger", ["a", "b"])):
        (tmp_path / name).mkdir()
        meta = {"model": {"name": "bow"}, "labels": labels}
        (tmp_path / name / "textcls.json").write_text(json.dumps(meta))
    note = _dropped_labels_note(tmp_path / "challenger", tmp_path / "champion", 3)
    assert note == (
        "; note: the challenger has no class 'c' that champion v3 predicts "
        "(its training data no longer has it)"
    )
    assert _dropped_labels_note(tmp_path / "champion", tmp_path / "challenger", 3) == ""


# -- console -------------------------------------------------------------------------------------


def test_markup_and_emoji_codes_in_data_reach_the_console_as_they_are(tmp_path):
    rows = [(f"text {i} [/] [bold]x :x:", "[/]" if i % 2 else ":x:") for i in range(24)]
    (tmp_path / "train.csv").write_text(csv_text(rows))
    (tmp_path / "p.yaml").write_text(pipeline())
    out = tmp_path / "out"
    result = runner.invoke(app, ["ingest", str(tmp_path / "p.yaml"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "[/]" in result.stdout and ":x:" in result.stdout
    assert "\u274c" not in result.output  # the emoji :x: would have become
    assert json.loads((out / "labels.json").read_text()) == [":x:", "[/]"]


@pytest.mark.parametrize("message", ["[/]", "body[/] and [bold]", ":x: [link=x]y[/link]", "[", "]"])
def test_the_error_printer_prints_any_message_as_it_is(message, capsys):
    from textcls.flows.cli.console import print_error

    print_error(message)
    assert capsys.readouterr().err == f"error: {message}\n"


@pytest.mark.slow
def test_bad_data_inside_a_run_keeps_exit_code_2(tmp_path, prefect_api):
    rows = GOOD_CSV + "one more text,N/A\n"
    (tmp_path / "train.csv").write_text(rows)
    (tmp_path / "p.yaml").write_text(pipeline(extra="student:\n  model: bow\n"))
    result = runner.invoke(app, ["run", str(tmp_path / "p.yaml"), "--output", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert f"train.csv:{BAD_LINE}: missing label ('N/A' means no value" in result.stderr
