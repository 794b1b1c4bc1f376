"""Explanations in the evaluation report: what each model relied on where it went wrong.

Two kinds of texts are explained, every model variant side by side on each:

- the most confident mistakes of each variant on the evaluated split (``MISTAKES`` each);
- the validation texts where the student and the teacher disagree most (``DISAGREEMENTS``),
  measured as the total variation distance between their class probabilities; only when the
  variants include ``teacher`` and ``student`` (as a pipeline names them) and the data has a
  validation split.

Each variant is explained with its default method (integrated gradients for PyTorch folders,
occlusion for ONNX ones), toward its own predicted label, all texts in one call per variant, so
the section costs a few seconds. ``report.md`` lists each model's top words; ``explanations.html``
shows the texts coloured. A failing explainer leaves a note in the report instead of losing the
evaluation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("textcls.evaluate")

MISTAKES = 2
DISAGREEMENTS = 3
TOP_WORDS = 5
HTML_FILE = "explanations.html"


def pick_mistakes(
    probabilities: Mapping[str, np.ndarray], y: np.ndarray, names: Sequence[str], per_variant: int
) -> list[tuple[str, int]]:
    """(reason, index) of each variant's most confident wrong answers, no text twice."""
    picked: list[tuple[str, int]] = []
    seen: set[int] = set()
    for variant, probs in probabilities.items():
        predicted, confidence = probs.argmax(axis=1), probs.max(axis=1)
        wrong = np.flatnonzero(predicted != y)
        chosen = 0
        for i in wrong[np.argsort(-confidence[wrong], kind="stable")]:
            if chosen == per_variant:
                break
            if int(i) in seen:
                continue
            seen.add(int(i))
            chosen += 1
            picked.append(
                (
                    f"{variant}'s confident mistake: true {names[y[i]]}, predicted "
                    f"{names[predicted[i]]} ({confidence[i]:.3f})",
                    int(i),
                )
            )
    return picked


def pick_disagreements(
    teacher: np.ndarray, student: np.ndarray, names: Sequence[str], count: int
) -> list[tuple[str, int]]:
    """(reason, index) of the texts where the two models' probabilities differ most."""
    distance = 0.5 * np.abs(teacher - student).sum(axis=1)
    picked = []
    for i in np.argsort(-distance, kind="stable")[:count]:
        t, s = teacher[i].argmax(), student[i].argmax()
        picked.append(
            (
                f"teacher and student disagree (distance {distance[i]:.3f}): teacher "
                f"{names[t]} ({teacher[i, t]:.3f}), student {names[s]} ({student[i, s]:.3f})",
                int(i),
            )
        )
    return picked


