"""The textcls command line: output, exit codes, and one message instead of a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_helpers import csv_text
from textcls import __version__
from textcls.flows.cli import app
from typer.testing import CliRunner

runner = CliRunner()

PIPELINE = """\
name: cli-test
data:
  train: train.csv
  validation: train.csv
  test: train.csv
"""


@pytest.fixture
def pipeline(write):
    write("train.csv", csv_text([("good", "pos"), ("bad", "neg"), ("fine", "pos")]))
    return write("pipeline.yaml", PIPELINE)


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"textcls {__version__}"


def test_plugins_list_shows_builtins():
    result = runner.invoke(app, ["plugins", "list"])
    assert result.exit_code == 0
    assert "builtin-sources" in result.stdout and "text-folder" in result.stdout


def test_plugins_list_json():
    result = runner.invoke(app, ["plugins", "list", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    sources = next(p for p in payload["plugins"] if p["name"] == "builtin-sources")
    assert sources["distribution"] == "textcls" and sources["builtin"] is True
    assert sources["hooks"] == ["textcls_register_data_sources"]
    assert "jsonl" in sources["components"]["data_source"]
    assert payload["failures"] == []


def test_plugins_show_prints_params_with_types_and_defaults():
    result = runner.invoke(app, ["plugins", "show", "csv"])
    assert result.exit_code == 0
    assert "csv (data_source, plugin builtin-sources)" in result.stdout
    assert "encoding" in result.stdout and "'utf-8'" in result.stdout
    assert "delimiter" in result.stdout and "str" in result.stdout


def test_plugins_show_unknown_name_exits_2_with_suggestion():
    result = runner.invoke(app, ["plugins", "show", "jsnl"])
    assert result.exit_code == 2
    assert "unknown component 'jsnl'. Did you mean 'jsonl'?" in result.stderr
    assert "Traceback" not in result.output


def test_config_validate_ok(pipeline):
    result = runner.invoke(app, ["config", "validate", str(pipeline)])
    assert result.exit_code == 0
    assert "valid pipeline 'cli-test'" in result.stdout


def test_config_validate_error_exit_2_names_line_and_path(pipeline):
    result = runner.invoke(app, ["config", "validate", str(pipeline), "--set", "seed=x"])
    assert result.exit_code == 2
    assert f"{pipeline} (--set seed): seed: Input should be a valid integer" in result.stderr


def test_debug_shows_the_traceback(pipeline):
    result = runner.invoke(app, ["--debug", "config", "validate", str(pipeline), "--set", "seed=x"])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "ConfigError"


def test_config_schema_is_json_schema():
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "textcls pipeline" and "data" in schema["properties"]


def test_ingest_command_writes_data_and_prints_report(pipeline, tmp_path):
    result = runner.invoke(app, ["ingest", str(pipeline), "--output", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "## Data" in result.stdout
    assert (tmp_path / "d" / "labels.json").is_file()


def test_ingest_data_error_exits_1(write):
    path = write("pipeline.yaml", PIPELINE.replace("train: train.csv", "train: missing.csv"))
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 1
    assert "data.train: file not found" in result.stderr


def test_unknown_command_is_a_usage_error():
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2


def test_console_script_reports_without_traceback(tmp_path):
    script = shutil.which("textcls") or str(
        __import__("pathlib").Path(sys.executable).with_name("textcls")
    )
    result = subprocess.run(
        [script, "config", "validate", str(tmp_path / "absent.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "pipeline file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_clashing_plugins_leave_the_cli_usable_and_a_pipeline_must_pick_one(pipeline):
    from textcls import get_plugins, hookimpl

    class Clash:
        @hookimpl
        def textcls_register_models(self, register):
            register("bilstm", lambda params, context: None)

    get_plugins().register(Clash(), name="clashing-plugin")
    listed = runner.invoke(app, ["plugins", "list"])
    assert listed.exit_code == 0
    assert "builtin-models:bilstm or clashing-plugin:bilstm" in " ".join(listed.output.split())
    pipeline.write_text(PIPELINE + "student: {model: bilstm}\n")
    result = runner.invoke(app, ["config", "validate", str(pipeline)])
    assert result.exit_code == 2
    assert "two plugins register a model named 'bilstm'" in result.stderr
    assert "'builtin-models'" in result.stderr and "'clashing-plugin'" in result.stderr
    pipeline.write_text(PIPELINE + "student: {model: 'builtin-models:bilstm'}\n")
    assert runner.invoke(app, ["config", "validate", str(pipeline)]).exit_code == 0


def test_quiet_and_verbose_set_textcls_and_prefect_console_levels(monkeypatch):
    import logging

    monkeypatch.delenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", raising=False)
    logger = logging.getLogger("textcls")
    try:
        assert CliRunner().invoke(app, ["-q", "plugins", "list", "--json"]).exit_code == 0
        assert logger.level == logging.WARNING
        assert os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "WARNING"
        monkeypatch.delenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL")
        assert CliRunner().invoke(app, ["-v", "plugins", "list", "--json"]).exit_code == 0
        assert logger.level == logging.DEBUG
        assert os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "INFO"
        assert CliRunner().invoke(app, ["plugins", "list", "--json"]).exit_code == 0
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(logging.NOTSET)


def test_config_validate_json(pipeline):
    result = runner.invoke(app, ["config", "validate", str(pipeline), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["valid"] is True and payload["pipeline"] == "cli-test"
    assert payload["file"] == str(pipeline)


def test_plugins_show_json_has_the_params_schema():
    result = runner.invoke(app, ["plugins", "show", "bilstm", "--json"])
    assert result.exit_code == 0, result.output
    (component,) = json.loads(result.output)
    assert component["kind"] == "model" and component["plugin"] == "builtin-models"
    assert "hidden_size" in component["params_schema"]["properties"]


def textcls_command() -> list[str]:
    script = Path(sys.executable).with_name("textcls")
    return [str(script)] if script.exists() else [sys.executable, "-m", "textcls.flows.cli"]


def test_shell_completion_completes_commands():
    env = dict(
        os.environ, _TEXTCLS_COMPLETE="complete_bash", COMP_WORDS="textcls reg", COMP_CWORD="1"
    )
    result = subprocess.run(textcls_command(), env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["registry"]


def test_piped_tables_are_not_cut_at_80_columns():
    result = subprocess.run(
        [*textcls_command(), "plugins", "list"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "builtin-models" in line]
    # one row, wider than 80 columns, with every model on it
    assert len(rows) == 1 and len(rows[0]) > 80
    assert "bilstm, bow, gru, hf, textcnn, transformer" in rows[0]
