"""Pieces every ``BarStore`` adapter shares: merging an upsert and the unknown-key error."""

from __future__ import annotations

import numpy as np
import pandas as pd

from foanalytics.domain.errors import NotFoundError
from foanalytics.domain.market import BAR_COLUMNS, SeriesKey, bars_from_arrays, index_ns


def merge_bars(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Upsert ``new`` into ``old`` (both valid bars): new rows replace old ones at equal times."""
    old_ns = index_ns(pd.DatetimeIndex(old.index))
    new_ns = index_ns(pd.DatetimeIndex(new.index))
    if len(old_ns) and len(new_ns) and new_ns[0] > old_ns[-1]:
        # An append (the usual upsert of new bars): no overlap to resolve, no sort needed.
        columns = {c: np.concatenate([old[c].to_numpy(), new[c].to_numpy()]) for c in BAR_COLUMNS}
        return bars_from_arrays(np.concatenate([old_ns, new_ns]), columns)
    keep = ~np.isin(old_ns, new_ns, assume_unique=True)
    ns = np.concatenate([old_ns[keep], new_ns])
    order = np.argsort(ns, kind="stable")
    columns = {
        c: np.concatenate([old[c].to_numpy()[keep], new[c].to_numpy()])[order] for c in BAR_COLUMNS
    }
    return bars_from_arrays(ns[order], columns)


def missing_key(key: SeriesKey) -> NotFoundError:
    """Return the error for a key the store does not hold."""
    return NotFoundError(f"series {key} is not in the store; `foanalytics data list` shows keys")
