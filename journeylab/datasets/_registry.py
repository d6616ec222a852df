"""The bundled datasets: ``Dataset``, ``load`` and ``names``.

Each dataset is a module with ``NAME``, ``DESCRIPTION``, ``START``, ``END``, ``TIMEZONE``,
``COLUMNS`` (``"table.column" -> description``) and ``build(seed)`` returning Arrow tables.
The tables are bundled as Parquet (``data/<name>-<table>.parquet``, written by the
repository's ``datasets/generate.py``); when a file is missing they are rebuilt in memory,
deterministically. Every ``load`` converts the (immutable, cached) Arrow tables again, so
callers get fresh DataFrames they may modify freely.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from journeylab.datasets import _arrow as A
from journeylab.datasets import _ecommerce, _media, _rides

DATA_DIR = Path(__file__).parent / "data"
TABLES = ("profiles", "events", "messages")

_MODULES: dict[str, ModuleType] = {m.NAME: m for m in (_ecommerce, _rides, _media)}
_CACHE: dict[str, tuple[pa.Table, pa.Table, pa.Table | None]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class Dataset:
    """A bundled cohort: profiles, events, optional message history, period and column docs.

    ``columns`` maps ``"profiles.<col>"``, ``"events.<col>"`` and ``"messages.<col>"`` to a
    description. ``start``/``end`` bound the period covered, ``[start, end)`` in UTC;
    ``timezone`` is the account timezone the data's daily rhythm follows.

    >>> ds = load("ecommerce")
    >>> ds.start, ds.end
    (Timestamp('2026-10-01 00:00:00+0000', tz='UTC'), Timestamp('2026-10-31 00:00:00+0000', tz='UTC'))
    >>> ds.columns["profiles.push_token"]
    'App push token (FCM-like) or missing: ~70% of users have the app.'
    """

    name: str
    description: str
    profiles: pd.DataFrame
    events: pd.DataFrame
    messages: pd.DataFrame | None
    start: pd.Timestamp
    end: pd.Timestamp
    columns: dict[str, str]
    timezone: str = "UTC"

    def column_table(self) -> pd.DataFrame:
        """One row per documented column: ``table``, ``column``, ``dtype``, ``description``.

        >>> load("ecommerce").column_table().iloc[0].tolist()
        ['profiles', 'user_id', 'str', "Unique user id, 'ecom-00001' to 'ecom-05000'."]
        """
        rows = []
        for key, text in self.columns.items():
            table, col = key.split(".", 1)
            frame = getattr(self, table)
            rows.append((table, col, str(frame[col].dtype) if frame is not None else "", text))
        return pd.DataFrame(rows, columns=["table", "column", "dtype", "description"])

    def __repr__(self) -> str:
        msgs = "" if self.messages is None else f", {len(self.messages):,} messages"
        return (
            f"Dataset({self.name!r}: {len(self.profiles):,} users, {len(self.events):,} events{msgs}, "
            f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}, timezone {self.timezone})"
        )


def names() -> list[str]:
    """Names of the bundled datasets.

    >>> names()
    ['ecommerce', 'rides', 'media']
    """
    return list(_MODULES)


def _module(name: str) -> ModuleType:
    try:
        return _MODULES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(_MODULES)}") from None


def paths(name: str) -> dict[str, Path]:
    """Where the bundled Parquet files of a dataset live (they may be missing)."""
    _module(name)
    return {t: DATA_DIR / f"{name}-{t}.parquet" for t in TABLES}


def build_tables(name: str) -> tuple[pa.Table, pa.Table, pa.Table | None]:
    """The dataset's tables generated in memory (what the bundled files hold)."""
    return _module(name).build()


def _tables(name: str, regenerate: bool) -> tuple[pa.Table, pa.Table, pa.Table | None]:
    if regenerate:
        return build_tables(name)
    with _LOCK:
        if name not in _CACHE:
            files = paths(name)
            if files["profiles"].exists() and files["events"].exists():
                profiles = pq.read_table(files["profiles"])
                events = pq.read_table(files["events"])
                messages = pq.read_table(files["messages"]) if files["messages"].exists() else None
                if messages is None and _has_messages(name):
                    _CACHE[name] = build_tables(name)
                else:
                    _CACHE[name] = (profiles, events, messages)
            else:
                _CACHE[name] = build_tables(name)
        return _CACHE[name]


def _has_messages(name: str) -> bool:
    return any(k.startswith("messages.") for k in _module(name).COLUMNS)


def load(name: str, *, regenerate: bool = False) -> Dataset:
    """A bundled dataset, as fresh DataFrames the caller may modify.

    Reads the bundled Parquet files (or, if one is missing, generates the dataset in memory,
    deterministically: same rows as the files). ``regenerate=True`` always generates.

    >>> ds = load("ecommerce")
    >>> ds.name, len(ds.profiles), ds.profiles["user_id"].is_unique
    ('ecommerce', 5000, True)
    >>> str(ds.events["ts"].dtype), bool(ds.events["ts"].is_monotonic_increasing)
    ('datetime64[ns, UTC]', True)
    >>> ds.events["event"].value_counts().index[0]
    'Page Viewed'
    """
    mod = _module(name)
    profiles, events, messages = _tables(name, regenerate)
    return Dataset(
        name=mod.NAME,
        description=mod.DESCRIPTION,
        profiles=A.to_frame(profiles),
        events=A.to_frame(events),
        messages=None if messages is None else A.to_frame(messages),
        start=mod.START,
        end=mod.END,
        columns=dict(mod.COLUMNS),
        timezone=mod.TIMEZONE,
    )


def write(name: str, directory: Path | None = None) -> dict[str, Path]:
    """Generate a dataset and write its Parquet files (``DATA_DIR`` by default); returns the paths."""
    directory = DATA_DIR if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for table_name, table in zip(TABLES, build_tables(name), strict=True):
        path = directory / f"{name}-{table_name}.parquet"
        if table is None:
            path.unlink(missing_ok=True)
            continue
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=9,
            use_dictionary=[c for c, t in zip(table.column_names, table.schema.types, strict=True) if _dict_ok(c, t)],
            column_encoding={c: "DELTA_BINARY_PACKED" for c in _delta_columns(table)},
            write_statistics=True,
        )
        out[table_name] = path
    with _LOCK:
        _CACHE.pop(name, None)
    return out


def _dict_ok(name: str, typ: pa.DataType) -> bool:
    return name not in ("event_id",) and not pa.types.is_timestamp(typ) and not pa.types.is_floating(typ)


def _delta_columns(table: pa.Table) -> list[str]:
    return [c for c, t in zip(table.column_names, table.schema.types, strict=True) if pa.types.is_timestamp(t)]
