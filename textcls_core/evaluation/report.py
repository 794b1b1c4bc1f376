"""``report.json`` (versioned schema) and ``report.md``.

report.json, schema_version 2::

    {
      "schema_version": 2, "pipeline": str, "split": str (reported),
      "selected_on": str (the split every choice read: validation, unless none exists),
      "labels": [str],
      "variants": {
        NAME: {
          "kind": "model" | "baseline", "path": str | null,
          "quality": {accuracy, macro_f1, weighted_f1, log_loss, ece, ece_floor, ece_p,
                      reliability[], per_class{label: {precision, recall, f1, support}},
                      confusion_matrix[[int]], accuracy_ci95[lo, hi], macro_f1_ci95[lo, hi],
                      brier, roc_auc?, pr_auc?},
          "selection": {examples, accuracy, macro_f1, log_loss, ece, brier} | null,
          "calibration": {method, temperature, fitted_on, before: {ece, ece_floor, ece_p, brier,
                          log_loss, reliability[]}, after: {...}} | null,
          "cost": {parameters, size_mb, latency_b1_p50_ms, latency_b1_p95_ms, throughput,
                   batch_size, peak_rss_mb, backend},
          "notes": [str]
        }
      },
      "best": NAME (best on selected_on), "plots": {NAME: path}, "errors_csv": path,
      "explanations": {"html": path, "items": [{reason, text, models{NAME: {label,
                       probability, method, top[[word, score]]}}}]} | {"error": str}
                      | {"html": null, "items": [], "skipped": str} (evaluate.explanations off),
      "notes": [str]
    }
"""

from __future__ import annotations

from typing import Any

from textcls.evaluation.trust_sections import (
    calibration_lines,
    selection_lines,
    selection_sentence,
)

SCHEMA_VERSION = 2


def human_size(megabytes: float) -> str:
    """'812 KB' or '22.7 MB'."""
    return f"{megabytes * 1000:.0f} KB" if megabytes < 1 else f"{megabytes:.1f} MB"


def _ci(values: list[float]) -> str:
    return f"[{values[0]:.3f}, {values[1]:.3f}]"


def render_markdown(report: dict[str, Any], data_section: str | None = None) -> str:
    variants = report["variants"]
    best = report["best"]
    lines = [
        f"# Evaluation: {report['pipeline']}",
        "",
        f"Scored on the **{report['split']}** split ({_examples(report)} examples, labels: "
        f"{', '.join(report['labels'])}). {selection_sentence(report)} Intervals are 95% "
        "bootstrap intervals: two variants whose intervals overlap may not really differ.",
        "",
        "| variant | accuracy | 95% CI | macro-F1 | ECE | params | size | p50 ms | p95 ms "
        "| ex/s | peak MB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, v in variants.items():
        q, c = v["quality"], v["cost"]
        params = f"{c['parameters']:,}" if c.get("parameters") else "-"
        peak = f"{c['peak_rss_mb']:.0f}" if c.get("peak_rss_mb") else "-"
        lines.append(
            f"| {name} | {q['accuracy']:.4f} | {_ci(q['accuracy_ci95'])} | {q['macro_f1']:.4f} "
            f"| {q['ece']:.3f} | {params} | {human_size(c['size_mb'])} "
            f"| {c['latency_b1_p50_ms']:.1f} "
            f"| {c['latency_b1_p95_ms']:.1f} | {c['throughput']:.0f} | {peak} |"
        )
    lines += [
        "",
        "ECE: expected calibration error (0 is perfectly calibrated). Latency: one "
        "text at a time; ex/s: batches of 32.",
        "",
    ]
    lines += selection_lines(report) + calibration_lines(report)
    notes = [(name, note) for name, v in variants.items() for note in v.get("notes", [])]
    general = report.get("notes", [])
    if notes or general:
        lines += ["## Notes", ""] + [f"- {note}" for note in general]
        lines += [f"- **{name}**: {note}" for name, note in notes] + [""]
    q = variants[best]["quality"]
    lines += [
        f"## Per class ({best})",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, m in q["per_class"].items():
        lines.append(
            f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
            f"| {m['support']} |"
        )
    lines.append("")
    plots = report.get("plots", {})
    if plots:
        lines += ["## Pictures", ""]
        lines += [f"![{title}]({path})" for title, path in plots.items()]
        lines.append("")
    lines += [f"The most confident mistakes per class are in `{report['errors_csv']}`.", ""]
    if report.get("explanations"):
        from textcls.explanation.report_section import explanations_markdown

        lines += explanations_markdown(report["explanations"])
    if data_section:
        lines += [data_section.strip(), ""]
    return "\n".join(lines)


def _examples(report: dict[str, Any]) -> int:
    first = next(iter(report["variants"].values()))
    return int(first["quality"]["examples"])
