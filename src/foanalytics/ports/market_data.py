"""Where bars come from: the ``MarketDataSource`` port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.market import SeriesKey, Timeframe

#: Called by long fetches with (bars fetched so far, bars expected in all or None if unknown).
ProgressCallback = Callable[[int, int | None], None]


class SourceInfo(BaseModel):
    """What a source can serve: its name and the timeframes it delivers natively."""

    model_config = ConfigDict(frozen=True)

    name: str
    timeframes: tuple[Timeframe, ...]


class MarketDataSource(Protocol):
    """Delivers bars for a series key and a time range.

    Contract:

    - ``fetch`` returns validated bars (the bars convention of
      :mod:`foanalytics.domain.market`) in ``[start, end)``, sorted, UTC; ``None`` bounds mean
      "everything the source has". A range the source has no bars for gives an empty frame.
    - A key the source cannot serve (unknown symbol, unsupported timeframe) raises
      :class:`NotFoundError` or :class:`InvalidInputError` naming it; a failing provider raises
      :class:`ProviderError` naming the provider, after retrying transient network errors.
    - ``progress``, when given, is called as bars arrive.
    """

    def info(self) -> SourceInfo:
        """Describe the source."""
        ...

    def fetch(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Return the bars of ``key`` in ``[start, end)``."""
        ...
