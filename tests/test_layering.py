"""The layering rules of ARCHITECTURE.md, as import-linter contracts (.ci/lint_imports.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(root / ".ci" / "lint_imports.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_every_layering_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_a_core_module_importing_prefect_or_a_plugin_importing_internals_is_caught(tmp_path):
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("textcls_core", "flows", "plugins", ".ci"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "textcls_core" / "errors.py").open("a") as core:
        core.write("\nimport prefect  # noqa: E402\n")
    with (tmp_path / "plugins" / "quantizers.py").open("a") as plugin:
        plugin.write("\nfrom textcls.config import PipelineConfig  # noqa: E402\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "Contracts: 2 kept, 2 broken." in result.stdout
    assert "textcls.errors -> prefect" in result.stdout
    assert "textcls.plugins.quantizers -> textcls.config" in result.stdout
