"""Run a stage between the ``textcls_stage_started/finished/failed`` hooks.

Listeners (trackers, loggers, alerting) are isolated from each other and from the stage: one
that raises is logged and skipped, and never hides or replaces the stage's own result or error.
Each listener gets only the arguments it declares, as pluggy passes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textcls.artifacts import ArtifactRef

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

log = logging.getLogger("textcls.lifecycle")


def run_stage(
    stage: str,
    run_dir: str,
    config: dict[str, Any],
    work: Callable[[], ArtifactRef],
    *,
    plugins: PluginHost | None = None,
) -> ArtifactRef:
    """Call ``work()`` and tell the lifecycle listeners about it."""
    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    notify(plugins, "textcls_stage_started", stage=stage, run_dir=run_dir, config=config)
    try:
        ref = work()
    except BaseException as error:
        notify(plugins, "textcls_stage_failed", stage=stage, run_dir=run_dir, error=error)
        raise
    notify(plugins, "textcls_stage_finished", stage=stage, run_dir=run_dir, artifact=ref.to_dict())
    return ref


def notify(plugins: PluginHost, hook_name: str, **kwargs: Any) -> None:
    """Call every implementation of a lifecycle hook with the arguments it declares; log, don't
    raise, a listener's error."""
    for impl in getattr(plugins.hook, hook_name).get_hookimpls():
        try:
            impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception:
            log.exception("lifecycle listener %r failed in %s", impl.plugin_name, hook_name)
