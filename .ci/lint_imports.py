"""Check the layering rules of ARCHITECTURE.md (import-linter contracts in pyproject.toml).

import-linter (through grimp) finds a package by walking its folder, but the installed `textcls`
package is assembled from three repository folders (`[tool.setuptools.package-dir]`), which an
editable install only joins at import time. So this script lays the package out as the wheel
does, in a temporary folder, and runs `lint-imports` against that copy.

Usage: python .ci/lint_imports.py [lint-imports options]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_dir: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    with tempfile.TemporaryDirectory(prefix="textcls-lint-imports-") as stage:
        # Parents before children: "textcls" is copied before "textcls.flows" lands inside it.
        for package, folder in sorted(package_dir.items()):
            shutil.copytree(
                ROOT / folder,
                Path(stage, *package.split(".")),
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        env = {**os.environ, "PYTHONPATH": stage}
        command = ["lint-imports", str(ROOT / "pyproject.toml"), *sys.argv[1:]]
        return subprocess.call(command, cwd=stage, env=env)


if __name__ == "__main__":
    sys.exit(main())
