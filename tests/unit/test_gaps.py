"""Unit tests of gap finding: runs of expected bars a series lacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foanalytics.domain.calendars import Calendar
from foanalytics.domain.gaps import Gap, find_gaps
from foanalytics.domain.market import Timeframe

TF = Timeframe
CAL = Calendar


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def hours(*values: int, day: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.DatetimeIndex([utc(day) + pd.Timedelta(hours=h) for h in values])


def as_tuples(gaps: list[Gap]) -> list[tuple[str, str, int]]:
    return [
        (g.start.strftime("%Y-%m-%d %H:%M"), g.end.strftime("%Y-%m-%d %H:%M"), g.bars) for g in gaps
    ]


def test_runs_are_half_open_with_counts() -> None:
    have = hours(0, 1, 4, 5, 7, 11)
    gaps = find_gaps(have, TF.H1, utc("2024-01-01"), utc("2024-01-01 12:00"))
    assert as_tuples(gaps) == [
        ("2024-01-01 02:00", "2024-01-01 04:00", 2),
        ("2024-01-01 06:00", "2024-01-01 07:00", 1),
        ("2024-01-01 08:00", "2024-01-01 11:00", 3),
    ]


def test_gaps_at_both_ends() -> None:
    have = hours(2, 3)
    gaps = find_gaps(have, TF.H1, utc("2024-01-01"), utc("2024-01-01 06:00"))
    assert as_tuples(gaps) == [
        ("2024-01-01 00:00", "2024-01-01 02:00", 2),
        ("2024-01-01 04:00", "2024-01-01 06:00", 2),
    ]


def test_no_gaps() -> None:
    have = hours(*range(24))
    assert find_gaps(have, TF.H1, have[0], have[-1] + pd.Timedelta(hours=1)) == []


@pytest.mark.parametrize(
    "empty",
    [pd.DatetimeIndex([], tz="UTC"), pd.DatetimeIndex([]), pd.DatetimeIndex([], tz="Asia/Tokyo")],
    ids=["utc", "naive", "tokyo"],
)
def test_empty_index_is_one_gap(empty: pd.DatetimeIndex) -> None:
    gaps = find_gaps(empty, TF.H4, utc("2024-01-01"), utc("2024-01-02"))
    assert as_tuples(gaps) == [("2024-01-01 00:00", "2024-01-02 00:00", 6)]


def test_start_and_end_clip_the_window() -> None:
    have = hours(0, 1, 2, 6, 7, 8, 9)
    # start 01:30 rounds up to 02:00; end 07:00 is excluded; bars outside the window are ignored.
    gaps = find_gaps(have, TF.H1, "2024-01-01 01:30", "2024-01-01 07:00")
    assert as_tuples(gaps) == [("2024-01-01 03:00", "2024-01-01 06:00", 3)]
    assert find_gaps(have, TF.H1, "2024-01-01 06:00", "2024-01-01 10:00") == []
    # An empty or reversed window has no gaps.
    assert find_gaps(have, TF.H1, "2024-01-01 03:00", "2024-01-01 03:00") == []
    assert find_gaps(have, TF.H1, "2024-01-01 05:00", "2024-01-01 03:00") == []


def test_start_and_end_in_other_time_zones() -> None:
    have = hours(0, 3)
    gaps = find_gaps(
        have,
        TF.H1,
        pd.Timestamp("2024-01-01 01:00", tz="Europe/Paris"),  # 00:00 UTC
        pd.Timestamp("2024-01-01 05:00", tz="Europe/Paris"),  # 04:00 UTC
    )
    assert as_tuples(gaps) == [("2024-01-01 01:00", "2024-01-01 03:00", 2)]


def test_index_in_another_time_zone_and_unsorted() -> None:
    have = hours(5, 0, 3).tz_convert("America/New_York")
    gaps = find_gaps(have, TF.H1, utc("2024-01-01"), utc("2024-01-01 06:00"))
    assert as_tuples(gaps) == [
        ("2024-01-01 01:00", "2024-01-01 03:00", 2),
        ("2024-01-01 04:00", "2024-01-01 05:00", 1),
    ]


def test_off_grid_stamps_do_not_count_as_bars() -> None:
    have = hours(0, 2).append(pd.DatetimeIndex([utc("2024-01-01 01:30")])).sort_values()
    gaps = find_gaps(have, TF.H1, utc("2024-01-01"), utc("2024-01-01 03:00"))
    assert as_tuples(gaps) == [("2024-01-01 01:00", "2024-01-01 02:00", 1)]


def test_month_timeframe() -> None:
    have = pd.DatetimeIndex(
        [utc(d) for d in ["2023-10-01", "2023-11-01", "2024-02-01", "2024-04-01"]]
    )
    gaps = find_gaps(have, TF.MN1, "2023-10-01", "2024-06-01")
    assert as_tuples(gaps) == [
        ("2023-12-01 00:00", "2024-02-01 00:00", 2),  # across the year end
        ("2024-03-01 00:00", "2024-04-01 00:00", 1),
        ("2024-05-01 00:00", "2024-06-01 00:00", 1),
    ]


def test_week_timeframe() -> None:
    have = pd.DatetimeIndex([utc("2024-01-01"), utc("2024-01-22")])  # Mondays
    gaps = find_gaps(have, TF.W1, "2023-12-28", "2024-01-30")
    assert as_tuples(gaps) == [
        ("2024-01-08 00:00", "2024-01-22 00:00", 2),
        ("2024-01-29 00:00", "2024-02-05 00:00", 1),
    ]


def test_weekdays_calendar_joins_runs_over_weekends() -> None:
    days = pd.date_range("2024-01-01", "2024-01-19", freq="B", tz="UTC")  # business days
    have = days.delete([4, 5])  # Friday 5th and Monday 8th
    gaps = find_gaps(have, TF.D1, "2024-01-01", "2024-01-20", CAL.WEEKDAYS)
    # One run of two expected bars; its end is the open of the bar after the Monday.
    assert as_tuples(gaps) == [("2024-01-05 00:00", "2024-01-09 00:00", 2)]
    # On a 24/7 clock the weekend is missing too.
    assert as_tuples(find_gaps(have, TF.D1, "2024-01-01", "2024-01-20")) == [
        ("2024-01-05 00:00", "2024-01-09 00:00", 4),
        ("2024-01-13 00:00", "2024-01-15 00:00", 2),
    ]


def test_nyse_calendar_skips_holidays() -> None:
    # July 2024: the 4th (Thursday) is a holiday.
    have = pd.DatetimeIndex([utc(d) for d in ["2024-07-01", "2024-07-02", "2024-07-08"]])
    gaps = find_gaps(have, TF.D1, "2024-07-01", "2024-07-09", CAL.NYSE)
    assert as_tuples(gaps) == [("2024-07-03 00:00", "2024-07-06 00:00", 2)]


def test_fx_calendar_skips_the_weekend() -> None:
    # Friday 2024-03-08 19:00 UTC to Sunday 2024-03-10 23:00 UTC, missing the last Friday hour
    # (21:00 UTC, 16:00 EST) and the first Sunday hour (21:00 UTC, 17:00 EDT).
    have = hours(19, 20, day="2024-03-08").append(hours(22, day="2024-03-10"))
    gaps = find_gaps(have, TF.H1, "2024-03-08 19:00", "2024-03-10 23:00", CAL.FX)
    assert as_tuples(gaps) == [("2024-03-08 21:00", "2024-03-10 22:00", 2)]


def test_gap_to_pair() -> None:
    (gap,) = find_gaps(hours(0), TF.H1, utc("2024-01-01"), utc("2024-01-01 03:00"))
    assert gap.to_pair() == ["2024-01-01T01:00:00+00:00", "2024-01-01T03:00:00+00:00"]
    assert gap.bars == 2


def test_ten_years_of_minutes() -> None:
    # About 5.3 million expected bars: only a vectorised implementation runs this in a test.
    start, end = utc("2014-01-01"), utc("2024-01-01")
    grid = pd.date_range(start, end, freq="1min", inclusive="left")
    assert len(grid) > 5_000_000
    holes = np.array([0, 1, 2, 1_000_000, 4_000_000, 4_000_001, len(grid) - 1])
    have = grid.delete(holes)
    gaps = find_gaps(have, TF.M1, start, end)
    assert [(g.start, g.end, g.bars) for g in gaps] == [
        (grid[0], grid[3], 3),
        (grid[1_000_000], grid[1_000_001], 1),
        (grid[4_000_000], grid[4_000_002], 2),
        (grid[-1], end, 1),
    ]
