"""Export and quantization: every architecture, fp32 agreement, and the accuracy gate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from model_helpers import TINY_MODELS, toy_data, with_student
from pydantic import BaseModel
from textcls import get_plugins, hookimpl
from textcls.artifact_files import read_quantize_report
from textcls.config import QuantizeStep
from textcls.predictor import Predictor
from textcls.stages.finetune import fine_tune
from textcls.stages.quantize import quantize

TEXTS = ["good film", "the plot was awful and dull", "a lovely superb story", "bad"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-quantize")
    raw, data_dir = toy_data(base)
    folders = {}
    for architecture in TINY_MODELS:
        folders[architecture] = base / architecture
        fine_tune(with_student(raw, base, architecture), "student", data_dir, folders[architecture])
    return base, data_dir, folders


@pytest.mark.parametrize("architecture", sorted(TINY_MODELS))
def test_every_architecture_exports_and_quantizes_to_int8(trained, architecture):
    base, data_dir, folders = trained
    out = base / f"{architecture}-int8"
    quantize(QuantizeStep(name="ort-dynamic-int8"), folders[architecture], data_dir, out)
    report = read_quantize_report(out)
    assert report["delivered_precision"] == "int8" and report["gate"] == "passed"
    meta = json.loads((out / "textcls.json").read_text())
    assert meta["onnx"]["max_abs_diff_vs_pytorch"] <= 1e-4
    assert meta["onnx"]["precision"] == "int8"
    assert (out / "model.onnx").is_file() and not (out / ".fp32").exists()
    onnx_side = Predictor.load(out)
    torch_side = Predictor.load(folders[architecture])
    assert onnx_side.backend == "onnx" and torch_side.backend == "pytorch"
    same = [
        a.label == b.label
        for a, b in zip(onnx_side.predict(TEXTS), torch_side.predict(TEXTS), strict=True)
    ]
    assert sum(same) >= 3


@pytest.mark.parametrize("quantizer", ["onnx-fp32", "ort-static-int8", "ort-fp16"])
def test_other_quantizers_on_the_transformer(trained, quantizer, tmp_path, monkeypatch):
    base, data_dir, folders = trained
    out = base / f"transformer-{quantizer}"
    monkeypatch.chdir(tmp_path)
    quantize(QuantizeStep(name=quantizer), folders["transformer"], data_dir, out)
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    report = read_quantize_report(out)
    assert (
        report["requested_precision"]
        == {"onnx-fp32": "fp32", "ort-static-int8": "int8", "ort-fp16": "fp16"}[quantizer]
    )
    assert report["validation_accuracy_quantized"] >= report["validation_accuracy_fp32"] - 0.05


def test_fp32_onnx_matches_pytorch(trained):
    from textcls.onnx_export import compare_with_pytorch

    base, data_dir, folders = trained
    out = base / "bilstm-fp32"
    quantize(QuantizeStep(name="onnx-fp32"), folders["bilstm"], data_dir, out)
    assert compare_with_pytorch(folders["bilstm"], out) <= 1e-4


class ZeroWeights:
    """A deliberately destructive 'quantizer': every weight becomes zero."""

    precision = "int8"

    def __init__(self, params):
        pass

    def apply(self, source_dir: Path, out_dir: Path, calibration, tokenizer) -> None:
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(source_dir / "model.onnx"))
        for initializer in model.graph.initializer:
            values = numpy_helper.to_array(initializer)
            if values.dtype == np.float32:
                initializer.CopyFrom(
                    numpy_helper.from_array(np.zeros_like(values), initializer.name)
                )
        onnx.save(model, str(out_dir / "model.onnx"))


class Params(BaseModel):
    pass


def test_gate_delivers_fp32_when_quantization_collapses_accuracy(trained):
    class Plugin:
        @hookimpl
        def textcls_register_quantizers(self, register):
            register("zero-int8", ZeroWeights, params=Params)

    host = get_plugins()
    host.register(Plugin(), name="zero-plugin")
    base, data_dir, folders = trained
    out = base / "gated"
    quantize(QuantizeStep(name="zero-int8", max_accuracy_drop=1.0), folders["bow"], data_dir, out)
    report = read_quantize_report(out)
    assert report["gate"] == "failed" and report["delivered_precision"] == "fp32"
    assert report["accuracy_drop_points"] > 1.0
    assert "delivered the fp32 ONNX model instead" in report["reason"]
    # what is delivered is the working fp32 model, not the collapsed one
    delivered = Predictor.load(out).predict(TEXTS)
    assert len({p.label for p in delivered}) == 2
    host.unregister("zero-plugin")


@pytest.mark.slow
def test_real_minilm_exports_and_quantizes(tmp_path):
    from textcls import config_from_dict

    raw, data_dir = toy_data(tmp_path, n=64)
    config = config_from_dict(
        {
            **raw,
            "teacher": {
                "model": {
                    "name": "hf",
                    "params": {"pretrained": "sentence-transformers/all-MiniLM-L6-v2"},
                },
                "train": {"max_steps": 2, "batch_size": 16, "max_length": 32},
            },
        },
        base_dir=tmp_path,
    )
    fine_tune(config, "teacher", data_dir, tmp_path / "teacher")
    out = tmp_path / "teacher-int8"
    quantize(
        QuantizeStep(name="ort-dynamic-int8", max_accuracy_drop=100),
        tmp_path / "teacher",
        data_dir,
        out,
    )
    meta = json.loads((out / "textcls.json").read_text())
    assert meta["onnx"]["exporter"] == "optimum"
    assert meta["onnx"]["max_abs_diff_vs_pytorch"] <= 1e-4
    assert (
        read_quantize_report(out)["size_bytes"]
        < 0.5 * (tmp_path / "teacher" / "model.safetensors").stat().st_size
    )
