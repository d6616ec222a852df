"""The outbox and the adapters that send what it holds.

Every :class:`~journeylab.engine.Send` the engine produces becomes one outbox row, written
in the same transaction as the state change that produced it; the action id is the primary
key, so a message exists at most once. Senders take messages with :meth:`Outbox.drain`
(which leases them for ``lease`` seconds), send them, and :meth:`Outbox.ack` them; a message
whose lease runs out before it is acked is handed out again (at-least-once delivery: the
receiver de-duplicates with the action id, sent as the ``Idempotency-Key`` header by
:class:`WebhookSender`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

from journeylab.runtime._log import log
from journeylab.runtime._schema import open_database, rt_outbox

__all__ = ["Outbox", "OutboxMessage", "WebhookSender"]


class OutboxMessage(NamedTuple):
    """One message to send: ``payload`` is the JSON object an adapter delivers."""

    id: str
    journey: str
    version: int
    user_id: str
    node: str
    channel: str
    ts: int
    payload: dict[str, Any]
    attempts: int


class Outbox:
    """The outbox table of a runtime database.

    ``Outbox(runtime.engine)`` or ``Outbox("sqlite:///journeylab.db")`` from another process
    (an external sender). ``max_attempts`` sends at most, then the message is ``failed``.
    """

    def __init__(self, db: sa.Engine | str | Path, *, max_attempts: int = 8, clock: Any = None) -> None:
        self.engine = db if isinstance(db, sa.Engine) else open_database(db)
        self.max_attempts = max_attempts
        self._now = clock or time.time

    def drain(self, limit: int = 100, *, channels: Iterable[str] | None = None, lease: float = 60.0) -> list[OutboxMessage]:
        """Take up to ``limit`` messages that are due (oldest first) and lease them."""
        now = self._now()
        t = rt_outbox
        due = sa.or_(
            sa.and_(t.c.status == "pending", t.c.not_before <= now),
            sa.and_(t.c.status == "leased", t.c.not_before <= now),  # a lease that ran out
        )
        q = sa.select(t).where(due)
        if channels is not None:
            q = q.where(t.c.channel.in_(list(channels)))
        q = q.order_by(t.c.ts, t.c.id).limit(limit)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = conn.execute(q).mappings().all()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            conn.execute(
                sa.update(t).where(t.c.id.in_(ids)).values(status="leased", not_before=now + lease, attempts=t.c.attempts + 1)
            )
        return [
            OutboxMessage(r["id"], r["journey"], r["version"], r["user_id"], r["node"], r["channel"], r["ts"],
                          json.loads(r["payload"]), r["attempts"] + 1)
            for r in rows
        ]

    def ack(self, ids: Sequence[str]) -> int:
        """Mark messages as sent; returns how many changed."""
        if not ids:
            return 0
        t = rt_outbox
        with self.engine.begin() as conn:
            res = conn.execute(
                sa.update(t).where(t.c.id.in_(list(ids)), t.c.status != "sent").values(status="sent", sent_at=self._now(), last_error=None)
            )
        return res.rowcount or 0

    def nack(self, ids: Sequence[str], error: str = "", *, retry_in: float = 0.0, permanent: bool = False) -> None:
        """A send failed: retry after ``retry_in`` seconds, or mark ``failed`` (permanent error,
        or ``max_attempts`` reached)."""
        if not ids:
            return
        t = rt_outbox
        now = self._now()
        with self.engine.begin() as conn:
            if permanent:
                conn.execute(sa.update(t).where(t.c.id.in_(list(ids))).values(status="failed", last_error=error))
                return
            conn.execute(
                sa.update(t)
                .where(t.c.id.in_(list(ids)), t.c.status != "sent")
                .values(
                    status=sa.case((t.c.attempts >= self.max_attempts, "failed"), else_="pending"),
                    not_before=now + retry_in,
                    last_error=error,
                )
            )

    def counts(self) -> dict[str, int]:
        """Messages by status."""
        t = rt_outbox
        with self.engine.connect().execution_options(readonly=True) as conn:
            rows = conn.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all()
        out = {"pending": 0, "leased": 0, "sent": 0, "failed": 0}
        out.update({s: int(n) for s, n in rows})
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Every outbox row (ordered by id), for inspection and tests."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return [dict(r) for r in conn.execute(sa.select(rt_outbox).order_by(rt_outbox.c.id)).mappings()]


class WebhookSender:
    """Deliver outbox messages by HTTP POST (JSON body) with retries and backoff.

    Each attempt carries the action id as ``Idempotency-Key``. Within one :meth:`pump` a
    message is tried up to ``retries`` times (sleeping ``backoff``, 2x, 4x... between tries);
    if it still fails it goes back to the outbox to be retried later (``not_before``), until
    the outbox's ``max_attempts``. 2xx is success; connection errors, timeouts, 408, 429 and
    5xx are retried; any other 4xx is a permanent failure (the message is ``failed``).
    """

    def __init__(
        self,
        url: str,
        *,
        channels: Iterable[str] | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        client: Any = None,
    ) -> None:
        import httpx

        self.url = url
        self.channels = None if channels is None else frozenset(channels)
        self.retries = max(1, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.headers = dict(headers or {})
        self._client = client or httpx.Client(timeout=timeout)
        self._httpx = httpx
        self.attempts = 0  # HTTP requests made (for metrics and tests)

    def close(self) -> None:
        self._client.close()

    def _delay(self, n: int) -> float:
        d = min(self.max_backoff, self.backoff * (2 ** max(0, n - 1)))
        return d * (0.8 + 0.4 * random.random())  # jitter: senders do not retry in lockstep

    def _post(self, m: OutboxMessage) -> tuple[bool, bool, str]:
        """(ok, permanent failure, error) after up to ``retries`` attempts."""
        err = ""
        body = json.dumps(m.payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": m.id, "User-Agent": "journeylab-runtime", **self.headers}
        for i in range(1, self.retries + 1):
            self.attempts += 1
            try:
                r = self._client.post(self.url, content=body, headers=headers)
            except self._httpx.HTTPError as e:
                err = f"{type(e).__name__}: {e}"
            else:
                if 200 <= r.status_code < 300:
                    return True, False, ""
                err = f"HTTP {r.status_code}: {r.text[:200]}"
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    return False, True, err
            log.warning("webhook attempt failed", extra={"fields": {"action_id": m.id, "attempt": i, "error": err}})
            if i < self.retries:
                time.sleep(self._delay(i))
        return False, False, err

    def pump(self, outbox: Outbox, limit: int = 100) -> dict[str, int]:
        """Send what is due; returns counts ``sent``, ``retry``, ``failed``."""
        msgs = outbox.drain(limit, channels=self.channels, lease=max(60.0, self.retries * 10 * 2.0))
        n = {"sent": 0, "retry": 0, "failed": 0}
        for m in msgs:
            ok, permanent, err = self._post(m)
            if ok:
                outbox.ack([m.id])
                n["sent"] += 1
                log.info("message delivered", extra={"fields": {"action_id": m.id, "channel": m.channel, "user_id": m.user_id}})
            else:
                outbox.nack([m.id], err, retry_in=self._delay(m.attempts + 1), permanent=permanent)
                n["failed" if permanent or m.attempts >= outbox.max_attempts else "retry"] += 1
                log.error("message not delivered", extra={"fields": {"action_id": m.id, "error": err, "permanent": permanent}})
        return n
