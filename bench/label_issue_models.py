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
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_noise import DATA, DATASETS, TEACHER, flip, prepare, read_rows  # noqa: E402
from machine import markdown_row, save_result, update_section  # noqa: E402

ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
#: How many teacher folds a run may fine-tune (``--max-folds``; saved folds are reused).
MAX_FOLDS_RUN = 5


def detection(
    codes: np.ndarray,
    clean: np.ndarray,
    probabilities: np.ndarray,
    flipped: set[int],
    filter_by: str = "prune_by_noise_rate",
) -> dict[str, Any]:
    from textcls.data.label_issues import label_issues_from_probabilities

    names = [str(i) for i in range(probabilities.shape[1])]
    issues = label_issues_from_probabilities(codes, probabilities, names, filter_by=filter_by)
    found = {issue.index for issue in issues}
    hit = len(found & flipped)
    return {
        "found": len(found),
        "flipped": len(flipped),
        "precision": hit / len(found) if found else 0.0,
        "recall": hit / len(flipped) if flipped else 0.0,
        "oof_accuracy": float((probabilities.argmax(1) == clean).mean()),
    }


def teacher_probabilities(
    texts: list[str],
    codes: np.ndarray,
    names: list[str],
    validation: list[tuple[str, str]],
    saved: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``teacher`` model's out-of-fold probabilities: one fine-tune of TEACHER per fold.

    Each fold's probabilities are saved to ``saved``-fold<k>.npy as soon as they exist and
    reused by the next run (minutes per fold on a busy CPU). Returns the probabilities and a
    mask of the rows whose fold is done (all, unless ``--max-folds`` stopped early).
    """
    from textcls import config_from_dict
    from textcls.data.label_issues import folds_of
    from textcls.data.teacher_folds import teacher_out_of_fold_probabilities

    probabilities = np.zeros((len(texts), len(names)))
    done = np.zeros(len(texts), dtype=bool)
    val = ([t for t, _ in validation], np.array([names.index(y) for _, y in validation]))
    for k, fold in enumerate(folds_of(codes, 13)):
        path = Path(f"{saved}-fold{k}.npy")
        if k >= MAX_FOLDS_RUN and not path.is_file():
            continue
        if not path.is_file():
            with tempfile.TemporaryDirectory(prefix="textcls-lim-") as tmp:
                (Path(tmp) / "train.csv").write_text("text,label\n")  # a config needs one
                config = config_from_dict(
                    {"name": "lim", "seed": 13, "data": {"train": "train.csv"}, "teacher": TEACHER},
                    base_dir=tmp,
                )
                fold_probabilities = teacher_out_of_fold_probabilities(
                    config, texts, codes, names, [fold], val
                )
            np.save(path, fold_probabilities[fold[1]])
        probabilities[fold[1]] = np.load(path)
        done[fold[1]] = True
    return probabilities, done


def _judge(
    probabilities: np.ndarray,
    filter_by: str = "prune_by_noise_rate",
    *,
    done: np.ndarray,
    codes: np.ndarray,
    clean: np.ndarray,
    flipped: set[int],
) -> dict[str, Any]:
    """Detection on the rows whose teacher fold finished (all rows after a full run)."""
    return detection(codes[done], clean[done], probabilities[done], flipped, filter_by)


def bench_dataset(
    name: str, train_rows: int, shares: list[float], models: set[str]
) -> dict[str, Any]:
    from textcls.data.label_issues import (
        embedding_out_of_fold_probabilities,
        out_of_fold_probabilities,
    )
    from textcls.data.text_embeddings import embed_texts
    from textcls.pretrained import resolve_pretrained

    with tempfile.TemporaryDirectory(prefix="textcls-lim-") as tmp:
        clean_rows = prepare(DATASETS[name], Path(tmp), train_rows, 1000)
        validation = read_rows(Path(tmp) / "validation.csv")
    texts = [text for text, _ in clean_rows]
    names = sorted({label for _, label in clean_rows})
    clean = np.array([names.index(label) for _, label in clean_rows])
    result: dict[str, Any] = {"rows": len(texts)}
    embeddings = None
    for share in shares:
        rows, lines = flip(clean_rows, share)
        flipped = {line - 2 for line in lines}  # CSV line -> row index
        codes = np.array([names.index(label) for _, label in rows])
        teacher, done, teacher_s = None, np.ones(len(texts), dtype=bool), 0.0
        reused = False
        if "teacher" in models:  # first: the folds are saved as they finish, the rest is quick
            start = time.perf_counter()
            saved = f"/tmp/textcls-lim-teacher-{name}-{len(texts)}-{round(share * 100)}"
            reused = all(Path(f"{saved}-fold{k}.npy").is_file() for k in range(MAX_FOLDS_RUN))
            teacher, done = teacher_probabilities(texts, codes, names, validation, saved)
            teacher_s = time.perf_counter() - start
        if embeddings is None:
            start = time.perf_counter()
            embeddings = embed_texts(texts, resolve_pretrained(ENCODER))
            result["embed_s"] = embed_s = time.perf_counter() - start
            print(name, f"embedded {len(texts)} texts in {embed_s:.1f}s", flush=True)
        start = time.perf_counter()
        tfidf = out_of_fold_probabilities(texts, codes, 13)
        tfidf_s = time.perf_counter() - start
        start = time.perf_counter()
        encoder = embedding_out_of_fold_probabilities(embeddings, codes, 13)
        encoder_s = time.perf_counter() - start
        mean = (tfidf + encoder) / 2
        mean_s = embed_s + encoder_s + tfidf_s
        # a partial teacher run (--max-folds): every model is judged on the finished folds' rows
        kept = np.flatnonzero(done)
        judged = {int(i) for i, row in enumerate(kept) if int(row) in flipped}
        judge = partial(_judge, done=done, codes=codes, clean=clean, flipped=judged)

        entry: dict[str, Any] = {
            "tfidf": {**judge(tfidf), "seconds": tfidf_s},
            "encoder only": {**judge(encoder), "seconds": embed_s + encoder_s},
            "tfidf + encoder": {**judge(mean), "seconds": mean_s},
            "tfidf + encoder, both": {**judge(mean, "both"), "seconds": mean_s},
            "tfidf + encoder, confident learning": {
                **judge(mean, "confident_learning"),
                "seconds": mean_s,
            },
            "tfidf + encoder, low self-confidence": {
                **judge(mean, "low_self_confidence"),
                "seconds": mean_s,
            },
        }
        if teacher is not None:
            for label, probabilities, seconds in (
                ("teacher", teacher, teacher_s),
                ("teacher + tfidf", (teacher + tfidf) / 2, teacher_s + tfidf_s),
                ("teacher + encoder", (teacher + mean) / 2, teacher_s + mean_s),
                ("teacher, tfidf, embeddings", (teacher + tfidf + encoder) / 3, teacher_s + mean_s),
            ):
                for filter_by, suffix in (
                    ("prune_by_noise_rate", ""),
                    ("both", ", both"),
                    ("confident_learning", ", confident learning"),
                    ("low_self_confidence", ", low self-confidence"),
                ):
                    entry[label + suffix] = {
                        **judge(probabilities, filter_by),
                        # folds saved by an earlier run took no time now: not a cost
                        "seconds": None if reused else seconds,
                    }
        if not done.all():
            print(name, share, f"PARTIAL: {done.sum()} of {len(done)} rows judged", flush=True)
            result.setdefault("partial", {})[f"{round(share * 100)}%"] = int(done.sum())
        result[f"{round(share * 100)}%"] = entry
        for method, d in entry.items():
            rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}
            print(name, share, method, rounded, flush=True)
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
    ]
    if any(", both" in m for r in results.values() for s in _shares(r) for m in r[s]):
        lines += [
            '", both", ", confident learning" and ", low self-confidence" rows: cleanlab '
            '`filter_by="both"`, `"confident_learning"` and `"low_self_confidence"` '
            "(`data.label_issues_filter`; the last flags as many rows as confident learning, "
            "the least self-confident first). "
            + (
                "`teacher + encoder, low self-confidence` is what `data.label_issues_model: "
                "teacher` runs by default with an hf teacher (`teacher + tfidf, low "
                "self-confidence` with another kind; `both` before session 9)."
                if any("teacher" in m for r in results.values() for s in _shares(r) for m in r[s])
                else ""
            ),
            "",
        ]
    lines += [
        "| dataset | flipped | model | found | precision | recall | OOF acc | seconds |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        for share in _shares(r):
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
                        "fold files reused" if d["seconds"] is None else f"{d['seconds']:.1f}",
                    )
                )
    run = {m for r in results.values() for share in _shares(r) for m in r[share]}
    models = [m for m in ("tfidf", "encoder only", "tfidf + encoder", "teacher") if m in run]
    lines += ["", "Seconds per 1,000 train rows (mean over the shares run):", ""]
    lines += ["| dataset | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
    for name, r in results.items():
        per = [
            np.mean([r[s][m]["seconds"] for s in _shares(r)]) * 1000 / r["rows"]
            if r[_shares(r)[0]].get(m, {}).get("seconds") is not None
            else float("nan")
            for m in models
        ]
        lines.append(markdown_row(name, *("-" if np.isnan(v) else f"{v:.1f}" for v in per)))
    return "\n".join(lines) + "\n"


def _shares(result: dict[str, Any]) -> list[str]:
    return [key for key in result if key.endswith("%")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sst2,ag_news,sms_spam")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--shares", default="0.05,0.10", help="shares of labels flipped")
    parser.add_argument("--models", default="tfidf,encoder,teacher")
    parser.add_argument(
        "--max-folds", type=int, default=5, help="teacher folds to fine-tune in this run"
    )
    args = parser.parse_args()
    global MAX_FOLDS_RUN
    MAX_FOLDS_RUN = args.max_folds
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    # the command as run (the lock is the runner's to take: the load below says how busy it was)
    command = "python bench/label_issue_models.py " + " ".join(sys.argv[1:])
    results: dict[str, Any] = {}
    for name in args.datasets.split(","):
        if not (DATA / DATASETS[name]["test"]).is_file():
            print(f"skipping {name}: {DATA / DATASETS[name]['test']} not found")
            continue
        shares = [float(v) for v in args.shares.split(",")]
        results[name] = bench_dataset(name, args.train, shares, set(args.models.split(",")))
    # another train size (the cost at scale) is its own result and section
    suffix = "" if args.train == 2000 else f"-{args.datasets.replace(',', '-')}-{args.train}"
    if "teacher" in args.models:  # the teacher's runs (minutes per share) are their own table
        suffix += "-teacher"
    save_result(
        "label_issue_models" + suffix.replace("-", "_"),
        {"command": command.strip(), "load": load, **results},
    )
    update_section("label-issue-models" + suffix, render(results, command.strip(), load))


if __name__ == "__main__":
    main()
