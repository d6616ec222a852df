"""(Re)generate the bundled datasets and their documentation.

Writes ``journeylab/datasets/data/<name>-<table>.parquet`` for every dataset (deterministic:
the same rows on every run) and rewrites ``datasets/README.md`` from the datasets' own
column documentation and statistics.

    python datasets/generate.py            # write the Parquet files and the README
    python datasets/generate.py --check    # exit 1 if the bundled files differ from a fresh generation
    python datasets/generate.py --readme   # only rewrite the README
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from journeylab.datasets import COHORT_COLUMNS, load, names  # noqa: E402
from journeylab.datasets import _registry as registry  # noqa: E402

README = Path(__file__).with_name("README.md")

INTRO = """\
# Datasets

Synthetic cohorts for designing and simulating journeys: realistic, deterministic, small
(a few MB each, bundled with the package as Parquet) and documented column by column
below. Everything is fictional (names, shows, shops; domains use `.example`).

```python
from journeylab.datasets import load, names

names()  # ['ecommerce', 'rides', 'media']
ds = load("ecommerce")  # fresh DataFrames every call: modify them freely
ds.profiles, ds.events  # ds.messages for 'media' (past sends, opens and clicks)
ds.start, ds.end, ds.timezone
ds.columns["events.url"]  # the documentation below, as a dict
ds.column_table()  # ... or as a DataFrame with dtypes
```

The Parquet files live in `journeylab/datasets/data/` and are written by
`python datasets/generate.py` (numpy `default_rng` with fixed seeds; the same rows on every
run). If a file is missing, `load` generates the dataset in memory instead (about 0.3 s),
with the same rows. `python datasets/generate.py --check` verifies the bundled files.

## Conventions (all datasets)

- **profiles**: one row per user, `user_id` unique. Channel reachability columns
  `push_token`, `email`, `phone`, `web_push_token` hold a string, or are missing (NaN) when
  the user cannot be reached on that channel: test with `.notna()`. Profiles describe users
  at the start of the period (or at sign-up, for users who sign up during it).
- **events**: one row per event, sorted by `ts` (a stable sort). `user_id`, `event`,
  `event_id` (unique) are `str`; `ts` is `datetime64[ns, UTC]` in whole seconds. Property
  columns are missing where the event has no such property; integer properties with gaps
  are pandas `Int64`. Every `user_id` of events is in profiles (some users have no events:
  churned or dormant). A user's sessions are at least 30 minutes apart (e-commerce), so a
  session rule of "30 minutes without events" finds them.
- **messages** (media only): one row per message sent: `ts` (send time, UTC), `channel`,
  `delivered` (bool), `viewed_ts` and `clicked_ts` (NaT if not viewed / clicked, and for
  views after the end of the period, which are not known yet).
- Periods are half-open, `[start, end)` = 2026-10-01 00:00 UTC to 2026-10-31 00:00 UTC; the
  daily rhythm follows each dataset's account timezone.
- `str` columns use pandas' default string dtype (`str`, Arrow-backed); list columns hold
  Python lists.
"""

GENERATOR = """\
## Cohorts of any size: `generate_cohort`

For benchmarks, `generate_cohort(n_users, *, days=30, events_per_user=20, seed=0,
start="2026-10-01", tz="Asia/Kolkata", buckets=None) -> (profiles, events)` makes an
e-commerce cohort of any size, vectorized (no loop per user): 1,000,000 users and ~20M
events take seconds. `write_cohort(dir, n_users, ...)` writes `profiles.parquet` and
`events.parquet` bucket by bucket (small memory whatever the size), and
`read_cohort(dir, buckets=None)` reads them back, all or some shards, in the same row order
as `generate_cohort`. From the shell:

```
python bench/make_cohort.py --users 1000000 --out bench/data/1m
```

The shape follows the benchmark's reference journey (entry on "Added To Cart", no
"Charged" within 15 minutes, then "App Launched"):

- users have a heavy-tailed activity; ~20% have no event in the period (churned);
- a session is an "App Launched" then a geometric number of browse events (a landing
  "Page Viewed" with `referrer` and `utm_source`, then "Page Viewed", "Product Viewed",
  "Searched"), on an Indian daily rhythm;
- ~40% of users add to cart at least once (right after a "Product Viewed" of the item);
  a purchase buys a session's whole cart: ~25% of cart adds are followed by "Charged"
  within 15 minutes, ~15% later (within a day; in a new session that starts with
  "App Launched"), the rest are abandoned;
