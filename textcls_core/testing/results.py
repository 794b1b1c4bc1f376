"""What one conformance check found, and the runner that records a battery of them.

A battery is a sequence of named checks where later checks use what earlier ones built (the
model, its saved folder, its ONNX export). A check that raises fails with the error's first
line; the checks that depend on it are skipped rather than failing for the same reason twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    """One row of a conformance report."""

    kind: str
    component: str
    check: str
    status: Status
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Passed or skipped: nothing is wrong with the component."""
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CheckFailed(Exception):
    """Raised inside a check to fail it with a message that says what to fix."""


class Battery:
    """Run checks in order and record one ``CheckResult`` each."""

    def __init__(self, kind: str, component: str) -> None:
        self.kind = kind
        self.component = component
        self.results: list[CheckResult] = []
        self._failed: set[str] = set()

    def run(self, check: str, body: Callable[[], str | None], needs: Iterable[str] = ()) -> bool:
        """Run ``body`` (returns a detail line, or None); False when it failed or was skipped."""
        missing = [name for name in needs if name in self._failed]
        if missing:
            self._record(check, "skipped", f"needs {', '.join(missing)}, which failed")
            self._failed.add(check)
            return False
        start = time.perf_counter()
        try:
            detail = body()
        except CheckFailed as exc:
            self._record(check, "failed", str(exc), start)
            self._failed.add(check)
            return False
        except Exception as exc:  # any error in a plugin's code is a failed check, never a crash
            self._record(check, "failed", describe_error(exc), start)
            self._failed.add(check)
            return False
        self._record(check, "passed", detail or "", start)
        return True

    def skip(self, check: str, reason: str) -> None:
        """Record a check that does not apply to this component."""
        self._record(check, "skipped", reason)

    def _record(self, check: str, status: Status, detail: str, start: float | None = None) -> None:
        seconds = time.perf_counter() - start if start is not None else 0.0
        self.results.append(
            CheckResult(self.kind, self.component, check, status, detail, round(seconds, 3))
        )


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line: enough to find the problem, short enough for a row."""
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failures(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status == "failed"]


def format_results(results: Iterable[CheckResult]) -> str:
    """A plain-text table, for assertion messages and logs."""
    rows = [(r.kind, r.component, r.check, r.status, f"{r.seconds:.1f}", r.detail) for r in results]
    header = ("kind", "component", "check", "status", "s", "detail")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(5)]
    lines = []
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row[:5], widths, strict=True)]
        lines.append("  ".join([*cells, str(row[5])]).rstrip())
    return "\n".join(lines)


def as_json(results: Iterable[CheckResult]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in results]
