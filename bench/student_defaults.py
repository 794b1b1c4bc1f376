"""The student defaults study (issue #20): which ``student:`` section compresses well everywhere?

On the scoreboard's rows (``bench/matrix.py``'s ``DATASETS`` and ``prepare``: 2,000 labelled
rows, 500 validation, up to 8,000 unlabelled transfer rows, the same test sets), each data set's
MiniLM teacher is trained ONCE (matrix's budget, ``finetune_teacher.HYPER``) and every student
config distils from that same teacher folder through the core stage functions
(``ingest``, ``fine_tune``, ``pretrain``, ``distill``, ``quantize``); the teacher's logits are
cached by content, so after the first config only new texts (augmented copies) are scored.

A config is a student section (a dict) laid over ``student: {transfer: {unlabeled: ...}}``, and
goes through the pipeline's own validation, so ``{}`` gets exactly what ``student: {}`` gets
(``textcls.student_defaults``). Choices read validation only (issue #18): configs are ranked by
mean student/teacher validation accuracy over the data sets they ran on; test is reported.
Throughput: texts/s of each model in this process (2 torch threads unless ``--threads`` says, batch 32, the same 256 test
texts, repeated for at least 2 s): the PyTorch student, its ``ort-dynamic-int8`` export, and the
fp32 PyTorch teacher, so ratios compare contenders measured side by side.

    python bench/student_defaults.py [--datasets sst2,ag_news] [--configs default,glove+T4]
        [--train 2000] [--unlabeled 8000] [--heads sst2] [--work DIR] [--no-write]

``A+B`` lays config B's section over A's. ``--heads sst2`` also trains that data set's teacher
with ``head: conv`` and ``attention-pool``; ``--configs ''`` runs only that. ``--work DIR``
keeps the prepared data, the teachers and the teacher-logit cache for later invocations, so a
screen and its confirmation share one teacher per data set.

Results merge into ``bench/results/student_defaults.json`` (rows of a rerun config replace the
old ones; a data set whose teacher came out different, byte for byte, starts over), and the
BENCHMARKS.md section ``student-defaults`` is rendered from all of them.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finetune_teacher import HYPER, MODEL  # noqa: E402  (the scoreboard's teacher budget)
from machine import machine_info, markdown_row, update_section  # noqa: E402
from matrix import DATA, DATASETS, prepare  # noqa: E402
from pretrain_effect import PRETRAIN  # noqa: E402  (its skip-gram and GloVe recipes)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "student_defaults.json"
THREADS = 2
SPEED_TEXTS = 256
SPEED_MIN_S = 2.0

#: The same recipe as the default's train section, for configs that name their own model
#: (a section naming a model gets the generic train defaults, not the student's).
_RECIPE = {"epochs": 3, "batch_size": 64, "learning_rate": 2.0e-3, "max_length": 64}

#: The grid: name -> student section over the base one (``transfer.unlabeled``).
#: ``_pretrain`` (the script's own key) adds ``pretrain: {objective, target: student}`` on the
#: transfer texts (train + unlabelled).
#: The width every config before session 9 ran at (the default's then): ``section_of`` lays it
#: under the configs of AT_128 (and what is combined with them, unless a later part sets the
#: width), so their rows stay what they were after the default became 96 wide.
_W128 = {"model": {"params": {"hidden_size": 128}}}
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    #: what ``student: {}`` got before this study: no augmentation
    "pre-study-default": {"transfer": {"multiplier": 1}},
    "augment-x8": {"transfer": {"augment": {}, "multiplier": 8}},
    #: twice the default's transfer set: the untried lever for SST-2's 2k-row shortfall
    "augment-x16": {"transfer": {"augment": {}, "multiplier": 16}},
    "teacher-embeddings": {
        "init": "teacher-embeddings",
        "model": {"params": {"embedding_dim": 384, "hidden_size": 128}},
    },
    #: the teacher's WordPiece vocabulary and its embedding matrix, at the default width
    "teacher-embeddings96": {
        "init": "teacher-embeddings",
        "model": {"params": {"embedding_dim": 384, "hidden_size": 96}},
    },
    "word2vec": {"init": "pretrain", "_pretrain": "word2vec"},
    "glove": {"init": "pretrain", "_pretrain": "glove"},
    "epochs6-cosine": {"train": {"epochs": 6, "lr_scheduler": "cosine"}},
    "alpha1": {"distill": {"name": "logits-kl", "params": {"temperature": 2.0, "alpha": 1.0}}},
    "T4": {"distill": {"name": "logits-kl", "params": {"temperature": 4.0, "alpha": 0.9}}},
    "hidden256": {"model": {"params": {"hidden_size": 256}}},
    #: the default's width before session 9 (its rows there were the `default` rows)
    "hidden128": _W128,
    #: narrower BiLSTMs: the int8 student's model call is most of its `predict -f` time on
    #: long texts (AG News), and a step's cost grows with hidden * (embedding + hidden);
    #: hidden96 is the default since session 9
    "hidden96": {"model": {"params": {"hidden_size": 96}}},
    "hidden64": {"model": {"params": {"hidden_size": 64}}},
    #: Kim's CNN with the default's transfer set (a section naming a model gets no augmentation)
    "textcnn": {
        "model": {"name": "textcnn", "params": {"embedding_dim": 128, "num_filters": 100}},
        "train": _RECIPE,
        "distill": {"name": "logits-kl", "params": {"temperature": 2.0, "alpha": 0.9}},
        "transfer": {"augment": {}, "multiplier": 8, "max_size": 50_000},
    },
    #: session 10: the student's word vectors from the teacher, each word read alone
    #: (Model2Vec style, ``textcls.distillation.word_vectors``), and a larger vocabulary
    #: (the word tokenizer keeps 8,000 words by default), alone and together
    "teacher-word-vectors": {"init": "teacher-word-vectors"},
    "vocab16k": {"tokenizer": {"name": "word", "params": {"vocab_size": 16000}}},
    "T1": {"distill": {"name": "logits-kl", "params": {"temperature": 1.0, "alpha": 0.9}}},
    "logits-mse": {"distill": {"name": "logits-mse", "params": {"alpha": 1.0}}},
    #: session 11: the BiLSTM's own knobs, screened on SST-2 (whose test sentences are longer
    #: than the phrases it learns from: pooling and depth decide how a long text is read)
    "pool-mean": {"model": {"params": {"pooling": "mean"}}},
    "layers2": {"model": {"params": {"num_layers": 2}}},
    "dropout0.1": {"model": {"params": {"dropout": 0.1}}},
    "dropout0.4": {"model": {"params": {"dropout": 0.4}}},
    "dropout0.5": {"model": {"params": {"dropout": 0.5}}},
    #: other seeds for the student (``_seed``: the script's own key, the pipeline's ``seed``;
    #: the teacher stays the one trained with the base seed): the run-to-run spread a
    #: difference between configs must exceed, e.g. ``dropout0.4+seed2``
    "seed2": {"_seed": 2},
    "seed3": {"_seed": 3},
    #: session 12: random restarts (``train.restarts``), the best of N Trainer seeds on
    #: validation; with ``+seed2`` etc. each pipeline seed gives one chosen student
    "restarts3": {"train": {"restarts": 3}},
    #: session 12: augmented texts joined from two sources (longer texts in the transfer set)
    "join0.5": {"transfer": {"augment": {"join_prob": 0.5}, "multiplier": 8, "max_size": 50_000}},
    "emb256": {"model": {"params": {"embedding_dim": 256}}},
    "lr1e-3": {"train": {"learning_rate": 1.0e-3}},
    "batch32": {"train": {"batch_size": 32}},
}
HEADS = ("linear", "conv", "attention-pool")
#: The configs measured while the default student was 128 wide, which lay over the default.
AT_128 = frozenset(
    {
        "pre-study-default",
        "augment-x8",
        "augment-x16",
        "word2vec",
        "glove",
        "epochs6-cosine",
        "alpha1",
        "T4",
        "T1",
        "logits-mse",
    }
)


def torch_threads() -> int:
    """The torch threads ``--threads`` set (the speed columns use as many)."""
    import torch

    return int(torch.get_num_threads())


def section_of(config_name: str) -> dict[str, Any]:
    """The grid's section for ``config_name``; ``A+B`` lays B's section over A's. A name that
    starts with a config of AT_128 starts from the width it was measured at."""
    parts = config_name.split("+")
    section: dict[str, Any] = copy.deepcopy(_W128) if parts[0] in AT_128 else {}
    for part in parts:
        section = merged(section, CONFIGS[part])
    return section


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid over ``base``, mappings merged key by key."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def base_raw(name: str, work: Path, teacher_params: dict[str, Any] | None = None) -> dict:
    return {
        "name": f"study-{name}",
        "seed": 13,
        "output": str(work / "runs"),
        "data": {"train": "train.csv", "validation": "validation.csv", "test": "test.csv"},
        "teacher": {
            "model": {"name": "hf", "params": {"pretrained": MODEL, **(teacher_params or {})}},
            "train": HYPER,
        },
    }


def split(data_dir: Path, name: str) -> tuple[list[str], list[int]]:
    import datasets

    part = datasets.load_from_disk(str(data_dir))[name]
    return list(part["text"]), list(part["label"])


def accuracy(predictor: Any, texts: list[str], labels: list[int]) -> float:
    import numpy as np

    return float((predictor.logits(texts, 64).argmax(-1) == np.asarray(labels)).mean())


def texts_per_s(predictor: Any, texts: list[str]) -> float:
    """Texts/s at batch 32 over ``texts``, repeated for at least SPEED_MIN_S (after a warm-up)."""
    predictor.logits(texts[:32], 32)
    done, start = 0, time.perf_counter()
    while True:
        predictor.logits(texts, 32)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= SPEED_MIN_S:
            return done / elapsed


def score(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    from textcls.predictor import Predictor

    predictor = Predictor.load(folder, threads=torch_threads(), workers=1)
    return {
        "val_acc": accuracy(predictor, *data["validation"]),
        "test_acc": accuracy(predictor, *data["test"]),
        "ex_s": texts_per_s(predictor, data["speed"]),
    }


def train_teacher(
    name: str, work: Path, data_dir: Path, data: dict[str, Any], head: str = "linear"
) -> dict[str, Any]:
    from textcls import config_from_dict
    from textcls.artifacts import file_sha256
    from textcls.predictor import Predictor
    from textcls.stages.finetune import fine_tune

    params = {} if head == "linear" else {"head": head}
    config = config_from_dict(base_raw(name, work, params), base_dir=work)
    out, row_file = work / f"teacher-{head}", work / f"teacher-{head}.json"
    if row_file.is_file():  # --work kept it from an earlier invocation: train once, ever
        kept: dict[str, Any] = json.loads(row_file.read_text())
        # speed beside this run's students, under this run's load
        predictor = Predictor.load(out, threads=torch_threads(), workers=1)
        return {
            **kept,
            "weights_sha256": file_sha256(out / "model.safetensors"),
            "ex_s": texts_per_s(predictor, data["speed"]),
            "reused": True,
        }
    start = time.perf_counter()
    fine_tune(config, "teacher", data_dir, out)
    from textcls.artifacts import directory_sha256

    row = {"train_s": time.perf_counter() - start, "path": str(out)}
    row["sha256"] = directory_sha256(out)
    row["weights_sha256"] = file_sha256(out / "model.safetensors")
    row.update(score(out, data))
    row_file.write_text(json.dumps(row))
    return row


def run_config(
    name: str,
    config_name: str,
    section: dict[str, Any],
    work: Path,
    data_dir: Path,
    teacher_dir: Path,
    data: dict[str, Any],
) -> dict[str, Any]:
    from textcls import config_from_dict
    from textcls.config import QuantizeStep
    from textcls.model_folder import read_meta
    from textcls.stages.distill import distill
    from textcls.stages.pretrain import pretrain
    from textcls.stages.quantize import quantize

    section = merged({"transfer": {"unlabeled": "unlabeled.csv"}}, section)
    objective = section.pop("_pretrain", None)
    seed = section.pop("_seed", None)
    raw = {**base_raw(name, work), "student": section}
    if seed is not None:  # the student's seed (its initialisation, augmentation, batches)
        raw["seed"] = seed
    if objective:
        raw["pretrain"] = {
            "objective": objective,
            "target": "student",
            "corpus": ["train.csv", "unlabeled.csv"],
            "train": PRETRAIN[objective],
        }
    config = config_from_dict(raw, base_dir=work)
    folder = work / "students" / config_name
    for old in (folder, folder.with_name(f"{config_name}-pretrain")):
        shutil.rmtree(old, ignore_errors=True)  # this script's own, from an earlier run
    start = time.perf_counter()
    init_from = None
    if objective:
        init_from = str(work / "students" / f"{config_name}-pretrain")
        pretrain(config, data_dir, init_from)
    pretrain_s = time.perf_counter() - start
    distill(config, data_dir, teacher_dir, folder, init_from=init_from, cache_dir=work / "cache")
    wall_s = time.perf_counter() - start
    meta = read_meta(folder)
    transfer = meta["distill"]["transfer"]
    teacher_pass = transfer["teacher_pass"][0]
    row: dict[str, Any] = {
        "section": section_of(config_name),
        "resolved": config.student.model_dump(mode="json", exclude_defaults=True)
        if config.student
        else None,
        "wall_s": wall_s,
        "pretrain_s": pretrain_s,
        "train_runtime_s": meta["metrics"].get("train_runtime_s"),
        "teacher_pass": teacher_pass,
        "transfer_total": transfer["total"],
    }
    if "restarts" in meta["metrics"]:  # each run's validation, and which one was kept
        # (train_runtime_s is then the seconds of all runs)
        row["restarts"] = meta["metrics"]["restarts"]
        row["chosen_restart"] = meta["metrics"]["chosen_restart"]
    row.update(score(folder, data))
    int8 = work / "students" / f"{config_name}-int8"
    shutil.rmtree(int8, ignore_errors=True)
    step = QuantizeStep.model_validate(
        {"name": "ort-dynamic-int8", "targets": ["student"], "max_accuracy_drop": 1.0}
    )
    quantize(step, folder, data_dir, int8)
    scored = score(int8, data)
    row.update(int8_test_acc=scored["test_acc"], int8_ex_s=scored["ex_s"])
    return row


#: ``--speed``: texts per model call and test texts timed, and the interleaved rounds.
SIDE_BY_SIDE = {"batch_size": 64, "rows": 5000, "rounds": 5}


def int8_side_by_side(work: Path, configs: list[str]) -> dict[str, Any]:
    """texts/s of the configs' int8 students (their folders in ``work``), as ``textcls
    predict`` runs one worker: ``Predictor.logits`` at batch 64 with one ONNX Runtime thread,
    tokenization included, on the first 5,000 test texts. The models take turns, round after
    round, and each keeps its best round: drift in the machine's speed (up to 2x within an
    hour here) then hits every contender alike, which timing them one after the other did not."""
    from textcls.predictor import Predictor

    texts, _ = split(work / "data", "test")
    texts = texts[: SIDE_BY_SIDE["rows"]]
    size = SIDE_BY_SIDE["batch_size"]
    models = {
        c: Predictor.load(work / "students" / f"{c}-int8", workers=1, threads=1) for c in configs
    }
    for predictor in models.values():
        predictor.logits(texts[:256], size)
    best = dict.fromkeys(configs, 0.0)
    for _ in range(SIDE_BY_SIDE["rounds"]):
        for config, predictor in models.items():
            start = time.perf_counter()
            predictor.logits(texts, size)
            best[config] = max(best[config], len(texts) / (time.perf_counter() - start))
    return {**SIDE_BY_SIDE, "rows": len(texts), "texts_per_s": best}


def bench_dataset(
    name: str,
    spec: dict[str, Any],
    work: Path,
    args: argparse.Namespace,
    chosen: list[str],
    save: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Teacher once, then each config; ``save`` gets the result after each row, so a run
    stopped at the benchmark lock's time cap keeps every row it finished."""
    from textcls import config_from_dict
    from textcls.stages.ingest import ingest

    counts = prepare(spec, work, args.train, args.unlabeled)
    data_dir = work / "data"
    if not (data_dir / "dataset_dict.json").is_file():  # kept by --work otherwise
        ingest(config_from_dict(base_raw(name, work), base_dir=work), data_dir)
    data: dict[str, Any] = {
        "validation": split(data_dir, "validation"),
        "test": split(data_dir, "test"),
    }
    data["speed"] = data["test"][0][:SPEED_TEXTS]
    print(f"[{name}] {counts}", flush=True)
    result: dict[str, Any] = {"counts": counts, "configs": {}, "heads": {}}
    result["teacher"] = train_teacher(name, work, data_dir, data)
    teacher_dir = Path(result["teacher"]["path"])
    print(f"[{name}] teacher {json.dumps(result['teacher'])}", flush=True)
    for config_name in chosen:
        row = run_config(
            name, config_name, section_of(config_name), work, data_dir, teacher_dir, data
        )
        teacher = result["teacher"]
        row["val_ratio"] = row["val_acc"] / teacher["val_acc"]
        row["test_ratio"] = row["test_acc"] / teacher["test_acc"]
        row["int8_x_teacher"] = row["int8_ex_s"] / teacher["ex_s"]
        result["configs"][config_name] = row
        save(result)
        print(
            f"[{name}] {config_name} {json.dumps({k: v for k, v in row.items() if k != 'resolved'})}",
            flush=True,
        )
    if name in args.heads:
        result["heads"]["linear"] = result["teacher"]
        for head in HEADS[1:]:
            result["heads"][head] = train_teacher(name, work, data_dir, data, head)
            print(f"[{name}] head {head} {json.dumps(result['heads'][head])}", flush=True)
            save(result)
    return result


