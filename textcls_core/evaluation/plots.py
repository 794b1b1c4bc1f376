"""The report's pictures (matplotlib, Agg): confusion matrices, reliability, accuracy vs speed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from textcls.evaluation.report import human_size  # noqa: E402


def confusion_heatmap(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: Path
) -> None:
    values = np.asarray(matrix)
    size = max(4.0, 0.9 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title)
    threshold = values.max() / 2 if values.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(
                j,
                i,
                str(values[i, j]),
                ha="center",
                va="center",
                color="white" if values[i, j] > threshold else "black",
            )
    fig.colorbar(image, ax=ax, label="examples")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_diagram(
    curves: dict[str, list[dict[str, float]]],
    path: Path,
    before: dict[str, list[dict[str, float]]] | None = None,
) -> None:
    """Accuracy against confidence per bin; ``before`` (uncalibrated) dashed in the same colour."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for name, bins in curves.items():
        used = [b for b in bins if b["count"]]
        calibrated = bool(before and name in before)
        (line,) = ax.plot(
            [b["confidence"] for b in used],
            [b["accuracy"] for b in used],
            marker="o",
            label=f"{name} (calibrated)" if calibrated else name,
        )
        if before and name in before:
            raw = [b for b in before[name] if b["count"]]
            ax.plot(
                [b["confidence"] for b in raw],
                [b["accuracy"] for b in raw],
                marker="x",
                linestyle=":",
                color=line.get_color(),
                label=f"{name} (before calibration)",
            )
    ax.set_xlabel("confidence (mean top-class probability in bin)")
    ax.set_ylabel("accuracy in bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pareto_chart(points: dict[str, dict[str, Any]], path: Path) -> None:
    """Accuracy against batch throughput (log scale); marker area grows with size on disk."""
    fig, ax = plt.subplots(figsize=(9, 5.5))
    sizes = [max(p["size_mb"], 0.001) for p in points.values()]
    scale = 900 / max(sizes)
    for (name, p), size in zip(points.items(), sizes, strict=True):
        ax.scatter(
            p["throughput"],
            p["accuracy"],
            s=40 + size * scale,
            alpha=0.6,
            label=f"{name} ({human_size(size)})",
        )
        ax.annotate(
            name,
            (p["throughput"], p["accuracy"]),
            textcoords="offset points",
            xytext=(8, 8),
            fontsize=8,
        )
    frontier = _frontier(points)
    if len(frontier) > 1:
        ax.plot(
            [points[n]["throughput"] for n in frontier],
            [points[n]["accuracy"] for n in frontier],
            color="black",
            linewidth=1,
            linestyle=":",
            label="Pareto frontier",
        )
    ax.set_xscale("log")
    ax.set_xlabel("throughput (examples/s, log scale)")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy vs throughput (marker size: model size on disk)")
    ax.margins(x=0.15, y=0.15)
    legend = ax.legend(
        loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, title="variant (size)"
    )
    for handle in legend.legend_handles:
        set_sizes = getattr(handle, "set_sizes", None)
        if set_sizes is not None:  # same-size legend markers, whatever the model size
            set_sizes([40])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _frontier(points: dict[str, dict[str, Any]]) -> list[str]:
    """Variants no other variant beats on both accuracy and throughput, by throughput."""
    names = sorted(points, key=lambda n: points[n]["throughput"])
    frontier, best = [], -1.0
    for name in reversed(names):
        if points[name]["accuracy"] > best:
            frontier.append(name)
            best = points[name]["accuracy"]
    return sorted(frontier, key=lambda n: points[n]["throughput"])
