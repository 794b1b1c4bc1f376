"""Dynamic batching: concurrent requests share one model call.

Requests queue their texts; one loop takes the first waiting request, adds whatever else is
waiting (up to ``max_batch`` texts, waiting at most ``max_wait_ms`` for more), runs the model
once (logits, then labels and probabilities for the whole batch in one go) and hands each
request its own predictions back, in order. While the model
runs, new requests queue up, so under load batches fill by themselves. The wait is spent only
when there is company (a second request in this batch or the last one): a lone client gets
no added latency. A request larger than ``max_batch`` is never split.

``max_batch`` bounds what a batch *waits* for, not what it may take: once it is reached (or the
wait is over), requests that are already queued join too, up to ``DRAIN_FACTOR`` times
``max_batch`` texts, without waiting. Under a load of many-text requests the queue holds several
of them; one call over all of them lets the Predictor sort their texts by length and pad as
little as offline prediction does (at c64 x 32 on the int8 student, each request alone padded
to its own longest text and reached 58% of offline texts/s). Waiting for that many instead
would cost every small-request batch the whole ``max_wait_ms``.

Where a batch runs depends on what it costs. A call expected to take at most ``inline_ms``
(the model's measured seconds per text times the batch's texts) runs on the event loop itself:
handing it to the model thread and back costs two thread wake-ups and, worse, GIL hand-offs
between the loop and that thread, which for a small ONNX model cost more than the call (with
the model in the thread, py-spy under ``bench/serve_load.py`` found 27-29% of the loop's busy
samples in socket writes, where the loop takes the GIL back after the system call).
Longer calls (a transformer, a big batch) run in the model thread, so the event loop keeps
parsing and answering requests meanwhile. Calls never overlap either way.

The model is read once per batch from the holder, so a hot swap never changes the model in the
middle of a batch, and each result says which model produced it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from textcls.flows.serve.served_model import ModelHolder, ServedModel
from textcls.predictor import Prediction, Predictor

#: A call takes what is already queued up to this many times ``max_batch`` texts.
DRAIN_FACTOR = 8


class NotReady(RuntimeError):
    """No model is loaded yet (or loading failed)."""


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future[tuple[list[Prediction], ServedModel]]
    queued_at: float = field(default_factory=time.perf_counter)


BatchObserver = Callable[[int, int, float], None]


class DynamicBatcher:
    """Gathers queued requests into model calls of up to ``max_batch`` texts."""

    def __init__(
        self,
        holder: ModelHolder,
        *,
        max_batch: int,
        max_wait_ms: float,
        inline_ms: float = 20.0,
        model_batch_size: int = 32,
        observe_batch: BatchObserver | None = None,
    ) -> None:
        self.holder = holder
        self.max_batch = max_batch
        # Texts per forward pass inside one call, as `textcls predict --batch-size` (the
        # Predictor sorts a call's texts by length first, so each pass pads little).
        self.model_batch_size = model_batch_size
        self.max_wait_s = max_wait_ms / 1000
        self.inline_s = inline_ms / 1000
        self._cost = _CallCost()
        self._observe = observe_batch
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._carry: deque[_Request] = deque()
        # One thread runs the model: calls never overlap, and the event loop stays free to
        # parse and answer requests while a batch runs.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textcls-model")
        self._task: asyncio.Task[None] | None = None
        self._last_batch_requests = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="textcls-batcher")

    async def stop(self) -> None:
        """Stop after the batch in progress; fail whatever is still queued (there is none once
        uvicorn has drained its connections)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while not self._queue.empty():
            self._carry.append(self._queue.get_nowait())
        for request in self._carry:
            if not request.future.done():
                request.future.set_exception(NotReady("the server is shutting down"))
        self._executor.shutdown(wait=True)

    async def predict(self, texts: list[str]) -> tuple[list[Prediction], ServedModel]:
        """Predictions for ``texts`` (in order) and the model that made them."""
        if self.holder.current is None:
            raise NotReady(self.holder.load_error or "the model is still loading")
        future: asyncio.Future[tuple[list[Prediction], ServedModel]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.put_nowait(_Request(texts, future))
        return await future

    async def _next(self, timeout: float | None) -> _Request | None:
        if self._carry:
            return self._carry.popleft()
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout is None:
            return await self._queue.get()
        if timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next(None)
            assert first is not None
            # One turn of the event loop lets requests that have already arrived join the
            # batch, at no cost to a lone request.
            await asyncio.sleep(0)
            batch, size = [first], len(first.texts)
            deadline = loop.time() + self.max_wait_s
            while size < self.max_batch:
                # Wait for company only when there is some: a request that joined this batch
                # or the last one. A lone client (concurrency 1) never waits.
                company = len(batch) > 1 or self._last_batch_requests > 1
                request = await self._next(deadline - loop.time() if company else 0)
                if request is None:
                    break
                if size + len(request.texts) > self.max_batch:
                    self._carry.appendleft(request)  # first in line for the next batch
                    break
                batch.append(request)
                size += len(request.texts)
            size += self._drain_queued(batch, size)
            self._last_batch_requests = len(batch)
            await self._call(loop, batch, size)

    def _drain_queued(self, batch: list[_Request], size: int) -> int:
        """Add requests already waiting (no waiting for more) up to the call's cap; return
        how many texts joined."""
        cap, added = self.max_batch * DRAIN_FACTOR, 0
        while self._carry or not self._queue.empty():
            request = self._carry.popleft() if self._carry else self._queue.get_nowait()
            if size + added + len(request.texts) > cap:
                self._carry.appendleft(request)  # first in line for the next call
                break
            batch.append(request)
            added += len(request.texts)
        return added

    async def _call(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Request], size: int
    ) -> None:
        served = self.holder.current
        assert served is not None  # requests are refused until a model is loaded
        texts = [text for request in batch for text in request.texts]
        started = time.perf_counter()
        try:
            args = (served.predictor, texts, self.model_batch_size)
            if self._cost.expected_s(served, size) <= self.inline_s:
                predictions = _predict(*args)
            else:
                predictions = await loop.run_in_executor(self._executor, _predict, *args)
        except Exception as exc:
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        elapsed = time.perf_counter() - started
        self._cost.observe(served, size, elapsed)
        if self._observe is not None:
            self._observe(size, len(batch), elapsed)
        start = 0
        for request in batch:
            end = start + len(request.texts)
            if not request.future.done():  # a client that went away cancelled its future
                request.future.set_result((predictions[start:end], served))
            start = end


def _predict(predictor: Predictor, texts: list[str], batch_size: int) -> list[Prediction]:
    return predictor.predictions_from_logits(predictor.logits(texts, batch_size))


class _CallCost:
    """Seconds per text of the served model, from its own recent calls (a moving average).

    Starts from the warm-up calls' measurement, and starts again when a swap brings another
    model. The estimate picks where a batch runs, so noise only moves a borderline batch."""

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = weight
        self._model: ServedModel | None = None
        self._per_text_s = 0.0

    def expected_s(self, served: ServedModel, texts: int) -> float:
        if served is not self._model:
            self._model, self._per_text_s = served, served.seconds_per_text
        return self._per_text_s * texts

    def observe(self, served: ServedModel, texts: int, seconds: float) -> None:
        if served is self._model:
            self._per_text_s += self.weight * (seconds / texts - self._per_text_s)
