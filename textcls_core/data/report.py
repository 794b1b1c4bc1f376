"""The data report as markdown: a section of the run report that a person reads."""

from __future__ import annotations

from typing import Any


def render_data_report(report: dict[str, Any]) -> str:
    """Render ``data_report.json`` as a markdown section."""
    labels = report["labels"]
    lines = ["## Data", ""]
    header = "| split | rows | " + " | ".join(labels) + " | median chars | provenance |"
    lines += [header, "|" + "---|" * (len(labels) + 4)]
    for name, split in report["splits"].items():
        counts = " | ".join(str(split["labels"].get(label, 0)) for label in labels)
        median = split["text_chars"].get("p50", 0)
        lines.append(
            f"| {name} | {split['rows']} | {counts} | {median:.0f} | {split['provenance']} |"
        )
    lines.append("")
    if report["dropped"]:
        lines += ["Rows dropped:", ""]
        for split, reasons in report["dropped"].items():
            for reason, count in reasons.items():
                lines.append(f"- {split}: {count} ({reason})")
        lines.append("")
    dup_lines = [
        f"- {split}: {d['exact']} exact, {d['normalised']} after normalisation"
        for split, d in report["duplicates"].items()
        if d["exact"] or d["normalised"]
    ]
    if dup_lines:
        lines += ["Duplicate rows found (same text and label):", "", *dup_lines, ""]
    if report["warnings"]:
        lines += ["Warnings:", ""] + [f"- {w}" for w in report["warnings"]] + [""]
    if report["skipped_rows"]:
        lines += ["Skipped rows (first few):", ""]
        lines += [f"- {r['where']}: {r['reason']}" for r in report["skipped_rows"]] + [""]
    lines.append(f"Data fingerprint: `{report['fingerprint'][:16]}`")
    return "\n".join(lines) + "\n"
