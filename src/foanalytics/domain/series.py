"""Reports about stored series: ingestion, gaps, completeness and summary statistics."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.calendars import Calendar
from foanalytics.domain.gaps import Gap
from foanalytics.domain.market import SeriesKey


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: keys as strings, timestamps as ISO-8601."""
        return {name: _jsonable(getattr(self, name)) for name in type(self).model_fields}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, SeriesKey):
        return str(value)
    if isinstance(value, Calendar):
        return value.value
    return value


class IngestReport(_Report):
    """What an ingestion stored: rows and the first and last bar written."""

    key: SeriesKey
    source: str
    rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None


class GapReport(_Report):
    """The missing bars of a series over ``[start, end)`` on a calendar."""

    key: SeriesKey
    calendar: Calendar
    start: pd.Timestamp
    end: pd.Timestamp
    gaps: tuple[Gap, ...]

    @property
    def missing_bars(self) -> int:
        """How many bars are missing in all."""
        return sum(g.bars for g in self.gaps)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{key, calendar, start, end, missing: [[start, end], ...], count}``."""
        return {
            "key": str(self.key),
            "calendar": self.calendar.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "missing": [g.to_pair() for g in self.gaps],
            "count": self.missing_bars,
        }


class CompletenessReport(_Report):
    """What ``ensure_complete`` fetched and what is still missing after it."""

    key: SeriesKey
    source: str
    fetched_rows: int
    gaps_before: GapReport
    gaps_after: GapReport

    @property
    def complete(self) -> bool:
        """Whether no expected bar is missing any more."""
        return not self.gaps_after.gaps

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "key": str(self.key),
            "source": self.source,
            "fetched_rows": self.fetched_rows,
            "complete": self.complete,
            "missing_before": self.gaps_before.missing_bars,
            "still_missing": self.gaps_after.to_dict()["missing"],
            "count": self.gaps_after.missing_bars,
        }


class SeriesStats(_Report):
    """A summary of a stored series: coverage, gaps and basic statistics of close returns.

    Returns are simple close-to-close returns; ``volatility`` is their sample standard
    deviation (ddof=1) scaled by the square root of ``periods_per_year``.
    """

    key: SeriesKey
    rows: int
    start: pd.Timestamp
    end: pd.Timestamp
    calendar: Calendar
    gaps: int
    missing_bars: int
    periods_per_year: float
    first_close: float
    last_close: float
    total_return: float
    mean_return: float
    volatility: float | None
    best_return: float | None
    worst_return: float | None
