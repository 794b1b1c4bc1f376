"""SST-2: MiniLM teacher, BiLSTM student distilled vs on hard labels, and int8 variants.

One process, one after the other, on the same data: fine-tune the teacher (16,000 examples, one
epoch), train the BiLSTM student on hard labels and by distillation (logits-kl) on the full
67k-example train split, quantize teacher and student to int8 (ORT dynamic), then measure every
variant on SST-2 validation: accuracy, parameters, size, batch-32 throughput and batch-1
p50/p95 latency. Run:

    python bench/distill_quantize.py [--teacher-examples 16000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finetune_teacher import HYPER, MODEL  # noqa: E402  (the same teacher budget)
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2"
TEACHER = {"model": {"name": "hf", "params": {"pretrained": MODEL}}, "train": HYPER}
STUDENT = {
    "model": {"name": "bilstm", "params": {"embedding_dim": 128, "hidden_size": 128}},
    "tokenizer": {"name": "word", "params": {"min_frequency": 2, "vocab_size": 20000}},
    "train": {"epochs": 3, "batch_size": 64, "learning_rate": 2e-3, "max_length": 64},
}
DISTILLER = {"name": "logits-kl", "params": {"temperature": 2.0, "alpha": 0.9}}


def measure(folder: Path, texts: list[str], labels: list[int]) -> dict:
    import numpy as np
    from textcls.model_folder import count_parameters, load_model_folder
    from textcls.predictor import Predictor, accuracy

    predictor = Predictor.load(folder)
    acc = accuracy(predictor, texts, labels)
    predictor.logits(texts[:64], 32)  # warm-up
    start = time.perf_counter()
    predictor.logits(texts, 32)
    throughput = len(texts) / (time.perf_counter() - start)
    latencies = []
    for text in texts[:200]:
        t0 = time.perf_counter()
        predictor.logits([text], 1)
        latencies.append((time.perf_counter() - t0) * 1000)
    if (folder / "model.onnx").is_file():
        size = (folder / "model.onnx").stat().st_size
        params = None
    else:
        size = (folder / "model.safetensors").stat().st_size
        params = count_parameters(load_model_folder(folder).model)
    return {
        "accuracy": acc,
        "throughput_b32": throughput,
        "latency_b1_p50_ms": float(np.percentile(latencies, 50)),
        "latency_b1_p95_ms": float(np.percentile(latencies, 95)),
        "size_mb": size / 1e6,
        "parameters": params,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teacher-examples", type=int, default=16000)
    args = parser.parse_args()
    if not (DATA / "validation.csv").is_file():
        print(f"skipped: {DATA} not found (the shared SST-2 CSVs)")
        return
    import datasets
    from textcls import config_from_dict
    from textcls.config import QuantizeStep
    from textcls.stages.distill import distill
    from textcls.stages.finetune import fine_tune
    from textcls.stages.ingest import ingest
    from textcls.stages.quantize import quantize

    timings = {}
    with tempfile.TemporaryDirectory(prefix="textcls-bench-") as tmp:
        work = Path(tmp)
        data = {"train": str(DATA / "train.part*.csv"), "validation": str(DATA / "validation.csv")}
        full = config_from_dict(
            {
                "name": "bench",
                "seed": 13,
                "data": data,
                "teacher": TEACHER,
                "student": {**STUDENT, "distill": DISTILLER},
            },
            base_dir=work,
        )
        small = config_from_dict(
            {
                "name": "bench",
                "seed": 13,
                "data": {**data, "max_train_examples": args.teacher_examples},
                "teacher": TEACHER,
            },
            base_dir=work,
        )
        hard = config_from_dict(
            {"name": "bench", "seed": 13, "data": data, "student": STUDENT}, base_dir=work
        )
        ingest(full, work / "data")
        ingest(small, work / "data-small")
        for name, action in (
            ("teacher", lambda: fine_tune(small, "teacher", work / "data-small", work / "teacher")),
            (
                "student_hard",
                lambda: fine_tune(hard, "student", work / "data", work / "student-hard"),
            ),
            (
                "student_distilled",
                lambda: distill(full, work / "data", work / "teacher", work / "student-distilled"),
            ),
            (
                "teacher_int8",
                lambda: quantize(
                    QuantizeStep(name="ort-dynamic-int8"),
                    work / "teacher",
                    work / "data-small",
                    work / "teacher-int8",
                ),
            ),
            (
                "student_int8",
                lambda: quantize(
                    QuantizeStep(name="ort-dynamic-int8"),
                    work / "student-distilled",
                    work / "data",
                    work / "student-int8",
                ),
            ),
        ):
            start = time.perf_counter()
            action()
            timings[name] = time.perf_counter() - start
            print(name, f"{timings[name]:.0f}s", flush=True)
        validation = datasets.load_from_disk(str(work / "data"))["validation"]
        texts, labels = list(validation["text"]), list(validation["label"])
        variants = {
            "teacher (PyTorch fp32)": work / "teacher",
            "teacher (ONNX int8)": work / "teacher-int8",
            "BiLSTM, hard labels (PyTorch)": work / "student-hard",
            "BiLSTM, distilled (PyTorch)": work / "student-distilled",
            "BiLSTM, distilled (ONNX int8)": work / "student-int8",
        }
        results = {name: measure(folder, texts, labels) for name, folder in variants.items()}
        gates = {
            name: json.loads((work / name / "quantize.json").read_text())
            for name in ("teacher-int8", "student-int8")
        }
    save_result(
        "distill_quantize",
        {
            "timings_s": timings,
            "variants": results,
            "gates": gates,
            "teacher": TEACHER,
            "student": STUDENT,
            "distiller": DISTILLER,
        },
    )
    print(json.dumps(results, indent=2))
    info = machine_info()
    teacher = results["teacher (PyTorch fp32)"]
    rows = "\n".join(
        markdown_row(
            name,
            f"{r['accuracy']:.4f}",
            f"{r['accuracy'] / teacher['accuracy']:.1%}",
            f"{r['parameters']:,}" if r["parameters"] else "-",
            f"{r['size_mb']:.1f}",
            f"{r['throughput_b32']:.0f}",
            f"{r['throughput_b32'] / teacher['throughput_b32']:.1f}x",
            f"{r['latency_b1_p50_ms']:.1f}",
            f"{r['latency_b1_p95_ms']:.1f}",
        )
        for name, r in results.items()
    )
    gate_line = "; ".join(
        f"{name}: delivered {g['delivered_precision']}"
        + (f" ({g['reason']})" if g["reason"] else "")
        for name, g in gates.items()
    )
    distilled = results["BiLSTM, distilled (PyTorch)"]
    int8 = results["BiLSTM, distilled (ONNX int8)"]
    body = f"""## Distillation and quantization

