"""Keep the garbage collector's full passes off the objects that exist before training starts.

A textcls process holds hundreds of thousands of long-lived objects before it trains (torch,
transformers, datasets, pydantic models; Prefect and its client in a flow). ``Trainer.train``
calls ``accelerate``'s ``free_memory()``, which runs ``gc.collect()``: one full pass over all of
them, 0.5 s on the shared 2-core machine, and the collector's own full passes during training
walk them again. None of those objects are garbage the training creates. ``gc.freeze()`` (the
CPython API for exactly this; ``textcls serve`` uses it too) moves them to a permanent
generation that the passes skip; what training itself allocates is collected as before. On
exit they go back to the collector, so cycles among them that died meanwhile are collected
later, as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze every object that exists now for the body's duration; unfreeze afterwards.

    A heap someone else froze (a serving process) stays exactly as they left it: unfreezing
    here would hand their objects back to the collector.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
