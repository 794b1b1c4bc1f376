"""``textcls predict -f FILE`` step by step: the fp32 teacher against the int8 student.

Issue #20 asks for an int8 student at least 50x the fp32 teacher's throughput through
``textcls predict -f FILE``, tokenization included, each model at its default batch size. This
script measures that path for both models on the same file (SST-2 validation.csv repeated to
--rows rows):

- **step by step**, in a fresh process per model and per code version: interpreter start
  (``python -c pass``), importing the CLI, importing the model's libraries (ONNX Runtime or
  torch, transformers), loading the model folder, reading the file, tokenization, batching and
  padding, the model call, post-processing (``predictions_from_logits``), rendering and writing
  the output. Tokenization, padding and the model call are timed around the Predictor's own
  callables, run on one worker so that each step's seconds add up to the work done;
- **end to end**, through the real CLI in a fresh process (``textcls predict MODEL -f FILE -o
  OUT``), on the big file and on a 200-row file: whole-command texts/s (process start included)
  and marginal texts/s, ``(rows_big - rows_small) / (seconds_big - seconds_small)``, which
  leaves out process start, imports and model load;
- the ratio student-int8 / teacher, whole-command and marginal.

``--before PYTHON`` adds the same rows for another installation of textcls (for example
/work/main's interpreter at the commit before a change), in the same run, so before/after
ratios are measured under the same load. Run under the machine-wide lock:

    flock /tmp/textcls-bench.lock python bench/predict_path.py [--rows 20000] [--before PYTHON]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2" / "validation.csv"
MODELS = Path("/tmp/textcls-explain-bench")
SMALL_ROWS = 200
STEPS = (
    "cli imports",
    "library imports",
    "model load",
    "read file",
    "tokenization",
    "batching/padding",
    "model call",
    "post-processing",
    "render + write",
)


# -- the child: one model, one code version, step by step ------------------------------------


class _Timer:
    """Seconds spent inside a wrapped callable (summed over calls)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


def _renders_arrays(render: Any) -> bool:
    import inspect

    return "probabilities" in inspect.signature(render).parameters


