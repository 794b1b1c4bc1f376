"""The data report as markdown: a section of the run report that a person reads."""

from __future__ import annotations

from typing import Any

#: How many likely mislabeled rows the markdown lists (data_report.json holds them all).
LABEL_ISSUES_SHOWN = 20


def label_issue_lines(found: dict[str, Any]) -> list[str]:
    """The likely mislabeled train rows, most suspect first."""
    if not found:
        return []
    if found.get("note"):
        return [f"Likely mislabeled rows: {found['note']}.", ""]
    action = (
        f"dropped from train ({found['dropped']} rows)"
        if found["dropped"]
        else "kept (data.label_issues: drop removes them)"
    )
    lines = [
        f"Likely mislabeled rows: {found['found']} of {found['checked_rows']} training rows, "
        f"{action}; found by {found['method']}"
        + (f" in {found['seconds']:.1f} s." if "seconds" in found else "."),
        "",
    ]
    if not found["issues"]:
        return lines
    shown = found["issues"][:LABEL_ISSUES_SHOWN]
    lines += [
        "| where | text | given | suggested | p(given) | p(suggested) |",
        "|---|---|---|---|---:|---:|",
    ]
    for issue in shown:
        text = issue["text"].replace("|", "\\|").replace("\n", " ")
        text = text if len(text) <= 80 else text[:77] + "..."
        lines.append(
            f"| {issue['where']} | {text} | {issue['given']} | {issue['suggested']} "
            f"| {issue['given_probability']:.2f} | {issue['suggested_probability']:.2f} |"
        )
    if len(found["issues"]) > len(shown):
        lines.append(f"\n({len(found['issues']) - len(shown)} more in data_report.json)")
    return [*lines, ""]


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
    lines += label_issue_lines(report.get("label_issues") or {})
    if report["warnings"]:
        lines += ["Warnings:", ""] + [f"- {w}" for w in report["warnings"]] + [""]
    if report["skipped_rows"]:
        lines += ["Skipped rows (first few):", ""]
        lines += [f"- {r['where']}: {r['reason']}" for r in report["skipped_rows"]] + [""]
    lines.append(f"Data fingerprint: `{report['fingerprint'][:16]}`")
    return "\n".join(lines) + "\n"
