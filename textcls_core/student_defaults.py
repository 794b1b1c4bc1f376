"""What a student section gets for what it leaves out: ``student: {}`` is a whole student.

A student section without ``model`` (or whose ``model`` names no component but sets some
``params``, as ``--set student.model.params.hidden_size=64`` does) gets the default student:
the architecture below, the default tokenizer of that architecture (``word``), the training
recipe below for every ``train`` field it does not set, and, when the pipeline has a teacher
and the section says nothing about ``distill``, distillation with ``logits-kl`` on a transfer
set augmented to 8 times the train split, at most 50,000 texts (Tang et al. 2019's masking,
same-class word replacement and n-gram sampling), unless the section's ``transfer`` sets
``augment`` or ``multiplier`` itself. (``distill: null`` keeps hard-label training.) A section
that names its model keeps every other default as it was: the recipe fits this architecture,
not a model someone chose.

Where the values come from: the student defaults study of issue #20
(``bench/student_defaults.py``, BENCHMARKS.md "Student defaults study"). On the scoreboard's
rows, with the teacher fixed, augmenting the transfer set to 8x the train split was the best
change on SST-2 validation (student/teacher validation accuracy 91.7% -> 97.6%, test 95.0% ->
96.3%), ahead of skip-gram (95.3%) and GloVe (92.0%) word vectors (which would need a
``pretrain`` section a student section cannot add) and of augmentation with skip-gram vectors
(95.0%); on ChnSentiCorp it kept the default's 105.9% on validation (test 104.8% -> 101.7%). The
architecture, distiller and recipe are the scoreboard's BiLSTM (it keeps 96.3-102.9% of the
teacher in session 12's scoreboard). A second screen on SST-2 (temperature 4, alpha 1, 6 epochs
with a cosine schedule) found nothing better on validation by more than 1 of 500 texts, so
temperature, alpha and epochs stay (temperature 1, session 11: +11 SST-2 validation texts,
inside the seed spread, and -0.6 points on its test); a third (session 11) found dropout 0.4 and
mean pooling no better summed over the four validation sets, and the other knobs (depth,
embedding width, learning rate, batch size, the teacher's vocabulary) none over 3 of 500 texts
above the default on SST-2. How much one run says: the student's seed alone moves SST-2's
validation by up to 14 of 500 texts (three seeds). Width, screened on all four data sets with
their teachers fixed (session 9): a hidden size of 96 kept the most of the teachers on
validation (mean 100.0% against 99.9% for 128 and 64; every difference 3 of 500 texts or fewer)
and its int8 export runs 1.20-1.24x the 128-wide one's texts/s (1.50-1.54x for 64, which lost
0.7 points on SST-2's test), so the BiLSTM is 128/96; the int8 ratio to the teacher is the
tighter target on long texts (AG News). Kim's TextCNN kept less of the AG News teacher on
validation (96.4% against 97.5%) and its int8 export is slower than the BiLSTM's (ONNX Runtime's
integer convolutions). Word vectors read from the teacher (``init: teacher-word-vectors``,
session 10) gained most on AG News (+1.8 points, 9 of 500 texts, inside the seed spread SST-2
showed later; the other three moved 4 texts or fewer): not a default. Augmented copies cost one
teacher pass over the new texts and student epochs over 8x the train split;
``transfer.unlabeled`` rows count toward it.
"""

from __future__ import annotations

import copy
from typing import Any

#: The architecture (and width) of a student section that names none.
DEFAULT_MODEL: dict[str, Any] = {
    "name": "bilstm",
    "params": {"embedding_dim": 128, "hidden_size": 96},
}
#: How the default student learns from a teacher.
DEFAULT_DISTILLER: dict[str, Any] = {
    "name": "logits-kl",
    "params": {"temperature": 2.0, "alpha": 0.9},
}
#: The default distilled student's transfer set, when ``transfer`` sets neither ``augment`` nor
#: ``multiplier``. ``max_size`` bounds the cost, not the quality: augmentation helps most where
#: the train split is small (the study's 2,000 rows -> 16,000 texts), while 8x a 100k-row split
#: would be an 800k-text teacher pass and student epochs over it; from 6,250 train rows up the
#: set stays at 50,000 texts (BENCHMARKS.md's 16k SST-2 row measures that size).
DEFAULT_TRANSFER: dict[str, Any] = {"augment": {}, "multiplier": 8, "max_size": 50_000}
#: The default student's training recipe (fields the section sets win).
DEFAULT_TRAIN: dict[str, Any] = {
    "epochs": 3,
    "batch_size": 64,
    "learning_rate": 2.0e-3,
    "max_length": 64,
}


def fill_student(student: Any, *, has_teacher: bool) -> Any:
    """``student`` (a raw section) with the default student filled in where it names no model.

    Anything that is not a mapping is returned as it is, for validation to report.
    """
    if not isinstance(student, dict):
        return student
    model = student.get("model")
    if "model" in student and not (isinstance(model, dict) and "name" not in model):
        return student  # a model of the section's own choosing (or a typo, for validation)
    filled = dict(student)
    filled["model"] = copy.deepcopy(DEFAULT_MODEL)
    given = (model or {}).get("params")
    if isinstance(given, dict):  # e.g. --set student.model.params.hidden_size=64
        filled["model"]["params"].update(given)
    elif given is not None:
        filled["model"]["params"] = given  # not a mapping: validation says so
    train = student.get("train")
    if train is None or isinstance(train, dict):
        filled["train"] = {**DEFAULT_TRAIN, **(train or {})}
    if has_teacher and "distill" not in student:
        filled["distill"] = copy.deepcopy(DEFAULT_DISTILLER)
    transfer = student.get("transfer")
    if (
        filled.get("distill") is not None
        and (transfer is None or isinstance(transfer, dict))
        and not {"augment", "multiplier"} & set(transfer or {})
    ):
        filled["transfer"] = {**copy.deepcopy(DEFAULT_TRANSFER), **(transfer or {})}
    return filled
