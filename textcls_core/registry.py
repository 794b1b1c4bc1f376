"""The model registry: numbered versions of a pipeline's chosen model and a champion pointer.

Layout, one folder per pipeline::

    <registry>/<pipeline>/
      versions/<n>/
        model/          the registered model folder (PyTorch or ONNX), copied
        test.jsonl      the test set it was chosen on: {"text", "label"} per line
        manifest.json   the run's lineage: config, data fingerprint, stage hashes, versions
        version.json    number, run, variant, model hash, its own metrics, the decision
      champion.json     the champion and the promotion history (replaced atomically)
      .lock             held by whoever writes

Why the champion's test set: a challenger is scored on the test set the champion was chosen
on, never on its own. A retrain on new data brings a new test split, and a model should not
win promotion because it was graded on different (perhaps easier) examples.

Writes are crash-safe: a version folder is built under a temporary name and renamed into place,
and ``champion.json`` is replaced in one rename, so a killed run leaves either the old registry
or the new one. The lock is an OS file lock: a killed holder releases it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textcls.artifact_files import MANIFEST_FILE
from textcls.artifacts import atomic_dir, directory_sha256, write_json_atomic
from textcls.errors import TextclsError
from textcls.evaluation.intervals import paired_difference_interval
from textcls.model_card import write_model_card
from textcls.model_folder import META_FILE

METRICS = ("accuracy", "macro_f1")


class RegistryError(TextclsError):
    """A registry operation that cannot be done as asked (unknown version, nothing to undo)."""

    exit_code = 2


@dataclass
class Decision:
    """What registering a model did, and why."""

    version: int
    promoted: bool
    reason: str
    metric: str
    min_improvement: float
    champion_version: int | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    delta: float | None = None
    delta_ci95: tuple[float, float] | None = None
    test_examples: int | None = None
    already_registered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(labels: Sequence[str] | Any, predicted: Sequence[str] | Any, metric: str) -> float:
    """Accuracy or macro-F1 over label names (the two models may order labels differently)."""
    from sklearn.metrics import accuracy_score, f1_score

    if metric == "accuracy":
        return float(accuracy_score(labels, predicted))
    return float(f1_score(labels, predicted, average="macro", zero_division=0))


def read_test_set(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(row["label"])
    return texts, labels


class Registry:
    """One pipeline's registry folder."""

    def __init__(self, root: str | Path, pipeline: str, lock_timeout_s: float = 600.0):
        self.root = Path(root)
        self.pipeline = pipeline
        self.folder = self.root / pipeline
        self.lock_timeout_s = lock_timeout_s

    # -- reading ------------------------------------------------------------------------------

    @property
    def versions_dir(self) -> Path:
        return self.folder / "versions"

    def version_numbers(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in self.versions_dir.iterdir()
            if p.name.isdigit() and (p / "version.json").is_file()
        )

    def version(self, number: int) -> dict[str, Any]:
        path = self.versions_dir / str(number) / "version.json"
        if not path.is_file():
            known = ", ".join(map(str, self.version_numbers())) or "none"
            raise RegistryError(f"{self.folder}: no version {number} (versions: {known})")
        info: dict[str, Any] = json.loads(path.read_text())
        info["path"] = str(path.parent)
        info["status"] = self._status(number)
        return info

    def versions(self) -> list[dict[str, Any]]:
        return [self.version(n) for n in self.version_numbers()]

    def champion_state(self) -> dict[str, Any]:
        path = self.folder / "champion.json"
        if not path.is_file():
            return {"version": None, "lineage": [], "history": []}
        state: dict[str, Any] = json.loads(path.read_text())
        return state

    def champion(self) -> int | None:
        version: int | None = self.champion_state()["version"]
        return version

    def model_dir(self, number: int) -> Path:
        return self.versions_dir / str(number) / "model"

    def _status(self, number: int) -> str:
        state = self.champion_state()
        if state["version"] == number:
            return "champion"
        if any(entry["version"] == number for entry in state["history"]):
            return "former champion"
        return "candidate"

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive access for one writer; other runs of the pipeline wait for it."""
        from filelock import FileLock, Timeout

        self.folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.folder / ".lock"), timeout=self.lock_timeout_s)
        try:
            with lock:
                yield
        except Timeout:
            raise RegistryError(
                f"{self.folder}: another run held the registry lock for over "
                f"{self.lock_timeout_s:.0f} s; try again when it has finished "
                "(registry.lock_timeout_s sets the wait)"
            ) from None

    def register(
        self,
        model_dir: str | Path,
        *,
        test_texts: Sequence[str],
        test_labels: Sequence[str],
        manifest: dict[str, Any],
        metrics: dict[str, Any],
        variant: str,
        metric: str = "accuracy",
        min_improvement: float = 0.0,
    ) -> Decision:
        """Add the model as the next version; promote it if it beats the champion enough."""
        if metric not in METRICS:
            raise RegistryError(f"registry.metric: {metric!r} is not one of {', '.join(METRICS)}")
        model_dir = Path(model_dir)
        sha = directory_sha256(model_dir)
        with self.lock():
            for number in self.version_numbers():
                known = self.version(number)
                if known["model_sha256"] == sha:
                    return Decision(
                        version=number,
                        promoted=False,
                        reason=f"this model is already version {number} ({known['status']})",
                        metric=metric,
                        min_improvement=min_improvement,
                        champion_version=self.champion(),
                        already_registered=True,
                    )
            number = (self.version_numbers() or [0])[-1] + 1
            decision = self._decide(
                number, model_dir, test_texts, test_labels, metric, min_improvement
            )
            with atomic_dir(self.versions_dir / str(number)) as tmp:
                shutil.copytree(model_dir, tmp / "model", symlinks=False)
                write_model_card(
                    tmp / "model",
                    json.loads((tmp / "model" / META_FILE).read_text()),
                    evaluation=metrics,
                    registered={
                        "pipeline": self.pipeline,
                        "version": number,
                        "variant": variant,
                        "run_id": manifest.get("run_id"),
                        "reason": decision.reason,
                    },
                )
                with (tmp / "test.jsonl").open("w", encoding="utf-8") as handle:
                    for text, label in zip(test_texts, test_labels, strict=True):
                        handle.write(json.dumps({"text": text, "label": label}) + "\n")
                write_json_atomic(tmp / MANIFEST_FILE, manifest)
                write_json_atomic(
                    tmp / "version.json",
                    {
                        "version": number,
                        "pipeline": self.pipeline,
                        "run_id": manifest.get("run_id"),
                        "variant": variant,
                        "model_sha256": sha,
                        "registered": datetime.now(UTC).isoformat(),
                        "metrics": metrics,
                        "decision": decision.to_dict(),
                    },
                )
            if decision.promoted:
                self._set_champion(number, decision.reason)
            return decision

    def _decide(
        self,
        number: int,
        model_dir: Path,
        test_texts: Sequence[str],
        test_labels: Sequence[str],
        metric: str,
        min_improvement: float,
    ) -> Decision:
        from textcls.predictor import Predictor

        champion = self.champion()
        if champion is None:
            return Decision(
                version=number,
                promoted=True,
                reason="first version: there is no champion yet",
                metric=metric,
                min_improvement=min_improvement,
                test_examples=len(test_texts),
            )
        texts, labels = read_test_set(self.versions_dir / str(champion) / "test.jsonl")
        challenger = [p.label for p in Predictor.load(model_dir).predict(texts)]
        incumbent = [p.label for p in Predictor.load(self.model_dir(champion)).predict(texts)]
        challenger_score = score(labels, challenger, metric)
        champion_score = score(labels, incumbent, metric)
        delta = challenger_score - champion_score
        interval = paired_difference_interval(labels, challenger, incumbent, metric)
        promoted = delta > 0 and delta >= min_improvement
        comparison = (
            f"{metric} {challenger_score:.4f} vs champion v{champion}'s {champion_score:.4f} "
            f"on its test set ({len(texts)} examples): {delta:+.4f}, 95% interval "
            f"[{interval[0]:+.4f}, {interval[1]:+.4f}]"
        )
        if promoted:
            reason = f"promoted: {comparison}, at least the required {min_improvement:+.4f}"
        else:
            reason = (
                f"kept as a candidate: {comparison}; promotion needs more than 0 and at least "
                f"{min_improvement:+.4f}"
            )
        if promoted and interval[0] <= 0:
            reason += " (the interval includes 0: the gain may be noise)"
        return Decision(
            version=number,
            promoted=promoted,
            reason=reason,
            metric=metric,
            min_improvement=min_improvement,
            champion_version=champion,
            challenger_score=challenger_score,
            champion_score=champion_score,
            delta=delta,
            delta_ci95=interval,
            test_examples=len(texts),
        )

    def _set_champion(self, number: int, reason: str) -> None:
        state = self.champion_state()
        state["version"] = number
        state["lineage"] = [*state["lineage"], number]
        state["history"] = [
            *state["history"],
            {"version": number, "at": datetime.now(UTC).isoformat(), "reason": reason},
        ]
        write_json_atomic(self.folder / "champion.json", state)

    def promote(self, number: int, reason: str = "promoted by hand") -> None:
        """Make a version the champion regardless of the metric (an operator's decision)."""
        with self.lock():
            self.version(number)  # exists, or a clear error
            if self.champion() == number:
                raise RegistryError(f"version {number} is already the champion")
            self._set_champion(number, reason)

    def rollback(self) -> int:
        """Make the previous champion the champion again; returns its version."""
        with self.lock():
            state = self.champion_state()
            lineage = list(state["lineage"])
            if len(lineage) < 2:
                raise RegistryError(
                    f"{self.folder}: nothing to roll back to "
                    f"({'no champion yet' if not lineage else 'only one champion so far'})"
                )
            current = lineage.pop()
            previous = lineage[-1]
            state.update(
                version=previous,
                lineage=lineage,
                history=[
                    *state["history"],
                    {
                        "version": previous,
                        "at": datetime.now(UTC).isoformat(),
                        "reason": f"rollback from version {current}",
                    },
                ],
            )
            write_json_atomic(self.folder / "champion.json", state)
            return previous
