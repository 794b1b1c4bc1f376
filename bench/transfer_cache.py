"""What an augmented transfer set costs: augmentation, the teacher pass, and the logit cache.

SST-2: ``--labelled`` training texts are augmented (Tang et al.'s three operations, the
defaults) into a transfer set ``--factor`` times their number, then scored by a MiniLM teacher
(the ``hf`` model with a fresh head: scoring costs the same whatever the head learnt) through
``cached_teacher_logits``, four times, one after the other in one process:

1. cold cache, the transfer set (each distinct text scored once);
2. the same texts again (a rerun: everything from the cache);
3. a transfer set twice as large from the same seed (its first half is the set above);
4. the contender: scoring every text of that large set, duplicates included, with no cache
   (what a teacher pass costs without content caching).

Run (under the machine-wide benchmark lock):

    flock /tmp/textcls-bench.lock python bench/transfer_cache.py [--labelled 1000] [--factor 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_LENGTH = 64


def labelled_texts(count: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.glob("train.part*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts[:count]


def teacher_folder(work: Path) -> Path:
    """A MiniLM classifier folder (fresh head), as the teacher stage would write one."""
    from textcls import get_plugins
    from textcls.contracts import ModelContext, TokenizerContext
    from textcls.model_folder import write_model_folder
    from textcls.pretrained import resolve_pretrained

    plugins = get_plugins()
    model = plugins.component("model", "hf").create(
        {"pretrained": MODEL},
        context=ModelContext(num_labels=2, label_names=["0", "1"], resolve=resolve_pretrained),
    )
    tokenizer = plugins.component("tokenizer", "hf").create(
        {}, context=TokenizerContext(default_pretrained=MODEL, resolve=resolve_pretrained)
    )
    folder = work / "teacher"
    folder.mkdir()
    meta = {
        "model": {"name": "hf", "params": {"pretrained": MODEL}},
        "labels": ["0", "1"],
        "train": {"max_length": MAX_LENGTH},
    }
    write_model_folder(folder, model.eval(), tokenizer, meta)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labelled", type=int, default=1000)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if not (DATA / "validation.csv").is_file():
        print(f"skipped: {DATA} not found (the shared SST-2 CSVs)")
        return
    import torch
    from textcls.distillation.augment import AugmentSettings, augmented_texts
    from textcls.distillation.teacher_outputs import cached_teacher_logits, teacher_logits
    from textcls.model_folder import load_model_folder

    torch.set_num_threads(2)
    labelled = labelled_texts(args.labelled)
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    start = time.perf_counter()
    small = labelled + augmented_texts(
        labelled, (args.factor - 1) * len(labelled), args.seed, AugmentSettings()
    )
    augment_s = time.perf_counter() - start
    large = labelled + augmented_texts(
        labelled, (2 * args.factor - 1) * len(labelled), args.seed, AugmentSettings()
    )
    assert large[: len(small)] == small, "the same seed must extend, not redraw, the set"
    rows = {}
    with tempfile.TemporaryDirectory(prefix="textcls-bench-") as tmp:
        work = Path(tmp)
        teacher = teacher_folder(work)
        cache = work / "cache"
        for name, texts in (
            ("cold cache", small),
            ("rerun, same texts", small),
            (f"{2 * args.factor}x set (superset)", large),
        ):
            started = time.perf_counter()
            _, stats = cached_teacher_logits(teacher, texts, cache, max_length=MAX_LENGTH)
            rows[name] = {**stats.as_dict(), "wall_s": time.perf_counter() - started}
            print(name, json.dumps(rows[name]), flush=True)
        started = time.perf_counter()
        loaded = load_model_folder(teacher)
        teacher_logits(loaded.model, loaded.tokenizer, large, max_length=MAX_LENGTH)
        seconds = time.perf_counter() - started
        rows[f"{2 * args.factor}x set, no cache, duplicates scored"] = {
            "texts": len(large),
            "distinct": len(set(large)),
            "scored": len(large),
            "seconds": seconds,
            "wall_s": seconds,
        }
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    result = {
        "labelled": args.labelled,
        "factor": args.factor,
        "augment_s": augment_s,
        "rows": rows,
        "load": [load_before, load_after],
    }
    save_result("transfer_cache", result)
    info = machine_info()
    contender = rows[f"{2 * args.factor}x set, no cache, duplicates scored"]["wall_s"]
    table = "\n".join(
        markdown_row(
            name,
            f"{r['texts']:,}",
            f"{r['distinct']:,}",
            f"{r['scored']:,}",
            f"{r['wall_s']:.1f}",
        )
        for name, r in rows.items()
    )
    superset = rows[f"{2 * args.factor}x set (superset)"]
    body = f"""## Transfer sets: augmentation, teacher pass, logit cache

`python bench/transfer_cache.py --labelled {args.labelled} --factor {args.factor}` (under
the benchmark lock) on {info["cpu"]} ({info["cores"]} cores, shared; load before and after:
`{load_before.split("load average:")[-1].strip()}` / `{load_after.split("load average:")[-1].strip()}`).
{args.labelled:,} SST-2 training texts augmented {args.factor}x (masking, class-guided
replacement, n-grams; Tang et al.'s probabilities) in {augment_s:.1f} s, word classes included;
a MiniLM teacher (`hf`, batches of 64 sorted by length, {MAX_LENGTH} tokens) scores them
through the content-keyed cache, one pass after another in one process.

| teacher pass | texts | distinct | scored now | seconds |
|---|---:|---:|---:|---:|
{table}

A rerun with the same teacher and texts scores nothing ({rows["rerun, same texts"]["wall_s"]:.1f}
s: hashing the texts and reading the store). The {2 * args.factor}x set scores only the
{superset["scored"]:,} texts the {args.factor}x set did not have:
{superset["wall_s"]:.1f} s against {contender:.1f} s for scoring all of it with duplicates and
no cache ({contender / max(superset["wall_s"], 1e-9):.1f}x).
"""
    update_section("transfer-cache", body)


if __name__ == "__main__":
    main()
