"""Serving settings: what the CLI parsed, passed to every uvicorn worker process.

uvicorn starts extra workers as fresh processes that import the app by name, so the settings
travel through one environment variable as JSON rather than through Python objects.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

ENVIRONMENT_VARIABLE = "TEXTCLS_SERVE_SETTINGS"


@dataclass(frozen=True)
class ServeSettings:
    """Everything the app needs besides the network address."""

    target: str
    max_batch: int = 16
    max_wait_ms: float = 2.0
    inline_ms: float = 20.0
    max_batch_texts: int = 256
    max_chars: int = 10_000
    poll_s: float = 1.0
    threads: int | None = None

    def to_environment(self) -> None:
        os.environ[ENVIRONMENT_VARIABLE] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ServeSettings:
        raw = os.environ.get(ENVIRONMENT_VARIABLE)
        if not raw:
            raise RuntimeError(
                f"{ENVIRONMENT_VARIABLE} is not set: start the server with `textcls serve TARGET`"
            )
        return cls(**json.loads(raw))

    @property
    def max_body_bytes(self) -> int:
        """A request body larger than this cannot be valid (12 bytes per escaped char)."""
        return self.max_batch_texts * (self.max_chars * 12 + 16) + 1024
