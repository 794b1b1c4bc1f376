"""Error classes that users see.

Every error that a user can cause carries a message that says what went wrong, where (file and
line, or the dotted config field) and how to fix it. The CLI prints the message alone, without a
traceback, and exits with ``exit_code``: 2 for usage, configuration and input mistakes (bad data,
a damaged model folder, an output folder textcls must not replace), 1 for failures while running.
"""

from __future__ import annotations


class TextclsError(Exception):
    """Base class of every error textcls raises on purpose."""

    exit_code = 1


class ConfigError(TextclsError):
    """The pipeline file, an override or a plugin's params are invalid."""

    exit_code = 2


class PluginError(TextclsError):
    """A plugin could not be loaded, or two plugins clash."""

    exit_code = 2


class UnknownComponentError(PluginError):
    """A config or command names a component that no loaded plugin registers."""


class DataError(TextclsError):
    """Input data is missing, malformed or unusable; the message names file and line.

    Bad input is the user's to fix, like a bad config: exit code 2.
    """

    exit_code = 2


class StageError(TextclsError):
    """A pipeline stage failed; the message names the stage."""


class OutputFolderError(TextclsError):
    """An output folder holds files textcls did not write; textcls refuses to replace it."""

    exit_code = 2
