"""Structured logs: one JSON object per line.

Records of the ``journeylab`` loggers carry their fields in ``extra={"fields": {...}}``;
:class:`JsonFormatter` writes them beside the time, level, logger and message.

>>> import io, logging, json
>>> buf = io.StringIO()
>>> log = configure_logging("INFO", buf, logger="journeylab.doctest")
>>> log.info("input rejected", extra={"fields": {"path": "$.ts", "offset": 3}})
>>> rec = json.loads(buf.getvalue()); (rec["level"], rec["msg"], rec["path"], rec["offset"])
('INFO', 'input rejected', '$.ts', 3)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any

__all__ = ["JsonFormatter", "configure_logging", "log"]

log = logging.getLogger("journeylab.runtime")


class JsonFormatter(logging.Formatter):
    """Format a log record as one line of JSON.

    Parameters
    ----------
    fmt : str or None, default None
        As :class:`logging.Formatter` (unused: every record is JSON).
    datefmt : str or None, default None
        As :class:`logging.Formatter`.
    style : str, default "%"
        As :class:`logging.Formatter`.
    validate : bool, default True
        As :class:`logging.Formatter`.
    defaults : dict or None, default None
        As :class:`logging.Formatter`.

    Examples
    --------
    >>> import json, logging
    >>> record = logging.LogRecord("journeylab", logging.INFO, __file__, 1, "started", None, None)
    >>> json.loads(JsonFormatter().format(record))["msg"]
    'started'
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for k, v in fields.items():
                out.setdefault(k, v)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(
    level: str | int = "INFO", stream: IO[str] | None = None, *, logger: str = "journeylab"
) -> logging.Logger:
    """Send the ``journeylab`` loggers to ``stream`` as JSON lines.

    Parameters
    ----------
    level : str or int, default "INFO"
        The level.
    stream : text stream or None, default None
        Where to; default stderr.
    logger : str, default "journeylab"
        The logger to configure.

    Returns
    -------
    logging.Logger
        The logger.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> log = configure_logging("INFO", buf, logger="journeylab.example")
    >>> log.info("hello")
    >>> '"msg": "hello"' in buf.getvalue()
    True
    """
    lg = logging.getLogger(logger)
    for h in list(lg.handlers):
        if getattr(h, "_journeylab_json", False):
            lg.removeHandler(h)
    h = logging.StreamHandler(stream or sys.stderr)
    h.setFormatter(JsonFormatter())
    h._journeylab_json = True  # type: ignore[attr-defined]
    lg.addHandler(h)
    lg.setLevel(level if isinstance(level, int) else str(level).upper())
    lg.propagate = False
    return lg
