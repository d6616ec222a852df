"""A stable 64-bit hash of user ids, the same on every machine, process and Python run.

Python's built-in ``hash()`` of a ``str`` is salted per process (``PYTHONHASHSEED``), so it
cannot decide a user's random stream or shard. ``stable_hash`` is the first 8 bytes of the
BLAKE2b digest of the id's UTF-8 bytes, read as a little-endian unsigned 64-bit integer.

The hash itself lives with the engine's draws (:mod:`journeylab.engine.draws`): one stable
hash for sharding, splits and behaviour draws.
"""

from __future__ import annotations

from collections.abc import Iterable

from journeylab.engine.draws import stable_hash, stable_hash_array

__all__ = ["N_BUCKETS", "stable_hash", "stable_hash_array", "bucket_of"]

#: Number of shards ``bucket`` columns use: ``bucket = stable_hash(user_id) % N_BUCKETS``.
N_BUCKETS = 64


def bucket_of(user_ids: str | Iterable[str], n_buckets: int = N_BUCKETS):
    """Shard number of a user id (or a numpy ``int16`` array of them): ``stable_hash(uid) % n_buckets``.

    >>> bucket_of("u0000000")
    36
    >>> bucket_of(["u0000000", "u0000002", "ecom-00001"]).tolist()
    [36, 46, 62]
    """
    if isinstance(user_ids, str):
        return stable_hash(user_ids) % n_buckets
    import numpy as np

    return (stable_hash_array(user_ids) % np.uint64(n_buckets)).astype(np.int16)
