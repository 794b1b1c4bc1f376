"""The conformance battery for a data-source component: bad input gets a located error.

A source reads files it has never seen; what matters is what happens when one is wrong. The
checks hand it a file of undecodable bytes and a path that does not exist, and expect a
``textcls.DataError`` (or another ``TextclsError``) that names the file, never a parser's own
exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textcls.contracts import DataSourceCapabilities
from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult

BAD_BYTES = b"text,label\nfine,1\n\xff\xfe\xfa not \x80\x81 text,0\n{\x00\x9f\n"


def check_source(
    name: str, params: dict[str, Any] | None = None, *, workdir: str | Path
) -> list[CheckResult]:
    """Run every data-source check on the data-source component ``name``."""
    from textcls.plugin_manager import get_plugins

    component = get_plugins().component("data_source", name)
    battery = Battery("data_source", name)
    sources: list[Any] = []
    battery.run("build", lambda: _build(component, sample_params(component, params), sources))
    if not component.capabilities_as(DataSourceCapabilities).local_files:
        for check in ("bad-file", "missing-file"):
            battery.skip(check, "reads no local files")
        return battery.results
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    bad = work / "bad-input.data"
    bad.write_bytes(BAD_BYTES)
    battery.run("bad-file", lambda: _located(sources[0], bad), needs=["build"])
    battery.run(
        "missing-file", lambda: _located(sources[0], work / "missing.data"), needs=["build"]
    )
    return battery.results


def _build(component: Any, params: dict[str, Any], sources: list[Any]) -> str:
    source = component.create(params)
    if not callable(getattr(source, "load", None)):
        raise CheckFailed(
            f"the factory returned a {type(source).__name__} without load(SplitRequest)"
        )
    sources.append(source)
    return type(source).__name__


def _located(source: Any, path: Path) -> str:
    from textcls.data.table import SplitRequest
    from textcls.errors import TextclsError

    request = SplitRequest(split="train", inputs=[str(path)], field="data.train")
    try:
        loaded = source.load(request)
    except TextclsError as exc:
        message = str(exc)
        if path.name not in message:
            raise CheckFailed(
                f"the error does not say which file: {message.splitlines()[0]!r}; start the "
                "message with the path (and line)"
            ) from None
        return message.splitlines()[0]
    except Exception as exc:
        raise CheckFailed(
            f"raised {type(exc).__name__} ({str(exc).strip().splitlines()[0][:120]}) instead "
            "of textcls.DataError; catch the parser's error and raise DataError naming the "
            "file and line"
        ) from None
    rows = getattr(getattr(loaded, "table", None), "num_rows", "?")
    raise CheckFailed(
        f"{path.name} loaded without an error ({rows} rows); raise textcls.DataError naming "
        "the file and line"
    )
