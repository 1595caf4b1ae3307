"""Missing bars: where a series has no bar that its calendar expects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.calendars import Calendar, expected_timestamps
from foanalytics.domain.market import Timeframe, index_from_ns, index_ns, to_utc


class Gap(BaseModel):
    """A run of consecutive expected bars that are missing: ``[start, end)`` and how many."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    start: pd.Timestamp
    end: pd.Timestamp
    bars: int

    def to_pair(self) -> list[str]:
        """Return ``[start, end]`` as ISO-8601 strings (the CLI's JSON form)."""
        return [self.start.isoformat(), self.end.isoformat()]


def find_gaps(
    index: pd.DatetimeIndex,
    timeframe: Timeframe,
    start: Any,
    end: Any,
    calendar: Calendar = Calendar.ALWAYS,
) -> list[Gap]:
    """Return the runs of bars ``calendar`` expects in ``[start, end)`` that ``index`` lacks.

    Each gap is half-open: ``end`` is the open time of the bar after the last missing one.
    Consecutive missing bars of the calendar form one gap even when the calendar skips time
    between them (a missing Friday and Monday of daily data are one gap).

    Examples
    --------
    >>> have = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 03:00"], tz="UTC")
    >>> [g.to_pair() + [g.bars] for g in find_gaps(have, Timeframe.H1, have[0], "2024-01-01 05:00")]
    [['2024-01-01T01:00:00+00:00', '2024-01-01T03:00:00+00:00', 2], \
['2024-01-01T04:00:00+00:00', '2024-01-01T05:00:00+00:00', 1]]
    """
    expected = expected_timestamps(calendar, timeframe, to_utc(start), to_utc(end))
    want = index_ns(expected)
    stamps = pd.DatetimeIndex(index)
    # Naive stamps are read as UTC, like ``start`` and ``end`` (see ``to_utc``).
    stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
    have = index_ns(stamps)
    if len(have) > 1 and bool(np.any(have[1:] < have[:-1])):
        # searchsorted below needs ascending stamps; an unsorted index would hide bars.
        have = np.sort(have)
    if len(want) == 0:
        return []
    pos = np.searchsorted(have, want)
    found = np.zeros(len(want), dtype=bool)
    inside = pos < len(have)
    found[inside] = have[pos[inside]] == want[inside]
    missing = np.flatnonzero(~found)
    if len(missing) == 0:
        return []
    breaks = np.flatnonzero(np.diff(missing) != 1)
    run_starts = missing[np.r_[0, breaks + 1]]
    run_ends = missing[np.r_[breaks, len(missing) - 1]]
    starts = index_from_ns(want[run_starts])
    ends = index_from_ns(timeframe.shift(want[run_ends]))
    counts = run_ends - run_starts + 1
    return [Gap(start=s, end=e, bars=int(n)) for s, e, n in zip(starts, ends, counts, strict=True)]
