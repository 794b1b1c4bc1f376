"""Label noise and calibration: what flipped labels cost, what cleanlab finds, what ``drop`` buys.

Per dataset (SST-2, AG News, SMS Spam), on the same rows: 2,000 train rows and 500 clean
validation rows drawn from the train file (exact duplicates and test texts removed, seed 13),
the test file (at most ``--test`` rows, seeded sample). ``share`` of the train labels are
flipped to another label at random (seed fixed per share). Each condition (clean; 10% kept
and dropped; 5% kept and dropped, in that order, so the issue's targets are read first) runs
as a pipeline does:

- ingest with ``data.label_issues: report`` or ``drop``: detection precision and recall of the
  flipped rows (cleanlab on out-of-fold probabilities of ``--detector``'s model), read back
  from the data report by file and line;
- the MiniLM teacher fine-tuned on the labels (1 epoch, seq 64), then the default student
  (``student: {}``: its transfer set is the labelled rows augmented to 8x, as
  ``textcls.student_defaults`` says) distilled from it, so flipped labels reach the student
  through its teacher as they do in a real run;
- every variant calibrated on validation and evaluated on test: accuracy, ECE before and after.
  The clean run also quantizes both to int8 and calibrates those, so every variant is covered.

Then the shipped demo (``examples/demo/pipeline.yaml``, run by the real flow, registry off):
ECE before and after for each of its variants.

    flock /tmp/textcls-bench.lock python bench/label_noise.py [--datasets sst2,ag_news,sms_spam]
        [--detector tfidf|encoder|ag_news=teacher:confident_learning,sms_spam=encoder]
        [--conditions 0-report,10-report,10-drop] [--no-demo] [--merge]

``--detector`` names ``data.label_issues_model`` (and after a colon ``label_issues_filter``)
for every data set, or per data set (``NAME=MODEL[:FILTER]``; data sets it leaves out use
``tfidf``). ``--merge`` keeps the data sets (and demo) of the last results file that this run
does not redo, so a long grid can run in pieces; the section lists every piece's command.

Stage functions are called directly (``textcls.stages``), as a notebook would; the demo goes
through ``textcls run``. Results: bench/results/label_noise.json and the BENCHMARKS.md section.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TEXTCLS_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATASETS: dict[str, dict[str, Any]] = {
    "sst2": {
        "pool": ["sst2/train.part1.csv", "sst2/train.part2.csv"],
        "test": "sst2/validation.csv",
    },
    "ag_news": {"pool": ["ag_news/train.csv"], "test": "ag_news/test.csv"},
    "sms_spam": {"pool": ["sms_spam/train.csv"], "test": "sms_spam/test.csv"},
}
VALIDATION_ROWS = 500
TEACHER = {
    "model": {"name": "hf", "params": {"pretrained": "sentence-transformers/all-MiniLM-L6-v2"}},
    "train": {"epochs": 1, "batch_size": 32, "learning_rate": 1.0e-4, "max_length": 64},
}
#: The default student, exactly what ``student: {}`` gets (``textcls.student_defaults``).
STUDENT: dict[str, Any] = {}
RESULTS = ROOT / "bench" / "results" / "label_noise.json"


def detectors(spec: str, names: list[str]) -> dict[str, dict[str, str]]:
    """``--detector`` as ``{dataset: {"model": ..., "filter": ...}}`` for ``names``."""
    per: dict[str, str] = {}
    if "=" in spec:
        for part in spec.split(","):
            name, _, value = part.partition("=")
            per[name.strip()] = value.strip()
    out = {}
    for name in names:
        value = per.get(name, "tfidf") if per else spec
        model, _, rule = value.partition(":")
        out[name] = {"model": model or "tfidf", "filter": rule or "auto"}
    return out


def read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


def write_rows(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "label"))
        writer.writerows(rows)


def prepare(spec: dict[str, Any], work: Path, n_train: int, n_test: int) -> list[tuple[str, str]]:
    """Write validation.csv and test.csv; return the clean train rows."""
    test = read_rows(DATA / spec["test"])
    if len(test) > n_test:
        test = random.Random(7).sample(test, n_test)
    test_texts = {text for text, _ in test}
    seen: set[tuple[str, str]] = set()
    pool = []
    for name in spec["pool"]:
        for row in read_rows(DATA / name):
            if row not in seen and row[0] not in test_texts:
                seen.add(row)
                pool.append(row)
    random.Random(13).shuffle(pool)
    write_rows(work / "validation.csv", pool[n_train : n_train + VALIDATION_ROWS])
    write_rows(work / "test.csv", test)
    return pool[:n_train]


def flip(rows: list[tuple[str, str]], share: float) -> tuple[list[tuple[str, str]], set[int]]:
    """Flip ``share`` of the labels to another label, uniformly; returns rows, flipped lines."""
    labels = sorted({label for _, label in rows})
    rng = random.Random(1000 + round(share * 100))
    chosen = set(rng.sample(range(len(rows)), round(len(rows) * share)))
    out = []
    for i, (text, label) in enumerate(rows):
        if i in chosen:
            label = rng.choice([other for other in labels if other != label])
        out.append((text, label))
    return out, {i + 2 for i in chosen}  # CSV line: the header is line 1


def config(
    work: Path, train_csv: str, policy: str, detector: dict[str, str], **sections: Any
) -> Any:
    from textcls import config_from_dict

    data = {"train": train_csv, "validation": "validation.csv", "test": "test.csv"}
    data["label_issues"] = policy
    if detector["model"] != "tfidf":  # defaults need no key (and older builds know none)
        data["label_issues_model"] = detector["model"]
    if detector["filter"] != "auto":
        data["label_issues_filter"] = detector["filter"]
    raw = {"name": "noise", "seed": 13, "data": data, **sections}
    return config_from_dict(raw, base_dir=work)


def detection(data_dir: Path, train_csv: Path, flipped: set[int]) -> dict[str, Any]:
    report = json.loads((data_dir / "data_report.json").read_text())["label_issues"]
    lines = {
        int(issue["where"].rsplit(":", 1)[1])
        for issue in report["issues"]
        if issue["where"].startswith(str(train_csv))
    }
    hit = len(lines & flipped)
    return {
        "found": len(lines),
        "flipped": len(flipped),
        "precision": hit / len(lines) if lines else 0.0,
        "recall": hit / len(flipped) if flipped else 0.0,
    }


def train_and_score(work: Path, cfg: Any, data_dir: Path, quantize_too: bool) -> dict[str, Any]:
    """Teacher, then the student distilled from it; int8 when asked; calibrate; evaluate.

    The order a pipeline runs: the teacher learns the (possibly flipped) labels, the student
    learns from the teacher's logits on the augmented transfer set (and the labels at weight
    1 - alpha), so flips reach the student the way they do in a real run.
    """
    from textcls.config import QuantizeStep
    from textcls.stages.calibrate import calibrate
    from textcls.stages.distill import distill
    from textcls.stages.evaluate import evaluate
    from textcls.stages.finetune import fine_tune
    from textcls.stages.quantize import quantize

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    fine_tune(cfg, "teacher", data_dir, work / "teacher")
    seconds["teacher"] = time.perf_counter() - start
    start = time.perf_counter()
    distill(cfg, data_dir, work / "teacher", work / "student")
    seconds["student"] = time.perf_counter() - start
    folders = {"teacher": work / "teacher", "student": work / "student"}
    if quantize_too:
        for role in ("teacher", "student"):
            name = f"{role}-int8"
            quantize(
                QuantizeStep(name="ort-dynamic-int8", max_accuracy_drop=100.0),
                work / role,
                data_dir,
                work / name,
            )
            folders[name] = work / name
    calibrated = {}
    for name, folder in folders.items():
        calibrate(folder, data_dir, work / f"calibrated-{name}")
        calibrated[name] = work / f"calibrated-{name}"
    evaluate(data_dir, calibrated, work / "eval", pipeline="noise", measure_cost=False)
    report = json.loads((work / "eval" / "report.json").read_text())
    return {
        name: {
            "accuracy": v["quality"]["accuracy"],
            "validation_accuracy": v["selection"]["accuracy"],
            "temperature": v["calibration"]["temperature"],
            "ece_before": v["calibration"]["before"]["ece"],
            "ece_after": v["calibration"]["after"]["ece"],
            "ece_floor": v["calibration"]["after"].get("ece_floor"),
            "brier_before": v["calibration"]["before"]["brier"],
            "brier_after": v["calibration"]["after"]["brier"],
            "train_s": seconds.get(name),
        }
        for name, v in report["variants"].items()
    }


def run_condition(
    name: str,
    work: Path,
    clean: list[tuple[str, str]],
    share: float,
    policy: str,
    detector: dict[str, str],
) -> dict[str, Any]:
    """One (share, policy): flip, ingest with the label-issue check, train, score."""
    from textcls.stages.ingest import ingest

    rows, flipped = flip(clean, share)
    train_csv = work / f"train-{round(share * 100)}.csv"
    if not train_csv.exists():
        write_rows(train_csv, rows)
    run = work / f"{round(share * 100)}-{policy}"
    run.mkdir()
    cfg = config(work, train_csv.name, policy, detector, teacher=TEACHER, student=STUDENT)
    entry: dict[str, Any] = {}
    start = time.perf_counter()
    ingest(cfg, run / "data")
    entry["ingest_s"] = time.perf_counter() - start
    issues = json.loads((run / "data" / "data_report.json").read_text())["label_issues"]
    if policy == "report":
        entry["detection"] = detection(run / "data", train_csv, flipped)
    else:
        entry["dropped"] = issues["dropped"]
    entry["variants"] = train_and_score(run, cfg, run / "data", share == 0)
    print(name, run.name, json.dumps(entry), flush=True)
    return entry


#: The order conditions run in: what the issue's targets read (clean, 10%) first.
CONDITIONS = ((0.0, "report"), (0.10, "report"), (0.10, "drop"), (0.05, "report"), (0.05, "drop"))


def bench_dataset(
    name: str, work: Path, args: argparse.Namespace, detector: dict[str, str], publish: Any
) -> dict[str, Any]:
    clean = prepare(DATASETS[name], work, args.train, args.test)
    result: dict[str, Any] = {"rows": {"train": len(clean), "validation": VALIDATION_ROWS}}
    result["detector"] = detector
    result["rows"]["test"] = len(read_rows(work / "test.csv"))
    wanted = args.conditions.split(",") if args.conditions else None
    for share, policy in CONDITIONS:
        if wanted is not None and f"{round(share * 100)}-{policy}" not in wanted:
            continue
        tag = f"{round(share * 100)}%"
        entry = run_condition(name, work, clean, share, policy, detector)
        result.setdefault(tag, {})[policy] = entry["variants"]
        for key in ("detection", "dropped", "ingest_s"):
            if key in entry:
                result[tag][key if key != "ingest_s" else f"ingest_s_{policy}"] = entry[key]
        publish(name, result)
    return result


def bench_demo(work: Path) -> dict[str, Any]:
    """Run the shipped demo through ``textcls run`` (registry off); its report's calibration."""
    textcls = Path(sys.executable).with_name("textcls")
    command = [str(textcls), "run", str(ROOT / "examples/demo/pipeline.yaml")]
    command += ["--output", str(work / "runs"), "--set", "registry=null", "--json"]
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect"))
    env.pop("PREFECT_API_URL", None)  # its own ephemeral Prefect API, as a new user has
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    (report_path,) = (work / "runs").glob("support-intents/*/eval/report.json")
    report = json.loads(report_path.read_text())
    return {
        "variants": {
            n: {
                "accuracy": v["quality"]["accuracy"],
                "ece_before": v["calibration"]["before"]["ece"] if v["calibration"] else None,
                "ece_after": v["quality"]["ece"],
                "ece_floor": v["quality"].get("ece_floor"),
                "temperature": v["calibration"]["temperature"] if v["calibration"] else None,
            }
            for n, v in report["variants"].items()
        },
        "test_rows": report["variants"][report["best"]]["quality"]["examples"],
    }


