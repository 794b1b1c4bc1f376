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
from typing import Any

STAGE_TAG_PREFIX = "stage:"
#: at most the server's PREFECT_SERVER_API_DEFAULT_LIMIT (200 unless an operator lowers it; a
#: lower one fails the read, and every stage is tagged)
_PAGE = 200

logger = logging.getLogger("textcls.flows")


class StageTags:
    """The tags each stage task gets in one run, decided once from the API's limits."""

    def __init__(self, limited: frozenset[str] | None):
        #: stages a limit names; None means the limits could not be read, so every stage is
        #: tagged (a run must never slip past a limit its operator set)
        self.limited = limited

    @classmethod
    def from_api(cls, log: logging.Logger | logging.LoggerAdapter[Any] = logger) -> StageTags:
        """Read the tag concurrency limits once; on any API error, tag every stage.

        The tag-limit listing, not the global one: Prefect 3.9 merges into it the limits made
        by ``prefect concurrency-limit create`` before their migration to global ``tag:``
        limits, and an older server keeps only those. ``log``: the flow run's logger, so the
        fallback's warning reaches the run's logs in the UI.
        """
        from prefect.client.orchestration import get_client

        try:
            tags: list[str] = []
            with get_client(sync_client=True) as client:
                while True:
                    page = client.read_concurrency_limits(limit=_PAGE, offset=len(tags))
                    tags.extend(limit.tag for limit in page)
                    if len(page) < _PAGE:
                        break
        except Exception as exc:  # noqa: BLE001 - a missed limit is worse than a slow start
            log.warning(
                "could not read Prefect's concurrency limits (%s): every stage task is tagged "
                "stage:<stage>, so any limit on them applies",
                exc,
            )
            return cls(None)
        return cls(limited_stages(tags))

    def for_stage(self, stage: str) -> list[str]:
        """The task's tags: ``[stage:<stage>]`` when a limit may name it, else none."""
        if self.limited is None or stage in self.limited:
            return [STAGE_TAG_PREFIX + stage]
        return []


def limited_stages(limited_tags: list[str]) -> frozenset[str]:
    """The stages whose ``stage:<stage>`` tag has a concurrency limit (an inactive one too:
    it can be switched on while the run goes on)."""
    return frozenset(
        tag[len(STAGE_TAG_PREFIX) :] for tag in limited_tags if tag.startswith(STAGE_TAG_PREFIX)
    )
