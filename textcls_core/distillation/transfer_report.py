"""One line for the evaluation report: how big the student's transfer set was, what it cost.

The distillation stage records the transfer set's make-up and each teacher's pass over it in the
student's ``textcls.json`` (``distill.transfer``); the report shows it beside the student, so a
slow teacher pass (or one the cache saved) is visible where the run's results are read.
"""

from __future__ import annotations

from typing import Any


def transfer_note(meta: dict[str, Any]) -> str | None:
    """The note for a distilled student's row; None for any other model folder."""
    transfer = (meta.get("distill") or {}).get("transfer")
    if not isinstance(transfer, dict) or "onnx" in meta:  # an exported copy: note it once
        return None
    parts = [f"train {transfer.get('train', 0):,}"]
    for source in ("unlabeled", "augmented"):
        if transfer.get(source):
            parts.append(f"{source} {transfer[source]:,}")
    note = f"transfer set: {transfer.get('total', 0):,} texts ({', '.join(parts)})"
    for i, one in enumerate(transfer.get("teacher_pass") or []):
        who = "teacher" if i == 0 else f"teacher {i + 1}"
        cached = one["distinct"] - one["scored"]
        rate = f", {one['texts_per_s']:,.0f} texts/s" if one.get("texts_per_s") else ""
        note += (
            f"; {who} pass: {one['scored']:,} distinct texts scored in {one['seconds']:.1f} s"
            f"{rate}, {cached:,} from the cache"
        )
    return note
