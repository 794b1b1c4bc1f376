"""The third-party example plugin, installed for real, shows up and is usable by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin-example"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """Build the example's wheel and install it into a folder that goes on PYTHONPATH."""
    work = tmp_path_factory.mktemp("plugin-example")
    wheels = work / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(EXAMPLE),
        ],
        check=True,
        timeout=300,
    )
    site = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(site),
            *map(str, wheels.glob("*.whl")),
        ],
        check=True,
        timeout=300,
    )
    assert (site / "textcls_plugin_example-0.1.0.dist-info" / "entry_points.txt").is_file()
    return site


def run_cli(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TEXTCLS_BUILTIN_PLUGINS_ONLY", None)
    env["TEXTCLS_PLUGINS"] = "textcls-plugin-example"
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "textcls.flows.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_example_plugin_is_listed(installed_example):
    result = run_cli(installed_example, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    example = plugins["example"]
    assert example["distribution"] == "textcls-plugin-example"
    assert example["version"] == "0.1.0"
    assert example["builtin"] is False
    assert example["components"] == {"distiller": ["cosine-logits"], "model": ["mean-pool"]}
    assert example["hooks"] == ["textcls_register_distillers", "textcls_register_models"]
    assert "builtin-sources" in plugins


def test_example_components_are_usable_by_name_in_a_config(installed_example, tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "name: with-example\n"
        "data: {train: train.csv}\n"
        "teacher: {model: {name: mean-pool, params: {embedding_dim: 32}}}\n"
        "student:\n"
        "  model: {name: mean-pool, params: {embedding_dim: 8}}\n"
        "  distill: {name: cosine-logits, params: {alpha: 0.7}}\n"
    )
    result = run_cli(installed_example, "config", "validate", str(config))
    assert result.returncode == 0, result.stderr
    result = run_cli(
        installed_example,
        "config",
        "validate",
        str(config),
        "--set",
        "student.model.params.embedding_dim=0",
    )
    assert result.returncode == 2
    assert (
        f"{config} (--set student.model.params.embedding_dim): "
        "student.model.params.embedding_dim: Input should be greater than 0"
    ) in result.stderr
    config.write_text(config.read_text().replace("embedding_dim: 8", "embedding_dim: -1"))
    result = run_cli(installed_example, "config", "validate", str(config))
    assert result.returncode == 2
    assert (
        f"{config}:5: student.model.params.embedding_dim: Input should be greater than 0"
        in result.stderr
    )
    result = run_cli(installed_example, "plugins", "show", "cosine-logits")
    assert result.returncode == 0 and "alpha" in result.stdout


def test_example_model_and_distiller_work(installed_example, monkeypatch):
    import torch
    from textcls import ModelContext, PluginHost

    monkeypatch.syspath_prepend(str(installed_example))
    host = PluginHost()
    host.load_entry_points(only_builtins=False, select=["textcls-plugin-example"])
    model = host.component("model", "mean-pool").create(
        {"embedding_dim": 8}, context=ModelContext(num_labels=3, vocab_size=50, pad_token_id=0)
    )
    ids = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    out = model(input_ids=ids, attention_mask=(ids != 0).long(), labels=torch.tensor([0, 2]))
    assert out.logits.shape == (2, 3) and out.loss.item() > 0
    distiller = host.component("distiller", "cosine-logits").create({"alpha": 1.0})
    same = distiller.loss(out, out, torch.tensor([0, 2]))
    assert abs(same.item()) < 1e-6  # identical logits: zero cosine distance
