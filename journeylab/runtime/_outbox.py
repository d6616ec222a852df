"""The outbox and the adapters that send what it holds.

Every :class:`~journeylab.engine.Send` the engine produces becomes one outbox row, written
in the same transaction as the state change that produced it; the action id is the primary
key, so a message exists at most once. In the same transaction the message gets one
*delivery* per active destination (``rt_deliveries``): each destination (a webhook URL, an
external sender) gets every message, with its own status, retries and lease.

Senders take a destination's messages with :meth:`Outbox.drain` (which leases each for
``lease`` seconds), renew a message's lease right before sending it (:meth:`Outbox.renew`,
so a slow receiver does not make a batch's later messages expire while they wait), send,
and :meth:`Outbox.ack` or :meth:`Outbox.nack`. A delivery whose lease runs out before it is
acked is handed out again: delivery is at least once, and the receiver de-duplicates with
the action id (``Idempotency-Key``).

Retries are durable: a failed attempt is scheduled again in the database, exponentially
later with jitter (or after the receiver's ``Retry-After``), until the retry horizon
(default 24 hours after the message was written) runs out; then the delivery is ``failed``
until :meth:`Outbox.redrive` puts it back.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

from journeylab.runtime._log import log
from journeylab.runtime._schema import open_database, rt_deliveries, rt_destinations, rt_outbox

__all__ = ["Outbox", "OutboxMessage", "WebhookSender", "DEFAULT_DESTINATION", "sign"]

DEFAULT_DESTINATION = "default"


class OutboxMessage(NamedTuple):
    """One message to send: ``payload`` is the JSON object an adapter delivers.

    Parameters
    ----------
    id : str
        The action id (the ``Idempotency-Key``).
    journey : str
        The journey's id.
    version : int
        Its version.
    user_id : str
        The user.
    node : str
        The engagement node.
    channel : str
        The channel.
    ts : int
        When it was due (epoch seconds).
    payload : dict
        What an adapter delivers.
    attempts : int
        Attempts so far.
    destination : str, default "default"
        The destination it is leased for.
    lease : str, default ""
        The lease token of the sender holding it.

    Examples
    --------
    >>> m = OutboxMessage("a1", "cart", 1, "ana", "push", "push", 0, {"title": "Hi"}, 0)
    >>> m.destination, m.payload["title"]
    ('default', 'Hi')
    """

    id: str
    journey: str
    version: int
    user_id: str
    node: str
    channel: str
    ts: int
    payload: dict[str, Any]
    attempts: int
    destination: str = DEFAULT_DESTINATION
    lease: str = ""  # this drain's lease token


def _status(states: list[str]) -> str:
    """A message's status from its deliveries' (what ``rows()`` and ``counts()`` report)."""
    if not states or all(s == "sent" for s in states):
        return "sent" if states else "pending"
    if "leased" in states:
        return "leased"
    if "pending" in states:
        return "pending"
    return "failed"


class Outbox:
    """The outbox table of a runtime database: the messages to deliver, per destination.

    ``Outbox(runtime.engine)`` or ``Outbox("sqlite:///journeylab.db")`` from another process
    (an external sender, which drains its own destination).

    Parameters
    ----------
    db : sqlalchemy.Engine, str or pathlib.Path
        The runtime's database: an engine, a URL or a SQLite file path.
    max_attempts : int or None, default None
        After this many failed attempts a delivery is ``failed``; default no limit.
    clock : WallClock, ReplayClock or None, default None
        The clock retries are scheduled on; default the wall clock.
    horizon : float, default 86400.0
        Seconds from when the message was written after which it is ``failed``.
    backoff : float, default 1.0
        Seconds before the first retry, doubling up to ``max_backoff``, with jitter (or after
        the receiver's ``Retry-After``).
    max_backoff : float, default 3600.0
        The longest wait between retries.

    Examples
    --------
    >>> ob = Outbox("sqlite://")
    >>> ob.rows()
    []
    """

    def __init__(
        self,
        db: sa.Engine | str | Path,
        *,
        max_attempts: int | None = None,
        clock: Any = None,
        horizon: float = 86400.0,
        backoff: float = 1.0,
        max_backoff: float = 3600.0,
    ) -> None:
        self.engine = db if isinstance(db, sa.Engine) else open_database(db)
        self.max_attempts = max_attempts
        self.horizon = float(horizon)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._now = clock or time.time

    # ------------------------------------------------------------------ destinations
    def register(self, *names: str) -> None:
        """Make destinations active: each gets every message written from now on."""
        now = self._now()
        with self.engine.begin() as conn:
            have = {r[0]: r[1] for r in conn.execute(sa.select(rt_destinations.c.name, rt_destinations.c.active))}
            for n in names:
                if n not in have:
                    conn.execute(sa.insert(rt_destinations).values(name=n, active=True, added_at=now))
                elif not have[n]:
                    conn.execute(sa.update(rt_destinations).where(rt_destinations.c.name == n).values(active=True))

    def unregister(self, *names: str) -> None:
        """Stop giving new messages to destinations (what they hold stays, to drain or redrive)."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(rt_destinations).where(rt_destinations.c.name.in_(names)).values(active=False))

    def destinations(self, *, active_only: bool = True) -> list[str]:
        q = sa.select(rt_destinations.c.name).order_by(rt_destinations.c.name)
        if active_only:
            q = q.where(rt_destinations.c.active == sa.true())
        with self.engine.connect().execution_options(readonly=True) as conn:
            return [r[0] for r in conn.execute(q)]

    # ------------------------------------------------------------------ delivery
    def drain(
        self,
        limit: int = 100,
        *,
        channels: Iterable[str] | None = None,
        lease: float = 60.0,
        destination: str = DEFAULT_DESTINATION,
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` of the destination's messages that are due (oldest first) and
        lease each for ``lease`` seconds."""
        now = self._now()
        d, o = rt_deliveries, rt_outbox
        q = (
            sa.select(
                d.c.message_id,
                d.c.attempts,
                o.c.journey,
                o.c.version,
                o.c.user_id,
                o.c.node,
                o.c.channel,
                o.c.ts,
                o.c.payload,
            )
            .join(o, o.c.id == d.c.message_id)
            .where(d.c.destination == destination, d.c.status.in_(("pending", "leased")), d.c.not_before <= now)
        )
        if channels is not None:
            q = q.where(o.c.channel.in_(list(channels)))
        q = q.order_by(o.c.ts, o.c.id).limit(limit)
        token = secrets.token_hex(8)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(of=d, skip_locked=True)
            rows = conn.execute(q).all()
            if not rows:
                return []
            ids = [r[0] for r in rows]
            conn.execute(
                sa.update(d)
                .where(d.c.destination == destination, d.c.message_id.in_(ids))
                .values(status="leased", not_before=now + lease, attempts=d.c.attempts + 1, lease_owner=token)
            )
            self._aggregate(conn, ids)
        return [
            OutboxMessage(r[0], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]), r[1] + 1, destination, token)
            for r in rows
        ]

    def renew(self, m: OutboxMessage, lease: float) -> bool:
        """Extend the lease of a drained message right before sending it; ``False`` if the
        lease ran out and another sender took the message (then do not send it)."""
        d = rt_deliveries
        with self.engine.begin() as conn:
            r = conn.execute(
                sa.update(d)
                .where(
                    d.c.message_id == m.id,
                    d.c.destination == m.destination,
                    d.c.status == "leased",
                    d.c.lease_owner == m.lease,
                )
                .values(not_before=self._now() + lease)
            )
        return bool(r.rowcount)

    def ack(self, ids: Sequence[str], *, destination: str = DEFAULT_DESTINATION) -> int:
        """Mark the destination's deliveries as sent; returns how many changed."""
        if not ids:
            return 0
        d = rt_deliveries
        with self.engine.begin() as conn:
            res = conn.execute(
                sa.update(d)
                .where(d.c.destination == destination, d.c.message_id.in_(list(ids)), d.c.status != "sent")
                .values(status="sent", sent_at=self._now(), last_error=None, lease_owner=None)
            )
            self._aggregate(conn, ids)
        return res.rowcount or 0

    def next_delay(self, attempts: int) -> float:
        """Seconds until the next try after ``attempts`` failed ones (exponential, jittered)."""
        base = min(self.max_backoff, self.backoff * 2 ** min(max(0, attempts - 1), 40))
        return base * (0.8 + 0.4 * random.random())

    def nack(
        self,
        ids: Sequence[str],
        error: str = "",
        *,
        retry_in: float | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
        destination: str = DEFAULT_DESTINATION,
    ) -> list[str]:
        """Sends failed: schedule the next try (``retry_in``, else the backoff schedule; never
        before ``retry_after``), or mark ``failed`` (a permanent error, the horizon or
        ``max_attempts`` reached). Returns the ids that failed for good."""
        if not ids:
            return []
        d = rt_deliveries
        now = self._now()
        gone: list[str] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(d.c.message_id, d.c.attempts, d.c.created_at).where(
                    d.c.destination == destination, d.c.message_id.in_(list(ids)), d.c.status != "sent"
                )
            ).all()
            for mid, attempts, created in rows:
                delay = self.next_delay(attempts) if retry_in is None else retry_in
                if retry_after is not None:
                    delay = max(delay, retry_after)
                final = (
                    permanent
                    or (self.max_attempts is not None and attempts >= self.max_attempts)
                    or now + delay > created + self.horizon
                )
                if final:
                    gone.append(mid)
                conn.execute(
                    sa.update(d)
                    .where(d.c.destination == destination, d.c.message_id == mid)
                    .values(
                        status="failed" if final else "pending",
                        not_before=now if final else now + delay,
                        last_error=error[:2000],
                        lease_owner=None,
                    )
                )
            self._aggregate(conn, ids)
        return gone

    def redrive(self, ids: Sequence[str] | None = None, *, destination: str | None = None) -> int:
        """Put failed deliveries back (all, or the given message ids; of one destination or
        all): due now, attempts and retry horizon starting again. Returns how many."""
        d = rt_deliveries
        cond = [d.c.status == "failed"]
        if ids is not None:
            cond.append(d.c.message_id.in_(list(ids)))
        if destination is not None:
            cond.append(d.c.destination == destination)
        with self.engine.begin() as conn:
            mids = [r[0] for r in conn.execute(sa.select(d.c.message_id).where(*cond))]
            res = conn.execute(
                sa.update(d).where(*cond).values(status="pending", attempts=0, not_before=0.0, created_at=self._now())
            )
            self._aggregate(conn, mids)
        n = res.rowcount or 0
        log.info("deliveries redriven", extra={"fields": {"count": n, "destination": destination}})
        return n

    def _aggregate(self, conn: sa.Connection, ids: Iterable[str]) -> None:
        """Keep each message's row (status, attempts, last error) a summary of its deliveries."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        d, o = rt_deliveries, rt_outbox
        by: dict[str, list[tuple]] = {}
        for i in range(0, len(ids), 500):
            for r in conn.execute(
                sa.select(d.c.message_id, d.c.status, d.c.attempts, d.c.last_error, d.c.sent_at).where(
                    d.c.message_id.in_(ids[i : i + 500])
                )
            ):
                by.setdefault(r[0], []).append(r[1:])
        for mid, rs in by.items():
            st = _status([r[0] for r in rs])
            errs = [r[2] for r in rs if r[2]]
            conn.execute(
                sa.update(o)
                .where(o.c.id == mid)
                .values(
                    status=st,
                    attempts=max(r[1] for r in rs),
                    last_error=errs[-1] if errs else None,
                    sent_at=max(r[3] for r in rs) if st == "sent" else None,
                )
            )

    # ------------------------------------------------------------------ reading
    def counts(self, *, by_destination: bool = False) -> dict[str, Any]:
        """Messages by status (each message's status sums up its deliveries); with
        ``by_destination``, ``{destination: {status: n}}`` instead."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            if by_destination:
                d = rt_deliveries
                out: dict[str, Any] = {}
                for dest, st, n in conn.execute(
                    sa.select(d.c.destination, d.c.status, sa.func.count()).group_by(d.c.destination, d.c.status)
                ):
                    out.setdefault(dest, {"pending": 0, "leased": 0, "sent": 0, "failed": 0})[st] = int(n)
                return out
            t = rt_outbox
            rows = conn.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all()
        res = {"pending": 0, "leased": 0, "sent": 0, "failed": 0}
        res.update({s: int(n) for s, n in rows})
        return res

    def rows(self) -> list[dict[str, Any]]:
        """Every outbox row (ordered by id), for inspection and tests."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return [dict(r) for r in conn.execute(sa.select(rt_outbox).order_by(rt_outbox.c.id)).mappings()]

    def deliveries(self, destination: str | None = None) -> list[dict[str, Any]]:
        """Every delivery row (of one destination or all), ordered by message id."""
        q = sa.select(rt_deliveries).order_by(rt_deliveries.c.message_id, rt_deliveries.c.destination)
        if destination is not None:
            q = q.where(rt_deliveries.c.destination == destination)
        with self.engine.connect().execution_options(readonly=True) as conn:
            return [dict(r) for r in conn.execute(q).mappings()]


def sign(secret: bytes | str, body: bytes, t: int | None = None) -> str:
    """The ``X-Journeylab-Signature`` header of a webhook body.

    ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the receiver recomputes it and
    checks ``t`` is recent.

    Parameters
    ----------
    secret : bytes or str
        The shared key.
    body : bytes
        The request body.
    t : int or None, default None
        The time to sign; default now.

    Returns
    -------
    str
        The header's value.

    Examples
    --------
    >>> s = sign("k", b"{}", 1); s[:7], len(s)
    ('t=1,v1=', 71)
    """
    key = secret.encode() if isinstance(secret, str) else secret
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


class WebhookSender:
    """Deliver outbox messages by HTTP POST (JSON body) with retries and backoff.

    Each destination (by default the URL) gets every message. Each attempt carries the action
    id as ``Idempotency-Key``, the ``headers`` given, and with ``secret`` an HMAC-SHA256
    signature (``X-Journeylab-Signature``, see :func:`sign`). 2xx is success; connection
    errors, timeouts, 408, 429 and 5xx are retried (after ``Retry-After`` when the receiver
    gives one); any other 4xx is a permanent failure. Each message's lease is renewed right
    before it is sent, so a slow but healthy receiver gets each message once.

    Parameters
    ----------
    url : str
        Where to POST.
    channels : iterable of str or None, default None
        The channels it delivers; default every channel.
    retries : int, default 3
        Tries per message within one :meth:`pump`; then the outbox schedules it again
        (durably, up to its retry horizon).
    backoff : float, default 0.5
        Seconds between tries, doubling.
    max_backoff : float, default 3600.0
        The longest wait.
    timeout : float, default 10.0
        Seconds per request.
    headers : dict of str to str or None, default None
        Extra headers.
    secret : bytes, str or None, default None
        The key of the signature header; default unsigned.
    destination : str or None, default None
        Its destination name in the outbox; default the URL.
    batch : int, default 100
        Messages leased per round.
    client : httpx.Client or None, default None
        The HTTP client; default a new one.
    clock : callable or None, default None
        Seconds now (signatures, an HTTP-date ``Retry-After``); default :func:`time.time`.
    sleep : callable or None, default None
        Takes the pause between tries; default :func:`time.sleep`. With ``clock``, lets a
        test run the retry rules on a clock it moves, without waiting.

    Examples
    --------
    >>> s = WebhookSender("http://127.0.0.1:9/hook", channels=["push"], secret="k")
    >>> s.destination
    'http://127.0.0.1:9/hook'
    """

    def __init__(
        self,
        url: str,
        *,
        channels: Iterable[str] | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 3600.0,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        secret: bytes | str | None = None,
        destination: str | None = None,
        batch: int = 100,
        client: Any = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        import httpx

        self.url = url
        self.destination = destination or url
        self.channels = None if channels is None else frozenset(channels)
        self.retries = max(1, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.batch = batch
        self.headers = dict(headers or {})
        self.secret = secret
        self._client = client or httpx.Client(timeout=timeout)
        self._httpx = httpx
        self._now = clock or time.time
        self._sleep = sleep or time.sleep
        self.attempts = 0  # HTTP requests made (for metrics and tests)
        # one message's worst case: every try times out, with the sleeps between tries
        self.lease = self.retries * timeout + sum(self._pause(i) for i in range(1, self.retries)) * 1.2 + 5.0

    def close(self) -> None:
        self._client.close()

    def _pause(self, n: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** max(0, n - 1)))

    def _delay(self, n: int) -> float:
        return self._pause(n) * (0.8 + 0.4 * random.random())  # jitter: senders do not retry in lockstep

    def _post(self, m: OutboxMessage) -> tuple[bool, bool, str, float | None]:
        """(ok, permanent failure, error, Retry-After seconds) after up to ``retries`` attempts."""
        err = ""
        body = json.dumps(m.payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": m.id,
            "User-Agent": "journeylab-runtime",
            **self.headers,
        }
        retry_after = None
        for i in range(1, self.retries + 1):
            self.attempts += 1
            if self.secret is not None:
                headers["X-Journeylab-Signature"] = sign(self.secret, body, int(self._now()))
            try:
                r = self._client.post(self.url, content=body, headers=headers)
            except self._httpx.HTTPError as e:
                err = f"{type(e).__name__}: {e}"
            else:
                if 200 <= r.status_code < 300:
                    return True, False, "", None
                err = f"HTTP {r.status_code}: {r.text[:200]}"
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    return False, True, err, None
                retry_after = _retry_after(r.headers.get("Retry-After"), self._now())
            log.warning(
                "webhook attempt failed",
                extra={"fields": {"action_id": m.id, "attempt": i, "error": err, "destination": self.destination}},
            )
            if i < self.retries:
                pause = self._delay(i)
                if retry_after is not None and retry_after > pause:
                    break  # the receiver asks for more time than a pause here: the outbox waits
                self._sleep(pause)
        return False, False, err, retry_after

    def pump(self, outbox: Outbox, limit: int | None = None) -> dict[str, int]:
        """Send what is due; returns counts ``sent``, ``retry``, ``failed`` (and ``lost``: a
        lease that ran out before the message's turn, left to whoever holds it now)."""
        msgs = outbox.drain(limit or self.batch, channels=self.channels, lease=self.lease, destination=self.destination)
        n = {"sent": 0, "retry": 0, "failed": 0}
        for m in msgs:
            if not outbox.renew(m, self.lease):
                n["lost"] = n.get("lost", 0) + 1
                continue
            ok, permanent, err, retry_after = self._post(m)
            if ok:
                outbox.ack([m.id], destination=self.destination)
                n["sent"] += 1
                log.info(
                    "message delivered",
                    extra={
                        "fields": {
                            "action_id": m.id,
                            "channel": m.channel,
                            "user_id": m.user_id,
                            "destination": self.destination,
                        }
                    },
                )
            else:
                gone = outbox.nack(
                    [m.id],
                    err,
                    retry_in=None,
                    permanent=permanent,
                    retry_after=retry_after,
                    destination=self.destination,
                )
                n["failed" if gone else "retry"] += 1
                (log.error if gone else log.warning)(
                    "message not delivered" + (" (failed for good)" if gone else ": retry scheduled"),
                    extra={
                        "fields": {
                            "action_id": m.id,
                            "error": err,
                            "permanent": permanent,
                            "destination": self.destination,
                        }
                    },
                )
        return n
