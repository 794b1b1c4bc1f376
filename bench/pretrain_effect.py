"""Does unsupervised pretraining help a from-scratch student on SST-2 at the same budget?

The same GRU student (word tokenizer) is fine-tuned on the same labelled subset, with the same
epochs and learning rate, starting (a) from scratch, (b) from causal-LM pretraining, (c) from
skip-gram or (d) GloVe word vectors, pretrained on SST-2 training texts without their labels.
Run:

    python bench/pretrain_effect.py [--labelled 2000] [--objectives scratch,word2vec,glove]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, markdown_row, save_result, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2"
STUDENT = {"name": "gru", "params": {"embedding_dim": 128, "hidden_size": 128}}
TOKENIZER = {"name": "word", "params": {"min_frequency": 2, "vocab_size": 20000}}
FINE_TUNE = {"epochs": 3, "batch_size": 32, "learning_rate": 2e-3, "max_length": 64}
PRETRAIN = {
    "clm": {"epochs": 1, "batch_size": 64, "learning_rate": 2e-3, "max_length": 32},
    "word2vec": {"epochs": 1, "batch_size": 4096, "learning_rate": 5e-3},
    # GloVe: AdaGrad at the paper's 0.05; an epoch is one pass over the non-zero counts
    "glove": {"epochs": 5, "batch_size": 4096, "learning_rate": 0.05, "lr_scheduler": "constant"},
}
OBJECTIVES = ("scratch", "clm", "word2vec", "glove")


def run(work: Path, labelled: int, objective: str | None) -> dict:
    from textcls import config_from_dict
    from textcls.artifact_files import read_pretrain_report
    from textcls.stages.finetune import fine_tune
    from textcls.stages.ingest import ingest
    from textcls.stages.pretrain import pretrain

    raw: dict = {
        "name": "bench-pretrain",
        "seed": 13,
        "data": {
            "train": str(DATA / "train.part*.csv"),
            "validation": str(DATA / "validation.csv"),
            "max_train_examples": labelled,
        },
        "student": {
            "model": STUDENT,
            "tokenizer": TOKENIZER,
            "train": FINE_TUNE,
            "init": "pretrain" if objective else "scratch",
        },
    }
    if objective:
        raw["pretrain"] = {
            "objective": objective,
            "target": "student",
            "corpus": str(DATA / "train.part1.csv"),
            "train": PRETRAIN[objective],
        }
    config = config_from_dict(raw, base_dir=work)
    if not (work / "data").exists():
        ingest(config, work / "data")
    name = objective or "scratch"
    start = time.perf_counter()
    report = {}
    init_from = None
    if objective:
        pretrain(config, work / "data", work / f"pretrain-{name}")
        init_from = str(work / f"pretrain-{name}")
        report = read_pretrain_report(init_from)
    pretrain_s = time.perf_counter() - start
    ref = fine_tune(config, "student", work / "data", work / f"student-{name}", init_from=init_from)
    metrics = json.loads((Path(ref.path) / "textcls.json").read_text())["metrics"]
    return {
        "accuracy": metrics["validation_accuracy"],
        "pretrain_s": pretrain_s,
        "fine_tune_s": metrics["train_runtime_s"],
        "pretrain_report": report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labelled", type=int, default=2000)
    parser.add_argument(
        "--objectives",
        default=",".join(OBJECTIVES),
        help=f"comma-separated, from {', '.join(OBJECTIVES)} (default: all)",
    )
    args = parser.parse_args()
    chosen = [o.strip() for o in args.objectives.split(",") if o.strip()]
    unknown = sorted(set(chosen) - set(OBJECTIVES))
    if unknown or "scratch" not in chosen:
        parser.error(f"--objectives: give scratch and any of {', '.join(OBJECTIVES[1:])}")
    if not (DATA / "validation.csv").is_file():
        print(f"skipped: {DATA} not found (the shared SST-2 CSVs)")
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="textcls-bench-") as tmp:
        for name in chosen:
            objective = None if name == "scratch" else name
            results[name] = run(Path(tmp), args.labelled, objective)
            print(name, json.dumps(results[name]), flush=True)
    save_result("pretrain_effect", {"labelled": args.labelled, "results": results})
    info = machine_info()
    base = results["scratch"]["accuracy"]
    rows = [
        markdown_row(
            name,
            f"{r['accuracy']:.4f}",
            f"{r['accuracy'] - base:+.4f}",
            f"{r['pretrain_s']:.0f}",
            f"{r['fine_tune_s']:.0f}",
            f"{r['pretrain_report']['held_out_perplexity']:.1f}"
            if "held_out_perplexity" in r["pretrain_report"]
            else "-",
        )
        for name, r in results.items()
    ]
    table = "\n".join(rows)
    body = f"""## Does pretraining help a from-scratch student?

`python bench/pretrain_effect.py --labelled {args.labelled} --objectives {",".join(chosen)}` on {info["cpu"]}
({info["cores"]} cores): a GRU student (word tokenizer, 128-d embeddings, 128 hidden) fine-tuned
on {args.labelled:,} labelled SST-2 examples for 3 epochs, from scratch or after unsupervised
pretraining on the 33,675 texts of `train.part1.csv` (labels unused; causal LM at 32 tokens, one
epoch; skip-gram, one epoch; GloVe, five epochs over the co-occurrence counts); SST-2
validation accuracy.

| start | accuracy | vs scratch | pretrain (s) | fine-tune (s) | held-out perplexity |
|---|---:|---:|---:|---:|---:|
{table}
"""
    update_section("pretrain-effect", body)


if __name__ == "__main__":
    main()
