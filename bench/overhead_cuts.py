"""Same-process A/B of two cuts of issue #20's orchestration overhead, alternating, medians.

1. ``Trainer.train`` starts with accelerate's ``free_memory()``, a ``gc.collect()`` over every
   object of the process; the training job now runs on a frozen heap
   (``textcls.training.frozen_heap``). Measured: ``free_memory()`` with the heap of a flow
   process (textcls, Prefect, transformers, datasets, scikit-learn imported), plain and frozen.
2. The report's explanations take the probabilities evaluation computed for the explained
   texts (``explain_texts(..., probabilities=)``) instead of predicting them again. Measured:
   ``explain_texts`` on a model folder's two most confident test mistakes, both ways.

Prints only (no BENCHMARKS.md section: the scoreboard's "Where the time goes" is the measure
of the whole flow). Run on a finished teacher run folder (``textcls run`` output)::

    python bench/overhead_cuts.py RUN_FOLDER [--repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from pathlib import Path


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({', '.join(f'{v:.3f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_folder", type=Path, help="a run folder with data/ and teacher/")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import datasets
    import numpy as np
    import sklearn  # noqa: F401  (a flow process has these imported)
    import textcls.flows.pipeline  # noqa: F401
    from accelerate import Accelerator
    from textcls.explanation.explain import explain_texts
    from textcls.explanation.subject import ExplainSubject
    from textcls.predictor import Predictor
    from textcls.training.frozen_heap import frozen_heap
    from transformers import Trainer  # noqa: F401

    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load {load}; {len(gc.get_objects()):,} objects tracked by the collector")
    accelerator = Accelerator(cpu=True)
    plain, frozen = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        accelerator.free_memory()
        plain.append(time.perf_counter() - start)
        with frozen_heap():
            start = time.perf_counter()
            accelerator.free_memory()
            frozen.append(time.perf_counter() - start)
    print(f"free_memory(), plain heap:  {_median(plain)}")
    print(f"free_memory(), frozen heap: {_median(frozen)}")

    folder = args.run_folder / "teacher"
    data = datasets.load_from_disk(str(args.run_folder / "data"))
    texts, labels = list(data["test"]["text"]), np.asarray(data["test"]["label"])
    predictor = Predictor.load(folder)
    probabilities = predictor.probabilities(texts, 64)
    wrong = np.argsort(-probabilities.max(1) * (probabilities.argmax(1) != labels))[:2]
    chosen = [texts[i] for i in wrong]
    subject = ExplainSubject(folder, predictor=predictor)
    explain_texts(subject, chosen)  # warm-up: the explainer's import, first shapes
    again, given = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        explain_texts(subject, chosen)
        again.append(time.perf_counter() - start)
        start = time.perf_counter()
        explain_texts(subject, chosen, probabilities=probabilities[wrong])
        given.append(time.perf_counter() - start)
    print(f"explain 2 texts, predicting them again: {_median(again)}")
    print(f"explain 2 texts, evaluation's probabilities: {_median(given)}")
    print(f"load after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
