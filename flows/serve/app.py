"""The ASGI app: ``POST /predict``, ``/health``, ``/ready``, ``/metadata``, ``/metrics``.

``create_app(settings)`` builds it; uvicorn workers build it from the environment with
``app_from_environment`` (see ``settings.py``). The model loads in the background once the
server listens, so ``/health`` answers at once and ``/ready`` turns 200 when the model is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from textcls import __version__
from textcls.flows.serve.batcher import DynamicBatcher, NotReady
from textcls.flows.serve.metrics import ServeMetrics
from textcls.flows.serve.schemas import ErrorResponse, PredictRequest, PredictResponse
from textcls.flows.serve.served_model import ModelHolder, ServedModel
from textcls.flows.serve.settings import ServeSettings
from textcls.predictor import Prediction

logger = logging.getLogger("textcls.serve")
GIL_SWITCH_INTERVAL_S = 0.001


class RequestRejected(Exception):
    """A request the server will not run, with its HTTP status and error type."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def error_response(status: int, kind: str, message: str) -> Response:
    return json_response({"error": {"type": kind, "message": message}}, status)


def parse_texts(body: bytes, settings: ServeSettings) -> list[str]:
    """The texts of a /predict body, or RequestRejected saying what is wrong and how to fix it."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(
            400, "malformed_json", f'the body is not valid JSON ({exc}); send {{"texts": [...]}}'
        ) from None
    if not isinstance(payload, dict) or "texts" not in payload:
        raise RequestRejected(
            422, "invalid_body", 'the body must be a JSON object {"texts": ["...", ...]}'
        )
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise RequestRejected(
            422, "invalid_body", f'"texts" must be a list of strings, not {type(texts).__name__}'
        )
    if not texts:
        raise RequestRejected(422, "empty_texts", '"texts" is empty; send at least one text')
    if len(texts) > settings.max_batch_texts:
        raise RequestRejected(
            413,
            "too_many_texts",
            f"{len(texts)} texts in one request; the limit is {settings.max_batch_texts} "
            "(--max-batch-texts): split the list into several requests",
        )
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestRejected(
                422,
                "not_a_string",
                f"texts[{index}] is {type(text).__name__}, not a string; send every text "
                "as a JSON string",
            )
        if len(text) > settings.max_chars:
            raise RequestRejected(
                413,
                "text_too_long",
                f"texts[{index}] has {len(text)} characters; the limit is {settings.max_chars} "
                "(--max-chars): shorten or split it",
            )
    return texts


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused early when it is larger than any valid request can be."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _body_too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _body_too_large(limit: int) -> RequestRejected:
    return RequestRejected(
        413,
        "body_too_large",
        f"the body is over {limit} bytes, more than --max-batch-texts texts of --max-chars "
        "characters can take; split the request",
    )


def check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise RequestRejected(
            415,
            "unsupported_media_type",
            f"content type {content_type or '(none)'!r}; send the body as application/json",
        )


def render(predictions: list[Prediction], served: ServedModel) -> bytes:
    """The /predict answer; orjson writes each ``Prediction`` dataclass as
    ``{"label": ..., "probabilities": {...}}`` (PredictResponse documents the shape)."""
    return orjson.dumps({"predictions": predictions, "model": served.identity})


def create_app(settings: ServeSettings) -> FastAPI:
    """The serving app for one model reference."""
    metrics = ServeMetrics()
    holder = ModelHolder(
        settings.target,
        threads=settings.threads,
        on_install=lambda served, previous: metrics.model_loaded(
            served.identity, first=previous is None
        ),
        on_reload_failure=metrics.reload_failures.inc,
    )
    batcher = DynamicBatcher(
        holder,
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        inline_ms=settings.inline_ms,
        observe_batch=metrics.observe_batch,
    )

    async def load_then_follow() -> None:
        try:
            await holder.load()
        except Exception:
            return  # /ready and /metadata say why
        await holder.follow(settings.poll_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The model thread needs the GIL back briefly after each ONNX Runtime or torch call;
        # with Python's default 5 ms switch interval it waits behind the event loop for up to
        # 5 ms each time. 1 ms cut latency at concurrency 1 and 16 by 2-3x in
        # bench/serve_load.py. The server process does nothing else, so set it process-wide.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        batcher.start()
        background = asyncio.create_task(load_then_follow(), name="textcls-model-loader")
        try:
            yield
        finally:
            # uvicorn calls this after it has drained in-flight requests (graceful shutdown).
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
            await batcher.stop()

    app = FastAPI(
        title="textcls serve",
        version=__version__,
        description=(
            f"Text classification with `{settings.target}`. `POST /predict` classifies texts; "
            "every response names the model version that answered."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    answered = metrics.requests.labels("200")  # looked up once, not per request

    error_responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": description}
        for status, description in (
            (400, "Malformed JSON"),
            (413, "Too many texts, a text too long, or a body too large"),
            (415, "Content type is not application/json"),
            (422, "Empty list, a non-string item, or a body without a texts list"),
            (503, "The model is not loaded yet"),
        )
    }

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=error_responses,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
            }
        },
        summary="Classify texts",
    )
    async def predict(request: Request) -> Response:
        """Labels and probabilities for each text, in input order, and the model that answered."""
        started = time.perf_counter()
        try:
            check_content_type(request)
            texts = parse_texts(await read_body(request, settings.max_body_bytes), settings)
            predictions, served = await batcher.predict(texts)
        except RequestRejected as rejected:
            metrics.errors.labels(rejected.kind).inc()
            metrics.requests.labels(str(rejected.status)).inc()
            return error_response(rejected.status, rejected.kind, rejected.message)
        except NotReady as exc:
            metrics.errors.labels("not_ready").inc()
            metrics.requests.labels("503").inc()
            return error_response(503, "not_ready", f"{exc}; retry when GET /ready answers 200")
        except Exception as exc:  # the model failed on this batch: a server error, logged
            logger.exception("prediction failed")
            metrics.errors.labels("model_failed").inc()
            metrics.requests.labels("500").inc()
            return error_response(500, "model_failed", f"the model failed: {exc}")
        response = Response(render(predictions, served), media_type="application/json")
        answered.inc()
        metrics.texts.inc(len(texts))
        metrics.latency.observe(time.perf_counter() - started)
        return response

    @app.get("/health", summary="Alive")
    async def health() -> dict[str, str]:
        """200 while the process answers (a liveness probe)."""
        return {"status": "ok"}

    @app.get("/ready", summary="Model loaded", responses={503: {"description": "Not ready"}})
    async def ready() -> Response:
        """200 once the model is loaded (a readiness probe), 503 before or if loading failed."""
        served = holder.current
        if served is None:
            reason = holder.load_error or "the model is still loading"
            return json_response({"ready": False, "reason": reason}, 503)
        return json_response({"ready": True, "model": served.identity})

    @app.get("/metadata", summary="The served model", responses={503: {"model": ErrorResponse}})
    async def metadata() -> Response:
        """Labels, version, a model-card summary, recorded metrics and the serving limits."""
        served = holder.current
        if served is None:
            return error_response(503, "not_ready", holder.load_error or "model still loading")
        body = served.metadata()
        body["follows_champion"] = holder.follows_champion
        body["limits"] = {
            "max_batch": settings.max_batch,
            "max_wait_ms": settings.max_wait_ms,
            "inline_ms": settings.inline_ms,
            "max_batch_texts": settings.max_batch_texts,
            "max_chars": settings.max_chars,
        }
        return json_response(body)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        """Requests, latency, batch sizes, errors, swaps and the model version."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory: the app for the settings that ``textcls serve`` put in the environment."""
    return create_app(ServeSettings.from_environment())
