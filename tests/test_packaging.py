"""The built wheel installs one top-level package, ``textcls``, holding every repository package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"textcls_core": "textcls", "flows": "textcls.flows", "plugins": "textcls.plugins"}


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found == listed


def _not_packaged(folder: str, names: list[str]) -> set[str]:
    keep = {"pyproject.toml", "README.md", *FOLDERS} if Path(folder) == ROOT else set(names)
    return {n for n in names if n not in keep or n == "__pycache__"}


def test_wheel_has_one_top_level_package(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info/ beside the sources.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_not_packaged)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("textcls-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"textcls"}
    assert "textcls/flows/cli/__main__.py" in names
    assert "textcls/plugins/models/hf.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "textcls = textcls.flows.cli:main" in text
    assert "builtin-models = textcls.plugins.models" in text
