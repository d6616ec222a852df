"""``journeylab run``: the production runtime from the command line.

    journeylab run JOURNEY.json [MORE.json ...] [--db URL] [--source FILE|-|http]
                   [--host 127.0.0.1 --port N] [--clock wall|replay] [--start ISO] [--until ISO]
                   [--webhook URL] [--batch N] [--log-level INFO]

* ``--source http`` (the default): serve the HTTP ingest endpoint and fire timers on the
  wall clock until interrupted.
* ``--source FILE`` or ``-`` (stdin): consume JSON lines (resuming after the last committed
  line). With the wall clock the runtime then keeps firing timers (and serves HTTP when
  ``--port`` is given) until interrupted; with ``--clock replay`` the clock follows the
  inputs' timestamps, moves to ``--until`` at the end of the input, and the command exits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from typing import Any, cast

__all__ = ["add_run_parser", "run_command", "redrive_command"]

DEFAULT_PORT = 8765


def add_run_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``run`` sub-command to an argparse sub-parsers object."""
    r = subparsers.add_parser(
        "run",
        help="run journeys on a live event stream (durable, restart-safe)",
        description="Run exported journeys on events from a JSON-lines file, stdin or HTTP.",
    )
    r.add_argument("journeys", nargs="+", help="journey JSON files (several journeys, or versions of one)")
    r.add_argument(
        "--db", default="sqlite:///journeylab.db", help="SQLAlchemy URL or SQLite file (default: %(default)s)"
    )
    r.add_argument("--source", default="http", help="FILE (JSON lines), - (stdin) or http (default: %(default)s)")
    r.add_argument(
        "--host", default="127.0.0.1", help="HTTP host (default: %(default)s; beyond loopback a token is required)"
    )
    r.add_argument(
        "--token-file",
        default=None,
        help="bearer token for HTTP (every request but GET /health); or set JOURNEYLAB_TOKEN",
    )
    r.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="a Host header name to accept besides loopback names and --host (repeatable)",
    )
    r.add_argument(
        "--max-body", type=int, default=5 * 1024 * 1024, help="largest HTTP body in bytes (default: %(default)s)"
    )
    r.add_argument("--port", type=int, default=None, help=f"HTTP port (default {DEFAULT_PORT} with --source http)")
    r.add_argument(
        "--clock", choices=("wall", "replay"), default="wall", help="wall: real time; replay: follow the inputs"
    )
    r.add_argument("--start", help="replay clock start (ISO instant with offset); journeys are published then")
    r.add_argument("--until", help="replay: advance the clock to this instant after the input")
    r.add_argument(
        "--profiles",
        help="users to register up front: a JSON object {user_id: {...}} or a CSV/Parquet table with user_id",
    )
    r.add_argument(
        "--webhook",
        action="append",
        default=[],
        help="POST every message to this URL (repeatable: each URL gets every message)",
    )
    r.add_argument(
        "--webhook-header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header sent with every webhook request (repeatable)",
    )
    r.add_argument(
        "--webhook-secret-file",
        default=None,
        help="sign webhook bodies with the key in this file (X-Journeylab-Signature, HMAC-SHA256); "
        "or set JOURNEYLAB_WEBHOOK_SECRET",
    )
    r.add_argument(
        "--webhook-retries",
        type=int,
        default=1,
        help="tries per message in one pass before the outbox schedules it again (default: %(default)s: "
        "no receiver holds back the other messages)",
    )
    r.add_argument(
        "--webhook-timeout", type=float, default=10.0, help="seconds per webhook request (default: %(default)s)"
    )
    r.add_argument(
        "--retry-horizon",
        type=float,
        default=86400.0,
        help="seconds a message is retried before it is failed (default: %(default)s, 24 h)",
    )
    r.add_argument("--batch", type=int, default=1, help="inputs per transaction from a file (default: %(default)s)")
    r.add_argument("--seed", type=int, default=None, help="seed of Split nodes (stored in the database)")
    r.add_argument("--no-publish", action="store_true", help="do not publish journeys loaded for the first time")
    r.add_argument("--synchronous", default="NORMAL", help="SQLite synchronous setting: NORMAL or FULL")
    r.add_argument("--log-level", default="INFO")
    r.set_defaults(fn=run_command)
    d = subparsers.add_parser(
        "redrive",
        help="put failed webhook deliveries back in the outbox (due now)",
        description="Put failed deliveries back: due at once, attempts and retry horizon anew.",
    )
    d.add_argument(
        "--db", default="sqlite:///journeylab.db", help="SQLAlchemy URL or SQLite file (default: %(default)s)"
    )
    d.add_argument("--destination", default=None, help="only this destination (a webhook URL); default: all")
    d.add_argument("ids", nargs="*", help="only these message ids; default: every failed one")
    d.set_defaults(fn=redrive_command)
    return r


def redrive_command(args: argparse.Namespace) -> int:
    """Run the ``redrive`` sub-command: prints how many deliveries were put back."""
    from journeylab.runtime import Outbox

    n = Outbox(args.db).redrive(args.ids or None, destination=args.destination)
    print(json.dumps({"redriven": n}))
    return 0


