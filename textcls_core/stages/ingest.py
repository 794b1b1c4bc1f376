"""The ingest stage: sources -> cleaned, checked, split ``DatasetDict`` with a data report.

Output directory (written atomically)::

    data/
      dataset_dict.json, train/, validation/, test/   datasets.DatasetDict (Arrow)
      labels.json         ordered label names: this data's labels; ids stay stable for
                          labels that persist across retrains
      data_report.json    rows, labels, lengths, duplicates, leakage, conflicts, drops
      data_report.md      the same, for people
      fingerprint.json    content hash of the cleaned data plus source file stats

Rows stay in Arrow throughout. Every problem that stops the stage names ``file:line``; problems
the config allows (``bad_rows: skip``, ``leakage: drop``, duplicates) are counted and reported,
never dropped silently.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from textcls.artifact_files import (
    DATA_REPORT_JSON,
    DATA_REPORT_MD,
    FINGERPRINT_FILE,
    LABELS_FILE,
)
from textcls.artifacts import ArtifactRef, atomic_dir, quiet_datasets, write_json_atomic
from textcls.config import DataConfig, PipelineConfig
from textcls.data.clean import clean_texts, normalised_key
from textcls.data.fingerprint import content_fingerprint, source_stats
from textcls.data.labels import label_vocabulary, null_like_mask
from textcls.data.quality import (
    label_conflicts,
    leaked_mask,
    length_percentiles,
    repeated_mask,
)
from textcls.data.report import render_data_report
from textcls.data.splits import stratified_take
from textcls.data.table import FILE, LABEL, ROW, TEXT, LoadedSplit, SplitRequest
from textcls.errors import DataError

if TYPE_CHECKING:
    from textcls.data.label_issues import FoldModel
    from textcls.plugin_manager import PluginHost

log = logging.getLogger("textcls.ingest")

SPLITS = ("train", "validation", "test")
EVAL_SPLITS = ("validation", "test")
REPORT_SCHEMA_VERSION = 1
_EXAMPLES = 20  # how many skipped rows / examples a report lists by location


@dataclass
class _Split:
    """One split while ingest works on it: rows plus where they came from."""

    name: str
    table: pa.Table
    origin: LoadedSplit
    provenance: str

    def locate(self, index: int) -> str:
        return self.origin.locate(
            self.table.column(FILE)[index].as_py(), self.table.column(ROW)[index].as_py()
        )

    def take(self, indices: np.ndarray) -> pa.Table:
        return self.table.take(pa.array(indices, pa.int64()))


@dataclass
class _Report:
    splits: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates: dict[str, dict[str, int]] = field(default_factory=dict)
    conflicts: dict[str, Any] = field(default_factory=dict)
    leakage: dict[str, Any] = field(default_factory=dict)
    long_texts: dict[str, Any] = field(default_factory=dict)
    label_issues: dict[str, Any] = field(default_factory=dict)
    skipped_rows: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def drop(self, split: str, reason: str, count: int) -> None:
        if count:
            bucket = self.dropped.setdefault(split, {})
            bucket[reason] = bucket.get(reason, 0) + int(count)

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def skip(self, where: str, reason: str) -> None:
        if len(self.skipped_rows) < _EXAMPLES:
            self.skipped_rows.append({"where": where, "reason": reason})


def ingest(
    config: PipelineConfig,
    out_dir: str | Path,
    *,
    plugins: PluginHost | None = None,
    previous_labels: list[str] | None = None,
    model_labels: list[str] | None = None,
    score_only: bool = False,
) -> ArtifactRef:
    """Run the ingest stage for ``config`` and write its artifact to ``out_dir``.

    The label set is this data's own. ``previous_labels`` is the label order of the pipeline's
    previous run: labels that persist keep their order (stable ids), new labels are appended
    and labels the data no longer has are dropped, both reported. ``model_labels`` fixes the
    label set and order instead (scoring an existing model: its ids must match).
    ``score_only``: the data only scores existing models (``textcls evaluate --data FILE``),
    its train split is that same file and trains nothing, so train/test leakage is not checked.
    """
    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    data = config.data
    source = plugins.component("data_source", data.source.name).create(data.source.params)
    report = _Report()

    splits: dict[str, _Split] = {}
    for name in SPLITS:
        inputs = getattr(data, name)
        if inputs is None:
            continue
        request = SplitRequest(
            split=name,
            inputs=[inputs] if isinstance(inputs, str) else list(inputs),
            field=f"data.{name}",
            text_columns=[data.text_column]
            if isinstance(data.text_column, str)
            else list(data.text_column),
            text_separator=data.text_separator,
            label_column=data.label_column,
            bad_rows=data.bad_rows,
        )
        loaded = source.load(request)
        allowed = data.label_names or model_labels or []
        splits[name] = _prepare_split(name, loaded, data, report, allowed)

    _check_train(splits["train"])
    _carve_missing_splits(splits, data, config.seed, report)
    _limit_train(splits, data, config.seed, report)
    _check_eval_labels(splits)
    if not score_only:
        _handle_leakage(splits, data, report)
    if data.label_issues != "off" and not score_only:
        _handle_label_issues(splits["train"], splits["validation"], config, report, plugins)
    elif data.label_issues == "off":  # the report says the check was turned off, not skipped
        report.label_issues = {"policy": "off", "note": "not checked (data.label_issues: off)"}

    names, new_labels, dropped_labels = label_vocabulary(
        (str(v) for v in pc.unique(splits["train"].table.column(LABEL)).to_pylist()),
        previous=previous_labels,
        declared=data.label_names if model_labels is None else model_labels,
        declared_field="data.label_names" if model_labels is None else "the model's labels",
    )
    if new_labels:
        report.warn(f"new labels since the previous run, appended with new ids: {new_labels}")
    if dropped_labels:
        report.warn(
            f"labels of the previous run that this data no longer has, dropped: {dropped_labels}"
            " (models trained on it cannot predict them)"
        )

    for name, split in splits.items():
        lengths = pc.utf8_length(split.table.column(TEXT)).to_numpy()
        labels = split.table.column(LABEL)
        counts = pc.value_counts(labels).to_pylist()
        report.splits[name] = {
            "rows": split.table.num_rows,
            "provenance": split.provenance,
            "files": split.origin.files,
            "labels": {c["values"]: c["counts"] for c in sorted(counts, key=lambda c: c["values"])},
            "text_chars": length_percentiles(lengths),
        }
    return _write(
        out_dir,
        splits,
        names,
        (new_labels, dropped_labels),
        report,
        source_stats(splits_files(splits)),
    )


def splits_files(splits: dict[str, _Split]) -> list[str]:
    files: list[str] = []
    for split in splits.values():
        files.extend(f for f in split.origin.files if f not in files)
    return files


def _prepare_split(
    name: str, loaded: LoadedSplit, data: DataConfig, report: _Report, allowed: list[str]
) -> _Split:
    for row in loaded.skipped:
        report.skip(row.where, row.reason)
    report.drop(name, "malformed row", len(loaded.skipped))
    table = loaded.table
    if table.num_rows == 0:
        raise DataError(
            f"data.{name}: {', '.join(loaded.files)}: no data rows (only a header, "
            "or every row skipped). A split needs at least one example."
        )
    split = _Split(name, table, loaded, "given")

    labels = pc.utf8_trim_whitespace(table.column(LABEL).combine_chunks())
    # "NaN", "null", "N/A" ... are a tool's way of writing "no label", never a class.
    null_like = null_like_mask(labels, allowed)
    raw_labels = labels
    labels = pc.if_else(null_like, pa.scalar(None, pa.string()), labels)
    if data.label_names is not None:
        labels = _map_label_ids(split, labels, data.label_names)
    raw = table.column(TEXT).combine_chunks()
    cleaned = clean_texts(raw, data.cleaning)

    # Rows a classifier cannot learn from: null or empty text, null or empty label.
    empty_text = pc.fill_null(pc.equal(pc.utf8_length(cleaned), 0), True)
    empty_label = pc.fill_null(pc.equal(pc.utf8_length(labels), 0), True)
    bad = pc.or_(empty_text, empty_label)
    if pc.any(bad).as_py():
        bad_idx = np.flatnonzero(bad.to_numpy(zero_copy_only=False))
        empty_text_np = empty_text.to_numpy(zero_copy_only=False)

        def missing_label(i: int, empty: str = "empty or missing label") -> str:
            value = raw_labels[i].as_py()
            if value:
                return f"missing label ({value!r} means no value; not a class)"
            return empty

        if data.bad_rows == "error":
            first = int(bad_idx[0])
            what = "empty or missing text" if empty_text_np[first] else missing_label(first)
            column = data.text_column if empty_text_np[first] else data.label_column
            more = f" ({len(bad_idx) - 1} more such rows)" if len(bad_idx) > 1 else ""
            raise DataError(
                f"{split.locate(first)}: {what} in column {column!r}{more}. Fill it in, remove "
                "the row, or set data.bad_rows: skip to skip and report such rows."
            )
        for i in bad_idx[:_EXAMPLES]:
            reason = "empty text" if empty_text_np[i] else missing_label(int(i), "empty label")
            report.skip(split.locate(int(i)), reason)
        n_text = int(empty_text_np[bad_idx].sum())
        report.drop(name, "empty text", n_text)
        report.drop(name, "empty label", len(bad_idx) - n_text)

    keep = pc.invert(bad)
    lengths = pc.utf8_length(cleaned)
    if data.cleaning.min_chars > 1:
        short = pc.fill_null(pc.less(lengths, data.cleaning.min_chars), False)
        report.drop(
            name,
            f"shorter than {data.cleaning.min_chars} chars",
            pc.sum(pc.and_(short, keep)).as_py() or 0,
        )
        keep = pc.and_(keep, pc.invert(short))
    if data.cleaning.max_chars is not None:
        long_ = pc.fill_null(pc.greater(lengths, data.cleaning.max_chars), False)
        report.drop(
            name,
            f"longer than {data.cleaning.max_chars} chars",
            pc.sum(pc.and_(long_, keep)).as_py() or 0,
        )
        keep = pc.and_(keep, pc.invert(long_))

    # Exact duplicates compare the raw text, before cleaning made near-copies equal.
    exact = repeated_mask(raw, labels)[np.asarray(keep.to_numpy(zero_copy_only=False), bool)]
    del raw
    table = pa.table(
        {TEXT: cleaned, LABEL: labels, FILE: table.column(FILE), ROW: table.column(ROW)}
    ).filter(keep)
    split.table = table

    very_long = np.flatnonzero(pc.utf8_length(table.column(TEXT)).to_numpy() > data.long_text_chars)
    if len(very_long):
        first_long = split.locate(int(very_long[0]))
        report.long_texts[name] = {
            "count": int(len(very_long)),
            "threshold": data.long_text_chars,
            "first": first_long,
        }
        report.warn(
            f"{name}: {len(very_long)} texts longer than {data.long_text_chars} chars "
            f"(first at {first_long}); models truncate them to max_length tokens"
        )

    text, label = table.column(TEXT).combine_chunks(), table.column(LABEL).combine_chunks()
    cleaned_dup = repeated_mask(text, label)
    normalised = repeated_mask(normalised_key(text, data.cleaning), label)
    report.duplicates[name] = {
        "exact": int(exact.sum()),
        "after_cleaning": int(cleaned_dup.sum()),
        "normalised": int(normalised.sum()),
    }
    if data.drop_duplicates and cleaned_dup.any():
        report.drop(name, "duplicate", int(cleaned_dup.sum()))
        table = table.filter(pa.array(~cleaned_dup))
    n_conflicts, examples = label_conflicts(
        table.column(TEXT).combine_chunks(), table.column(LABEL).combine_chunks()
    )
    if n_conflicts:
        report.conflicts[name] = {"texts": n_conflicts, "examples": examples}
        report.warn(
            f"{name}: {n_conflicts} texts appear with more than one label "
            f"(e.g. {examples[0]['text'][:60]!r}: {examples[0]['labels']})"
        )
    split.table = table
    if table.num_rows == 0:
        skipped = report.skipped_rows
        example = (
            f"; first skipped: {skipped[0]['where']}: {skipped[0]['reason']}" if skipped else ""
        )
        raise DataError(
            f"data.{name}: {', '.join(loaded.files)}: no rows left after skipping bad rows and "
            f"dropping empty, short, long or duplicate ones ({_drops(report, name)}"
            f"{example}). A split needs at least one usable example: fix the data, or relax "
            "data.cleaning."
        )
    return split


def _drops(report: _Report, split: str) -> str:
    dropped = report.dropped.get(split, {})
    return ", ".join(f"{reason}: {count}" for reason, count in dropped.items()) or "none"


def _map_label_ids(split: _Split, labels: pa.Array, names: list[str]) -> pa.Array:
    """Integer labels become names from ``data.label_names``; names pass through."""
    values = labels.to_pylist()
    mapped: list[str | None] = []
    known = set(names)
    for i, value in enumerate(values):
        if value is None or value == "" or value in known:
            mapped.append(value)
        elif value.lstrip("-").isdigit() and 0 <= int(value) < len(names):
            mapped.append(names[int(value)])
        else:
            raise DataError(
                f"{split.locate(i)}: label {value!r} is neither a name in data.label_names nor "
                f"an id from 0 to {len(names) - 1}. Fix the row or extend data.label_names."
            )
    return pa.array(mapped, pa.string())


def _check_train(train: _Split) -> None:
    classes = pc.unique(train.table.column(LABEL)).to_pylist()
    if len(classes) < 2:
        raise DataError(
            f"data.train: every training row has the label {classes[0]!r} "
            f"({', '.join(train.origin.files)}). A classifier needs at least two classes: check "
            "data.label_column, or add examples of the other classes."
        )


def _carve_missing_splits(
    splits: dict[str, _Split], data: DataConfig, seed: int, report: _Report
) -> None:
    """Carve test, then validation, from train where the config gives none."""
    train = splits["train"]
    total = train.table.num_rows
    for name, fraction in (("test", data.test_fraction), ("validation", data.validation_fraction)):
        if name in splits:
            continue
        count = max(1, round(total * fraction))
        if count >= train.table.num_rows:
            raise DataError(
                f"data.train has {train.table.num_rows} rows: too few to carve a "
                f"{name} split of {count}. Give data.{name} or more data."
            )
        rest, taken, warning = stratified_take(_label_codes(train.table), count, seed)
        if warning:
            report.warn(f"carving {name} from train: {warning}")
        splits[name] = _Split(
            name,
            train.take(taken),
            train.origin,
            f"carved from train ({count} rows, stratified, seed {seed})",
        )
        train.table = train.take(rest)


def _limit_train(splits: dict[str, _Split], data: DataConfig, seed: int, report: _Report) -> None:
    train = splits["train"]
    limit = data.max_train_examples
    if limit is None or train.table.num_rows <= limit:
        return
    _, kept, warning = stratified_take(_label_codes(train.table), limit, seed)
    if warning:
        report.warn(f"limiting train to {limit}: {warning}")
    report.drop("train", "over max_train_examples", train.table.num_rows - limit)
    train.table = train.take(kept)


def _label_codes(table: pa.Table) -> np.ndarray:
    """Labels as small integers: stratifying on them is far cheaper than on strings."""
    encoded = pc.dictionary_encode(table.column(LABEL).combine_chunks())
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False))


def _check_eval_labels(splits: dict[str, _Split]) -> None:
    known = set(pc.unique(splits["train"].table.column(LABEL)).to_pylist())
    for name in EVAL_SPLITS:
        split = splits[name]
        labels = split.table.column(LABEL).to_pylist()
        unseen = sorted({v for v in labels if v not in known})
        if unseen:
            first = next(i for i, v in enumerate(labels) if v not in known)
            count = sum(1 for v in labels if v not in known)
            raise DataError(
                f"{split.locate(first)}: {name} has labels that train never saw: "
                f"{', '.join(map(repr, unseen))} ({count} rows). A model cannot predict them; "
                f"fix the labels, or add training examples of them."
            )


def _handle_leakage(splits: dict[str, _Split], data: DataConfig, report: _Report) -> None:
    train_texts = splits["train"].table.column(TEXT).combine_chunks()
    for name in EVAL_SPLITS:
        split = splits[name]
        mask = leaked_mask(split.table.column(TEXT).combine_chunks(), train_texts)
        count = int(mask.sum())
        if not count:
            continue
        first = split.locate(int(np.flatnonzero(mask)[0]))
        leaked = split.table.column(TEXT).filter(pa.array(mask))
        distinct = len(pc.unique(leaked.combine_chunks()))
        report.leakage[name] = {
            "rows": count,
            "distinct_texts": distinct,
            "policy": data.leakage,
            "first": first,
        }
        message = (
            f"{name}: {count} of {split.table.num_rows} rows have a text that also "
            f"appears in train (first at {first})"
        )
        if data.leakage == "error":
            raise DataError(
                f"{first}: {message}. Remove them, or set data.leakage: drop (drop "
                "them from the evaluation split) or warn."
            )
        if data.leakage == "drop":
            report.drop(name, "also in train", count)
            split.table = split.table.filter(pa.array(~mask))
            report.warn(message + "; dropped from " + name)
        else:
            report.warn(message + "; scores on it are optimistic (data.leakage: drop removes them)")


# More than this share of train flagged is no longer a few wrong labels (10% flips flag 15-20%
# on the benchmarks): a drop still happens, as asked, but with a warning.
_MOST_A_DROP_EXPLAINS = 1 / 3


def _handle_label_issues(
    train: _Split,
    validation: _Split,
    config: PipelineConfig,
    report: _Report,
    plugins: PluginHost,
) -> None:
    """List likely mislabeled train rows (cleanlab); ``drop`` also removes them from train.

    With ``label_issues_model: teacher`` each fold's teacher validates on ``validation``.
    """
    from textcls.config import label_issue_encoder
    from textcls.data.label_issues import (
        find_label_issues,
        issue_records,
        method,
        resolved_filter,
    )
    from textcls.pretrained import resolve_pretrained

    data = config.data
    texts = train.table.column(TEXT).to_pylist()
    labels = train.table.column(LABEL).to_pylist()
    encoder = label_issue_encoder(config)
    teacher: FoldModel | None = None
    if data.label_issues_model == "teacher":
        teacher = _teacher_fold_model(config, texts, validation, plugins)
    log.info(
        "looking for likely mislabeled rows among %d training rows (%s)",
        len(texts),
        data.label_issues_model,
    )
    start = time.perf_counter()
    issues, skipped = find_label_issues(
        texts,
        labels,
        config.seed,
        encoder=encoder,
        encoder_dir=None if encoder is None else resolve_pretrained(encoder, plugins),
        trust_remote_code=bool(
            config.teacher is not None and config.teacher.model.params.get("trust_remote_code")
        ),
        teacher=teacher,
        filter_by=data.label_issues_filter,
    )
    seconds = time.perf_counter() - start
    where = [train.locate(issue.index) for issue in issues]
    located = {issue.index: place for issue, place in zip(issues, where, strict=True)}
    report.label_issues = {
        "model": data.label_issues_model,
        "method": method(encoder, teacher=teacher is not None, filter_by=data.label_issues_filter),
        "filter": resolved_filter(data.label_issues_filter, teacher=teacher is not None),
        "seconds": round(seconds, 2),
        "policy": data.label_issues,
        "checked_rows": len(texts),
        "found": len(issues),
        "dropped": 0,
        "note": skipped,
        "issues": issue_records(issues, texts, [located.get(i, "") for i in range(len(texts))]),
    }
    if skipped is not None:
        # asked for a check (drop above all) and got none: say so where warnings are read
        report.warn(
            f"likely mislabeled rows {skipped}; nothing was "
            f"{'dropped' if data.label_issues == 'drop' else 'listed'} "
            f"(data.label_issues: {data.label_issues}). Add training rows of that class, "
            "or set data.label_issues: off"
        )
    if not issues:
        return
    share = len(issues) / len(texts)
    if data.label_issues == "drop":
        if len(issues) >= len(texts) - 1:
            raise DataError(
                f"data.label_issues: drop would remove {len(issues)} of {len(texts)} training "
                "rows; the labels look unrelated to the texts (check data.label_column), or "
                "set data.label_issues: report"
            )
        keep = np.ones(len(texts), dtype=bool)
        keep[[issue.index for issue in issues]] = False
        train.table = train.table.filter(pa.array(keep))
        report.label_issues["dropped"] = len(issues)
        report.drop("train", "likely mislabeled (data.label_issues: drop)", len(issues))
        _check_train(train)
        log.info("dropped %d likely mislabeled training rows (%.1f%%)", len(issues), 100 * share)
        if share > _MOST_A_DROP_EXPLAINS:
            report.warn(
                f"data.label_issues: drop removed {len(issues)} of {len(texts)} training rows "
                f"({100 * share:.0f}%): that many suggests a wrong data.label_column or labels "
                "unrelated to the texts, not a few slips; read the list with "
                "data.label_issues: report before dropping"
            )
    else:
        log.info(
            "%d training rows (%.1f%%) look mislabeled, first at %s; listed in the data report "
            "(data.label_issues: drop removes them)",
            len(issues),
            100 * share,
            where[0],
        )


def _teacher_fold_model(
    config: PipelineConfig, texts: list[str], validation: _Split, plugins: PluginHost
) -> FoldModel:
    """The teacher's out-of-fold probabilities, validating each fold on ``validation``."""
    from textcls.data.teacher_folds import teacher_out_of_fold_probabilities

    validation_texts = validation.table.column(TEXT).to_pylist()
    validation_labels = validation.table.column(LABEL).to_pylist()

    def fold_model(
        codes: np.ndarray, names: list[str], folds: list[tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        # validation's labels are all train labels (_check_eval_labels)
        validation_codes = np.asarray([names.index(y) for y in validation_labels], np.int64)
        return teacher_out_of_fold_probabilities(
            config,
            texts,
            codes,
            names,
            folds,
            (validation_texts, validation_codes),
            plugins=plugins,
        )

    return fold_model


def _write(
    out_dir: str | Path,
    splits: dict[str, _Split],
    names: list[str],
    label_changes: tuple[list[str], list[str]],
    report: _Report,
    sources: list[dict[str, Any]],
) -> ArtifactRef:
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    tables = {}
    for name in SPLITS:
        table = splits[name].table
        ids = pc.index_in(table.column(LABEL), value_set=pa.array(names, pa.string()))
        tables[name] = pa.table({"text": table.column(TEXT), "label": pc.cast(ids, pa.int64())})
    fingerprint = content_fingerprint(tables, names)
    dataset = datasets.DatasetDict(
        {
            name: datasets.Dataset(
                table.cast(features.arrow_schema), info=datasets.DatasetInfo(features=features)
            )
            for name, table in tables.items()
        }
    )
    data_report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "labels": names,
        "new_labels": label_changes[0],
        "dropped_labels": label_changes[1],
        "splits": report.splits,
        "dropped": report.dropped,
        "duplicates": report.duplicates,
        "conflicts": report.conflicts,
        "leakage": report.leakage,
        "long_texts": report.long_texts,
        "label_issues": report.label_issues,
        "skipped_rows": report.skipped_rows,
        "warnings": report.warnings,
        "fingerprint": fingerprint,
    }
    with atomic_dir(out_dir) as tmp, quiet_datasets():
        dataset.save_to_disk(str(tmp))
        write_json_atomic(tmp / LABELS_FILE, names)
        write_json_atomic(tmp / DATA_REPORT_JSON, data_report)
        write_json_atomic(
            tmp / FINGERPRINT_FILE, {"content_sha256": fingerprint, "sources": sources}
        )
        (tmp / DATA_REPORT_MD).write_text(render_data_report(data_report), encoding="utf-8")
    return ArtifactRef(stage="ingest", path=str(Path(out_dir).resolve()), sha256=fingerprint)