`python bench/distill_quantize.py --teacher-examples {args.teacher_examples}` on {info["cpu"]}
({info["cores"]} cores). Teacher: all-MiniLM-L6-v2 fine-tuned on {args.teacher_examples:,}
SST-2 examples (1 epoch, seq 64). Students: a BiLSTM (word tokenizer, 128-d embeddings, 128
hidden per direction) trained 3 epochs on the full 67k train split, on hard labels or distilled
with `logits-kl` (T=2, alpha=0.9). int8: ONNX Runtime dynamic quantization through Optimum,
accuracy gate at 1 point. All measured on the 872 SST-2 validation sentences in one process;
throughput at batch 32 (length-sorted batches), latency at batch 1 over 200 sentences.

| variant | accuracy | of teacher | parameters | size (MB) | ex/s (b32) | vs teacher | p50 ms (b1) | p95 ms (b1) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Targets: distilled student at least 97% of the teacher's accuracy:
{distilled["accuracy"] / teacher["accuracy"]:.1%} ({"met" if distilled["accuracy"] >= 0.97 * teacher["accuracy"] else "missed"});
int8 student at least 20x the teacher's fp32 throughput:
{int8["throughput_b32"] / teacher["throughput_b32"]:.1f}x ({"met" if int8["throughput_b32"] >= 20 * teacher["throughput_b32"] else "missed"});
int8 student within 1 point of the fp32 student: {100 * (distilled["accuracy"] - int8["accuracy"]):+.2f} points.
Stage wall times (s): {", ".join(f"{k} {v:.0f}" for k, v in timings.items())}.

Accuracy gate: {gate_line}.
"""
    update_section("distill-quantize", body)


if __name__ == "__main__":
    main()
