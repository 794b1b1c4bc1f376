"""The calibrate stage: fit a temperature on validation logits and write a calibrated folder.

One run per model variant (teacher, student, each quantized variant): the logits come through
the one ``Predictor``, so PyTorch and ONNX (int8 included) folders calibrate the same way. The
source folder is a cached upstream artifact and stays untouched; the output is a new folder of
hard links plus a ``textcls.json`` with ``calibration`` set (see ``textcls.calibration``).
Validation chooses the temperature; the test split is never read here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from textcls.artifacts import ArtifactRef, atomic_dir, directory_sha256
from textcls.errors import DataError

log = logging.getLogger("textcls.calibrate")

FIT_SPLIT = "validation"


def calibrate(
    model_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    method: Literal["temperature"] = "temperature",
) -> ArtifactRef:
    """Write ``model_dir`` calibrated by ``method`` on the validation split to ``out_dir``."""
    import datasets
    import numpy as np
    from textcls.artifact_files import read_labels
    from textcls.calibration import (
        fit_temperature,
        negative_log_likelihood,
        write_calibrated_folder,
    )
    from textcls.model_folder import read_meta
    from textcls.predictor import Predictor, folder_max_length
    from textcls.validation_logits import BATCH_SIZE, LOGITS_FILE, cached_logits

    if method != "temperature":
        raise DataError(f"calibration method {method!r} is unknown; use temperature")
    model_dir, data_dir = Path(model_dir), Path(data_dir)
    dataset = datasets.load_from_disk(str(data_dir))
    if FIT_SPLIT not in dataset or len(dataset[FIT_SPLIT]) == 0:
        raise DataError(
            f"{data_dir}: calibration needs a non-empty {FIT_SPLIT} split; give "
            "data.validation, or set evaluate.calibration: none"
        )
    meta = read_meta(model_dir)
    if meta["labels"] != read_labels(data_dir):
        raise DataError(
            f"{model_dir}: the model's labels {meta['labels']} differ from the data's "
            f"{read_labels(data_dir)}"
        )
    split = dataset[FIT_SPLIT]
    texts = list(split["text"])
    # the logits the training job stored for this very model, when it did: no model to load
    logits = cached_logits(
        model_dir, texts, batch_size=BATCH_SIZE, max_length=folder_max_length(model_dir, meta)
    )
    if logits is None:
        logits = Predictor.load(model_dir).logits(texts, BATCH_SIZE)
    else:
        log.info("%s: validation logits reused from %s", model_dir.name, LOGITS_FILE)
    labels = np.asarray(split["label"])
    temperature = fit_temperature(logits, labels)
    calibration = {
        "method": method,
        "temperature": temperature,
        "fitted_on": FIT_SPLIT,
        "examples": int(len(labels)),
        "validation_nll_before": negative_log_likelihood(logits, labels, 1.0),
        "validation_nll_after": negative_log_likelihood(logits, labels, temperature),
    }
    log.info(
        "%s: temperature %.3f fitted on %d %s examples",
        model_dir.name,
        temperature,
        len(labels),
        FIT_SPLIT,
    )
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        write_calibrated_folder(model_dir, tmp, calibration)
    return ArtifactRef(
        stage="calibrate", path=str(out_dir.resolve()), sha256=directory_sha256(out_dir)
    )
