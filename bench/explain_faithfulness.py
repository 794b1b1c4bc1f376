"""Are the explanations faithful? AOPC of each explainer against random deletion, on SST-2.

One small SST-2 run (2,000 training rows; MiniLM teacher 1 epoch, BiLSTM student distilled
from it, the student quantized to int8 with ORT dynamic quantization: the same run as
``bench/serve_load.py``, trained once and cached under --work). On --texts SST-2 validation
sentences, for the teacher, the distilled student and the int8 student, and for every built-in
explainer that can explain each (integrated gradients needs PyTorch; occlusion runs on any
folder), in one process:

- seconds per explained text (the model loaded and warmed up first; batches as
  ``textcls explain`` runs them);
- the deletion test: remove the k = 1..5 highest-attributed words and measure the drop of the
  explained (predicted) class's probability, against removing k random words (mean of 3 draws);
- AOPC (mean drop over k = 1..5) of the method and of random deletion, and the paired
  difference, each with a 95% bootstrap interval over texts (scipy's BCa bootstrap).

Run (under the machine-wide bench lock):

    flock /tmp/textcls-bench.lock python bench/explain_faithfulness.py [--texts 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402
from serve_load import DATA, train, validation_texts  # noqa: E402  (the same SST-2 run)

MODELS = {
    "teacher": "teacher (MiniLM fp32, PyTorch)",
    "student": "student (distilled BiLSTM, PyTorch)",
    "student-int8": "student int8 (ONNX Runtime)",
}


def measure(folder: Path, method: str, texts: list[str], seed: int) -> dict[str, Any]:
    from textcls.explanation.explain import explain_texts
    from textcls.explanation.faithfulness import faithfulness
    from textcls.explanation.subject import ExplainSubject

    subject = ExplainSubject(folder)
    explain_texts(subject, texts[:2], method=method)  # warm-up: lazy loads, first-call costs
    start = time.perf_counter()
    explanations = explain_texts(subject, texts, method=method)
    seconds = time.perf_counter() - start
    result = faithfulness(subject, explanations, seed=seed).as_json()
    deltas = [abs(e.details["convergence_delta"]) for e in explanations if e.details]
    return {
        "seconds_per_text": seconds / len(texts),
        "median_abs_convergence_delta": sorted(deltas)[len(deltas) // 2] if deltas else None,
        **result,
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    info = result["machine"]
    lines = [
        "## Explanations: faithfulness on SST-2",
        "",
        f"`python bench/explain_faithfulness.py --texts {args.texts}` on {info['cpu']} "
        f"({info['cores']} cores), {result['minutes']:.1f} min; load average before "
        f"{result['loadavg_before']}, after {result['loadavg_after']} (other engineers' tests "
        "ran beside it). The SST-2 run of `bench/serve_load.py` (2,000 training rows; MiniLM "
        "teacher, distilled BiLSTM student, its ORT dynamic int8). "
        f"{result['texts']} SST-2 validation sentences, explained toward the predicted label; "
        "deletion test with k = 1..5 words, random deletion averaged over 3 draws per text. "
        "AOPC: mean drop of the predicted class's probability over k = 1..5 (higher: the "
        "method found words the model relies on). 95% bootstrap intervals over texts.",
        "",
        "| model | method | s/text | AOPC | 95% CI | random AOPC | 95% CI | AOPC - random "
        "| 95% CI | beats random | AOPC / random AOPC |",
        "|---|---|---:|---:|---|---:|---|---:|---|---|---:|",
    ]
    for row in result["rows"]:
        ratio = f"{row['aopc'] / row['random_aopc']:.1f}x" if row["random_aopc"] > 0 else "-"
        lines.append(
            markdown_row(
                MODELS[row["model"]],
                row["method"],
                f"{row['seconds_per_text']:.3f}",
                f"{row['aopc']:.4f}",
                "[{:.4f}, {:.4f}]".format(*row["aopc_ci95"]),
                f"{row['random_aopc']:.4f}",
                "[{:.4f}, {:.4f}]".format(*row["random_aopc_ci95"]),
                f"{row['difference']:+.4f}",
                "[{:+.4f}, {:+.4f}]".format(*row["difference_ci95"]),
                "yes" if row["beats_random"] else "**no**",
                ratio,
            )
        )
    lines += [
        "",
        "Deletion curves (mean drop after removing the top-k words; random in brackets):",
        "",
    ]
    lines += [
        "| model | method | k=1 | k=2 | k=3 | k=4 | k=5 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        cells = [
            f"{c:.3f} ({r:.3f})" for c, r in zip(row["curve"], row["random_curve"], strict=True)
        ]
        lines.append(markdown_row(MODELS[row["model"]], row["method"], *cells))
    by_model: dict[str, dict[str, float]] = {}
    for row in result["rows"]:
        by_model.setdefault(row["model"], {})[row["method"]] = row["seconds_per_text"]
    notes = []
    for model, seconds in by_model.items():
        if "integrated-gradients" in seconds and "occlusion" in seconds:
            notes.append(
                f"- {MODELS[model]}: integrated gradients takes "
                f"{seconds['integrated-gradients'] / seconds['occlusion']:.1f}x occlusion's "
                "time per text (same run)."
            )
    deltas = [r for r in result["rows"] if r["median_abs_convergence_delta"] is not None]
    for row in deltas:
        notes.append(
            f"- {MODELS[row['model']]}: median |convergence delta| of integrated gradients "
            f"{row['median_abs_convergence_delta']:.2g} (32 steps)."
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=200, help="SST-2 validation sentences")
    parser.add_argument("--train-examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/textcls-explain-bench"), help="Trained models"
    )
    args = parser.parse_args()
    if not (DATA / "validation.csv").is_file():
        print(f"skipped: {DATA} not found (the shared SST-2 CSVs)")
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args.work.mkdir(parents=True, exist_ok=True)
    loadavg_before = [round(v, 2) for v in os.getloadavg()]
    began = time.perf_counter()
    train(args.work, args.train_examples)
    texts = validation_texts(args.work)
    texts = random.Random(args.seed).sample(texts, min(args.texts, len(texts)))
    rows = []
    for model in MODELS:
        methods = (
            ["integrated-gradients", "occlusion"] if model != "student-int8" else ["occlusion"]
        )
        for method in methods:
            row = {
                "model": model,
                "method": method,
                **measure(args.work / model, method, texts, args.seed),
            }
            print(
                f"{model} {method}: {row['seconds_per_text']:.3f} s/text, AOPC {row['aopc']:.4f} "
                f"vs random {row['random_aopc']:.4f}, difference CI {row['difference_ci95']}",
                flush=True,
            )
            rows.append(row)
    result = {
        "texts": len(texts),
        "rows": rows,
        "minutes": (time.perf_counter() - began) / 60,
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "machine": machine_info(),
    }
    save_result("explain_faithfulness", result)
    update_section("explain-faithfulness", report(result, args))
    print(report(result, args))


if __name__ == "__main__":
    main()
