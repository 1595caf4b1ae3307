"""An in-memory ``BarStore``: the fake for tests and for embedding without a disk."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd

from foanalytics.adapters.storage.upsert import merge_bars, missing_key
from foanalytics.domain.market import SeriesKey, empty_bars, index_ns, slice_bars, validate_bars
from foanalytics.ports.storage import Coverage


class MemoryBarStore:
    """Keep bar series in a dict, with the full :class:`BarStore` contract.

    Examples
    --------
    >>> import pandas as pd
    >>> store = MemoryBarStore()
    >>> key = SeriesKey.parse("test/ABC/1d")
    >>> bars = pd.DataFrame({"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0],
    ...     "volume": [0.0]}, index=pd.DatetimeIndex(["2024-01-01"], tz="UTC"))
    >>> store.write(key, bars), store.coverage(key).rows
    (1, 1)
    """

    def __init__(self) -> None:
        self._series: dict[SeriesKey, pd.DataFrame] = {}
        self._lock = threading.Lock()

    def write(self, key: SeriesKey, bars: pd.DataFrame) -> int:
        """Upsert ``bars`` into ``key``; see :class:`foanalytics.ports.storage.BarStore`."""
        new = validate_bars(bars, key.timeframe).bars
        if new.empty:
            return 0
        with self._lock:
            old = self._series.get(key)
            self._series[key] = new if old is None else merge_bars(old, new)
        return len(new)

    def read(self, key: SeriesKey, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Return the bars of ``key`` in ``[start, end)``."""
        bars = self._get(key)
        return slice_bars(bars, start, end).copy()

    def keys(self) -> list[SeriesKey]:
        """Return the stored keys, sorted."""
        with self._lock:
            return sorted(self._series, key=SeriesKey.sort_key)

    def delete(self, key: SeriesKey, start: Any = None, end: Any = None) -> int:
        """Delete the bars of ``key`` in ``[start, end)``; return the count removed."""
        with self._lock:
            bars = self._series.get(key)
            if bars is None:
                raise missing_key(key)
            doomed = slice_bars(bars, start, end)
            if len(doomed) == len(bars):
                del self._series[key]
            elif len(doomed):
                keep = ~np.isin(
                    index_ns(pd.DatetimeIndex(bars.index)), index_ns(pd.DatetimeIndex(doomed.index))
                )
                self._series[key] = bars[keep]
            return len(doomed)

    def coverage(self, key: SeriesKey) -> Coverage:
        """Return rows and first/last timestamps of ``key``."""
        bars = self._get(key)
        return Coverage(key=key, rows=len(bars), start=bars.index[0], end=bars.index[-1])

    def _get(self, key: SeriesKey) -> pd.DataFrame:
        with self._lock:
            bars = self._series.get(key)
        if bars is None:
            raise missing_key(key)
        return bars if len(bars) else empty_bars()
