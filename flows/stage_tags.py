"""Which stage tasks carry a ``stage:<stage>`` tag: those a Prefect concurrency limit names.

A tag is how Prefect queues tasks across runs: ``prefect concurrency-limit create stage:teacher
1`` (a limit named ``tag:stage:teacher``) lets one teacher train at a time on a shared server.
But Prefect asks the API for a slot before *every* tagged task starts, limit or not, and
Prefect 3.9 does it with a read-then-write SQLite transaction: when the server is writing the
previous task's logs and events, the upgrade to a write lock fails at once ("database is
locked"), the API answers 503 and the client retries after 2 s. Measured on the scoreboard's
runs, that made calibrate take 2.4-2.9 s for 0.3 s of work (BENCHMARKS.md, "Orchestration
overhead"). So textcls reads the API's limits once when a run starts and tags only the stages
a limit names: a limit still queues its stage, and no other stage pays for a slot request.
Stages stay findable in the UI by their task run names (``teacher``, ``calibrate student``).
A limit created while a run is under way applies from that run's next start.
"""

from __future__ import annotations

import logging

STAGE_TAG_PREFIX = "stage:"
#: Prefect stores a tag's concurrency limit as a global limit named after the tag with this prefix
TAG_LIMIT_PREFIX = "tag:"
_PAGE = 200

logger = logging.getLogger("textcls.flows")


class StageTags:
    """The tags each stage task gets in one run, decided once from the API's limits."""

    def __init__(self, limited: frozenset[str] | None):
        #: stages a limit names; None means the limits could not be read, so every stage is
        #: tagged (a run must never slip past a limit its operator set)
        self.limited = limited

    @classmethod
    def from_api(cls) -> StageTags:
        """Read the concurrency limits once; on any API error, tag every stage."""
        from prefect.client.orchestration import get_client

        try:
            names: list[str] = []
            with get_client(sync_client=True) as client:
                while True:
                    page = client.read_global_concurrency_limits(limit=_PAGE, offset=len(names))
                    names.extend(limit.name for limit in page)
                    if len(page) < _PAGE:
                        break
        except Exception as exc:  # noqa: BLE001 - a missed limit is worse than a slow start
            logger.warning(
                "could not read Prefect's concurrency limits (%s): every stage task is tagged "
                "stage:<stage>, so any limit on them applies",
                exc,
            )
            return cls(None)
        return cls(limited_stages(names))

    def for_stage(self, stage: str) -> list[str]:
        """The task's tags: ``[stage:<stage>]`` when a limit may name it, else none."""
        if self.limited is None or stage in self.limited:
            return [STAGE_TAG_PREFIX + stage]
        return []


def limited_stages(limit_names: list[str]) -> frozenset[str]:
    """The stages named by concurrency limits called ``tag:stage:<stage>``."""
    prefix = TAG_LIMIT_PREFIX + STAGE_TAG_PREFIX
    return frozenset(name[len(prefix) :] for name in limit_names if name.startswith(prefix))
