"""Ingest a generated 1,000,000-row CSV (~100 MB): rows/s and peak RSS, beside pandas.read_csv.

Each contender runs in its own child process, so peak RSS is its own. Run:

    python bench/ingest_scale.py [--rows 1000000] [--keep FILE]

It prints the numbers, writes bench/results/ingest_scale.json and updates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

WORDS = (
    "the a movie film plot actor great terrible boring brilliant slow fast story music "
    "scene ending cast director script funny sad dark light long short best worst "
    "it's don't really quite very"
).split()
# Like scraped news text (AG News), about 5% of rows carry an HTML entity and 2% a double space.
EXTRAS = ("&amp;", "#39;s", "&lt;b&gt;", "quot;")
LABELS = ("negative", "positive", "neutral")

CHILD_TEXTCLS = """
import json, resource, sys, time
from textcls import config_from_dict
from textcls.stages.ingest import ingest
start = time.perf_counter()
config = config_from_dict({"name": "bench", "data": {"train": sys.argv[1]}})
ingest(config, sys.argv[2])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_PANDAS = """
import json, resource, sys, time
import pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
assert len(frame) > 0
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(rows):
            n = rng.randint(8, 28)
            text = " ".join(rng.choice(WORDS) for _ in range(n)) + f" #{i}"
            if rng.random() < 0.05:
                text += " " + rng.choice(EXTRAS)
            if rng.random() < 0.02:
                text = text.replace(" ", "  ", 1)
            writer.writerow([text, rng.choice(LABELS)])


def run_child(code: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def row(name: str, r: dict) -> str:
    return markdown_row(
        name, f"{r['seconds']:.1f}", f"{r['rows_per_s']:,.0f}", f"{r['peak_rss_mb']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="textcls-bench-") as tmp:
        csv_path = Path(tmp) / "big.csv"
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        pandas = run_child(CHILD_PANDAS, str(csv_path))
        textcls = run_child(CHILD_TEXTCLS, str(csv_path), str(Path(tmp) / "out"))
    result = {
        "rows": args.rows,
        "csv_mb": round(size_mb, 1),
        "textcls_ingest": {**textcls, "rows_per_s": args.rows / textcls["seconds"]},
        "pandas_read_csv": {**pandas, "rows_per_s": args.rows / pandas["seconds"]},
    }
    print(json.dumps(result, indent=2))
    save_result("ingest_scale", result)
    info = machine_info()
    t, p = result["textcls_ingest"], result["pandas_read_csv"]
    body = f"""## Ingest at scale

`python bench/ingest_scale.py --rows {args.rows}` on {info["cpu"]} ({info["cores"]} cores):
a generated {args.rows:,}-row CSV ({size_mb:.0f} MB), each contender in its own process.

| contender | seconds | rows/s | peak RSS (MB) |
|---|---:|---:|---:|
{row("textcls ingest (parse, clean, dedup, conflicts, carve splits, save Arrow)", t)}
{row("`pandas.read_csv` (parse only, same file)", p)}

textcls does the whole stage in {t["seconds"] / p["seconds"]:.1f}x the time pandas takes only
to parse the file; target peak RSS under 1.5 GB: {"met" if t["peak_rss_mb"] < 1536 else "missed"}.
"""
    update_section("ingest-scale", body)


if __name__ == "__main__":
    main()
