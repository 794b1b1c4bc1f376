"""Export and quantization: every architecture, fp32 agreement, and the accuracy gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_helpers import TINY_MODELS, toy_data, with_student
from pydantic import BaseModel
from textcls import get_plugins, hookimpl
from textcls.artifact_files import read_quantize_report
from textcls.artifacts import MARKER
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


def integer_ops(folder: Path) -> set[str]:
    """The ONNX graph's integer operators: what makes a model int8, whatever it scores."""
    import onnx

    graph = onnx.load(str(folder / "model.onnx")).graph
    return {n.op_type for n in graph.node} & {
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "ConvInteger",
        "QLinearMatMul",
        "DequantizeLinear",
    }


@pytest.mark.parametrize("architecture", sorted(TINY_MODELS))
def test_every_architecture_exports_and_quantizes_to_int8(trained, architecture):
    """Export and int8 conversion only: how much accuracy int8 costs depends on the CPU's
    integer kernels, so the gate is opened wide here and tested on its own, both ways, below."""
    base, data_dir, folders = trained
    out = base / f"{architecture}-int8"
    step = QuantizeStep(name="ort-dynamic-int8", max_accuracy_drop=100.0)
    quantize(step, folders[architecture], data_dir, out)
    report = read_quantize_report(out)
    assert report["delivered_precision"] == "int8" and report["gate"] == "passed"
    assert integer_ops(out), "the delivered graph has no integer operators"
    meta = json.loads((out / "textcls.json").read_text())
    assert meta["onnx"]["max_abs_diff_vs_pytorch"] <= 1e-4
    assert meta["onnx"]["precision"] == "int8"
    assert (out / "model.onnx").is_file() and not (out / ".fp32").exists()
    onnx_side = Predictor.load(out)
    torch_side = Predictor.load(folders[architecture])
    assert onnx_side.backend == "onnx" and torch_side.backend == "pytorch"
    predictions = onnx_side.predict(TEXTS)
    assert {p.label for p in predictions} <= {"pos", "neg"}
    for prediction in predictions:
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("quantizer", ["onnx-fp32", "ort-static-int8", "ort-fp16"])
def test_other_quantizers_on_the_transformer(trained, quantizer, tmp_path, monkeypatch):
    base, data_dir, folders = trained
    out = base / f"transformer-{quantizer}"
    monkeypatch.chdir(tmp_path)
    quantize(QuantizeStep(name=quantizer), folders["transformer"], data_dir, out)
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == [MARKER]  # no temporary leftovers, only textcls's own marker
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


class Unchanged:
    """A 'quantizer' that delivers the fp32 graph as it is: its accuracy drop is exactly 0."""

    precision = "int8"

    def __init__(self, params):
        pass

    def apply(self, source_dir: Path, out_dir: Path, calibration, tokenizer) -> None:
        import shutil

        shutil.copy2(source_dir / "model.onnx", out_dir / "model.onnx")


@pytest.mark.parametrize("architecture", ["gru", "bow"])
def test_gate_passes_a_model_that_loses_nothing(trained, architecture):
    class Plugin:
        @hookimpl
        def textcls_register_quantizers(self, register):
            register("unchanged-int8", Unchanged, params=Params)

    host = get_plugins()
    host.register(Plugin(), name="unchanged-plugin")
    try:
        base, data_dir, folders = trained
        out = base / f"{architecture}-unchanged"
        step = QuantizeStep(name="unchanged-int8", max_accuracy_drop=0.0)
        quantize(step, folders[architecture], data_dir, out)
    finally:
        host.unregister("unchanged-plugin")
    report = read_quantize_report(out)
    assert report["gate"] == "passed" and report["delivered_precision"] == "int8"
    assert report["accuracy_drop_points"] == 0.0


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


def test_optimum_support_does_not_depend_on_what_was_imported_before():
    """A fresh process must pick the same exporter as one that imported Optimum's configs."""
    code = (
        "from textcls.onnx_export import optimum_supports\n"
        "print(optimum_supports('bert'), optimum_supports('textcls-recurrent'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "False"]