def load_results() -> dict[str, Any]:
    if RESULTS.is_file():
        loaded: dict[str, Any] = json.loads(RESULTS.read_text())
        loaded.pop("machine", None)
        return loaded
    return {"runs": [], "datasets": {}}


def same_teacher(kept: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two teacher rows are one model: the same weights, byte for byte.

    The folder's sha256 also covers ``textcls.json``, whose training times differ on every
    run of the same seeded training; rows recorded before the weights' own sha256 was kept
    compare by the folder's.
    """
    if kept.get("weights_sha256") and new.get("weights_sha256"):
        return bool(kept["weights_sha256"] == new["weights_sha256"])
    return kept.get("sha256") is not None and kept.get("sha256") == new.get("sha256")


def merge(old: dict[str, Any], new: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """``new`` data sets' rows over ``old``'s; a data set's teacher changes only when rerun."""
    out = copy.deepcopy(old)
    out["runs"].append(run)
    for name, result in new.items():
        if name not in out["datasets"]:
            out["datasets"][name] = result
            continue
        kept = out["datasets"][name]
        heads = result["heads"] or kept.get("heads", {})
        if same_teacher(kept["teacher"], result["teacher"]):
            # the same teacher again (training is seeded): earlier rows stay
            kept["configs"].update(result["configs"])
            side = kept.get("int8_side_by_side", {}).get("texts_per_s", {})
            if set(side) & set(result["configs"]):  # those int8 files were just rebuilt
                del kept["int8_side_by_side"]
            kept["heads"] = heads
            continue
        # another teacher makes the earlier student rows incomparable: they go
        out["datasets"][name] = {**result, "heads": heads}
    return out


def ranking(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Configs by mean student/teacher validation accuracy over the data sets they ran on."""
    import statistics

    rows = []
    names = {c for r in results["datasets"].values() for c in r["configs"]}
    for config in names:
        runs = [
            r["configs"][config] for r in results["datasets"].values() if config in r["configs"]
        ]
        rows.append(
            {
                "config": config,
                "datasets": [n for n, r in results["datasets"].items() if config in r["configs"]],
                "val_ratio": statistics.mean(r["val_ratio"] for r in runs),
                "test_ratio": statistics.mean(r["test_ratio"] for r in runs),
                "min_test_ratio": min(r["test_ratio"] for r in runs),
                "int8_x_teacher": statistics.mean(r["int8_x_teacher"] for r in runs),
            }
        )
    return sorted(rows, key=lambda r: (-len(r["datasets"]), -r["val_ratio"]))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render(results: dict[str, Any]) -> str:
    # the machine the rows were measured on (a re-render elsewhere must not rename it)
    info = results.get("machine") or machine_info()
    lines = [
        "## Student defaults study (issue #20)",
        "",
        "Commands (each merges its data sets into `bench/results/student_defaults.json`), with "
        "the load (`uptime`) when each started:",
        "",
        *[
            f"- `{run['command']}`: {run['wall_s'] / 60:.0f} min, load {run['load']}"
            for run in results["runs"]
        ],
        "",
        f"On {info['cpu']} ({info['cores']} cores, shared with other engineers' tests). The "
        "scoreboard's rows (2,000 labelled, 500 validation, up to 8,000 unlabelled transfer rows, "
        "the same test sets) and teacher budget; the teacher trained once per data set, every "
        "student distilled from that folder (teacher logits cached by content). Each config is a "
        "student section laid over `student: {transfer: {unlabeled: unlabeled.csv}}` and "
        "validated as a pipeline would (`{}` gets the defaults of `textcls.student_defaults`: "
        "since session 9 a BiLSTM 128/96 with the transfer set augmented to 8x, the `hidden96` "
        "rows; `hidden128` rows are the default before, and every config of earlier sessions "
        "ran at that width and names it; `pre-study-default` "
        "rows are the defaults before this study, a BiLSTM 128/128, logits-kl T=2 alpha=0.9, "
        "3 epochs, no augmentation). Rows marked (earlier teacher) distilled from the first "
        "screen's teacher, trained with the same seed, rows and budget and equally accurate. "
        "Ranked on validation only (issue #18); test is reported. "
        "ex/s: texts per second in the benchmark process, 2 torch threads (1 where the command "
        "says `--threads 1`), batch 32, the same "
        "256 test texts for every model (PyTorch student, its `ort-dynamic-int8` export, the "
        "fp32 PyTorch teacher); int8 x: int8 student over fp32 teacher, in-process (not "
        "`textcls predict -f`, whose ratio the predict-path section measures). Train s: the "
        "distill stage's wall time (with the teacher pass over texts not yet cached, and "
        "pretraining where the config has it).",
        "",
        "### Grid",
        "",
        "| config | student section over the base |",
        "|---|---|",
    ]
    names = {c for r in results["datasets"].values() for c in r["configs"]}
    for config in sorted(names, key=lambda c: (c.count("+"), list(CONFIGS).index(c.split("+")[0]))):
        lines.append(markdown_row(config, f"`{json.dumps(section_of(config))}`"))
    lines += [
        "",
        "### Ranking (mean over the data sets each config ran on; chosen on validation)",
        "",
        "| config | data sets | student/teacher val | student/teacher test | worst test | "
        "int8 x teacher |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in ranking(results):
        lines.append(
            markdown_row(
                row["config"],
                ", ".join(row["datasets"]),
                _pct(row["val_ratio"]),
                _pct(row["test_ratio"]),
                _pct(row["min_test_ratio"]),
                f"{row['int8_x_teacher']:.0f}x",
            )
        )
    for name, result in results["datasets"].items():
        teacher, counts = result["teacher"], result["counts"]
        lines += [
            "",
            f"### {DATASETS[name]['test_name']}",
            "",
            f"{counts['train']} labelled, {counts['validation']} validation, "
            f"{counts['unlabeled']} unlabelled, {counts['test']} test rows. Teacher: val "
            f"{100 * teacher['val_acc']:.2f}, test {100 * teacher['test_acc']:.2f}, trained in "
            f"{teacher['train_s']:.0f} s (once), {teacher['ex_s']:.0f} ex/s.",
            "",
            "| config | val acc | test acc | student/teacher val | student/teacher test | "
            "train s | transfer texts (teacher-scored now) | ex/s PyTorch | ex/s int8 | "
            "int8 test acc | int8 x teacher |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for config, row in result["configs"].items():
            lines.append(
                markdown_row(
                    config + (" (earlier teacher)" if row.get("earlier_teacher") else ""),
                    f"{100 * row['val_acc']:.2f}",
                    f"{100 * row['test_acc']:.2f}",
                    _pct(row["val_ratio"]),
                    _pct(row["test_ratio"]),
                    f"{row['wall_s']:.0f}",
                    f"{row['transfer_total']} ({row['teacher_pass'].get('scored', '-')})",
                    f"{row['ex_s']:.0f}",
                    f"{row['int8_ex_s']:.0f}",
                    f"{100 * row['int8_test_acc']:.2f}",
                    f"{row['int8_x_teacher']:.0f}x",
                )
            )
        side = result.get("int8_side_by_side")
        if side:
            first = next(iter(side["texts_per_s"]))
            lines += [
                "",
                f"int8 students side by side (`--speed`): `Predictor.logits` at batch "
                f"{side['batch_size']}, one ONNX Runtime thread (one `textcls predict` worker), "
                f"tokenization included, the first {side['rows']:,} test texts; the models "
                f"take turns for {side['rounds']} rounds and each keeps its best:",
                "",
                f"| config | int8 texts/s | x {first} |",
                "|---|---:|---:|",
            ]
            for config, rate in side["texts_per_s"].items():
                ratio = rate / side["texts_per_s"][first]
                lines.append(markdown_row(config, f"{rate:,.0f}", f"{ratio:.2f}x"))
        if result.get("heads"):
            lines += [
                "",
                "Teacher heads (`hf` param `head`), each a teacher trained with the same budget "
                "and rows (the linear one is the teacher of the run that tried the heads):",
                "",
                "| head | val acc | test acc | train s | ex/s |",
                "|---|---:|---:|---:|---:|",
            ]
            for head, row in result["heads"].items():
                lines.append(
                    markdown_row(
                        head,
                        f"{100 * row['val_acc']:.2f}",
                        f"{100 * row['test_acc']:.2f}",
                        f"{row['train_s']:.0f}",
                        f"{row['ex_s']:.0f}",
                    )
                )
    if results.get("findings"):  # written by hand into the results JSON, kept by reruns
        lines += ["", "### Findings", "", *[f"- {note}" for note in results["findings"]]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--configs", default=",".join(CONFIGS), help="NAME,... from the grid")
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--unlabeled", type=int, default=8000)
    parser.add_argument("--heads", default="", help="data sets whose teacher also tries heads")
    parser.add_argument(
        "--work",
        help="keep data, teachers and teacher logits here for later invocations "
        "(default: a temporary folder)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only (smoke runs)")
    parser.add_argument(
        "--speed",
        metavar="CONFIG,...",
        help="only time these configs' int8 students side by side (their folders in --work, "
        "from an earlier run) and add the table to each data set's rows",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        help="torch threads for training and the speed columns (1: steady beside other work)",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    chosen = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.heads = [h.strip() for h in args.heads.split(",") if h.strip()]
    unknown = [n for n in names if n not in DATASETS] + [
        c for c in chosen if any(p not in CONFIGS for p in c.split("+"))
    ]
    if unknown:
        parser.error(
            f"unknown: {', '.join(unknown)}; data sets {list(DATASETS)}, configs {list(CONFIGS)}"
        )
    if args.speed is not None:
        timed = [c.strip() for c in args.speed.split(",") if c.strip()]
        if not args.work or not timed or any(c not in CONFIGS for c in timed):
            parser.error(
                "--speed times configs of the grid whose students an earlier run kept: give "
                f"--work and one or more of {list(CONFIGS)}"
            )
        side_by_side(args, names, timed)
        return
    command = "python " + shlex.join(["bench/student_defaults.py", *sys.argv[1:]])
    load = _load()
    import torch

    torch.set_num_threads(args.threads)
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[variable] = "1"
    started = time.perf_counter()
    earlier = {"runs": [], "datasets": {}} if args.no_write else load_results()
    results: dict[str, Any] = {}
    body = ""
    with tempfile.TemporaryDirectory(prefix="textcls-study-") as scratch:
        tmp = args.work or scratch
        for name in names:
            spec = DATASETS[name]
            missing = [p for p in [*spec["pool"], spec["test"]] if not (DATA / p).is_file()]
            if missing:
                print(f"[{name}] skipped: {DATA / missing[0]} not found", flush=True)
                continue
            work = Path(tmp) / f"{name}-{args.train}-{args.unlabeled}"
            work.mkdir(parents=True, exist_ok=True)

            def save(result: dict[str, Any], name: str = name) -> None:
                nonlocal body
                results[name] = result
                run = {"command": command, "load": load, "wall_s": time.perf_counter() - started}
                body = render(merge(earlier, results, run))
                if not args.no_write:
                    write(merge(earlier, results, run), body)

            save(bench_dataset(name, spec, work, args, chosen, save))
    print(body)


def side_by_side(args: argparse.Namespace, names: list[str], configs: list[str]) -> None:
    """``--speed``: the int8 side-by-side table of each data set, into the kept results."""
    load = _load()
    started = time.perf_counter()
    results = load_results()
    for name in names:
        work = Path(args.work) / f"{name}-{args.train}-{args.unlabeled}"
        missing = [c for c in configs if not (work / "students" / f"{c}-int8").is_dir()]
        if name not in results["datasets"] or missing:
            print(f"[{name}] skipped: no int8 student of {missing or configs} in {work}")
            continue
        side = int8_side_by_side(work, configs)
        results["datasets"][name]["int8_side_by_side"] = side
        print(f"[{name}] int8 side by side {json.dumps(side)}", flush=True)
    command = "python " + shlex.join(["bench/student_defaults.py", *sys.argv[1:]])
    wall_s = time.perf_counter() - started
    results["runs"].append({"command": command, "load": load, "wall_s": wall_s})
    body = render(results)
    if not args.no_write:
        write(results, body)
    print(body)


def _load() -> str:
    """The load averages as ``uptime`` prints them (what the commands list records)."""
    out = subprocess.run(["uptime"], capture_output=True, text=True).stdout
    return out.strip().split("load average:")[-1].strip()


def write(combined: dict[str, Any], body: str) -> None:
    """The merged results JSON (through a temporary file) and the BENCHMARKS.md section."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"machine": machine_info(), **combined}, indent=2) + "\n"
    partial = RESULTS.with_suffix(".json.tmp")
    partial.write_text(text)
    partial.replace(RESULTS)
    update_section("student-defaults", body)


if __name__ == "__main__":
    main()
