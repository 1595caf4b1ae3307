"""Trading calendars: which bar open times a market is expected to produce.

A calendar turns a timeframe grid into the timestamps where a bar should exist, so gap reports
do not list weekends of equity or FX data, and gives the periods per year used to annualise.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    nearest_workday,
    sunday_to_monday,
)
from pandas.tseries.offsets import DateOffset

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import Timeframe, index_ns, to_utc

_NEW_YORK = "America/New_York"
_DAY_NS = 86_400_000_000_000


class Calendar(StrEnum):
    """When a market trades.

    - ``24/7``: every bar of the grid (crypto).
    - ``weekdays``: Monday to Friday, UTC days (a generic equity or rates series).
    - ``fx``: Sunday 17:00 to Friday 17:00 New York time, daylight saving included.
    - ``nyse``: NYSE trading days (weekends, holidays and the unscheduled closures since 1990
      removed); intraday bars in the 09:30-16:00 New York session.
    - ``auto``: ``weekdays`` when the series has no weekend bar, else ``24/7``
      (see :func:`resolve_calendar`).
    """

    ALWAYS = "24/7"
    WEEKDAYS = "weekdays"
    FX = "fx"
    NYSE = "nyse"
    AUTO = "auto"


def parse_calendar(value: Calendar | str) -> Calendar:
    """Return ``value`` as a :class:`Calendar`; :class:`InvalidInputError` lists the choices.

    Examples
    --------
    >>> parse_calendar("nyse").value
    'nyse'
    """
    try:
        return Calendar(value)
    except ValueError:
        choices = ", ".join(c.value for c in Calendar)
        raise InvalidInputError(f"unknown calendar {value!r}; use one of {choices}") from None


# Trading days a year of each calendar, the usual annualisation conventions (252 for
# exchange-traded markets, 365 for crypto). Intraday bars scale by the session length.
_DAYS_PER_YEAR = {
    Calendar.ALWAYS: 365.0,
    Calendar.WEEKDAYS: 252.0,
    Calendar.FX: 252.0,
    Calendar.NYSE: 252.0,
}
_SESSION_MINUTES = {
    Calendar.ALWAYS: 1440.0,
    Calendar.WEEKDAYS: 1440.0,
    Calendar.FX: 1440.0,
    Calendar.NYSE: 390.0,
}


def periods_per_year(timeframe: Timeframe, calendar: Calendar = Calendar.ALWAYS) -> float:
    """Return how many bars of ``timeframe`` a year holds on ``calendar``.

    Daily bars are 252 a year on exchange calendars and 365 on ``24/7``; weekly 52, monthly 12.

    Examples
    --------
    >>> periods_per_year(Timeframe.H1), periods_per_year(Timeframe.D1, Calendar.NYSE)
    (8760.0, 252.0)
    """
    if calendar is Calendar.AUTO:
        raise InvalidInputError("resolve the 'auto' calendar against the series first")
    if timeframe is Timeframe.MN1:
        return 12.0
    if timeframe is Timeframe.W1:
        return 52.0
    minutes = timeframe.minutes
    assert minutes is not None
    per_day = 1.0 if minutes >= 1440 else _SESSION_MINUTES[calendar] / minutes
    return _DAYS_PER_YEAR[calendar] * per_day


def resolve_calendar(calendar: Calendar, index: pd.DatetimeIndex) -> Calendar:
    """Replace ``auto`` by ``weekdays`` when ``index`` has no Saturday or Sunday bar, else ``24/7``.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")  # Monday to Friday
    >>> resolve_calendar(Calendar.AUTO, days).value
    'weekdays'
    """
    if calendar is not Calendar.AUTO:
        return calendar
    weekend = pd.DatetimeIndex(index).tz_convert("UTC").day_of_week >= 5
    return Calendar.ALWAYS if bool(np.any(weekend)) else Calendar.WEEKDAYS


class _NyseHolidays(AbstractHolidayCalendar):
    # NYSE does not move a Saturday New Year's Day to the Friday before, hence sunday_to_monday.
    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        Holiday(
            "Martin Luther King Jr. Day",
            month=1,
            day=1,
            start_date="1998-01-01",
            offset=DateOffset(weekday=0, weeks=2),
        ),
        Holiday("Washington's Birthday", month=2, day=1, offset=DateOffset(weekday=0, weeks=2)),
        GoodFriday,
        # The last Monday of May is the first Monday on or after May 25. (May 31 with
        # ``weeks=-1`` went a week early whenever May 31 was itself a Monday: 1999, 2004, 2010.)
        Holiday("Memorial Day", month=5, day=25, offset=DateOffset(weekday=0)),
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        Holiday("Labor Day", month=9, day=1, offset=DateOffset(weekday=0)),
        Holiday("Thanksgiving", month=11, day=1, offset=DateOffset(weekday=3, weeks=3)),
        Holiday("Christmas", month=12, day=25, observance=nearest_workday),
    ]


# Closures outside the holiday rules: national days of mourning and emergencies.
_NYSE_CLOSURES = (
    "1994-04-27",  # Richard Nixon
    "2001-09-11",
    "2001-09-12",
    "2001-09-13",
    "2001-09-14",  # September 11
    "2004-06-11",  # Ronald Reagan
    "2007-01-02",  # Gerald Ford
    "2012-10-29",
    "2012-10-30",  # Hurricane Sandy
    "2018-12-05",  # George H. W. Bush
    "2025-01-09",  # Jimmy Carter
)


@cache
def _nyse_closed_days(first_year: int, last_year: int) -> npt.NDArray[np.int64]:
    holidays = _NyseHolidays().holidays(f"{first_year}-01-01", f"{last_year}-12-31")
    closed = holidays.union(pd.DatetimeIndex(_NYSE_CLOSURES)).tz_localize("UTC")
    return np.asarray(closed.as_unit("ns").asi8 // _DAY_NS, dtype=np.int64)


def nyse_holidays(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Return the weekday dates in ``[start, end)`` on which the NYSE is closed.

    Examples
    --------
    >>> [d.strftime("%m-%d") for d in nyse_holidays(pd.Timestamp("2024-01-01"),
    ...                                              pd.Timestamp("2024-03-01"))]
    ['01-01', '01-15', '02-19']
    """
    lo, hi = to_utc(start), to_utc(end)
    days = _nyse_closed_days(lo.year, hi.year) * _DAY_NS
    index = pd.DatetimeIndex(days.view("datetime64[ns]")).tz_localize("UTC")
    # A Saturday New Year's Day is a holiday rule hit but no closed weekday (it is not moved).
    return index[(index >= lo) & (index < hi) & (index.day_of_week < 5)]


