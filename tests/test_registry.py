"""The model registry: versions, the promotion policy, rollback, locking, crash safety, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, toy_data, toy_rows, with_student
from textcls.flows.cli import app
from textcls.registry import Registry, RegistryError, read_test_set
from textcls.stages.finetune import fine_tune
from typer.testing import CliRunner

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """A good model, a weak one (one tiny step: near chance), another good one, a test set."""
    import datasets

    base = tmp_path_factory.mktemp("registry-models")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bow"), "student", data_dir, base / "good")
    fine_tune(with_student(raw, base, "bow", epochs=4), "student", data_dir, base / "good2")
    weak = with_student(raw, base, "bow", epochs=1, learning_rate=1e-6)
    fine_tune(weak, "student", data_dir, base / "weak")
    test = datasets.load_from_disk(str(data_dir))["test"]
    names = json.loads((data_dir / "labels.json").read_text())
    return {
        "good": base / "good",
        "good2": base / "good2",
        "weak": base / "weak",
        "texts": list(test["text"]),
        "labels": [names[i] for i in test["label"]],
    }


def add(registry: Registry, models: dict, name: str, n: int | None = None, **policy):
    return registry.register(
        models[name],
        test_texts=models["texts"][:n],
        test_labels=models["labels"][:n],
        manifest={"run_id": f"run-{name}"},
        metrics={"accuracy": 0.5, "macro_f1": 0.5},
        variant="student",
        **policy,
    )


def test_first_version_becomes_champion(tmp_path, models):
    registry = Registry(tmp_path, "toy")
    decision = add(registry, models, "good")
    assert decision.version == 1 and decision.promoted
    assert "no champion yet" in decision.reason
    assert registry.champion() == 1
    info = registry.version(1)
    assert info["status"] == "champion" and info["run_id"] == "run-good"
    assert (Path(info["path"]) / "model" / "textcls.json").is_file()
    texts, labels = read_test_set(Path(info["path"]) / "test.jsonl")
    assert texts == models["texts"] and labels == models["labels"]


def test_a_registered_version_card_carries_its_evaluation_and_decision(tmp_path, models):
    from huggingface_hub import ModelCard

    registry = Registry(tmp_path, "toy")
    original = (models["good"] / "README.md").read_text()
    add(registry, models, "good")
    card = ModelCard.load(Path(registry.version(1)["path"]) / "model" / "README.md")
    (result,) = [r for r in card.data.eval_results if r.metric_type == "accuracy"]
    assert result.metric_value == 0.5 and result.dataset_split == "test"
    registered = card.data.to_dict()["textcls"]["registered"]
    assert registered["version"] == 1 and registered["run_id"] == "run-good"
    assert "## Evaluation" in card.text and "first version" in card.text
    # the registered copy's card changed; the run's own folder did not
    assert (models["good"] / "README.md").read_text() == original


def test_a_worse_challenger_stays_a_candidate_and_says_why(tmp_path, models):
    registry = Registry(tmp_path, "toy")
    add(registry, models, "good")
    decision = add(registry, models, "weak", n=10)  # its own (smaller) test set is not used
    assert decision.version == 2 and not decision.promoted
    assert decision.test_examples == len(models["texts"])  # scored on the champion's set
    assert decision.delta < 0 and decision.champion_version == 1
    assert decision.reason.startswith("kept as a candidate: accuracy")
    assert registry.champion() == 1
    assert registry.version(2)["status"] == "candidate"
    assert registry.version(2)["decision"]["promoted"] is False


def test_a_better_challenger_is_promoted_only_by_the_required_margin(tmp_path, models):
    strict = Registry(tmp_path / "strict", "toy")
    add(strict, models, "weak")
    held_back = add(strict, models, "good", min_improvement=0.99)
    assert held_back.delta > 0.2 and not held_back.promoted
    assert "at least +0.9900" in held_back.reason and strict.champion() == 1

    lenient = Registry(tmp_path / "lenient", "toy")
    add(lenient, models, "weak")
    promoted = add(lenient, models, "good", min_improvement=0.1)
    assert promoted.promoted and promoted.delta >= 0.1
    low, high = promoted.delta_ci95
    assert low <= promoted.delta <= high
    assert lenient.champion() == 2 and lenient.version(1)["status"] == "former champion"


def test_a_tie_does_not_promote(tmp_path, models):
    import shutil

    twin = tmp_path / "twin"  # same weights, so the same predictions, but a different folder
    shutil.copytree(models["good"], twin)
    (twin / "notes.txt").write_text("a copy")
    registry = Registry(tmp_path / "reg", "toy")
    add(registry, models, "good")
    tie = add(registry, {**models, "twin": twin}, "twin")
    assert tie.delta == 0 and not tie.promoted and registry.champion() == 1


def test_registering_the_same_model_again_adds_no_version(tmp_path, models):
    registry = Registry(tmp_path, "toy")
    add(registry, models, "good")
    again = add(registry, models, "good")
    assert again.already_registered and again.version == 1
    assert registry.version_numbers() == [1]


def test_promote_by_hand_and_rollback(tmp_path, models):
    registry = Registry(tmp_path, "toy")
    add(registry, models, "good")
    add(registry, models, "weak")
    registry.promote(2)
    assert registry.champion() == 2
    with pytest.raises(RegistryError, match="already the champion"):
        registry.promote(2)
    assert registry.rollback() == 1 and registry.champion() == 1
    with pytest.raises(RegistryError, match="only one champion so far"):
        registry.rollback()
    with pytest.raises(RegistryError, match=r"no version 7 \(versions: 1, 2\)"):
        registry.promote(7)
    reasons = [entry["reason"] for entry in registry.champion_state()["history"]]
    assert reasons[1:] == ["promoted by hand", "rollback from version 2"]


def test_concurrent_writers_get_distinct_versions(tmp_path, models):
    errors: list[BaseException] = []

    def register(name: str) -> None:
        try:
            add(Registry(tmp_path, "toy"), models, name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in ("good", "weak", "good2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    registry = Registry(tmp_path, "toy")
    assert registry.version_numbers() == [1, 2, 3]
    assert {registry.version(n)["run_id"] for n in (1, 2, 3)} == {
        "run-good",
        "run-weak",
        "run-good2",
    }
    assert registry.champion() is not None


KILLED_WRITER = """
import json, shutil, sys, time
from pathlib import Path
from textcls.registry import Registry

