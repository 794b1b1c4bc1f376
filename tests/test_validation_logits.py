"""Validation predicted once per model: the training job stores the logits, calibration and
evaluation reuse them when the key (model files, texts, batch size) matches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
import textcls.model_folder as model_folder
from model_helpers import toy_data, with_student
from textcls.predictor import Predictor
from textcls.stages.calibrate import calibrate
from textcls.stages.evaluate import evaluate
from textcls.stages.finetune import fine_tune
from textcls.validation_logits import BATCH_SIZE, LOGITS_FILE, cached_logits

MAX_LENGTH = 32  # with_student's


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-logits")
    raw, data_dir = toy_data(base)
    config = with_student(raw, base, "bilstm", epochs=1)
    ref = fine_tune(config, "student", data_dir, base / "model")
    return base, data_dir, Path(ref.path)


def test_a_bf16_trained_folder_stores_the_fp32_predictors_logits(tmp_path, monkeypatch):
    # bf16 training wraps the model's forward in autocast; the job must predict without it,
    # as the Predictor does from the saved folder (calibration and evaluation read these)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")  # restored after the test
    raw, data_dir = toy_data(tmp_path)
    config = with_student(raw, tmp_path, "bilstm", epochs=1, precision="bf16")
    folder = Path(fine_tune(config, "student", data_dir, tmp_path / "model").path)
    texts, _ = validation(data_dir)
    logits = stored(folder, texts)
    assert logits is not None
    assert np.array_equal(logits, Predictor.load(folder).logits(texts, BATCH_SIZE))


def validation(data_dir: Path) -> tuple[list[str], np.ndarray]:
    split = datasets.load_from_disk(str(data_dir))["validation"]
    return list(split["text"]), np.asarray(split["label"])


def stored(folder: Path, texts: list[str]) -> np.ndarray | None:
    return cached_logits(folder, texts, batch_size=BATCH_SIZE, max_length=MAX_LENGTH)


def rewrite_logits(folder: Path, change) -> None:
    """Replace the stored logits by ``change(logits)`` and keep the key: what reads them shows."""
    path = folder / LOGITS_FILE
    with np.load(path) as npz:
        key, logits = npz["key"], npz["logits"]
    path.unlink()  # a hard link in a calibrated folder: leave the source's file alone
    with open(path, "wb") as handle:
        np.savez(handle, logits=change(logits), key=key)


def test_a_one_epoch_job_validates_once_and_stores_what_the_predictor_computes(trained):
    _, data_dir, folder = trained
    texts, labels = validation(data_dir)
    logits = stored(folder, texts)
    assert logits is not None
    assert np.array_equal(logits, Predictor.load(folder).logits(texts, BATCH_SIZE))
    metrics = json.loads((folder / "textcls.json").read_text())["metrics"]
    assert metrics["validation_passes"] == 1  # no Trainer pass: one epoch, nothing to select
    assert metrics["checkpoint_writes"] == 0  # nothing follows the only epoch
    assert metrics["validation_accuracy"] == pytest.approx(
        float((logits.argmax(-1) == labels).mean())
    )


def test_the_key_follows_the_model_files_the_texts_and_the_batch_size(trained, tmp_path):
    _, data_dir, folder = trained
    texts, _ = validation(data_dir)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert stored(copy, texts) is not None  # by content, not by path
    assert stored(copy, texts[::-1]) is None
    assert stored(copy, texts[:-1]) is None
    assert cached_logits(copy, texts, batch_size=32, max_length=MAX_LENGTH) is None
    assert cached_logits(copy, texts, batch_size=BATCH_SIZE, max_length=16) is None
    weights = bytearray((copy / "model.safetensors").read_bytes())
    weights[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(weights))
    assert stored(copy, texts) is None  # another model
    (copy / LOGITS_FILE).write_bytes(b"not an npz")
    assert stored(copy, texts) is None  # unreadable: predicted instead, nothing fails


def test_calibration_fits_on_the_stored_logits(trained, tmp_path):
    _, data_dir, folder = trained
    texts, _ = validation(data_dir)
    original = calibrate(folder, data_dir, tmp_path / "calibrated")
    assert stored(Path(original.path), texts) is not None  # links the model files: same key
    before = json.loads((Path(original.path) / "textcls.json").read_text())["calibration"]
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    rewrite_logits(copy, lambda logits: 3 * logits)
    scaled = calibrate(copy, data_dir, tmp_path / "scaled")
    after = json.loads((Path(scaled.path) / "textcls.json").read_text())["calibration"]
    assert after["temperature"] == pytest.approx(3 * before["temperature"], rel=1e-3)


def test_evaluation_chooses_on_the_stored_logits_and_predicts_validation_once(
    trained, tmp_path, monkeypatch
):
    _, data_dir, folder = trained
    texts, labels = validation(data_dir)
    calls: list[list[str]] = []
    logits = Predictor.logits

    def counted(self, batch, *args, **kwargs):
        calls.append(list(batch))
        return logits(self, batch, *args, **kwargs)

    monkeypatch.setattr(Predictor, "logits", counted)
    loads: list[Path] = []
    load = model_folder.load_model_folder

    def counted_load(path, *args, **kwargs):
        loads.append(Path(path))
        return load(path, *args, **kwargs)

    monkeypatch.setattr(model_folder, "load_model_folder", counted_load)
    calibrated = Path(calibrate(folder, data_dir, tmp_path / "calibrated").path)
    assert loads == []  # the stored logits: calibration loads no model
    evaluate(data_dir, {"student": calibrated}, tmp_path / "eval", measure_cost=False)
    assert texts not in calls  # neither stage predicted validation again
    # scored and explained (integrated gradients) with the one model the evaluation loaded
    assert loads == [calibrated]
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    stored_accuracy = float((stored(folder, texts).argmax(-1) == labels).mean())
    assert report["variants"]["student"]["selection"]["accuracy"] == pytest.approx(stored_accuracy)

    # logits that disagree with the model's own show where the choice came from
    flipped = tmp_path / "flipped"
    shutil.copytree(calibrated, flipped)
    rewrite_logits(flipped, lambda logits: -logits)
    evaluate(data_dir, {"student": flipped}, tmp_path / "eval-flipped", measure_cost=False)
    report = json.loads((tmp_path / "eval-flipped" / "report.json").read_text())
    assert report["variants"]["student"]["selection"]["accuracy"] == pytest.approx(
        1 - stored_accuracy
    )


def test_the_quantize_stage_stores_the_delivered_models_logits(trained, tmp_path):
    from textcls.config import QuantizeStep
    from textcls.stages.quantize import quantize

    _, data_dir, folder = trained
    texts, _ = validation(data_dir)
    step = QuantizeStep(name="ort-dynamic-int8", max_accuracy_drop=100.0)
    out = Path(quantize(step, folder, data_dir, tmp_path / "int8").path)
    logits = stored(out, texts)
    assert logits is not None  # keyed to model.onnx: not the PyTorch folder's logits
    assert not np.array_equal(logits, stored(folder, texts))
    assert np.array_equal(logits, Predictor.load(out).logits(texts, BATCH_SIZE))


@pytest.mark.slow
def test_a_pretrained_teachers_stored_logits_are_the_predictors_bit_for_bit(tmp_path):
    """The MiniLM teacher (BERT, sdpa attention) as the job holds it in memory and as the
    Predictor loads it from the folder: the same logits, so reusing them changes no number."""
    from textcls import config_from_dict

    raw, data_dir = toy_data(tmp_path)
    raw["teacher"] = {
        "model": {"name": "hf", "params": {"pretrained": "sentence-transformers/all-MiniLM-L6-v2"}},
        "train": {"epochs": 1, "batch_size": 32, "max_length": MAX_LENGTH},
    }
    config = config_from_dict(raw, base_dir=tmp_path)
    folder = Path(fine_tune(config, "teacher", data_dir, tmp_path / "teacher").path)
    texts, _ = validation(data_dir)
    logits = stored(folder, texts)
    assert logits is not None
    assert np.array_equal(logits, Predictor.load(folder).logits(texts, BATCH_SIZE))


def hashed_files(monkeypatch) -> list[str]:
    """The files the key reads and hashes from now on (names), as the reader hashes them."""
    import textcls.validation_logits as validation_logits

    hashed: list[str] = []
    file_sha256 = validation_logits.file_sha256

    def counted(path, *args, **kwargs):
        hashed.append(Path(path).name)
        return file_sha256(path, *args, **kwargs)

    monkeypatch.setattr(validation_logits, "file_sha256", counted)
    return hashed


def test_readers_take_the_writers_hashes_of_unchanged_files_and_hash_changed_ones(
    trained, tmp_path, monkeypatch
):
    from textcls.validation_logits import write_logits

    _, data_dir, folder = trained
    texts, _ = validation(data_dir)
    hashed = hashed_files(monkeypatch)
    # the folder the job wrote, and a calibrated one (hard links: the same inodes)
    assert stored(folder, texts) is not None
    calibrated = Path(calibrate(folder, data_dir, tmp_path / "calibrated").path)
    assert stored(calibrated, texts) is not None
    assert hashed == []
    # a copy has new inodes: read and hashed, and it still matches by content
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert stored(copy, texts) is not None
    assert "model.safetensors" in hashed
    # the copy's own record (its inodes), then its weights rewritten in place, same size:
    # the new mtime shows, the bytes are hashed again and the key no longer matches
    write_logits(copy, texts, stored(folder, texts), batch_size=BATCH_SIZE, max_length=MAX_LENGTH)
    hashed.clear()
    assert stored(copy, texts) is not None
    assert hashed == []
    weights = copy / "model.safetensors"
    inode, size = weights.stat().st_ino, weights.stat().st_size
    changed = bytearray(weights.read_bytes())
    changed[-1] ^= 1
    with open(weights, "r+b") as handle:  # in place: same inode, same size
        handle.write(bytes(changed))
    assert (weights.stat().st_ino, weights.stat().st_size) == (inode, size)
    assert stored(copy, texts) is None
    assert hashed == ["model.safetensors"]


def test_a_miss_says_which_part_of_the_key_differs(trained, tmp_path, caplog):
    _, data_dir, folder = trained
    texts, _ = validation(data_dir)
    caplog.set_level("INFO", logger="textcls.validation_logits")
    assert stored(folder, list(reversed(texts))) is None
    assert "is for other texts" in caplog.text
    caplog.clear()
    assert cached_logits(folder, texts, batch_size=BATCH_SIZE, max_length=16) is None
    assert "is for other settings" in caplog.text and f"[{BATCH_SIZE}, 16]" in caplog.text
    caplog.clear()
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "config.json").write_text((copy / "config.json").read_text() + "\n")
    assert stored(copy, texts) is None
    assert "is for other files" in caplog.text
    caplog.clear()
    caplog.set_level("INFO", logger="textcls.calibrate")
    calibrate(folder, data_dir, tmp_path / "calibrated")
    assert f"validation logits reused from {LOGITS_FILE}" in caplog.text
