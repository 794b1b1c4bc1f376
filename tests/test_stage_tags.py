"""Which stage tasks carry a ``stage:<stage>`` tag (the flow end to end is in test_flow.py)."""

from __future__ import annotations

import logging

from textcls.flows.stage_tags import StageTags, limited_stages


def test_only_limits_on_stage_tags_name_stages():
    tags = ["stage:teacher", "stage:quantize", "gpu", "teacher", "tag:stage:student"]
    assert limited_stages(tags) == {"teacher", "quantize"}


def test_a_stage_is_tagged_only_when_a_limit_names_it():
    tags = StageTags(frozenset({"teacher"}))
    assert tags.for_stage("teacher") == ["stage:teacher"]
    assert tags.for_stage("calibrate") == []


def test_an_unreadable_api_tags_every_stage_so_no_limit_is_skipped(caplog):
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_CLIENT_MAX_RETRIES,
        temporary_settings,
    )

    closed_port = "http://127.0.0.1:9/api"
    with (
        temporary_settings({PREFECT_API_URL: closed_port, PREFECT_CLIENT_MAX_RETRIES: 0}),
        caplog.at_level(logging.WARNING, logger="textcls.flows"),
    ):
        tags = StageTags.from_api()
    assert tags.limited is None
    assert tags.for_stage("calibrate") == ["stage:calibrate"]
    assert "could not read Prefect's concurrency limits" in caplog.text
