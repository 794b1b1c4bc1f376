"""A folder of ``.txt`` files: one subfolder per label, one example per file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from textcls import (
    DataError,
    LoadedSplit,
    SplitRequest,
    expand_inputs,
    find_undecodable_line,
    row_table,
)


class TextFolderParams(BaseModel):
    """Which files are examples, and how they are encoded."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = "*.txt"
    encoding: str = "utf-8"


class TextFolderSource:
    """``root/<label>/*.txt`` for labelled splits; every matching file below root for unlabelled."""

    def __init__(self, params: TextFolderParams) -> None:
        self.params = params

    def load(self, request: SplitRequest) -> LoadedSplit:
        roots = expand_inputs(request.inputs, request.field)
        files: list[str] = []
        texts: list[str] = []
        labels: list[str] = []
        for root in roots:
            root_path = Path(root)
            if not root_path.is_dir():
                raise DataError(
                    f"{request.field}: {root} is not a folder; the text-folder source "
                    "reads root/<label>/*.txt"
                )
            if request.labeled:
                label_dirs = sorted(p for p in root_path.iterdir() if p.is_dir())
                if not label_dirs:
                    raise DataError(
                        f"{root}: no label subfolders; put each class's "
                        f"{self.params.pattern} files in root/<label>/"
                    )
                found = [
                    (d.name, f) for d in label_dirs for f in sorted(d.glob(self.params.pattern))
                ]
            else:
                found = [("", f) for f in sorted(root_path.rglob(self.params.pattern))]
            if not found:
                raise DataError(f"{root}: no files match {self.params.pattern!r}")
            for label, path in found:
                try:
                    text = path.read_text(encoding=self.params.encoding)
                except UnicodeDecodeError:
                    raise DataError(
                        find_undecodable_line(str(path), self.params.encoding) or str(path)
                    ) from None
                files.append(str(path))
                texts.append(text.strip())
                labels.append(label)
        table = row_table(texts, labels if request.labeled else None, 0, [0] * len(texts))
        # Each example is its own file: _file points at it.
        table = table.set_column(
            table.schema.get_field_index("_file"), "_file", pa.array(range(len(files)), pa.int32())
        )
        return LoadedSplit(table, files, locator=lambda f, r: files[f])
