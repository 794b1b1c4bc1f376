"""How long does an unchanged pipeline take to rerun? The demo, twice, in one process.

Both runs talk to the same local Prefect API (started, and warmed with an empty flow run,
before timing), so the numbers are the pipeline's own. Run:

    python bench/flow_cache.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo" / "pipeline.yaml"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="textcls-bench-") as tmp:
        os.environ["PREFECT_HOME"] = str(Path(tmp) / "prefect")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from prefect import flow
        from textcls.flows.pipeline import textcls_pipeline

        @flow
        def warm_up() -> None:
            return None

        warm_up()
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            manifest = textcls_pipeline(config_path=str(DEMO), output=str(Path(tmp) / "runs"))
            timings.append(time.perf_counter() - start)
            statuses = {k: v["status"] for k, v in manifest["stages"].items()}
    result = {
        "first_run_s": timings[0],
        "cached_rerun_s": timings[1],
        "ratio": timings[1] / timings[0],
        "second_run_statuses": statuses,
    }
    print(json.dumps(result, indent=2))
    save_result("flow_cache", result)
    info = machine_info()
    body = f"""## Cached rerun

`python bench/flow_cache.py` on {info["cpu"]} ({info["cores"]} cores): the shipped demo
pipeline (MiniLM teacher, distilled BiLSTM, two int8 variants, evaluation with a baseline) run
twice in one process against one local Prefect API, warmed up before timing.

| run | seconds |
|---|---:|
| first run | {timings[0]:.1f} |
| unchanged rerun (every stage cached) | {timings[1]:.1f} |

The rerun takes {100 * result["ratio"]:.1f}% of the first run (target: under 5%):
{"met" if result["ratio"] < 0.05 else "missed"}.
"""
    update_section("flow-cache", body)


if __name__ == "__main__":
    main()
