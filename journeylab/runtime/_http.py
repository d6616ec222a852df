"""The HTTP ingest endpoint: a small Starlette app, served by uvicorn on 127.0.0.1.

* ``POST /events`` — one event object or a JSON array of them;
* ``POST /feedback`` — one feedback object (``message_id``, ``kind``, ``ts``) or an array;
* ``GET /health`` — counts for monitoring;
* ``GET /stats/{journey}`` — SPEC §8 statistics from the stored trace.

A body with malformed items answers 400 with every refusal's JSON path and reason; the good
items of an array are still ingested (their count is in ``accepted``), so re-sending the
whole array is safe only with ``event_id`` on each event (duplicates are ignored).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from journeylab.errors import MissingExtraError
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


def create_app(runtime: Any, *, timers: bool = False) -> Any:
    """The ASGI app of a :class:`~journeylab.runtime.Runtime`. With ``timers``, the app's
    lifespan also runs :meth:`Runtime.run_forever` in a background thread."""
    _starlette()
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def _ingest(request: Request, kind: str) -> JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"error": f"$: body larger than {MAX_BODY} bytes"}, status_code=413)
        try:
            items, paths, many = parse_body(raw)
        except InputError as e:
            await run_in_threadpool(runtime.record_rejected, "http", e.path, e.message, raw.decode("utf-8", "backslashreplace"))
            err = {"path": e.path, "reason": e.message}
            return JSONResponse({"error": f"{e.path}: {e.message}", "errors": [err], "accepted": 0, "duplicates": 0,
                                 "results": []}, status_code=400)
        if kind == "feedback":
            items = [{"type": "feedback", **it} if isinstance(it, dict) and "type" not in it else it for it in items]
        try:
            res = await run_in_threadpool(lambda: runtime.ingest_many(items, source="http", paths=paths, expect=kind))
        except Exception as e:  # noqa: BLE001 - nothing was applied (one transaction): the client retries
            transient = fault_kind(e) == "transient"
            (log.warning if transient else log.error)("http ingest not applied", exc_info=None if transient else e,
                                                      extra={"fields": {"error": f"{type(e).__name__}: {e}"[:500]}})
            return JSONResponse({"accepted": 0, "duplicates": 0, "error": f"$: not applied, retry later: {type(e).__name__}",
                                 "retry": True}, status_code=503, headers={"Retry-After": "5"})
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

    return Starlette(
        routes=[
            Route("/events", events, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/stats/{journey}", stats, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def serve(runtime: Any, host: str = "127.0.0.1", port: int = 8765, *, timers: bool = True, log_level: str = "warning") -> None:
    """Serve the ingest endpoint (and, with ``timers``, fire timers on the wall clock) until
    interrupted."""
    _starlette()
    import signal
    from contextlib import contextmanager

    import uvicorn

    app = create_app(runtime, timers=timers)

    class _Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self):  # type: ignore[override]
            # uvicorn re-raises SIGTERM after shutting down (exit status -15); we exit cleanly
            def stop(signum: int, frame: Any) -> None:
                self.should_exit = True

            old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)} if threading.current_thread() is threading.main_thread() else {}
            try:
                yield
            finally:
                for s, h in old.items():
                    signal.signal(s, h)

    server = _Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, log_config=None))
    log.info("http ingest listening", extra={"fields": {"host": host, "port": port}})
    server.run()
