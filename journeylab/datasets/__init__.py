"""Bundled synthetic cohorts and a cohort generator of any size.

* ``load(name)`` / ``names()``: realistic 30-day cohorts (``ecommerce``, ``rides``, ``media``)
  bundled as Parquet files, documented column by column (``Dataset.columns`` and
  ``datasets/README.md`` in the repository).
* ``generate_cohort(n_users, ...)``: a synthetic e-commerce cohort of any size, vectorized,
  for benchmarks; ``write_cohort`` / ``read_cohort`` store it sharded by ``bucket``.
* ``stable_hash(user_id)``: the 64-bit hash that seeds per-user randomness and shards users
  (``bucket = stable_hash(user_id) % 64``); never Python's salted ``hash()``.
"""

from journeylab.datasets._cohort import (
    CATEGORICAL_COLUMNS,
    COHORT_COLUMNS,
    COHORT_EVENTS,
    generate_cohort,
    read_cohort,
    write_cohort,
)
from journeylab.datasets._hash import N_BUCKETS, bucket_of, stable_hash, stable_hash_array
from journeylab.datasets._registry import Dataset, load, names

__all__ = [
    "Dataset",
    "load",
    "names",
    "generate_cohort",
    "write_cohort",
    "read_cohort",
    "COHORT_EVENTS",
    "COHORT_COLUMNS",
    "CATEGORICAL_COLUMNS",
    "N_BUCKETS",
    "stable_hash",
    "stable_hash_array",
    "bucket_of",
]