real_copytree = shutil.copytree

def slow_copytree(*args, **kwargs):
    result = real_copytree(*args, **kwargs)
    Path(sys.argv[3]).write_text("copied")
    time.sleep(120)  # killed here, mid-registration, holding the lock
    return result

shutil.copytree = slow_copytree
models = json.loads(Path(sys.argv[2]).read_text())
Registry(sys.argv[1], "toy").register(
    models["weak"], test_texts=models["texts"], test_labels=models["labels"],
    manifest={"run_id": "killed"}, metrics={"accuracy": 0, "macro_f1": 0}, variant="student",
)
"""


def test_a_killed_registration_leaves_the_registry_unchanged_and_unlocked(tmp_path, models):
    registry = Registry(tmp_path / "reg", "toy", lock_timeout_s=30)
    add(registry, models, "good")
    before = (registry.folder / "champion.json").read_text()
    spec = tmp_path / "models.json"
    spec.write_text(
        json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in models.items()})
    )
    marker = tmp_path / "copied"
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "reg"), str(spec), str(marker)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the writer died before copying"
            assert time.monotonic() < deadline, "the writer never reached the copy"
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert registry.version_numbers() == [1]
    assert (registry.folder / "champion.json").read_text() == before
    # the lock died with its holder: the next writer gets in at once
    started = time.monotonic()
    assert add(registry, models, "weak").version == 2
    assert time.monotonic() - started < 25


def test_registry_cli(tmp_path, models):
    registry = Registry(tmp_path, "toy")
    add(registry, models, "good")
    add(registry, models, "weak")
    folder = str(registry.folder)
    listed = runner.invoke(app, ["registry", "list", folder, "--json"])
    assert listed.exit_code == 0, listed.output
    payload = json.loads(listed.output)
    assert payload["champion"] == 1
    assert [(v["version"], v["status"]) for v in payload["versions"]] == [
        (1, "champion"),
        (2, "candidate"),
    ]
    table = runner.invoke(app, ["registry", "list", folder])
    assert "champion" in table.output and "candidate" in table.output
    shown = runner.invoke(app, ["registry", "show", folder, "2"])
    assert json.loads(shown.output)["decision"]["reason"].startswith("kept as a candidate")
    promoted = runner.invoke(app, ["registry", "promote", folder, "2"])
    assert promoted.exit_code == 0 and "version 2 is now the champion" in promoted.output
    rolled = runner.invoke(app, ["registry", "rollback", folder])
    assert rolled.exit_code == 0 and "version 1 is the champion" in rolled.output
    promoted = runner.invoke(app, ["registry", "promote", folder, "2", "--json"])
    assert json.loads(promoted.output) == {"pipeline": "toy", "champion": 2, "action": "promote"}
    rolled = runner.invoke(app, ["registry", "rollback", folder, "--json"])
    assert json.loads(rolled.output) == {"pipeline": "toy", "champion": 1, "action": "rollback"}
    missing = runner.invoke(app, ["registry", "show", folder, "9"])
    assert missing.exit_code == 2 and "no version 9" in missing.output
    nowhere = runner.invoke(app, ["registry", "list", str(tmp_path / "nothing")])
    assert nowhere.exit_code == 2 and "neither a pipeline file nor a registry" in nowhere.output


# -- the register stage in the flow ------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("registry-flow")
    (base / "train.csv").write_text(csv_text(toy_rows(160)))
    (base / "val.csv").write_text(csv_text(toy_rows(40, seed=1)))
    (base / "test.csv").write_text(csv_text(toy_rows(40, seed=2)))
    pipeline = {
        "name": "toy-registry",
        "seed": 3,
        "data": {"train": "train.csv", "validation": "val.csv", "test": "test.csv"},
        "student": {
            "model": {"name": "bow", "params": TINY_MODELS["bow"]},
            "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
            "train": {"epochs": 3, "batch_size": 16, "learning_rate": 0.02, "max_length": 32},
        },
        "quantize": [{"name": "ort-dynamic-int8", "targets": ["student"]}],
        "evaluate": {"measure_cost": False},
        "registry": {"path": "registry", "min_improvement": 0.01},
    }
    (base / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    return base


def test_the_flow_registers_promotes_and_keeps_as_the_policy_says(project, prefect_api):
    from textcls.flows.pipeline import textcls_pipeline

    def run(*overrides: str) -> dict:
        return textcls_pipeline(
            config_path=str(project / "pipeline.yaml"), overrides=list(overrides)
        )

    first = run()
    assert first["stages"]["register"]["status"] == "promoted"
    assert first["registry"]["version"] == 1 and first["registry"]["promoted"]
    registry = Registry(project / "registry", "toy-registry")
    info = registry.version(1)
    # the best model variant was chosen, with the run's lineage
    assert info["variant"] in ("student", "student-ort-dynamic-int8")
    # the registered model is the calibrated folder: predict and serve apply its temperature
    meta = json.loads((Path(info["path"]) / "model" / "textcls.json").read_text())
    assert meta["calibration"]["fitted_on"] == "validation"
    assert (
        json.loads((Path(info["path"]) / "manifest.json").read_text())["run_id"]
        == (first["run_id"])
    )

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        published = {a.key: a for a in client.read_latest_artifacts()}
    assert "first version" in str(published["toy-registry-registry"].data)

    again = run()
    assert again["stages"]["register"]["status"] == "already registered"
    assert registry.version_numbers() == [1]

    weaker = run("student.train.epochs=1", "student.train.learning_rate=1e-6")
    assert weaker["stages"]["register"]["status"] == "candidate"
    assert weaker["registry"]["reason"].startswith("kept as a candidate")
    assert registry.champion() == 1 and registry.version_numbers() == [1, 2]

    pinned = run("registry.variant=student-ort-dynamic-int8", "student.train.epochs=2")
    assert registry.version(pinned["registry"]["version"])["variant"] == (
        "student-ort-dynamic-int8"
    )
