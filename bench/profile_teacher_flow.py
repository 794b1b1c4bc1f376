"""Where a teacher-only flow's seconds go beside training: run it once to profile, then summarise.

``bench/matrix.py --only overhead`` measures the overhead; this says what it is made of. One
data set's teacher-only flow on the scoreboard's rows (``bench/matrix.py``'s ``prepare`` and
``configs``), after a warm-up flow and with the heavy imports done first, as they are for every
data set but the first in the benchmark's process. Profile it with py-spy, then summarise the
main thread's samples by the frames that name textcls's work:

    py-spy record --nonblocking --threads -r 100 -f raw -o /tmp/sst2.raw -- \\
        python bench/profile_teacher_flow.py sst2
    python bench/profile_teacher_flow.py --summarize /tmp/sst2.raw --rate 100
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

#: (what, a regular expression over one sample's stack); a sample counts toward every match
PARTS = [
    ("the flow (main thread)", r"run_flow \(matrix.py"),
    ("Trainer.train", r"\btrain \(transformers/trainer.py"),
    ("  of which training_step", r"Trainer.training_step"),
    ("  of which optimizer step", r"AcceleratedOptimizer.step"),
    ("  of which gradient clipping", r"clip_grad_norm_"),
    ("the job's validation pass", r"_train_run .*Predictor.logits"),
    ("writing the model folder and its logits", r"write_model_folder|write_logits"),
    ("ingest", r"stages/ingest"),
    ("  of which the label-issue check", r"label_issue"),
    ("evaluate", r"evaluate \(textcls_core/stages/evaluate.py"),
    ("  of which scoring (test prediction)", r"score_model"),
    ("  of which explanations", r"explain_for_report"),
    ("  of which plots", r"evaluation/plots.py"),
    ("inside Prefect tasks", r"call_task_fn"),
]


def summarize(raw: Path, rate: float) -> None:
    """Seconds per part of the main thread's samples in a py-spy ``--format raw`` file."""
    seconds: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        if not re.search(PARTS[0][1], stack):
            continue
        for name, pattern in PARTS:
            if re.search(pattern, stack):
                seconds[name] += int(count) / rate
    flow = seconds[PARTS[0][0]]
    for name, _ in PARTS:
        print(f"{seconds[name]:7.2f} s  {name}")
    print(f"{flow - seconds['inside Prefect tasks']:7.2f} s  Prefect and the flow outside tasks")


def run(name: str) -> None:
    """The teacher-only flow of ``name`` on the scoreboard's rows, in a temporary folder."""
    tmp = Path(tempfile.mkdtemp(prefix="textcls-profile-"))
    os.environ["PREFECT_HOME"] = str(tmp / "prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import captum.attr  # noqa: F401  (imported before timing, as after a first data set)
    import cleanlab.filter  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import matrix
    import sklearn.linear_model  # noqa: F401
    from prefect import flow
    from transformers import Trainer  # noqa: F401

    @flow
    def warm_up() -> None:
        return None

    warm_up()
    work = tmp / name
    work.mkdir()
    matrix.prepare(matrix.DATASETS[name], work, 2000, 0)
    paths = matrix.configs(name, matrix.DATASETS[name], work)
    manifest, seconds = matrix.run_flow(paths["teacher"])
    stages = {stage: round(r["seconds"], 2) for stage, r in manifest["stages"].items()}
    print(f"flow {seconds:.2f} s; stages {stages}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default="sst2")
    parser.add_argument("--summarize", type=Path, help="a py-spy raw file to summarise")
    parser.add_argument("--rate", type=float, default=100, help="py-spy's samples per second")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize, args.rate)
    else:
        run(args.dataset)


if __name__ == "__main__":
    main()
