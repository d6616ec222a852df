"""The HTTP ingest endpoint: a small Starlette app, served by uvicorn on 127.0.0.1.

* ``POST /events`` — one event object or a JSON array of them;
* ``POST /feedback`` — one feedback object (``message_id``, ``kind``, ``ts``) or an array;
* ``GET /health`` — counts for monitoring;
* ``GET /stats/{journey}`` — SPEC §8 statistics from the stored trace.

A body with malformed items answers 400 with every refusal's JSON path and reason; the good
items of an array are still ingested (their count is in ``accepted``), so re-sending the
whole array is safe only with ``event_id`` on each event (duplicates are ignored).

Access control (an ASGI guard in front of every route):

* ``Host`` must be in the allow-list (loopback names and the address served on, plus
  ``allowed_hosts``): a DNS-rebinding page cannot read ``/health`` or ``/stats``;
* with a ``token``, every request but ``GET /health`` needs ``Authorization: Bearer <token>``;
  serving beyond loopback without a token is refused;
* a POST must be ``Content-Type: application/json`` (a cross-site form or ``text/plain``
  POST cannot inject events);
* a body is counted while it streams in and refused with 413 past ``max_body`` bytes, before
  it is held in memory.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from journeylab.errors import ArgumentError, MissingExtraError
from journeylab.runtime._faults import fault_kind
from journeylab.runtime._inputs import InputError, parse_body
from journeylab.runtime._log import log

__all__ = ["create_app", "serve"]

MAX_BODY = 5 * 1024 * 1024


def _starlette() -> Any:
    try:
        import starlette  # noqa: F401
    except ImportError:  # pragma: no cover
        raise MissingExtraError("starlette", "runtime") from None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to listen on) is loopback only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Guard:
    """The ASGI guard of the ingest app (see the module docstring)."""

    def __init__(self, app: Any, *, token: str | None, hosts: Iterable[str], max_body: int) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.hosts = {h.lower().strip("[]") for h in hosts}
        self.max_body = max_body

    @staticmethod
    async def _refuse(send: Any, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": reason}).encode()
        hs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        hs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": hs})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.lower().strip("[]") not in self.hosts:
            log.warning("http request refused", extra={"fields": {"reason": "host not allowed", "host": host[:200]}})
            await self._refuse(send, 421, f"host {host[:200]!r} is not served here")
            return
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if self.token is not None and not (method in ("GET", "HEAD") and path == "/health"):
            auth = headers.get("authorization", "")
            given = auth[7:].strip().encode() if auth[:7].lower() == "bearer " else b""
            if not hmac.compare_digest(given, self.token):
                log.warning("http request refused", extra={"fields": {"reason": "bad or missing token", "path": path}})
                await self._refuse(
                    send, 401, "a valid 'Authorization: Bearer <token>' is required", {"WWW-Authenticate": "Bearer"}
                )
                return
        if method == "POST":
            ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype != "application/json":
                await self._refuse(send, 415, "Content-Type must be application/json")
                return
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                await self._refuse(send, 413, f"$: body larger than {self.max_body} bytes")
                return
        await self.app(scope, receive, send)


def _answer(res: Any, n: int) -> Any:
    """Per item: ``accepted``, ``duplicate``, ``refused`` (path and reason) or ``failed`` (a
    dead letter of an engine error); 200 when nothing was refused, else 400 (or 500 when only
    engine errors) — the good items are applied either way."""
    from starlette.responses import JSONResponse

    results: list[dict[str, Any]] = [{"index": k, "status": "accepted"} for k in range(n)]
    for k in res.duplicate_items:
        results[k]["status"] = "duplicate"
    errs = []
    for k, p, r in res.rejected:
        results[k].update(status="refused", path=p, reason=r)
        errs.append({"index": k, "path": p, "reason": r})
    for k, p, r in res.errors:
        results[k].update(status="failed", path=p, reason=r)
        errs.append({"index": k, "path": p, "reason": r})
    out: dict[str, Any] = {"accepted": res.accepted, "duplicates": res.duplicates}
    if not errs:
        return JSONResponse(out)
    errs.sort(key=lambda e: e["index"])
    out.update({"error": f"{errs[0]['path']}: {errs[0]['reason']}", "errors": errs, "results": results})
    return JSONResponse(out, status_code=400 if res.rejected else 500)


def create_app(
    runtime: Any,
    *,
    timers: bool = False,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    max_body: int = MAX_BODY,
) -> Any:
    """The ASGI app of a :class:`~journeylab.runtime.Runtime`.

    Parameters
    ----------
    runtime : Runtime
        The runtime.
    timers : bool, default False
        The app's lifespan also runs :meth:`Runtime.run_forever` in a background thread.
    token : str or None, default None
        A bearer token every request must carry; see the module docstring.
    allowed_hosts : iterable of str, default ()
        Host names accepted beyond the loopback names.
    max_body : int, default 5 MiB
        The largest request body, in bytes.

    Returns
    -------
    ASGI application
        The app (a Starlette app behind the host and size guards).

    Examples
    --------
    >>> from journeylab.runtime import ReplayClock, Runtime
    >>> from journeylab.examples import purchase_promo
    >>> app = create_app(Runtime([purchase_promo().definition], "sqlite://", clock=ReplayClock(0)))
    >>> callable(app)
    True
    """
    _starlette()
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def _ingest(request: Request, kind: str) -> JSONResponse:
        parts, size = [], 0
        async for chunk in request.stream():  # counted while it streams in: never more than max_body held
            size += len(chunk)
            if size > max_body:
                log.warning(
                    "http request refused", extra={"fields": {"reason": "body too large", "path": request.url.path}}
                )
                return JSONResponse({"error": f"$: body larger than {max_body} bytes"}, status_code=413)
            parts.append(chunk)
        raw = b"".join(parts)
        try:
            items, paths, many = parse_body(raw)
        except InputError as e:
            await run_in_threadpool(
                runtime.record_rejected, "http", e.path, e.message, raw.decode("utf-8", "backslashreplace")
            )
            err = {"path": e.path, "reason": e.message}
            return JSONResponse(
                {"error": f"{e.path}: {e.message}", "errors": [err], "accepted": 0, "duplicates": 0, "results": []},
                status_code=400,
            )
        if kind == "feedback":
            items = [{"type": "feedback", **it} if isinstance(it, dict) and "type" not in it else it for it in items]
        try:
            res = await run_in_threadpool(lambda: runtime.ingest_many(items, source="http", paths=paths, expect=kind))
        except Exception as e:  # noqa: BLE001 - nothing was applied (one transaction): the client retries
            transient = fault_kind(e) == "transient"
            (log.warning if transient else log.error)(
                "http ingest not applied",
                exc_info=None if transient else e,
                extra={"fields": {"error": f"{type(e).__name__}: {e}"[:500]}},
            )
            return JSONResponse(
                {
                    "accepted": 0,
                    "duplicates": 0,
                    "error": f"$: not applied, retry later: {type(e).__name__}",
                    "retry": True,
                },
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return _answer(res, len(items))

    async def events(request: Request) -> JSONResponse:
        return await _ingest(request, "event")

    async def feedback(request: Request) -> JSONResponse:
        return await _ingest(request, "feedback")

    async def health(request: Request) -> JSONResponse:
        h = await run_in_threadpool(runtime.health)
        return JSONResponse(h, status_code=200 if h["status"] == "ok" else 503)

    async def stats(request: Request) -> JSONResponse:
        jid = request.path_params["journey"]
        if jid not in runtime.js.versions:
            return JSONResponse({"error": f"no journey {jid!r}"}, status_code=404)
        s = await run_in_threadpool(runtime.stats, jid)
        return JSONResponse(s.to_dict())

    @asynccontextmanager
    async def lifespan(app: Any):
        th = None
        if timers:
            th = threading.Thread(target=runtime.run_forever, daemon=True, name="journeylab-timers")
            th.start()
        try:
            yield
        finally:
            if th is not None:
                runtime.shutdown()
                await asyncio.get_running_loop().run_in_executor(None, th.join, 10)

    app = Starlette(
        routes=[
            Route("/events", events, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/stats/{journey}", stats, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    return _Guard(app, token=token, hosts=[*LOOPBACK_HOSTS, *allowed_hosts], max_body=max_body)


def serve(
    runtime: Any,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    timers: bool = True,
    log_level: str = "warning",
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    max_body: int = MAX_BODY,
) -> None:
    """Serve the ingest endpoint until interrupted (with ``timers``, firing timers on the wall clock).

    Parameters
    ----------
    runtime : Runtime
        The runtime.
    host : str, default "127.0.0.1"
        The address to listen on.
    port : int, default 8765
        The port.
    timers : bool, default True
        Fire timers in a background thread.
    log_level : str, default "warning"
        uvicorn's log level.
    token : str or None, default None
        The bearer token; required beyond loopback.
    allowed_hosts : iterable of str, default ()
        Host names accepted beyond the loopback names.
    max_body : int, default 5 MiB
        The largest request body, in bytes.

    Raises
    ------
    journeylab.errors.ArgumentError
        When ``host`` is not a loopback address and there is no ``token``.

    Examples
    --------
    >>> from journeylab.runtime import ReplayClock, Runtime
    >>> from journeylab.examples import purchase_promo
    >>> rt = Runtime([purchase_promo().definition], "sqlite://", clock=ReplayClock(0))
    >>> serve(rt, host="0.0.0.0")
    Traceback (most recent call last):
    ...
    journeylab.errors.ArgumentError: host: refusing to listen on '0.0.0.0' without a token: set JOURNEYLAB_TOKEN or --token-file (or listen on 127.0.0.1 behind your gateway)
    """
    _starlette()
    if not is_loopback(host) and not token:
        raise ArgumentError(
            f"refusing to listen on {host!r} without a token: set JOURNEYLAB_TOKEN or --token-file "
            "(or listen on 127.0.0.1 behind your gateway)",
            "host",
        )
    hosts = [*allowed_hosts] + ([host] if host not in ("0.0.0.0", "::") else [])
    import signal
    from contextlib import contextmanager

    import uvicorn

    app = create_app(runtime, timers=timers, token=token, allowed_hosts=hosts, max_body=max_body)

    class _Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises SIGTERM after shutting down (exit status -15); we exit cleanly
            def stop(signum: int, frame: Any) -> None:
                self.should_exit = True

            old = (
                {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
                if threading.current_thread() is threading.main_thread()
                else {}
            )
            try:
                yield
            finally:
                for s, h in old.items():
                    signal.signal(s, h)

    server = _Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, log_config=None))
    log.info("http ingest listening", extra={"fields": {"host": host, "port": port}})
    server.run()
