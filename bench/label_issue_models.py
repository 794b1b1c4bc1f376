"""Which out-of-fold probabilities find flipped labels best: TF-IDF, the encoder, or both.

The rows and flips of ``bench/label_noise.py`` (imported: 2,000 train rows per dataset, 5% and
10% of the labels flipped at random, seeded). For each dataset and share, cleanlab's
``find_label_issues`` on the 5-fold out-of-fold probabilities of:

- ``tfidf``: TF-IDF + logistic regression (``data.label_issues_model: tfidf``, the default);
- ``encoder only``: logistic regression on frozen, mean-pooled all-MiniLM-L6-v2 embeddings
  (the hf teacher's pretrained checkpoint), for comparison;
- ``tfidf + encoder``: the mean of the two (``data.label_issues_model: encoder``).

Precision and recall against the flipped rows, rows found, out-of-fold accuracy against the
clean labels, and seconds (the embedding is timed once per dataset: the texts are the same at
5% and 10%; the encoder rows' seconds include it).

    flock /tmp/textcls-bench.lock python bench/label_issue_models.py [--datasets sst2,ag_news]
    flock /tmp/textcls-bench.lock python bench/label_issue_models.py --datasets sst2 --train 20000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_noise import DATA, DATASETS, flip, prepare  # noqa: E402
from machine import markdown_row, save_result, update_section  # noqa: E402

ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
SHARES = (0.05, 0.10)


def detection(
    codes: np.ndarray, clean: np.ndarray, probabilities: np.ndarray, flipped: set[int]
) -> dict[str, Any]:
    from textcls.data.label_issues import label_issues_from_probabilities

    names = [str(i) for i in range(probabilities.shape[1])]
    found = {issue.index for issue in label_issues_from_probabilities(codes, probabilities, names)}
    hit = len(found & flipped)
    return {
        "found": len(found),
        "flipped": len(flipped),
        "precision": hit / len(found) if found else 0.0,
        "recall": hit / len(flipped) if flipped else 0.0,
        "oof_accuracy": float((probabilities.argmax(1) == clean).mean()),
    }


def bench_dataset(name: str, train_rows: int) -> dict[str, Any]:
    from textcls.data.label_issues import (
        embedding_out_of_fold_probabilities,
        out_of_fold_probabilities,
    )
    from textcls.data.text_embeddings import embed_texts
    from textcls.pretrained import resolve_pretrained

    with tempfile.TemporaryDirectory(prefix="textcls-lim-") as tmp:
        clean_rows = prepare(DATASETS[name], Path(tmp), train_rows, 1000)
    texts = [text for text, _ in clean_rows]
    names = sorted({label for _, label in clean_rows})
    clean = np.array([names.index(label) for _, label in clean_rows])
    start = time.perf_counter()
    embeddings = embed_texts(texts, resolve_pretrained(ENCODER))
    embed_s = time.perf_counter() - start
    print(name, f"embedded {len(texts)} texts in {embed_s:.1f}s", flush=True)
    result: dict[str, Any] = {"rows": len(texts), "embed_s": embed_s}
    for share in SHARES:
        rows, lines = flip(clean_rows, share)
        flipped = {line - 2 for line in lines}  # CSV line -> row index
        codes = np.array([names.index(label) for _, label in rows])
        start = time.perf_counter()
        tfidf = out_of_fold_probabilities(texts, codes, 13)
        tfidf_s = time.perf_counter() - start
        start = time.perf_counter()
        encoder = embedding_out_of_fold_probabilities(embeddings, codes, 13)
        encoder_s = time.perf_counter() - start
        entry = {
            "tfidf": {**detection(codes, clean, tfidf, flipped), "seconds": tfidf_s},
            "encoder only": {
                **detection(codes, clean, encoder, flipped),
                "seconds": embed_s + encoder_s,
            },
            "tfidf + encoder": {
                **detection(codes, clean, (tfidf + encoder) / 2, flipped),
                "seconds": embed_s + encoder_s + tfidf_s,
            },
        }
        result[f"{round(share * 100)}%"] = entry
        for method, d in entry.items():
            print(name, share, method, {k: round(v, 3) for k, v in d.items()}, flush=True)
    return result


def render(results: dict[str, Any], command: str, load: str) -> str:
    rows = f"{next(iter(results.values()))['rows']:,}" if results else "no"
    lines = [
        f"`{command}` (2 shared cores; load at start: {load}). Rows and flips of "
        f"`bench/label_noise.py` ({rows} train rows, seeded flips); cleanlab `find_label_issues` "
        "(default filter) on 5-fold out-of-fold probabilities. `tfidf + encoder` is "
        "`data.label_issues_model: encoder`. OOF acc: out-of-fold accuracy against the clean "
        f"labels. Seconds: the whole method on {rows} rows (the encoder rows include embedding "
        "the texts once with all-MiniLM-L6-v2, max 256 tokens).",
        "",
        "| dataset | flipped | model | found | precision | recall | OOF acc | seconds |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        for share in ("5%", "10%"):
            for method, d in r[share].items():
                lines.append(
                    markdown_row(
                        name,
                        f"{share} ({d['flipped']})",
                        method,
                        d["found"],
                        f"{d['precision']:.2f}",
                        f"{d['recall']:.2f}",
                        f"{d['oof_accuracy']:.3f}",
                        f"{d['seconds']:.1f}",
                    )
                )
    lines += ["", "Seconds per 1,000 train rows (mean over the 5% and 10% runs):", ""]
    lines += ["| dataset | tfidf | encoder only | tfidf + encoder |", "|---|---:|---:|---:|"]
    for name, r in results.items():
        per = [
            np.mean([r[s][m]["seconds"] for s in ("5%", "10%")]) * 1000 / r["rows"]
            for m in ("tfidf", "encoder only", "tfidf + encoder")
        ]
        lines.append(markdown_row(name, *(f"{v:.1f}" for v in per)))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sst2,ag_news,sms_spam")
    parser.add_argument("--train", type=int, default=2000)
    args = parser.parse_args()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    command = "flock /tmp/textcls-bench.lock python bench/label_issue_models.py " + " ".join(
        sys.argv[1:]
    )
    results: dict[str, Any] = {}
    for name in args.datasets.split(","):
        if not (DATA / DATASETS[name]["test"]).is_file():
            print(f"skipping {name}: {DATA / DATASETS[name]['test']} not found")
            continue
        results[name] = bench_dataset(name, args.train)
    # another train size (the cost at scale) is its own result and section
    suffix = "" if args.train == 2000 else f"-{args.datasets.replace(',', '-')}-{args.train}"
    save_result(
        "label_issue_models" + suffix.replace("-", "_"),
        {"command": command.strip(), "load": load, **results},
    )
    update_section("label-issue-models" + suffix, render(results, command.strip(), load))


if __name__ == "__main__":
    main()
