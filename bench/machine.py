"""Machine and package facts recorded with every benchmark, and the BENCHMARKS.md updater."""

from __future__ import annotations

import json
import os
import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "textcls",
    "torch",
    "transformers",
    "datasets",
    "pyarrow",
    "pandas",
    "onnxruntime",
    "optimum",
    "prefect",
    "scikit-learn",
)


def machine_info() -> dict[str, Any]:
    """CPU model, cores, ISA flags of interest, Python and package versions."""
    cpu, flags = "unknown", []
    try:
        text = Path("/proc/cpuinfo").read_text()
        match = re.search(r"model name\s*:\s*(.+)", text)
        cpu = match.group(1).strip() if match else cpu
        flag_match = re.search(r"flags\s*:\s*(.+)", text)
        present = set(flag_match.group(1).split()) if flag_match else set()
        flags = sorted(present & {"avx2", "avx512f", "avx512_vnni", "avx512vl", "fma", "sse4_2"})
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "isa": flags,
        "python": platform.python_version(),
        "packages": versions,
    }


def save_result(name: str, result: dict[str, Any]) -> Path:
    """Write bench/results/<name>.json with the machine info."""
    path = ROOT / "bench" / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine_info(), **result}, indent=2) + "\n")
    return path


def update_section(section: str, body: str) -> None:
    """Replace the text between ``<!-- bench:SECTION -->`` markers in BENCHMARKS.md."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + f"\n\n{block}\n"
    path.write_text(text)


def markdown_row(*cells: object) -> str:
    """One markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"
