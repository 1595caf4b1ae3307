"""Where bars are kept: the ``BarStore`` port and the values it exchanges."""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.market import SeriesKey


class Coverage(BaseModel):
    """What a store holds of one series: row count and first and last bar open times."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    key: SeriesKey
    rows: int
    start: pd.Timestamp
    end: pd.Timestamp


class BarStore(Protocol):
    """Keeps bar series by :class:`SeriesKey`.

    Contract, kept by every adapter (``tests/contract/test_bar_store.py``):

    - ``write`` validates the bars (:func:`foanalytics.domain.market.validate_bars` against the
      key's timeframe; :class:`InvalidBarsError` and nothing stored on bad input) and upserts by
      timestamp: re-writing the same bars changes nothing, overlapping bars replace the stored
      ones at those timestamps. It returns the number of rows written. It is atomic: a failed or
      interrupted write leaves the earlier data readable and complete. Writing no rows is a
      no-op that creates nothing.
    - ``read`` returns the bars in ``[start, end)`` (either bound ``None`` for open), sorted, UTC,
      bit-exact as written; a range with no bars gives an empty frame with the bars columns and
      dtypes. An unknown key raises :class:`NotFoundError`.
    - ``keys`` lists the stored series, sorted by :meth:`SeriesKey.sort_key`.
    - ``delete`` removes the bars in ``[start, end)`` (the whole series when both are ``None``)
      and returns how many rows went; a series left empty disappears from ``keys``. Unknown key:
      :class:`NotFoundError`.
    - ``coverage`` gives rows and first/last timestamps; unknown key: :class:`NotFoundError`.
    - Backend outages raise :class:`DataUnavailableError`, never hang.
    """

    def write(self, key: SeriesKey, bars: pd.DataFrame) -> int:
        """Upsert ``bars`` into the series ``key``; return the number of rows written."""
        ...

    def read(self, key: SeriesKey, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Return the bars of ``key`` in ``[start, end)``."""
        ...

    def keys(self) -> list[SeriesKey]:
        """Return the stored series keys, sorted."""
        ...

    def delete(self, key: SeriesKey, start: Any = None, end: Any = None) -> int:
        """Delete the bars of ``key`` in ``[start, end)``; return how many rows were removed."""
        ...

    def coverage(self, key: SeriesKey) -> Coverage:
        """Return the row count and first and last timestamps of ``key``."""
        ...
