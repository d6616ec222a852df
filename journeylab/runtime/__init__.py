"""The production runtime: exported journeys on a live event stream, durable and restart-safe.

>>> from journeylab.runtime import Runtime, ReplayClock, WallClock, WebhookSender  # doctest: +SKIP

See docs/runtime.md. Needs the ``runtime`` extra for the HTTP endpoint and the webhook
sender (starlette, uvicorn, httpx); PostgreSQL needs ``psycopg``.
"""

from journeylab.runtime._clock import ReplayClock, WallClock, epoch_of
from journeylab.runtime._inputs import InputError, input_to_json, parse_input
from journeylab.runtime._log import JsonFormatter, configure_logging
from journeylab.runtime._outbox import Outbox, OutboxMessage, WebhookSender, sign
from journeylab.runtime._runtime import IngestResult, Runtime
from journeylab.runtime._schema import open_database

__all__ = [
    "Runtime",
    "WallClock",
    "ReplayClock",
    "Outbox",
    "OutboxMessage",
    "WebhookSender",
    "IngestResult",
    "sign",
    "InputError",
    "parse_input",
    "input_to_json",
    "JsonFormatter",
    "configure_logging",
    "open_database",
    "epoch_of",
    "create_app",
    "serve",
]


def __getattr__(name: str):  # the HTTP layer imports starlette lazily
    if name in ("create_app", "serve"):
        from journeylab.runtime import _http

        return getattr(_http, name)
    raise AttributeError(name)
