"""A failed ``textcls run`` ends in one located line: no Prefect traceback unless --debug."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import toy_rows


def test_prefect_failure_reports_are_dropped_from_the_console_only():
    from prefect.logging.handlers import PrefectConsoleHandler
    from textcls.flows.cli.prefect_logs import hide_failure_reports

    hide_failure_reports()
    handlers = logging.getLogger().handlers + logging.getLogger("prefect").handlers
    console = next(h for h in handlers if isinstance(h, PrefectConsoleHandler))

    def shown(name: str, message: str, with_traceback: bool = False) -> bool:
        exc_info = None
        if with_traceback:
            try:
                raise ValueError("boom")
            except ValueError:
                exc_info = sys.exc_info()
        record = logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, exc_info)
        return bool(console.filter(record))

    assert not shown("prefect.flow_runs", "Encountered exception during execution", True)
    assert not shown("prefect.flow_runs", "Finished in state Failed('stage ingest failed')")
    assert shown("prefect.flow_runs", "Finished in state Completed()")
    assert shown("prefect.flow_runs", "Beginning flow run")
    assert shown("textcls.training", "a plugin's own error", True)


@pytest.mark.slow
def test_a_failing_stage_prints_one_located_line(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text(csv_text(toy_rows(40)))
    config = {"name": "fails", "data": {"train": "train.csv", "validation": "missing.csv"}}
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run(
        [sys.executable, "-m", "textcls.flows.cli", "run", "pipeline.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2  # a missing data file is the user's to fix, found in the flow
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if "missing.csv" in line]
    assert len(errors) == 1, output[-3000:]
    assert errors[0].startswith("error: stage ingest failed: data.validation")