#: How the section names each label-issue model (``data.label_issues_model``).
DETECTOR_MODELS = {
    "tfidf": "5-fold out-of-fold TF-IDF + logistic regression",
    "encoder": "5-fold out-of-fold logistic regression on the frozen MiniLM encoder's embeddings",
    "teacher": "the teacher's 5-fold out-of-fold logits (5 teacher fine-tunes at ingest)",
}


def render(results: dict[str, Any], commands: list[dict[str, str]]) -> str:
    ran = "; ".join(f"`{c['command']}` (load at start: {c['load']})" for c in commands)
    lines = [
        f"{ran}. Train: 2,000 rows of the dataset's train file; "
        "validation: 500 clean rows; test: the test file (at most a seeded 2,000-row sample). "
        "Flips: that share of the train labels moved to another label at random (seeded). "
        "Detection: cleanlab's `find_label_issues` on the out-of-fold probabilities of each "
        "data set's label-issue model (`data.label_issues_model`, with `label_issues_filter`; "
        "the detector column), scored against the flipped rows. Each condition runs "
        "as a pipeline does: ingest (`report` keeps the rows, `drop` removes them with the same "
        "detector), the MiniLM teacher fine-tuned on the labels (1 epoch, seq 64), the default "
        "student (`student: {}`: BiLSTM, logits-kl, the labelled rows augmented to 8x) distilled "
        "from it; the clean run also quantizes both to int8. Every variant calibrated on "
        "validation; accuracy and ECE (15 bins) on test. Detector models: "
        + "; ".join(f"`{k}`: {v}" for k, v in DETECTOR_MODELS.items())
        + ".",
        "",
        "### Detection of flipped labels",
        "",
        "| dataset | detector (model: filter) | flipped | found | precision | recall |",
        "|---|---|---:|---:|---:|---:|",
    ]
    datasets = {k: v for k, v in results.items() if k in DATASETS}
    for name, r in datasets.items():
        detector = r.get("detector") or {
            "model": results.get("detector", "tfidf"),
            "filter": "auto",
        }
        for share in ("5%", "10%"):
            d = r.get(share, {}).get("detection")
            if d is None:
                continue
            lines.append(
                markdown_row(
                    name,
                    f"{detector['model']}: {detector['filter']}",
                    f"{share} ({d['flipped']})",
                    d["found"],
                    f"{d['precision']:.2f}",
                    f"{d['recall']:.2f}",
                )
            )
    if lines[-1].startswith("|---"):  # no flipped condition ran
        lines[-2:] = ["No flipped condition in this run."]
    lines += [
        "",
        "### Accuracy on test: clean labels, flipped and kept (`report`), flipped and `drop`",
        "",
        "Recovered: the share of the accuracy the flips cost that `drop` wins back.",
        "",
        "| dataset | model | clean | 5% report | 5% drop | 10% report | 10% drop | recovered at 10% |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in datasets.items():
        for role in ("teacher", "student"):
            if role not in r.get("0%", {}).get("report", {}):
                continue
            clean = r["0%"]["report"][role]["accuracy"]
            cells = []
            for share in ("5%", "10%"):
                for policy in ("report", "drop"):
                    variant = r.get(share, {}).get(policy, {}).get(role)
                    cells.append(f"{100 * variant['accuracy']:.2f}" if variant else "-")
            ten = r.get("10%", {})
            if all(role in ten.get(p, {}) for p in ("report", "drop")):
                noisy, dropped = (ten[p][role]["accuracy"] for p in ("report", "drop"))
                lost = clean - noisy
                recovered = f"{(dropped - noisy) / lost:.0%}" if lost > 0.001 else "no loss"
            else:
                recovered = "-"
            lines.append(markdown_row(name, role, f"{100 * clean:.2f}", *cells, recovered))
    lines += [
        "",
        "### ECE on test before and after temperature scaling",
        "",
        "ECE floor: what a perfectly calibrated model with the same confidences measures on "
        "this many test rows (the report's `ece_floor`, docs/evaluation.md).",
        "",
        "| dataset | run | variant | accuracy | temperature | ECE before | ECE after | "
        "ECE floor | Brier before | Brier after |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in datasets.items():
        for share in ("0%", "5%", "10%"):
            for policy in ("report", "drop"):
                for variant, v in r.get(share, {}).get(policy, {}).items():
                    lines.append(
                        markdown_row(
                            name,
                            f"{share} {policy}",
                            variant,
                            f"{100 * v['accuracy']:.2f}",
                            f"{v['temperature']:.2f}",
                            f"{v['ece_before']:.3f}",
                            f"{v['ece_after']:.3f}",
                            "-" if v.get("ece_floor") is None else f"{v['ece_floor']:.3f}",
                            f"{v['brier_before']:.4f}",
                            f"{v['brier_after']:.4f}",
                        )
                    )
    if not datasets:
        lines = lines[:1]  # only the demo so far
    demo = results.get("demo")
    if demo and "variants" in demo:
        lines += [
            "",
            f"### The shipped demo (`textcls run examples/demo/pipeline.yaml`, "
            f"{demo['test_rows']} test rows)",
            "",
            "| variant | accuracy | temperature | ECE before | ECE after | ECE floor |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for variant, v in demo["variants"].items():
            before = "-" if v["ece_before"] is None else f"{v['ece_before']:.3f}"
            temp = "-" if v["temperature"] is None else f"{v['temperature']:.2f}"
            lines.append(
                markdown_row(
                    variant,
                    f"{100 * v['accuracy']:.2f}",
                    temp,
                    before,
                    f"{v['ece_after']:.3f}",
                    "-" if v.get("ece_floor") is None else f"{v['ece_floor']:.3f}",
                )
            )
    elif demo:
        lines += ["", f"The demo run failed: {demo['error'][-300:]}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sst2,sms_spam,ag_news")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--keep", default="", help="Work here and keep the models (a new folder)")
    parser.add_argument(
        "--conditions", default="", help="Only these, e.g. 0-report,10-drop (default: all)"
    )
    parser.add_argument(
        "--detector",
        default="tfidf",
        help="MODEL[:FILTER] for all, or NAME=MODEL[:FILTER],... per data set (else tfidf)",
    )
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="Keep what the last results file has and this run redoes not",
    )
    args = parser.parse_args()
    names = args.datasets.split(",")
    chosen = detectors(args.detector, names)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    command = "flock /tmp/textcls-bench.lock python bench/label_noise.py " + " ".join(sys.argv[1:])
    results: dict[str, Any] = {}
    commands: list[dict[str, str]] = []
    if args.merge and RESULTS.is_file():
        earlier = json.loads(RESULTS.read_text())
        commands = earlier.get("commands") or [
            {"command": earlier["command"], "load": str(earlier.get("load", "?"))}
        ]
        for key, value in earlier.items():
            if key in DATASETS and key not in names:
                value.setdefault(
                    "detector", {"model": earlier.get("detector", "tfidf"), "filter": "auto"}
                )
                results[key] = value
            elif key == "demo" and args.no_demo:
                results[key] = value
    commands = [*commands, {"command": command.strip(), "load": load}]
    start = time.perf_counter()

    def publish(partial: bool) -> None:
        save_result("label_noise", {"commands": commands, **results})
        note = "\n(partial: the run is still going)\n" if partial else ""
        update_section("label-noise", render(results, commands) + note)

    with tempfile.TemporaryDirectory(prefix="textcls-noise-") as scratch:
        tmp = args.keep or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        if not args.no_demo:  # first: the smallest, and what a new user sees
            (Path(tmp) / "demo").mkdir()
            results["demo"] = bench_demo(Path(tmp) / "demo")
            print("demo", json.dumps(results["demo"])[:2000], flush=True)
            publish(partial=True)
        for name in names:
            if not (DATA / DATASETS[name]["test"]).is_file():
                print(f"skipping {name}: {DATA / DATASETS[name]['test']} not found")
                continue
            work = Path(tmp) / name
            work.mkdir()

            def partial(dataset: str, result: dict[str, Any]) -> None:
                results[dataset] = result
                publish(partial=True)

            results[name] = bench_dataset(name, work, args, chosen[name], partial)
    commands[-1]["seconds"] = f"{time.perf_counter() - start:.0f}"
    publish(partial=False)
    print(f"done in {commands[-1]['seconds']}s")


if __name__ == "__main__":
    main()
