"""Cost metrics: parameters, size on disk, latency, throughput and peak memory.

Each model is measured in its own child process, so its peak resident memory is its own and one
variant's warm caches never flatter the next.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

LATENCY_TEXTS = 100
THROUGHPUT_TEXTS = 512


def folder_size(folder: str | Path) -> int:
    """Bytes of the model file a deployment ships (ONNX or safetensors)."""
    folder = Path(folder)
    for name in ("model.onnx", "model.safetensors"):
        if (folder / name).is_file():
            return (folder / name).stat().st_size
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh in a new program;
    ``ru_maxrss`` would carry over the parent's peak across the exec of a spawned child."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(
    folder: str, texts: list[str], batch_size: int, threads: int | None, queue: Any
) -> None:
    try:
        from textcls.predictor import Predictor

        predictor = Predictor.load(folder, threads=threads)
        predictor.logits(texts[:batch_size], batch_size)  # warm-up
        latencies = []
        for text in texts[:LATENCY_TEXTS]:
            start = time.perf_counter()
            predictor.logits([text], 1)
            latencies.append((time.perf_counter() - start) * 1000)
        sample = texts[:THROUGHPUT_TEXTS]
        start = time.perf_counter()
        predictor.logits(sample, batch_size)
        throughput = len(sample) / (time.perf_counter() - start)
        parameters = None
        if predictor.backend == "pytorch":
            from textcls.model_folder import count_parameters, load_model_folder

            parameters = count_parameters(load_model_folder(folder).model)
        queue.put(
            {
                "latency_b1_p50_ms": float(np.percentile(latencies, 50)),
                "latency_b1_p95_ms": float(np.percentile(latencies, 95)),
                "throughput": throughput,
                "batch_size": batch_size,
                "peak_rss_mb": peak_rss_mb(),
                "parameters": parameters,
                "backend": predictor.backend,
            }
        )
    except Exception as exc:  # reported to the parent, which raises it with context
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def cost_metrics(
    folder: str | Path, texts: Sequence[str], *, batch_size: int = 32, threads: int | None = None
) -> dict[str, Any]:
    """Measure one model folder in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_measure, args=(str(folder), list(texts), batch_size, threads, queue)
    )
    process.start()
    result: dict[str, Any] = queue.get(timeout=1800)
    process.join(timeout=60)
    if "error" in result:
        raise RuntimeError(f"measuring {folder}: {result['error']}")
    result["size_mb"] = folder_size(folder) / 1e6
    return result