- ~75% of event rows are "Page Viewed", "Product Viewed" or "Searched", which the
  reference journey never looks at.

**Cost.** Measured on the 2-core development machine (shared, so wall times vary):
`generate_cohort` 100k users 1.2 s and 0.4 GB peak RSS; 1M users (19.8M events) about
15 s and 2.8 GB peak, 1.9 GB after (the frames themselves are ~1.7 GB).
`write_cohort`/`make_cohort.py` for 1M users: about 12 s of CPU and 0.6 GB peak (it streams
bucket by bucket); the files are ~140 MB.

**Sharding.** `bucket = stable_hash(user_id) % 64` (`int16`) is a column of both tables.
`stable_hash(user_id)` is the first 8 bytes of the BLAKE2b digest of the id's UTF-8 bytes,
read as a little-endian unsigned 64-bit integer: the same on every machine and process
(unlike Python's salted `hash()`); `stable_hash_array(ids)` hashes millions of ids at
~0.5 s per million. Users are generated bucket by bucket from `default_rng([seed, tag,
bucket])`, so `generate_cohort(n, buckets=[3])` gives exactly bucket 3's users and events
of the full cohort, and `events.parquet` holds one row group per bucket (sorted by `ts`
within each): `pd.read_parquet(path, filters=[("bucket", "==", 3)])` reads one shard.
Use `stable_hash` also to seed per-user randomness:
`numpy.random.default_rng([seed, stable_hash(user_id)])`.

**Dtypes.** `user_id`, `event`, `event_id` are `str`; to keep 20M rows lean, the sparse,
low-cardinality properties `url`, `referrer`, `utm_source`, `item` and `category` are pandas
`category` (about 1.5 GB less than `str` at 1M users; they compare, `isin` and `.str` like
strings; use `.astype(str)` if you need plain strings). `url` is a path (`/product/...`)
rather than a full URL, for the same reason.
"""


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB" if path.exists() else "(not generated)"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _next_delay(events: pd.DataFrame, first: str, then: str) -> pd.Series:
    a = events.loc[events["event"] == first, ["user_id", "ts"]].reset_index(drop=True)
    b = events.loc[events["event"] == then, ["user_id", "ts"]].rename(columns={"ts": "then"})
    m = pd.merge_asof(a, b, left_on="ts", right_on="then", by="user_id", direction="forward", allow_exact_matches=False)
    return m["then"] - m["ts"]


def figures(ds) -> list[str]:
    """Key figures of a dataset, measured on the data."""
    p, e = ds.profiles, ds.events
    reach = p[["push_token", "email", "phone", "web_push_token"]].notna().mean()
    per_user = e.groupby("user_id").size()
    out = [
        f"reachable: push {_pct(reach['push_token'])}, e-mail {_pct(reach['email'])}, phone {_pct(reach['phone'])}, "
        f"web push {_pct(reach['web_push_token'])}",
        f"users with events in the period: {_pct(len(per_user) / len(p))}; events per active user: median "
        f"{per_user.median():.0f}, 90th percentile {per_user.quantile(0.9):.0f}, max {per_user.max()}",
    ]
    if ds.name == "ecommerce":
        d = _next_delay(e, "Added To Cart", "Charged")
        out.append(
            f"users who add to cart: {_pct(e.loc[e['event'] == 'Added To Cart', 'user_id'].nunique() / len(p))}; "
            f"cart adds followed by the user's next Charged within 15 min: {_pct((d < pd.Timedelta('15min')).mean())}, "
            f"15 min to 1 day: {_pct(((d >= pd.Timedelta('15min')) & (d < pd.Timedelta('1D'))).mean())}, "
            f"never in the period: {_pct(d.isna().mean())}"
        )
        first = e.dropna(subset=["utm_source"])["utm_source"].value_counts(normalize=True)
        out.append("traffic sources of sessions: " + ", ".join(f"{k} {_pct(v)}" for k, v in first.items()))
    if ds.name == "rides":
        done = e[e["event"] == "Ride Completed"].groupby("user_id").size()
        before = p.set_index("user_id")["ride_count"]
        crossing = int(((before < 10) & (before.add(done, fill_value=0) >= 10)).sum())
        req = (e["event"] == "Ride Requested").sum()
        out.append(
            f"riders who reach 10 rides during the period: {crossing:,}; Gold: {_pct((p['tier'] == 'Gold').mean())}; "
            f"requests cancelled: {_pct((e['event'] == 'Ride Cancelled').sum() / req)}; completed rides rated: "
            f"{_pct((e['event'] == 'Rating Given').sum() / (e['event'] == 'Ride Completed').sum())}"
        )
    if ds.messages is not None:
        m = ds.messages
        for ch, g in m.groupby("channel"):
            lat = (g["viewed_ts"] - g["ts"]).dt.total_seconds().dropna() / 60
            out.append(
                f"{ch}: {len(g):,} sent, delivered {_pct(g['delivered'].mean())}, viewed {_pct(g['viewed_ts'].notna().mean())}, "
                f"clicked {_pct(g['clicked_ts'].notna().mean())} of sends; time to view median {lat.median():.0f} min "
                f"(90th percentile {lat.quantile(0.9):.0f} min)"
            )
    return out


def render_readme() -> str:
    """The README text, from the datasets' documentation and the bundled files."""
    out = [INTRO]
    out.append("## Summary\n")
    out.append("| dataset | users | events | messages | timezone | files |")
    out.append("|---|---:|---:|---:|---|---:|")
    loaded = {n: load(n) for n in names()}
    for n, ds in loaded.items():
        files = registry.paths(n)
        total = sum(p.stat().st_size for p in files.values() if p.exists())
        msgs = "" if ds.messages is None else f"{len(ds.messages):,}"
        out.append(
            f"| [`{n}`](#{n}) | {len(ds.profiles):,} | {len(ds.events):,} | {msgs} | {ds.timezone} | {total / 1e6:.2f} MB |"
        )
    out.append("")
    for n, ds in loaded.items():
        out.append(f"## {n}\n")
        out.append(ds.description + "\n")
        out.append(
            f"Period `[{ds.start:%Y-%m-%d %H:%M} UTC, {ds.end:%Y-%m-%d %H:%M} UTC)`, account timezone "
            f"`{ds.timezone}`. Files: "
            + ", ".join(f"`{p.name}` ({_size(p)})" for t, p in registry.paths(n).items() if getattr(ds, t) is not None)
            + ".\n"
        )
        out.extend(f"- {line}" for line in figures(ds))
        out.append("")
        counts = ds.events["event"].value_counts()
        out.append("| event | rows | users |")
        out.append("|---|---:|---:|")
        users = ds.events.groupby("event")["user_id"].nunique()
        for event, k in counts.items():
            out.append(f"| {event} | {k:,} | {users[event]:,} |")
        out.append("")
        table = ds.column_table()
        for t in ("profiles", "events", "messages"):
            rows = table[table["table"] == t]
            if rows.empty:
                continue
            out.append(f"**{t}**\n")
            out.append("| column | dtype | description |")
            out.append("|---|---|---|")
            for r in rows.itertuples():
                out.append(f"| `{r.column}` | {r.dtype} | {_md(r.description)} |")
            out.append("")
    out.append(GENERATOR)
    out.append("| column | description |")
    out.append("|---|---|")
    for key, text in COHORT_COLUMNS.items():
        out.append(f"| `{key}` | {_md(text)} |")
    out.append("")
    return "\n".join(out)


def check() -> list[str]:
    """Names of datasets whose bundled files differ from a fresh generation (or are missing)."""
    bad = []
    for n in names():
        files = registry.paths(n)
        fresh = load(n, regenerate=True)
        if not (files["profiles"].exists() and files["events"].exists()):
            bad.append(n)
            continue
        registry._CACHE.pop(n, None)
        bundled = load(n)
        for t in ("profiles", "events", "messages"):
            a, b = getattr(fresh, t), getattr(bundled, t)
            if (a is None) != (b is None) or (a is not None and not a.equals(b)):
                bad.append(n)
                break
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare the bundled files with a fresh generation")
    parser.add_argument("--readme", action="store_true", help="only rewrite datasets/README.md")
    parser.add_argument("names", nargs="*", help="datasets to write (default: all)")
    args = parser.parse_args(argv)
    if args.check:
        bad = check()
        print("bundled datasets up to date" if not bad else f"out of date: {', '.join(bad)}")
        return 1 if bad else 0
    if not args.readme:
        for n in args.names or names():
            written = registry.write(n)
            print(n, ", ".join(f"{p.name} {_size(p)}" for p in written.values()))
    README.write_text(render_readme())
    print(f"wrote {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
