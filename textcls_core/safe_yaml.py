"""YAML for pipeline files: safe, strict and bounded.

``yaml.safe_load`` never runs code, but it accepts three things a pipeline file should not:
a later duplicate key silently replaces an earlier one (a typo that loses settings), aliases
can expand exponentially (a "billion laughs" file of a few hundred bytes takes gigabytes), and
the file may be in any encoding. This loader refuses each with the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import yaml
from textcls.errors import ConfigError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent

#: A pipeline file is a few kilobytes; anything this large is a mistake or an attack.
MAX_YAML_BYTES = 1 << 20
#: Aliases (``*name``) per document: plenty for shared sections, far too few to explode.
MAX_ALIASES = 64


class _YamlLimit(yaml.YAMLError):
    """A limit of this loader was hit; carries a message and the line."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and more than ``MAX_ALIASES`` aliases."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _YamlLimit(
                    f"more than {MAX_ALIASES} aliases (*name); a pipeline file needs far fewer "
                    "(this limit stops files that expand exponentially)",
                    self.peek_event().start_mark,
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    raise ConstructorError(
                        None, None, "a mapping key must be a plain value", key_node.start_mark
                    ) from None
                if first is not None:
                    raise _YamlLimit(
                        f"duplicate key {key!r} (first on line {first}); the second would "
                        "silently replace the first. Keep one of them",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def decode_yaml(data: bytes, source: str) -> str:
    """The text of a YAML file, which must be UTF-8 (a UTF-8 byte-order mark is allowed)."""
    if len(data) > MAX_YAML_BYTES:
        raise ConfigError(
            f"{source}: {len(data)} bytes; a pipeline file is limited to {MAX_YAML_BYTES} bytes"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{source}:{line}: bytes {data[exc.start : exc.end]!r} are not UTF-8; save the "
            "pipeline file as UTF-8"
        ) from None


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document with ``StrictSafeLoader``; errors name ``source:line``."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{source}: a YAML document is limited to {MAX_YAML_BYTES} characters")
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(_describe(exc, source)) from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply") from None


def compose_yaml(text: str) -> Any:
    """The node tree of a document (for line numbers), under the same limits."""
    loader = StrictSafeLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _describe(exc: yaml.YAMLError, source: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: invalid YAML: {problem}"


def non_finite_numbers(value: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Locations of ``.inf``/``.nan`` values anywhere in a parsed document."""
    if isinstance(value, float) and not math.isfinite(value):
        yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from non_finite_numbers(item, loc + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from non_finite_numbers(item, loc + (i,))
