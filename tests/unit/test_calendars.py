"""Unit tests of the trading calendars.

Holiday lists are the NYSE's published ones; session hours are the FX (Sunday 17:00 to Friday
17:00 New York) and NYSE (09:30-16:00 New York) conventions, written out in UTC by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from foanalytics.domain.calendars import (
    Calendar,
    expected_timestamps,
    nyse_holidays,
    periods_per_year,
    resolve_calendar,
)
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.gaps import find_gaps
from foanalytics.domain.market import Timeframe

TF = Timeframe
CAL = Calendar


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def stamps(index: pd.DatetimeIndex) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M") for t in index]


def span(start: str, end: str, freq: str) -> pd.DatetimeIndex:
    """UTC stamps in ``[start, end)``."""
    return pd.date_range(utc(start), utc(end), freq=freq, inclusive="left")


# ---------------------------------------------------------------------------------------------
# periods_per_year and resolve_calendar
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tf", "calendar", "expected"),
    [
        # 24/7: 365 days of 1440 minutes.
        (TF.M1, CAL.ALWAYS, 525_600.0),
        (TF.M5, CAL.ALWAYS, 105_120.0),
        (TF.M15, CAL.ALWAYS, 35_040.0),
        (TF.M30, CAL.ALWAYS, 17_520.0),
        (TF.H1, CAL.ALWAYS, 8_760.0),
        (TF.H4, CAL.ALWAYS, 2_190.0),
        (TF.D1, CAL.ALWAYS, 365.0),
        (TF.W1, CAL.ALWAYS, 52.0),
        (TF.MN1, CAL.ALWAYS, 12.0),
        # NYSE: 252 days of 6.5 hours.
        (TF.M1, CAL.NYSE, 98_280.0),
        (TF.M5, CAL.NYSE, 19_656.0),
        (TF.M15, CAL.NYSE, 6_552.0),
        (TF.M30, CAL.NYSE, 3_276.0),
        (TF.H1, CAL.NYSE, 1_638.0),
        (TF.D1, CAL.NYSE, 252.0),
        (TF.W1, CAL.NYSE, 52.0),
        (TF.MN1, CAL.NYSE, 12.0),
        # Weekdays and FX: 252 days of 24 hours.
        (TF.M1, CAL.WEEKDAYS, 362_880.0),
        (TF.H1, CAL.WEEKDAYS, 6_048.0),
        (TF.H4, CAL.WEEKDAYS, 1_512.0),
        (TF.D1, CAL.WEEKDAYS, 252.0),
        (TF.H1, CAL.FX, 6_048.0),
        (TF.D1, CAL.FX, 252.0),
        (TF.W1, CAL.FX, 52.0),
    ],
)
def test_periods_per_year(tf: Timeframe, calendar: Calendar, expected: float) -> None:
    assert periods_per_year(tf, calendar) == expected


def test_periods_per_year_defaults_to_24_7_and_refuses_auto() -> None:
    assert periods_per_year(TF.H1) == 8_760.0
    with pytest.raises(InvalidInputError, match="auto"):
        periods_per_year(TF.D1, CAL.AUTO)


def test_resolve_calendar() -> None:
    weekdays = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")  # Monday .. Friday
    assert resolve_calendar(CAL.AUTO, weekdays) is CAL.WEEKDAYS
    week = pd.date_range("2024-01-01", periods=7, freq="D", tz="UTC")
    assert resolve_calendar(CAL.AUTO, week) is CAL.ALWAYS
    with_saturday = pd.DatetimeIndex([utc("2024-01-05"), utc("2024-01-06")])
    with_sunday = pd.DatetimeIndex([utc("2024-01-05"), utc("2024-01-07 23:00")])
    assert resolve_calendar(CAL.AUTO, with_saturday) is CAL.ALWAYS
    assert resolve_calendar(CAL.AUTO, with_sunday) is CAL.ALWAYS
    # Monday 08:00 in Tokyo is Sunday 23:00 UTC: weekends are judged in UTC.
    tokyo = pd.DatetimeIndex([pd.Timestamp("2024-01-08 08:00", tz="Asia/Tokyo")])
    assert resolve_calendar(CAL.AUTO, tokyo) is CAL.ALWAYS
    for explicit in (CAL.ALWAYS, CAL.WEEKDAYS, CAL.FX, CAL.NYSE):
        assert resolve_calendar(explicit, with_saturday) is explicit


# ---------------------------------------------------------------------------------------------
# expected_timestamps: 24/7, weekdays, weeks and months
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tf", list(TF))
def test_always_expects_the_whole_grid(tf: Timeframe) -> None:
    lo, hi = utc("2023-12-30 13:17"), utc("2024-03-02")
    got = expected_timestamps(CAL.ALWAYS, tf, lo, hi)
    assert got.equals(tf.grid(lo, hi))
    assert len(got) > 0


def test_weekdays_daily_and_hourly() -> None:
    days = expected_timestamps(CAL.WEEKDAYS, TF.D1, utc("2024-01-04"), utc("2024-01-17"))
    assert [d.strftime("%m-%d %a") for d in days] == [
        "01-04 Thu",
        "01-05 Fri",
        "01-08 Mon",
        "01-09 Tue",
        "01-10 Wed",
        "01-11 Thu",
        "01-12 Fri",
        "01-15 Mon",  # weekdays has no holidays (MLK Day is an NYSE holiday)
        "01-16 Tue",
    ]
    hours = expected_timestamps(
        CAL.WEEKDAYS, TF.H1, utc("2024-01-05 22:00"), utc("2024-01-08 02:00")
    )
    assert stamps(hours) == [
        "2024-01-05 22:00",
        "2024-01-05 23:00",
        "2024-01-08 00:00",
        "2024-01-08 01:00",
    ]


@pytest.mark.parametrize("calendar", [CAL.WEEKDAYS, CAL.FX, CAL.NYSE])
def test_weeks_and_months_are_expected_every_period(calendar: Calendar) -> None:
    lo, hi = utc("2024-01-01"), utc("2025-01-01")
    weeks = expected_timestamps(calendar, TF.W1, lo, hi)
    months = expected_timestamps(calendar, TF.MN1, lo, hi)
    assert len(weeks) == 53  # 2024 starts on a Monday and has 53 of them
    assert {d.day_name() for d in weeks} == {"Monday"}
    assert stamps(months) == stamps(pd.date_range(lo, hi, freq="MS", inclusive="left"))


def test_auto_must_be_resolved_first() -> None:
    with pytest.raises(InvalidInputError, match="auto"):
        expected_timestamps(CAL.AUTO, TF.D1, utc("2024-01-01"), utc("2024-02-01"))


def test_empty_window() -> None:
    for calendar in (CAL.ALWAYS, CAL.WEEKDAYS, CAL.FX, CAL.NYSE):
        assert len(expected_timestamps(calendar, TF.D1, utc("2024-01-02"), utc("2024-01-02"))) == 0


# ---------------------------------------------------------------------------------------------
# FX: Sunday 17:00 to Friday 17:00 New York, across the US daylight-saving switches
# ---------------------------------------------------------------------------------------------

# (Friday close, Sunday open) in UTC. 17:00 New York is 22:00 UTC in winter (EST) and 21:00 UTC
# in summer (EDT). DST started on Sunday 2024-03-10 and ended on Sunday 2024-11-03, so on those
# weekends the close and the open fall at different UTC hours.
FX_WEEKENDS = [
    ("2024-03-01 22:00", "2024-03-03 22:00"),  # winter
    ("2024-03-08 22:00", "2024-03-10 21:00"),  # closes in EST, reopens in EDT
    ("2024-03-15 21:00", "2024-03-17 21:00"),  # summer
    ("2024-11-01 21:00", "2024-11-03 22:00"),  # closes in EDT, reopens in EST
    ("2024-11-08 22:00", "2024-11-10 22:00"),  # winter
    ("2023-03-10 22:00", "2023-03-12 21:00"),
    ("2023-11-03 21:00", "2023-11-05 22:00"),
]


@pytest.mark.parametrize(("close", "reopen"), FX_WEEKENDS)
@pytest.mark.parametrize(
    ("tf", "freq"), [(TF.M1, "1min"), (TF.M5, "5min"), (TF.M30, "30min"), (TF.H1, "1h")]
)
def test_fx_weekend_around_dst(close: str, reopen: str, tf: Timeframe, freq: str) -> None:
    lo, hi = utc(close) - pd.Timedelta(hours=3), utc(reopen) + pd.Timedelta(hours=3)
    expected = span(str(lo), close, freq).append(span(reopen, str(hi), freq))
    assert stamps(expected_timestamps(CAL.FX, tf, lo, hi)) == stamps(expected)


def test_fx_week_known_hours() -> None:
    got = expected_timestamps(CAL.FX, TF.H1, utc("2024-03-08 19:00"), utc("2024-03-10 23:00"))
    assert stamps(got) == [
        "2024-03-08 19:00",
        "2024-03-08 20:00",
        "2024-03-08 21:00",  # 16:00 EST, the last hour of the week
        "2024-03-10 21:00",  # 17:00 EDT, the first hour of the next
        "2024-03-10 22:00",
    ]
    # A full winter week holds 5 x 24 hourly bars.
    week = expected_timestamps(CAL.FX, TF.H1, utc("2024-01-07 22:00"), utc("2024-01-14 22:00"))
    assert len(week) == 120


def test_fx_4h_bars_holding_the_open_or_close_are_expected() -> None:
    got = expected_timestamps(CAL.FX, TF.H4, utc("2024-03-08 12:00"), utc("2024-03-11 00:00"))
    # Friday 20:00 UTC holds 15:00-17:00 EST of trading; Sunday 20:00 UTC holds the 21:00 UTC
    # (17:00 EDT) open; Sunday 16:00 UTC (12:00 EDT) is wholly closed.
    assert stamps(got) == [
        "2024-03-08 12:00",
        "2024-03-08 16:00",
        "2024-03-08 20:00",
        "2024-03-10 20:00",
    ]
    got = expected_timestamps(CAL.FX, TF.H4, utc("2024-11-01 12:00"), utc("2024-11-04 00:00"))
    assert stamps(got) == [
        "2024-11-01 12:00",
        "2024-11-01 16:00",
        "2024-11-01 20:00",
        "2024-11-03 20:00",
    ]


def test_fx_daily_bars_are_weekdays() -> None:
    got = expected_timestamps(CAL.FX, TF.D1, utc("2024-03-07"), utc("2024-03-13"))
    assert [d.strftime("%m-%d %a") for d in got] == [
        "03-07 Thu",
        "03-08 Fri",
        "03-11 Mon",
        "03-12 Tue",
    ]


# ---------------------------------------------------------------------------------------------
# NYSE daily: the published holiday lists
# ---------------------------------------------------------------------------------------------

# Weekdays on which the NYSE was closed, per its published holiday schedules.
NYSE_CLOSED = {
    2001: [
        "01-01",
        "01-15",
        "02-19",
        "04-13",  # Good Friday
        "05-28",
        "07-04",
        "09-03",
        "09-11",  # September 11: closed four days
        "09-12",
        "09-13",
        "09-14",
        "11-22",
        "12-25",
    ],
    2010: [
        "01-01",
        "01-18",
        "02-15",
        "04-02",
        "05-31",  # Memorial Day on May 31 itself
        "07-05",  # July 4th on a Sunday
        "09-06",
        "11-25",
        "12-24",  # Christmas on a Saturday; New Year's Day 2011 too, but it is not moved
    ],
    2012: [
        "01-02",  # New Year's Day on a Sunday
        "01-16",
        "02-20",
        "04-06",
        "05-28",
        "07-04",
        "09-03",
        "10-29",  # Hurricane Sandy
        "10-30",
        "11-22",
        "12-25",
    ],
    2018: [
        "01-01",
        "01-15",
        "02-19",
        "03-30",
        "05-28",
        "07-04",
        "09-03",
        "11-22",
        "12-05",  # George H. W. Bush
        "12-25",
    ],
    2019: ["01-01", "01-21", "02-18", "04-19", "05-27", "07-04", "09-02", "11-28", "12-25"],
    2021: [
        "01-01",
        "01-18",
        "02-15",
        "04-02",
        "05-31",  # Memorial Day on May 31 itself
        "07-05",
        "09-06",
        "11-25",
        "12-24",  # Juneteenth not yet observed (06-18 was a trading day)
    ],
    2022: [
        # New Year's Day on a Saturday: no closure (2021-12-31 was a trading day)
        "01-17",
        "02-21",
        "04-15",
        "05-30",
        "06-20",  # Juneteenth on a Sunday, first observed in 2022
        "07-04",
        "09-05",
        "11-24",
        "12-26",  # Christmas on a Sunday
    ],
    2024: [
        "01-01",
        "01-15",
        "02-19",
        "03-29",
        "05-27",
        "06-19",
        "07-04",
        "09-02",
        "11-28",
        "12-25",
    ],
}
# Trading days in each year (an independent total).
NYSE_TRADING_DAYS = {
    2001: 248,
    2010: 252,
    2012: 250,
    2018: 251,
    2019: 252,
    2021: 252,
    2022: 251,
    2024: 252,
}


@pytest.mark.parametrize("year", sorted(NYSE_CLOSED))
def test_nyse_holidays_of_known_years(year: int) -> None:
    lo, hi = utc(f"{year}-01-01"), utc(f"{year + 1}-01-01")
    open_days = expected_timestamps(CAL.NYSE, TF.D1, lo, hi)
    weekdays = pd.date_range(lo, hi, freq="D", inclusive="left")
    weekdays = weekdays[weekdays.day_of_week < 5]
    closed = [d.strftime("%m-%d") for d in weekdays.difference(open_days)]
    assert closed == NYSE_CLOSED[year]
    assert len(open_days) == NYSE_TRADING_DAYS[year]
    assert [d.strftime("%m-%d") for d in nyse_holidays(lo, hi)] == NYSE_CLOSED[year]


@pytest.mark.parametrize(
    ("day", "is_open"),
    [
        ("2008-03-21", False),  # Good Friday
        ("2016-03-25", False),  # Good Friday
        ("2000-04-21", False),  # Good Friday
        ("2015-07-03", False),  # July 4th on a Saturday: the Friday before
        ("2020-07-03", False),
        ("2021-12-24", False),  # Christmas on a Saturday: the Friday before
        ("2016-12-26", False),  # Christmas on a Sunday: the Monday after
        ("2017-01-02", False),  # New Year's Day on a Sunday: the Monday after
        ("2023-01-02", False),
        ("1999-12-31", True),  # New Year's Day 2000 on a Saturday: not moved to Friday
        ("2010-12-31", True),
        ("2021-12-31", True),
        ("2027-06-18", False),  # Juneteenth 2027 on a Saturday: the Friday before
        ("2027-12-24", False),
        ("2027-12-31", True),
        ("1997-01-20", True),  # MLK Day closures began in 1998
        ("1998-01-19", False),
        ("1994-04-27", False),  # Richard Nixon
        ("2001-09-10", True),
        ("2001-09-17", True),
        ("2004-06-11", False),  # Ronald Reagan
        ("2007-01-02", False),  # Gerald Ford
        ("2012-10-31", True),
        ("2018-12-05", False),
        ("2025-01-09", False),  # Jimmy Carter
        ("1999-05-31", False),  # Memorial Day on May 31 ...
        ("1999-05-24", True),  # ... not the Monday before
        ("2004-05-31", False),
        ("2004-05-24", True),
        ("2024-01-06", False),  # a Saturday
    ],
)
def test_nyse_known_days(day: str, is_open: bool) -> None:
    got = expected_timestamps(CAL.NYSE, TF.D1, utc(day), utc(day) + pd.Timedelta(days=1))
    assert (len(got) == 1) is is_open


def test_nyse_holidays_lists_weekdays_only() -> None:
    got = nyse_holidays(pd.Timestamp("2021-12-01"), pd.Timestamp("2022-02-01"))
    assert [d.strftime("%Y-%m-%d") for d in got] == ["2021-12-24", "2022-01-17"]
    got = nyse_holidays(pd.Timestamp("2022-12-01", tz="UTC"), pd.Timestamp("2023-01-03", tz="UTC"))
    assert [d.strftime("%Y-%m-%d") for d in got] == ["2022-12-26", "2023-01-02"]


# ---------------------------------------------------------------------------------------------
# NYSE intraday: 09:30-16:00 New York
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "first", "end"),
    [
        ("2024-03-05", "2024-03-05 14:30", "2024-03-05 21:00"),  # EST: 09:30 = 14:30 UTC
        ("2024-03-08", "2024-03-08 14:30", "2024-03-08 21:00"),  # the Friday before DST
        ("2024-03-11", "2024-03-11 13:30", "2024-03-11 20:00"),  # the Monday after: EDT
        ("2024-07-10", "2024-07-10 13:30", "2024-07-10 20:00"),
        ("2024-11-01", "2024-11-01 13:30", "2024-11-01 20:00"),
        ("2024-11-04", "2024-11-04 14:30", "2024-11-04 21:00"),
    ],
)
def test_nyse_5m_session(day: str, first: str, end: str) -> None:
    lo = utc(day)
    got = expected_timestamps(CAL.NYSE, TF.M5, lo, lo + pd.Timedelta(days=1))
    assert stamps(got) == stamps(span(first, end, "5min"))
    assert len(got) == 78


@pytest.mark.parametrize(("tf", "bars"), [(TF.M1, 390), (TF.M15, 26), (TF.M30, 13)])
def test_nyse_intraday_bars_per_day(tf: Timeframe, bars: int) -> None:
    got = expected_timestamps(CAL.NYSE, tf, utc("2024-07-08"), utc("2024-07-13"))
    days = pd.Series(1, index=got).groupby(got.strftime("%m-%d")).sum()
    # July 4th is a Thursday in 2024; the week of the 8th is a full one.
    assert days.to_dict() == {f"07-{d:02d}": bars for d in (8, 9, 10, 11, 12)}


def test_nyse_intraday_skips_holidays_and_weekends() -> None:
    got = expected_timestamps(CAL.NYSE, TF.M5, utc("2024-07-03 00:00"), utc("2024-07-09 00:00"))
    days = sorted(set(got.tz_convert("America/New_York").strftime("%m-%d %a")))
    assert days == ["07-03 Wed", "07-05 Fri", "07-08 Mon"]


def test_nyse_intraday_needs_bars_dividing_the_half_hour() -> None:
    with pytest.raises(InvalidInputError, match="30 minutes"):
        expected_timestamps(CAL.NYSE, TF.H1, utc("2024-07-08"), utc("2024-07-09"))


# ---------------------------------------------------------------------------------------------
# Real data against the calendars
# ---------------------------------------------------------------------------------------------


def read_index(path: Path) -> pd.DatetimeIndex:
    frame = pd.read_csv(path, index_col=0, parse_dates=True)
    return pd.DatetimeIndex(frame.index).tz_localize("UTC")


@pytest.mark.parametrize(
    "name",
    [
        "stocks_daily/nvda-1999-2014.txt",
        "stocks_daily/orcl-1995-2014.txt",
        "stocks_daily/yhoo-1996-2015.txt",
        "stocks_daily/GOOG.csv",
    ],
)
def test_nyse_calendar_matches_daily_stock_files(shared_data: Path, name: str) -> None:
    index = read_index(shared_data / name)
    first, last = index[0], index[-1] + pd.Timedelta(days=1)
    # No day is missing from these files: every NYSE trading day has a bar. (Before the Memorial
    # Day fix, 1999-05-31, 2004-05-31 and 2010-05-31 showed up here, and the Mondays a week
    # before them below.)
    assert find_gaps(index, TF.D1, first, last, CAL.NYSE) == []
    # ... and no bar falls on a day the calendar says is closed.
    expected = expected_timestamps(CAL.NYSE, TF.D1, first, last)
    assert list(index.difference(expected)) == []
    # So the weekdays these files skip are exactly the NYSE closures.
    skipped = find_gaps(index, TF.D1, first, last, CAL.WEEKDAYS)
    skipped_days = [g.start + pd.Timedelta(days=i) for g in skipped for i in range(g.bars)]
    skipped_days = [d for d in skipped_days if d.day_of_week < 5]
    assert skipped_days == list(nyse_holidays(first, last))


def test_fx_calendar_against_eurusd(shared_data: Path) -> None:
    index = read_index(shared_data / "fx/EURUSD.csv")
    first, last = index[0], index[-1] + pd.Timedelta(hours=1)
    # The README counts 42 weekend gaps on a 24/7 clock.
    assert len(find_gaps(index, TF.H1, first, last, CAL.ALWAYS)) == 42
    # On the FX clock the weekends vanish. What is left is genuinely missing from the file: the
    # broker was closed for a full FX day (Sunday 17:00 to Monday 17:00 New York) on Christmas
    # Day and New Year's Day. The fx calendar has no holidays, by definition.
    gaps = find_gaps(index, TF.H1, first, last, CAL.FX)
    assert [(g.start.isoformat(), g.end.isoformat(), g.bars) for g in gaps] == [
        ("2017-12-24T22:00:00+00:00", "2017-12-25T22:00:00+00:00", 24),
        ("2017-12-31T22:00:00+00:00", "2018-01-01T22:00:00+00:00", 24),
    ]
    # Two bars open at 17:00 New York on a Friday (21:00 UTC in EDT), when the week has closed:
    # a quirk of the file (a closing print), not of the calendar.
    expected = expected_timestamps(CAL.FX, TF.H1, first, last)
    assert [t.isoformat() for t in index.difference(expected)] == [
        "2017-10-06T21:00:00+00:00",
        "2017-10-20T21:00:00+00:00",
    ]