def _headers(items: list[str]) -> dict[str, str]:
    out = {}
    for h in items:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise SystemExit(f"error: --webhook-header {h!r}: expected 'Name: value'")
        out[name.strip()] = value.strip()
    return out


def _token(path: str | None) -> str | None:
    import os
    from pathlib import Path

    tok = Path(path).read_text().strip() if path else os.environ.get("JOURNEYLAB_TOKEN", "").strip()
    if tok and len(tok) < 16:
        raise SystemExit("error: the HTTP token must be at least 16 characters")
    return tok or None


def _secret(path: str | None) -> bytes | None:
    import os
    from pathlib import Path

    if path:
        key = Path(path).read_bytes().strip()
    else:
        key = os.environ.get("JOURNEYLAB_WEBHOOK_SECRET", "").encode()
    return key or None


def run_command(args: argparse.Namespace) -> int:
    """Run the ``run`` sub-command; returns the exit status."""
    from journeylab.runtime import ReplayClock, Runtime, WallClock, WebhookSender, configure_logging, epoch_of

    configure_logging(args.log_level)
    token = _token(args.token_file)
    if (args.source == "http" or args.port is not None) and not token:
        from journeylab.runtime._http import is_loopback

        if not is_loopback(args.host):
            print(
                f"error: refusing to listen on {args.host!r} without a token: set JOURNEYLAB_TOKEN or --token-file",
                file=sys.stderr,
            )
            return 2
    if args.clock == "replay":
        clock: Any = ReplayClock(epoch_of(args.start) if args.start else 0)
    else:
        if args.start or args.until:
            print("error: --start and --until need --clock replay", file=sys.stderr)
            return 2
        clock = WallClock()
    if args.clock == "replay" and args.source == "http" and args.port is None:
        print("error: --clock replay reads a file or stdin (--source FILE|-)", file=sys.stderr)
        return 2
    headers, secret = _headers(args.webhook_header), _secret(args.webhook_secret_file)
    adapters = [
        WebhookSender(u, headers=headers, secret=secret, timeout=args.webhook_timeout, retries=args.webhook_retries)
        for u in args.webhook
    ]
    profiles = _read_profiles(args.profiles) if args.profiles else None
    rt = Runtime(
        args.journeys,
        args.db,
        clock=clock,
        adapters=adapters,
        seed=args.seed,
        profiles=profiles,
        autopublish=not args.no_publish,
        synchronous=args.synchronous,
        retry_horizon=args.retry_horizon,
    )
    stop = threading.Event()

    def _term(signum: int, frame: Any) -> None:
        stop.set()
        rt.shutdown()

    try:
        if args.source != "http":
            old = signal.signal(signal.SIGTERM, _term)
            try:
                counts = rt.ingest_jsonl(args.source, batch=max(1, args.batch))
            finally:
                signal.signal(signal.SIGTERM, old)
            if args.clock == "replay":
                if args.until:
                    rt.advance_to(epoch_of(args.until))
                rt.persist_clock()
                if adapters:
                    rt.pump_adapters()
                print(json.dumps({"input": counts, **_summary(rt)}, default=str))
                return 0
            print(json.dumps({"input": counts}), file=sys.stderr)
            if stop.is_set():
                return 0
        if args.source == "http" or args.port is not None:
            from journeylab.runtime import serve

            serve(
                rt,
                args.host,
                args.port or DEFAULT_PORT,
                timers=True,
                token=token,
                allowed_hosts=args.allow_host,
                max_body=args.max_body,
            )
        else:
            signal.signal(signal.SIGTERM, _term)
            with contextlib.suppress(KeyboardInterrupt):
                rt.run_forever()
        return 0
    finally:
        rt.close()


def _read_profiles(path: str) -> dict[str, dict[str, Any]]:
    from pathlib import Path

    p = Path(path)
    if p.suffix.lower() == ".json":
        data = json.loads(p.read_text())
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise SystemExit(f"error: {path}: expected a JSON object {{user_id: {{property: value}}}}")
        return data
    import pandas as pd

    df = pd.read_parquet(p) if p.suffix.lower() in (".parquet", ".pq") else pd.read_csv(p, dtype={"user_id": "string"})
    if "user_id" not in df.columns:
        raise SystemExit(f"error: {path}: no user_id column")
    missing = df["user_id"].isna().to_numpy().nonzero()[0]
    if len(missing):  # it would become the user "nan"
        raise SystemExit(f"error: {path}: profiles[{missing[0]}].user_id: missing user_id")
    out: dict[str, dict[str, Any]] = {}
    # the columns of a file's header are strings
    for r in cast("list[dict[str, Any]]", df.to_dict("records")):
        uid = str(r.pop("user_id"))
        out[uid] = {k: v for k, v in r.items() if v is not None and v == v}
    return out


def _summary(rt: Any) -> dict[str, Any]:
    h = rt.health()
    return {
        "users": h["users"],
        "outbox": h["outbox"],
        "rejected": h["rejected"],
        "errors": h["errors"],
        "clock": h["clock"],
    }