def child(model: Path, file: Path, output: Path) -> dict[str, Any]:
    """Run the ``textcls predict -f`` steps in this process and time each."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    import textcls.flows.cli  # noqa: F401  (what the `textcls` command imports first)
    from textcls.flows.predict_io import read_texts, render, write_atomic
    from textcls.predictor import Predictor

    seconds["cli imports"] = time.perf_counter() - start
    start = time.perf_counter()
    import transformers  # noqa: F401

    if (model / "model.onnx").is_file():
        import onnxruntime  # noqa: F401
    else:
        import torch  # noqa: F401
    seconds["library imports"] = time.perf_counter() - start

    start = time.perf_counter()
    load_options: dict[str, Any] = {}
    if "workers" in Predictor.load.__code__.co_varnames:
        # One worker, so each step's seconds are its own work; an ONNX worker runs one thread
        # (what each of `textcls predict`'s workers runs), PyTorch keeps its intra-op threads.
        load_options["workers"] = 1
        if (model / "model.onnx").is_file():
            load_options["threads"] = 1
    predictor = Predictor.load(model, **load_options)
    seconds["model load"] = time.perf_counter() - start

    start = time.perf_counter()
    texts = read_texts(file, "text", [], "utf-8")
    seconds["read file"] = time.perf_counter() - start

    encode, tokenize, run = _Timer(), _Timer(), _Timer()
    encoder = predictor._encode
    if hasattr(encoder, "_tokenize"):  # the word tokenizer's ids, before padding
        encoder._tokenize = tokenize.wrap(encoder._tokenize)
    elif hasattr(encoder, "_encode_batch"):  # the Rust backend call inside the encoder
        encoder._encode_batch = tokenize.wrap(encoder._encode_batch)
    predictor._encode = encode.wrap(encoder)
    predictor._run = run.wrap(predictor._run)
    batch_size = getattr(predictor, "batch_size", 32)
    start = time.perf_counter()
    logits = predictor.logits(texts, batch_size)
    logits_seconds = time.perf_counter() - start
    seconds["tokenization"] = tokenize.seconds if tokenize.seconds else encode.seconds
    seconds["batching/padding"] = logits_seconds - run.seconds - seconds["tokenization"]
    seconds["model call"] = run.seconds

    start = time.perf_counter()
    if _renders_arrays(render):
        results: Any = predictor.probabilities_from_logits(logits)
    else:  # before #20: a Prediction object per row
        results = predictor.predictions_from_logits(logits)
    seconds["post-processing"] = time.perf_counter() - start
    start = time.perf_counter()
    write_atomic(output, render(texts, results, predictor.labels, "jsonl"))
    seconds["render + write"] = time.perf_counter() - start
    return {"rows": len(texts), "batch_size": batch_size, "seconds": seconds}


def sweep_child(model: Path, file: Path, sizes: list[int], rows: int) -> dict[str, Any]:
    """texts/s of ``Predictor.logits`` (tokenization included) at each batch size, model
    loaded once, the first ``rows`` rows of the file, one unmeasured warm-up call; the sizes
    are timed in turn, twice over, and each keeps its better round (load comes and goes)."""
    from textcls.flows.predict_io import read_texts
    from textcls.predictor import Predictor

    texts = read_texts(file, "text", [], "utf-8")[:rows]
    predictor = Predictor.load(model, workers=None)
    predictor.logits(texts[:256], 32)
    out: dict[str, float] = {}
    for _ in range(2):
        for size in sizes:
            start = time.perf_counter()
            predictor.logits(texts, size)
            rate = len(texts) / (time.perf_counter() - start)
            out[str(size)] = max(rate, out.get(str(size), 0.0))
    result = {"rows": len(texts), "workers": getattr(predictor, "workers", 1), "texts_per_s": out}
    if (model / "model.onnx").is_file():
        result["threading_at_64"] = _threading(model, texts)
    return result


def _threading(model: Path, texts: list[str]) -> dict[str, float]:
    """texts/s at batch 64: one call at a time on ONNX Runtime's default intra-op threads
    (spinning on), on one thread, and one batch per core (what `textcls predict` does)."""
    from textcls.predictor import Predictor, available_cores

    modes = {
        "one batch at a time, ORT default threads": {"workers": 1},
        "one batch at a time, 1 thread": {"workers": 1, "threads": 1},
        f"{available_cores()} batches at once, 1 thread each": {"workers": None},
    }
    out: dict[str, float] = {}
    for _ in range(2):
        for name, options in modes.items():
            predictor = Predictor.load(model, **options)
            predictor.logits(texts[:256], 64)
            start = time.perf_counter()
            predictor.logits(texts, 64)
            out[name] = max(out.get(name, 0.0), len(texts) / (time.perf_counter() - start))
    return out


# -- the parent ---------------------------------------------------------------------------


def make_files(
    folder: Path, rows: int, teacher_rows: int | None = None, data: Path = DATA
) -> tuple[Path, Path]:
    """``data`` repeated to ``rows`` rows, and its first SMALL_ROWS rows (and, with
    ``teacher_rows``, the big file's first ``teacher_rows`` rows as ``teacher.csv``)."""
    with data.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    big = [texts[i % len(texts)] for i in range(rows)]
    paths = []
    for name, chosen in (("big.csv", big), ("small.csv", big[:SMALL_ROWS])):
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([t] for t in chosen)
        paths.append(path)
    if teacher_rows:
        with (folder / "teacher.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([t] for t in big[:teacher_rows])
    return paths[0], paths[1]


def run_child(python: str, model: Path, file: Path, out: Path) -> dict[str, Any]:
    command = [python, str(Path(__file__).resolve()), "--child", str(model), str(file), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def time_command(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def end_to_end(
    textcls: str, model: Path, big: Path, small: Path, rows: int, repeats: int, out: Path
) -> dict[str, Any]:
    """Median wall seconds of the real CLI on the big and the small file; the big file's
    predictions stay in ``out``."""

    def command(file: Path, to: Path) -> list[str]:
        return [textcls, "predict", str(model), "-f", str(file), "-o", str(to)]

    big_s = statistics.median(time_command(command(big, out)) for _ in range(repeats))
    small_out = out.with_name("small-" + out.name)
    small_s = statistics.median(time_command(command(small, small_out)) for _ in range(repeats))
    return {
        "rows": rows,
        "big_s": big_s,
        "small_s": small_s,
        "whole_texts_per_s": rows / big_s,
        "marginal_texts_per_s": (rows - SMALL_ROWS) / max(big_s - small_s, 1e-9),
    }


def agreement(before: Path, after: Path) -> dict[str, float]:
    """Share of rows with the same label, and the largest probability difference."""
    same, largest, rows = 0, 0.0, 0
    with before.open(encoding="utf-8") as a, after.open(encoding="utf-8") as b:
        for line_a, line_b in zip(a, b, strict=True):
            row_a, row_b = json.loads(line_a), json.loads(line_b)
            rows += 1
            same += row_a["label"] == row_b["label"]
            for label, p in row_a["probabilities"].items():
                largest = max(largest, abs(p - row_b["probabilities"][label]))
    return {"rows": rows, "same_label": same / rows, "max_abs_probability_diff": largest}


def textcls_of(python: str) -> str:
    """The ``textcls`` script installed beside ``python`` (a pyenv shim resolved first)."""
    code = "import sys; print(sys.executable)"
    real = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return str(Path(real.stdout.strip()).parent / "textcls")


def revision_of(python: str) -> str:
    code = "import textcls, pathlib; print(pathlib.Path(textcls.__file__).resolve().parents[1])"
    folder = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    where = folder.stdout.strip()
    rev = subprocess.run(
        ["git", "-C", where, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", where, "status", "--porcelain"], capture_output=True, text=True
    )
    return f"{where} @ {rev.stdout.strip()}{'+changes' if dirty.stdout.strip() else ''}"


def other_data_set(args: argparse.Namespace) -> str | None:
    """The data set ``--data`` names (its folder), or None for the default SST-2 file."""
    return None if args.data == DATA.resolve() else args.data.parent.name


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    default_data = other_data_set(args) is None
    # the default pair's heading stands above the section's hand-written reading note
    lines = ([""] if default_data else [f"### The same for {other_data_set(args)}'s pair", ""]) + [
        f"`flock /tmp/textcls-bench.lock python bench/predict_path.py --rows {args.rows}"
        + (f" --before {args.before}" if args.before else "")
        + (f" --teacher-rows {args.teacher_rows}" if args.teacher_rows else "")
        + f" --repeats {args.repeats} --teacher-repeats {args.teacher_repeats}"
        + ("" if default_data else f" --data {args.data} --models {args.models}")
        + f"` on {result['machine']['cpu']} "
        f"({result['machine']['cores']} cores); "
        + (
            f"models: {args.models} (SST-2, 2,000 training rows: MiniLM teacher fp32 PyTorch, "
            "1 epoch, seq 64; distilled BiLSTM student, ORT dynamic int8). Input: SST-2 "
            f"validation.csv repeated to {args.rows:,} rows (mean 22.7 word tokens). "
            if default_data
            else f"models: {args.models}. Input: {args.data} repeated to {args.rows:,} rows. "
        )
        + f"Load average {result['load_before']} before, {result['load_after']} after: "
        f"{args.note}.",
        "",
    ]
    versions = result["versions"]
    header = ["model", "code", "batch size", *STEPS, "sum"]
    lines.append(
        "Seconds per step for the whole file, one worker (the Predictor's own callables timed "
        "in place; batching/padding is what `logits` spends outside tokenizer and model; "
        "before: ONNX Runtime's default threads, after: one thread, as each worker runs):"
    )
    lines.append("")
    lines.append(markdown_row(*header))
    lines.append(markdown_row(*["---"] * 2, *["---:"] * (len(header) - 2)))
    for model in ("teacher", "student-int8"):
        for version in versions:
            row = result["steps"][version][model]
            secs = row["seconds"]
            cells = [f"{secs[s]:.3f}" for s in STEPS]
            lines.append(
                markdown_row(model, version, row["batch_size"], *cells, f"{sum(secs.values()):.2f}")
            )
    lines.append("")
    lines.append(
        f"Interpreter start (`python -c pass`): {result['interpreter_s']:.3f} s. End to end through "
        f"the CLI in a fresh process, median of {args.repeats} runs for the student and "
        f"{args.teacher_repeats} for the teacher (whole command: "
        f"{args.rows:,} rows / wall seconds; marginal: ({args.rows:,} - {SMALL_ROWS}) rows / "
        f"(wall on {args.rows:,} rows - wall on {SMALL_ROWS} rows)):"
    )
    if args.teacher_rows:
        lines.append(
            f"The teacher read the first {args.teacher_rows:,} rows of the same file (its "
            "texts/s, not its total seconds, enter the ratios)."
        )
    lines.append("")
    lines.append(
        markdown_row(
            "model",
            "code",
            "wall s, big file",
            f"wall s, {SMALL_ROWS} rows",
            "whole-command texts/s",
            "marginal texts/s",
        )
    )
    lines.append(markdown_row("---", "---", "---:", "---:", "---:", "---:"))
    for model in ("teacher", "student-int8"):
        for version in versions:
            e = result["end_to_end"][version][model]
            lines.append(
                markdown_row(
                    model,
                    version,
                    f"{e['big_s']:.2f}",
                    f"{e['small_s']:.2f}",
                    f"{e['whole_texts_per_s']:,.0f}",
                    f"{e['marginal_texts_per_s']:,.0f}",
                )
            )
    lines.append("")
    lines.append("Ratio int8 student / fp32 teacher (target: at least 50x):")
    lines.append("")
    lines.append(markdown_row("code", "whole command", "marginal"))
    lines.append(markdown_row("---", "---:", "---:"))
    for version in versions:
        r = result["ratios"][version]
        lines.append(markdown_row(version, f"{r['whole']:.1f}x", f"{r['marginal']:.1f}x"))
    if "agreement" in result:
        lines.append("")
        lines.append(f"Before and after, the same {args.rows:,} rows:")
        lines.append("")
        lines.append(markdown_row("model", "same label", "largest probability difference"))
        lines.append(markdown_row("---", "---:", "---:"))
        for name, a in result["agreement"].items():
            lines.append(
                markdown_row(name, f"{a['same_label']:.2%}", f"{a['max_abs_probability_diff']:.1e}")
            )
    sweep_file = ROOT / "bench" / "results" / "predict_path_sweep.json"
    if sweep_file.is_file() and default_data:  # the sweep ran on the SST-2 pair
        lines.extend(["", *sweep_report(json.loads(sweep_file.read_text()))])
    lines.append("")
    lines.append("Code versions: " + "; ".join(f"{k}: {v}" for k, v in result["revisions"].items()))
    return "\n".join(lines)


#: Batch sizes tried per model, and the rows each is timed on (the teacher is ~40x slower).
SWEEP = {"teacher": ("8,16,32,64,128", 2000), "student-int8": ("8,16,32,64,128,256", 20000)}


def sweep(args: argparse.Namespace) -> dict[str, Any]:
    """texts/s per batch size for both models, this code, each model in a fresh process."""
    result: dict[str, Any] = {"load_before": load_average(), "models": str(args.models)}
    with tempfile.TemporaryDirectory(prefix="predict-sweep-") as tmp:
        big, _ = make_files(Path(tmp), args.rows)
        for name, (sizes, rows) in SWEEP.items():
            command = [sys.executable, str(Path(__file__).resolve()), "--sweep-child"]
            command += [str(args.models / name), str(big), sizes, str(rows)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result[name] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_after"] = load_average()
    save_result("predict_path_sweep", result)
    return result


def sweep_report(sweep: dict[str, Any]) -> list[str]:
    """The last ``--sweep`` (bench/results/predict_path_sweep.json) as markdown."""
    lines = [
        "Batch size, `python bench/predict_path.py --sweep` (`Predictor.logits` in one process, "
        "tokenization included, each size timed twice in turn, the better kept; "
        + (f"models: {sweep['models']}; " if "models" in sweep else "")
        + f"load average {sweep['load_before']} before, {sweep['load_after']} after):",
        "",
    ]
    sizes = sorted({int(k) for name in SWEEP for k in sweep[name]["texts_per_s"]})
    lines.append(markdown_row("model", "rows", *sizes))
    lines.append(markdown_row("---", "---:", *["---:"] * len(sizes)))
    for name in SWEEP:
        rates = sweep[name]["texts_per_s"]
        cells = [f"{rates[str(s)]:,.0f}" if str(s) in rates else "" for s in sizes]
        lines.append(markdown_row(name, sweep[name]["rows"], *cells))
    threading = sweep["student-int8"].get("threading_at_64")
    if threading:
        lines.extend(["", "The int8 student at batch 64, texts/s:", ""])
        lines.append(markdown_row(*threading))
        lines.append(markdown_row(*["---:"] * len(threading)))
        lines.append(markdown_row(*[f"{v:,.0f}" for v in threading.values()]))
    return lines


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument(
        "--teacher-rows", type=int, help="The teacher on the big file's first N rows only"
    )
    parser.add_argument("--repeats", type=int, default=3, help="CLI runs per student row (median)")
    parser.add_argument("--teacher-repeats", type=int, default=1, help="CLI runs per teacher row")
    parser.add_argument("--models", type=Path, default=MODELS, help="teacher/ and student-int8/")
    parser.add_argument("--before", help="Python of another textcls installation to compare")
    parser.add_argument("--note", default="other work ran on the machine at the same time")
    parser.add_argument("--no-update", action="store_true", help="Leave BENCHMARKS.md as is")
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help="a CSV with a text column, repeated to --rows (default: SST-2 validation.csv); "
        "another file writes bench/results/predict_path_<its data set>.json and its own "
        "section, predict-path-<its data set>",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="Only texts/s per batch size (this code, in-process)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="Rewrite the section from bench/results"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--sweep-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = args.data.resolve()
    other = other_data_set(args)
    if other is not None and args.models == MODELS:
        parser.error("--data FILE needs --models DIR: that data set's teacher/ and student-int8/")
    if args.child:
        model, file, out = (Path(p) for p in args.child)
        print(json.dumps(child(model, file, out)))
        return
    if args.sweep_child:
        model, file, sizes, rows = args.sweep_child
        chosen = [int(x) for x in sizes.split(",")]
        print(json.dumps(sweep_child(Path(model), Path(file), chosen, int(rows))))
        return
    if args.sweep:
        print(json.dumps(sweep(args), indent=2))
        return
    # bench/results/<results_name>.json and BENCHMARKS.md's <section>, one pair per data set
    results_name = "predict_path" + ("" if other is None else f"_{other}")
    section = results_name.replace("_", "-")
    if args.report_only:
        saved_file = ROOT / "bench" / "results" / f"{results_name}.json"
        if saved_file.is_file():
            update_section(section, report(json.loads(saved_file.read_text()), args))
        else:  # only a --sweep so far
            sweep_file = ROOT / "bench" / "results" / "predict_path_sweep.json"
            # the heading stands above the section's reading note
            body = ["", *sweep_report(json.loads(sweep_file.read_text()))]
            update_section("predict-path", "\n".join(body))
        return

    pythons = {"after": sys.executable}
    if args.before:
        pythons = {"before": args.before, **pythons}
    models = {name: args.models / name for name in ("teacher", "student-int8")}
    result: dict[str, Any] = {
        "machine": machine_info(),
        "rows": args.rows,
        "load_before": load_average(),
        "versions": list(pythons),
        "revisions": {name: revision_of(python) for name, python in pythons.items()},
        "steps": {},
        "end_to_end": {},
        "ratios": {},
    }
    result["interpreter_s"] = statistics.median(
        time_command([sys.executable, "-c", "pass"]) for _ in range(3)
    )
    with tempfile.TemporaryDirectory(prefix="predict-path-") as tmp:
        work = Path(tmp)
        big, small = make_files(work, args.rows, args.teacher_rows, args.data)
        for version, python in pythons.items():
            result["steps"][version] = {}
            result["end_to_end"][version] = {}
            for name, folder in models.items():
                print(f"{version} {name}: steps", file=sys.stderr, flush=True)
                file, rows = big, args.rows
                if name == "teacher" and args.teacher_rows:
                    file, rows = work / "teacher.csv", args.teacher_rows
                result["steps"][version][name] = run_child(python, folder, file, work / "o.jsonl")
                print(f"{version} {name}: end to end", file=sys.stderr, flush=True)
                repeats = args.repeats if name == "student-int8" else args.teacher_repeats
                result["end_to_end"][version][name] = end_to_end(
                    textcls_of(python),
                    folder,
                    file,
                    small,
                    rows,
                    repeats,
                    work / f"{version}-{name}.jsonl",
                )
            e = result["end_to_end"][version]
            result["ratios"][version] = {
                kind: e["student-int8"][f"{kind}_texts_per_s"] / e["teacher"][f"{kind}_texts_per_s"]
                for kind in ("whole", "marginal")
            }
        if "before" in pythons:
            result["agreement"] = {
                name: agreement(work / f"before-{name}.jsonl", work / f"after-{name}.jsonl")
                for name in models
            }
    result["load_after"] = load_average()
    print(json.dumps(result, indent=2))
    save_result(results_name, result)
    if not args.no_update:
        update_section(section, report(result, args))


if __name__ == "__main__":
    main()
