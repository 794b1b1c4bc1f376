"""Shared fixtures. Plugins installed on the machine never leak into the suite."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TEXTCLS_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_configure(config: pytest.Config) -> None:
    # Only textcls's own plugins load in tests, whatever is installed beside it.
    os.environ["TEXTCLS_BUILTIN_PLUGINS_ONLY"] = "1"
    os.environ.pop("TEXTCLS_PLUGINS", None)
    # Nothing waits on the network.
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[variable] = "1"
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="textcls-prefect-"))
    os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="textcls-hf-datasets-")
    # Prefect binds its console log handler to sys.stderr when first imported. Import it now,
    # so that handler is the real stderr and not the stream of a CliRunner call that has
    # since been closed (which makes every later Prefect log line fail).
    import prefect.main  # noqa: F401  (this module sets up Prefect logging)


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    """Each test starts from freshly loaded built-in plugins."""
    from textcls import reset_plugins

    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture(autouse=True)
def textcls_logs_propagate() -> Iterator[None]:
    """A CLI call in a test gives `textcls` its console handler and stops propagation (the CLI
    prints textcls's lines itself); later tests' caplog must still see textcls's records."""
    import logging

    yield
    logger = logging.getLogger("textcls")
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


@pytest.fixture
def shared_data() -> Path:
    """The shared benchmark CSVs; tests that need them skip, saying why, when absent."""
    if not (SHARED_DATA / "sst2" / "validation.csv").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set TEXTCLS_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def write(tmp_path: Path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def prefect_api():
    """One real Prefect API (temporary SQLite database) for every flow test in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
