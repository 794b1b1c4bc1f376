"""Model folders load outside textcls: transformers and Optimum after `import textcls`,
and ONNX folders with only onnxruntime and tokenizers (the documented snippet, run as is)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_helpers import toy_data, with_student
from textcls.config import QuantizeStep
from textcls.predictor import Predictor
from textcls.stages.finetune import fine_tune
from textcls.stages.quantize import quantize

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["good great fine lovely", "bad awful poor terrible"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("portable")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bilstm"), "student", data_dir, base / "student")
    step = QuantizeStep(name="ort-dynamic-int8")
    quantize(step, base / "student", data_dir, base / "student-int8")
    return base / "student", base / "student-int8"


def python(code: str, *, blocked: tuple[str, ...] = (), timeout: float = 600) -> str:
    """Run ``code`` in a fresh interpreter (no plugins loaded yet), ``blocked`` unimportable."""
    guard = "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", f"import sys\n{guard}{code}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_config_json_holds_the_real_label_names(folders):
    for folder in folders:
        config = json.loads((folder / "config.json").read_text())
        assert list(config["id2label"].values()) == ["neg", "pos"]


def test_transformers_pipeline_loads_a_textcls_architecture_after_import_textcls(folders):
    student, _ = folders
    assert json.loads((student / "config.json").read_text())["model_type"].startswith("textcls")
    code = f"""
import json, textcls
from transformers import pipeline
classify = pipeline("text-classification", model={str(student)!r})
print(json.dumps([r["label"] for r in classify({TEXTS!r})]))
"""
    expected = [p.label for p in Predictor.load(student).predict(TEXTS)]
    assert json.loads(python(code)) == expected


def test_optimum_loads_the_int8_folder_after_import_textcls(folders):
    _, int8 = folders
    code = f"""
import json, textcls
from optimum.onnxruntime import ORTModelForSequenceClassification
from transformers import AutoTokenizer
model = ORTModelForSequenceClassification.from_pretrained({str(int8)!r})
tokenizer = AutoTokenizer.from_pretrained({str(int8)!r})
logits = model(**tokenizer({TEXTS!r}, padding=True, return_tensors="pt")).logits
print(json.dumps(logits.tolist()))
"""
    expected = Predictor.load(int8).logits(TEXTS)
    assert np.allclose(json.loads(python(code)), expected, atol=1e-4)


def test_the_documented_onnx_snippet_runs_with_only_onnxruntime_and_tokenizers(folders):
    _, int8 = folders
    docs = (ROOT / "docs" / "deploy-models.md").read_text()
    snippet = next(
        b for b in re.findall(r"```python\n(.*?)```", docs, re.S) if "ort.Inference" in b
    )
    snippet = snippet.replace(
        '"runs/support-intents/latest/quantized/student-ort-dynamic-int8"', repr(str(int8))
    ).replace('["my card was charged twice", "how do I reset my password"]', repr(TEXTS))
    printed = python(snippet, blocked=("textcls", "transformers", "torch", "optimum"))
    assert printed == repr([p.label for p in Predictor.load(int8).predict(TEXTS)])


def test_model_types_transformers_ships_never_load_the_plugins():
    code = """
import textcls
from textcls import plugin_manager
from transformers import AutoConfig
AutoConfig.for_model("bert")
print(plugin_manager._host is None)
"""
    assert python(code) == "True"


def test_a_plugin_that_asks_transformers_while_it_loads_does_not_hang(tmp_path):
    """The plugin host holds its lock while it imports plugins; a lookup then must not wait."""
    (tmp_path / "asks_while_loading.py").write_text(
        "from transformers.models.auto.configuration_auto import CONFIG_MAPPING\n"
        "ASKED = 'no-such-model-type' in CONFIG_MAPPING\n"
    )
    code = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
import textcls
from textcls import plugin_manager

load = plugin_manager.PluginHost.load_entry_points

def load_and_import_a_plugin(self):  # what loading an installed plugin does
    load(self)
    import asks_while_loading

plugin_manager.PluginHost.load_entry_points = load_and_import_a_plugin
host = plugin_manager.get_plugins()
print("loaded", len(host.registries["model"]) > 0)
"""
    assert python(code, timeout=240) == "loaded True"
