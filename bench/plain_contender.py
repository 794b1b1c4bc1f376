"""The script a user would write instead of textcls: Trainer, ``transformers.pipeline``, Optimum.

Fine-tune the pretrained model with Trainer, predict the test set with
``transformers.pipeline``, then quantize with Optimum's dynamic int8 (the same AVX2 config
textcls uses) and predict again. Cost is measured like textcls measures its variants: in a
fresh child process, 100 single-text calls for latency and 512 texts in batches of 32 for
throughput, peak RSS from VmHWM.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np

LATENCY_TEXTS = 100
THROUGHPUT_TEXTS = 512


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def train(train_csv: Path, out: Path, model_path: str, hyper: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune and save; returns wall times. Labels are sorted names, as a user would map them."""
    import datasets
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    start = time.perf_counter()
    set_seed(13)
    texts, labels = read_csv(train_csv)
    names = sorted(set(labels))
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
    )
    dataset = datasets.Dataset.from_dict(
        {"text": texts, "label": [names.index(label) for label in labels]}
    ).map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=hyper["max_length"]),
        batched=True,
    )
    args = TrainingArguments(
        output_dir=str(out.parent / "plain-checkpoints"),
        num_train_epochs=hyper["epochs"],
        per_device_train_batch_size=hyper["batch_size"],
        learning_rate=hyper["learning_rate"],
        warmup_ratio=hyper["warmup_ratio"],
        weight_decay=hyper["weight_decay"],
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=13,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=DataCollatorWithPadding(tokenizer),
    )
    train_start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - train_start
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    return {"train_s": train_s, "wall_s": time.perf_counter() - start}


def _classifier(folder: Path, int8: bool, max_length: int) -> Any:
    from transformers import AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if int8:
        from optimum.onnxruntime import ORTModelForSequenceClassification

        model = ORTModelForSequenceClassification.from_pretrained(
            str(folder), file_name="model_quantized.onnx"
        )
    else:
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    return pipeline(
        "text-classification",
        model=model,
        tokenizer=tokenizer,
        device=-1 if not int8 else None,
        truncation=True,
        max_length=max_length,
    )


def predict(folder: Path, texts: list[str], int8: bool, max_length: int) -> list[str]:
    classify = _classifier(folder, int8, max_length)
    return [out["label"] for out in classify(texts, batch_size=32)]


def quantize(folder: Path, out: Path) -> float:
    """Optimum export + dynamic int8 (AVX2, per-tensor), as its docs show; returns seconds."""
    from optimum.onnxruntime import (
        AutoQuantizationConfig,
        ORTModelForSequenceClassification,
        ORTQuantizer,
    )

    start = time.perf_counter()
    exported = ORTModelForSequenceClassification.from_pretrained(str(folder), export=True)
    quantizer = ORTQuantizer.from_pretrained(exported)
    config = AutoQuantizationConfig.avx2(is_static=False, per_channel=False)
    quantizer.quantize(save_dir=str(out), quantization_config=config)
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(str(folder)).save_pretrained(str(out))
    return time.perf_counter() - start


def _measure(folder: str, int8: bool, max_length: int, texts: list[str], queue: Any) -> None:
    try:
        classify = _classifier(Path(folder), int8, max_length)
        classify(texts[:32], batch_size=32)  # warm-up
        latencies = []
        for text in texts[:LATENCY_TEXTS]:
            start = time.perf_counter()
            classify([text], batch_size=1)
            latencies.append((time.perf_counter() - start) * 1000)
        sample = texts[:THROUGHPUT_TEXTS]
        start = time.perf_counter()
        classify(sample, batch_size=32)
        throughput = len(sample) / (time.perf_counter() - start)
        from textcls.evaluation.cost import peak_rss_mb

        queue.put(
            {
                "latency_b1_p50_ms": float(np.percentile(latencies, 50)),
                "throughput": throughput,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    except Exception as exc:  # reported to the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def cost(folder: Path, int8: bool, max_length: int, texts: list[str]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(str(folder), int8, max_length, texts, queue))
    process.start()
    result: dict[str, Any] = queue.get(timeout=1800)
    process.join(timeout=60)
    if "error" in result:
        raise RuntimeError(f"measuring {folder}: {result['error']}")
    model_file = folder / ("model_quantized.onnx" if int8 else "model.safetensors")
    result["size_mb"] = model_file.stat().st_size / 1e6
    return result
