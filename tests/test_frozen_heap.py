"""The training job's frozen heap: the objects that exist before training are skipped by the
collector while it trains, training's own garbage is still collected, and the heap is handed
back as it was found (also after an error, and a freeze someone else made stays theirs)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from textcls.training import job
from textcls.training.frozen_heap import frozen_heap


class Node:
    """A reference cycle's member (only the cycle collector frees it)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen() -> object:
    assert gc.get_freeze_count() == 0, "another test left the heap frozen"
    yield
    gc.unfreeze()


def test_objects_from_before_are_frozen_and_handed_back_after() -> None:
    before = Node()
    alive = weakref.ref(before)
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        del before
        gc.collect()
        assert alive() is not None  # frozen: the full pass skipped it
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive() is None  # back with the collector, collected as usual


def test_garbage_made_while_frozen_is_still_collected() -> None:
    with frozen_heap():
        during = weakref.ref(Node())
        gc.collect()
        assert during() is None


def test_an_error_in_the_body_still_unfreezes() -> None:
    with pytest.raises(RuntimeError, match="boom"), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_by_someone_else_stays_theirs() -> None:
    # Asserted on an object, not on gc.get_freeze_count(): frozen objects that other threads
    # (an earlier test's Prefect client) release by reference counting leave the count, so
    # it can drop by a few while nobody unfreezes anything.
    theirs = Node()
    alive = weakref.ref(theirs)
    gc.freeze()
    del theirs
    with frozen_heap():
        pass
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert alive() is not None  # still frozen: the collector skipped the cycle


def test_the_in_process_training_job_runs_frozen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[int] = []

    def train_in_work_dir(work_dir: Path) -> None:
        seen.append(gc.get_freeze_count())

    monkeypatch.setattr(job, "train_in_work_dir", train_in_work_dir)
    job.run_job(tmp_path, processes=1)
    assert seen and seen[0] > 0
    assert gc.get_freeze_count() == 0
