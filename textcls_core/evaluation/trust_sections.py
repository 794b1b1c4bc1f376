"""The report's sections on trust: which split chose, and what calibration changed.

Kept out of ``report.py`` so that its table stays one place; ``render_markdown`` calls these.
"""

from __future__ import annotations

from typing import Any


def selection_sentence(report: dict[str, Any]) -> str:
    """Which split chose the best variant and which one the numbers below come from."""
    chosen, reported = report.get("selected_on", report["split"]), report["split"]
    if chosen == reported:
        return (
            f"Best by accuracy on {reported} (no separate split to choose on, so the best "
            f"variant's {reported} score is optimistic): **{report['best']}**."
        )
    return (
        f"Best by {chosen} accuracy: **{report['best']}**; choices (best variant, registry "
        f"variant, sweep winner) read {chosen}, and {reported} is scored once and only reported."
    )


def selection_lines(report: dict[str, Any]) -> list[str]:
    """Validation metrics of every variant: the numbers the choices read."""
    chosen = report.get("selected_on")
    rows = [(n, v["selection"]) for n, v in report["variants"].items() if v.get("selection")]
    if not rows or chosen == report["split"]:
        return []
    lines = [
        f"## Selection ({chosen})",
        "",
        f"| variant | {chosen} accuracy | macro-F1 | ECE |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {n} | {s['accuracy']:.4f} | {s['macro_f1']:.4f} | {s['ece']:.3f} |" for n, s in rows
    ]
    return [*lines, ""]


def calibration_lines(report: dict[str, Any]) -> list[str]:
    """ECE, Brier score and log loss before and after calibration, per calibrated variant."""
    rows = [(n, v["calibration"]) for n, v in report["variants"].items() if v.get("calibration")]
    if not rows:
        return []
    lines = [
        f"## Calibration ({report['split']})",
        "",
        "Temperature scaling fitted on validation logits; dividing the logits by one positive "
        "number never changes a prediction, only its confidence (accuracy is identical). "
        "ECE floor: what a perfectly calibrated model with the same confidences would measure "
        "on this many rows (ECE's sampling error); an ECE near it is as small as these rows "
        "can show. p: how often such a model measures this ECE or more; below 0.05 the "
        "confidences are off by more than these rows' noise.",
        "",
        "| variant | temperature | ECE before | ECE floor before | p before | ECE after "
        "| ECE floor after | p after | Brier before | Brier after | log loss before "
        "| log loss after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in rows:
        b, a = c["before"], c["after"]
        # each ECE beside its own floor: the floor follows the confidences, which calibration moves
        floor_b, floor_a = (f"{m['ece_floor']:.3f}" if "ece_floor" in m else "-" for m in (b, a))
        p_b, p_a = (f"{m['ece_p']:.3f}" if "ece_p" in m else "-" for m in (b, a))
        lines.append(
            f"| {name} | {c['temperature']:.3f} | {b['ece']:.3f} | {floor_b} | {p_b} "
            f"| {a['ece']:.3f} | {floor_a} | {p_a} "
            f"| {b['brier']:.4f} | {a['brier']:.4f} | {b['log_loss']:.4f} | {a['log_loss']:.4f} |"
        )
    return [*lines, ""]
