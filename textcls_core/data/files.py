"""Input files: globs, existence, byte-order marks, empty files and undecodable bytes.

These checks run before a parser sees a file, so the user gets "file:line: what is wrong, how
to fix it" instead of a parser's stack trace.
"""

from __future__ import annotations

import codecs
import glob
from collections.abc import Sequence
from pathlib import Path

from textcls.errors import DataError

_BOMS = (
    (codecs.BOM_UTF8, "UTF-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE", "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE", "utf-16"),
)


def expand_inputs(patterns: str | Sequence[str], field: str) -> list[str]:
    """Expand files and globs in order; a pattern that matches nothing is an error."""
    if isinstance(patterns, str):
        patterns = [patterns]
    files: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise DataError(
                    f"{field}: no file matches {pattern!r}. Check the pattern; relative paths "
                    "resolve against the pipeline file's folder."
                )
            files.extend(matches)
        else:
            if not Path(pattern).exists():
                raise DataError(
                    f"{field}: file not found: {pattern}. Check the path; relative paths resolve "
                    "against the pipeline file's folder."
                )
            files.append(pattern)
    return files


def check_file_start(path: str, encoding: str) -> None:
    """Reject empty files and byte-order marks the declared encoding would misread."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        raise DataError(f"{path}: the file is empty; it needs a header line and data rows.")
    normalised = codecs.lookup(encoding).name
    if normalised == "utf-16" and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(
            f"{path}:1: the declared encoding {encoding!r} needs a UTF-16 byte-order mark, and "
            "this file has none (it is probably UTF-8). data.source.params.encoding applies to "
            "every split: save all files in one encoding, or set utf-16-le / utf-16-be if the "
            "file really is UTF-16 without a mark."
        )
    for bom, bom_name, fix in _BOMS:
        if head.startswith(bom):
            if normalised in ("utf-8-sig", "utf-16") or (
                bom_name.startswith("UTF-16") and normalised.startswith("utf-16")
            ):
                return
            raise DataError(
                f"{path}:1: the file starts with a {bom_name} byte-order mark, which the declared "
                f"encoding {encoding!r} would read as part of the first column name. Set "
                f"data.source.params.encoding: {fix}, or save the file without a BOM."
            )


def find_undecodable_line(path: str, encoding: str) -> str | None:
    """Return ``path:line: ...`` for the first line with bytes invalid in ``encoding``."""
    decoder_factory = codecs.getincrementaldecoder(encoding)
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                decoder_factory(errors="strict").decode(raw, final=False)
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.end]
                return (
                    f"{path}:{line_number}: bytes {bad!r} at column {exc.start + 1} are not valid "
                    f"{encoding}. Set data.source.params.encoding to the file's real encoding "
                    "(for example latin-1 or cp1252), or re-save the file as UTF-8."
                )
    return None