def explain_for_report(
    out_dir: Path,
    variants: Mapping[str, str | Path],
    texts: Sequence[str],
    y: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    names: Sequence[str],
    validation: Sequence[str] | None = None,
    validation_probabilities: Mapping[str, np.ndarray] | None = None,
    predictors: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Explain the chosen texts with every variant; write ``explanations.html`` into
    ``out_dir``; return the report.json section (``{"html", "items"}`` or ``{"error"}``).

    ``validation_probabilities`` (variant -> probabilities on ``validation``, as its
    Predictor gives them) are the evaluation's own: given, the teacher and the student are not
    run on the validation split again (seconds for a transformer teacher). ``predictors``
    (variant -> its loaded Predictor), also the evaluation's: no model is loaded again.
    """
    try:
        return _explain_for_report(
            out_dir,
            variants,
            texts,
            y,
            probabilities,
            names,
            validation,
            validation_probabilities,
            predictors or {},
        )
    except Exception as exc:  # the evaluation itself must not be lost to an explainer
        log.warning("explanations skipped: %s: %s", type(exc).__name__, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _explain_for_report(
    out_dir: Path,
    variants: Mapping[str, str | Path],
    texts: Sequence[str],
    y: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    names: Sequence[str],
    validation: Sequence[str] | None,
    validation_probabilities: Mapping[str, np.ndarray] | None,
    predictors: Mapping[str, Any],
) -> dict[str, Any]:
    from textcls.explanation.explain import explain_texts
    from textcls.explanation.render import html_page
    from textcls.explanation.subject import ExplainSubject

    subjects = {
        name: ExplainSubject(folder, predictor=predictors.get(name))
        for name, folder in variants.items()
    }
    model_probs = {name: probabilities[name] for name in variants}
    # (reason, text, each variant's probabilities of the whole split the text comes from)
    picked_texts = [
        (reason, texts[i], i, model_probs)
        for reason, i in pick_mistakes(model_probs, y, names, MISTAKES)
    ]
    if validation and "teacher" in subjects and "student" in subjects:
        known = dict(validation_probabilities or {})
        for name in ("teacher", "student"):
            if name not in known:
                known[name] = subjects[name].probabilities(validation)
        picked = pick_disagreements(known["teacher"], known["student"], names, DISAGREEMENTS)
        picked_texts += [(reason, validation[i], i, known) for reason, i in picked]
    picked_texts = [item for item in picked_texts if item[1].strip()]
    if not picked_texts:
        return {"html": None, "items": []}
    chosen = [(reason, text) for reason, text, _, _ in picked_texts]
    log.info("explaining %d texts with %d variants", len(chosen), len(subjects))
    explained = {
        name: explain_texts(
            subject,
            [text for _, text in chosen],
            probabilities=_known_rows(name, picked_texts),
        )
        for name, subject in subjects.items()
    }
    blocks = []
    items = []
    for k, (reason, text) in enumerate(chosen):
        rows = [(name, explained[name][k]) for name in subjects]
        blocks.append((f"{reason}: {text}", rows))
        items.append(
            {
                "reason": reason,
                "text": text,
                "models": {
                    name: {
                        "label": e.label,
                        "probability": e.probability,
                        "method": e.method,
                        "top": [[t.word, t.attribution] for t in e.top(TOP_WORDS)],
                    }
                    for name, e in rows
                },
            }
        )
    page = html_page(
        "Explanations: what each model relied on",
        blocks,
        intro="The most confident mistakes of each variant, and the validation texts where the "
        "student and the teacher disagree most. Each model is explained toward its own "
        "predicted label.",
    )
    (out_dir / HTML_FILE).write_text(page, encoding="utf-8")
    return {"html": HTML_FILE, "items": items}


def _known_rows(
    name: str, picked: Sequence[tuple[str, str, int, Mapping[str, np.ndarray]]]
) -> np.ndarray | None:
    """``name``'s probabilities of the picked texts, from the predictions the evaluation (or
    the disagreement search) already made; None when any is missing (they are predicted)."""
    if not all(name in split for _, _, _, split in picked):
        return None
    return np.stack([split[name][i] for _, _, i, split in picked])


def explanations_markdown(section: Mapping[str, Any]) -> list[str]:
    """The report.md lines: per text, each model's label and top words side by side."""
    lines = ["## Explanations", ""]
    if section.get("error"):
        return lines + [f"Explanations could not be computed: {section['error']}", ""]
    if section.get("skipped"):
        return lines + [f"Not computed: {section['skipped']}.", ""]
    items = section.get("items") or []
    if not items:
        return lines + ["No mistakes or disagreements to explain.", ""]
    lines += [
        f"What each model relied on (top {TOP_WORDS} words toward its own prediction); "
        f"coloured in [`{section['html']}`]({section['html']}).",
        "",
    ]
    for item in items:
        text = item["text"].replace("|", "\\|").replace("\n", " ")
        lines += [f"**{item['reason']}**", "", f"> {text}", ""]
        lines += ["| model | predicted | method | top words |", "|---|---|---|---|"]
        for name, m in item["models"].items():
            words = ", ".join(f"{w} ({s:+.2f})" for w, s in m["top"]).replace("|", "\\|")
            lines.append(
                f"| {name} | {m['label']} ({m['probability']:.3f}) | {m['method']} | {words} |"
            )
        lines.append("")
    return lines