def expected_timestamps(
    calendar: Calendar, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DatetimeIndex:
    """Return the bar open times in ``[start, end)`` at which ``calendar`` expects a bar.

    Weekly and monthly bars are expected every period on every calendar.

    Examples
    --------
    >>> friday, tuesday = pd.Timestamp("2024-01-05", tz="UTC"), pd.Timestamp("2024-01-09", tz="UTC")
    >>> len(expected_timestamps(Calendar.WEEKDAYS, Timeframe.D1, friday, tuesday))
    2
    """
    if calendar is Calendar.AUTO:
        raise InvalidInputError("resolve the 'auto' calendar against the series first")
    grid = timeframe.grid(start, end)
    if calendar is Calendar.ALWAYS or timeframe in (Timeframe.W1, Timeframe.MN1) or len(grid) == 0:
        return grid
    ns = index_ns(grid)
    if calendar is Calendar.WEEKDAYS or (calendar is Calendar.FX and timeframe is Timeframe.D1):
        keep = grid.day_of_week < 5
    elif calendar is Calendar.FX:
        # A bar is expected when any of it is in the session: the 4h bar opening at 20:00 UTC on
        # Sunday holds the 17:00 New York open. The weekend (48 h) is longer than any intraday
        # bar, so a bar is wholly closed only if both its first and its last minute are.
        last_minute = pd.Timedelta(minutes=(timeframe.minutes or 1) - 1)
        keep = _fx_open(grid) | _fx_open(grid + last_minute)
    else:
        keep = _nyse_mask(grid, ns, timeframe)
    return grid[np.asarray(keep, dtype=bool)]


def _fx_open(stamps: pd.DatetimeIndex) -> npt.NDArray[np.bool_]:
    local = stamps.tz_convert(_NEW_YORK)
    minute = np.asarray(local.hour * 60 + local.minute)
    dow = np.asarray(local.day_of_week)
    closed = ((dow == 4) & (minute >= 17 * 60)) | (dow == 5) | ((dow == 6) & (minute < 17 * 60))
    return np.asarray(~closed, dtype=bool)


def _nyse_mask(
    grid: pd.DatetimeIndex, ns: npt.NDArray[np.int64], timeframe: Timeframe
) -> npt.NDArray[np.bool_]:
    minutes = timeframe.minutes
    assert minutes is not None
    if minutes >= 1440:
        days = ns // _DAY_NS
        weekday = np.asarray(grid.day_of_week < 5)
    else:
        if 30 % minutes != 0:
            raise InvalidInputError(
                f"the nyse calendar needs {timeframe.value} bars to divide 30 minutes "
                "(the session opens at 09:30)"
            )
        local = grid.tz_convert(_NEW_YORK)
        minute = np.asarray(local.hour * 60 + local.minute)
        weekday = np.asarray(local.day_of_week < 5) & (minute >= 570) & (minute < 960)
        local_days = local.tz_localize(None).normalize().as_unit("ns")
        days = np.asarray(local_days.asi8, dtype=np.int64) // _DAY_NS
    first, last = grid[0].year - 1, grid[-1].year + 1
    closed = np.isin(days, _nyse_closed_days(first, last))
    return np.asarray(weekday & ~closed, dtype=bool)
