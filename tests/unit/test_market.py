"""Unit tests of the bars vocabulary: timeframes, series keys, validation and resampling.

Expected values come from literals worked out by hand or from an independent pandas
implementation (``Timestamp.floor``, ``date_range``, ``resample``), never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from foanalytics.domain.errors import InvalidBarsError, InvalidInputError
from foanalytics.domain.market import (
    BAR_COLUMNS,
    SeriesKey,
    Timeframe,
    empty_bars,
    resample_bars,
    validate_bars,
)

TF = Timeframe

# ---------------------------------------------------------------------------------------------
# An independent reference for the grid: pandas' own flooring and frequencies.
# ---------------------------------------------------------------------------------------------

# pandas frequencies of the fixed timeframes (pandas floors these on the Unix epoch).
FIXED_FREQ = {
    TF.M1: "1min",
    TF.M5: "5min",
    TF.M15: "15min",
    TF.M30: "30min",
    TF.H1: "1h",
    TF.H4: "4h",
    TF.D1: "1D",
}
# Bar lengths in minutes, a month counted as 30 days (only used to order timeframes).
LENGTH_MINUTES = {
    TF.M1: 1,
    TF.M5: 5,
    TF.M15: 15,
    TF.M30: 30,
    TF.H1: 60,
    TF.H4: 240,
    TF.D1: 1440,
    TF.W1: 7 * 1440,
    TF.MN1: 30 * 1440,
}


def ref_floor(idx: pd.DatetimeIndex, tf: Timeframe) -> pd.DatetimeIndex:
    """Floor UTC stamps to bar open times: weeks open on Monday 00:00, months on the 1st."""
    if tf is TF.W1:
        day = idx.normalize()
        return day - pd.to_timedelta(day.day_of_week, unit="D")
    if tf is TF.MN1:
        day = idx.normalize()
        return day - pd.to_timedelta(day.day - 1, unit="D")
    return idx.floor(FIXED_FREQ[tf])


def ref_next(stamp: pd.Timestamp, tf: Timeframe, periods: int = 1) -> pd.Timestamp:
    if tf is TF.MN1:
        return stamp + pd.DateOffset(months=periods)
    return stamp + periods * pd.Timedelta(minutes=LENGTH_MINUTES[tf])


def ref_grid(start: pd.Timestamp, end: pd.Timestamp, tf: Timeframe) -> pd.DatetimeIndex:
    start, end = start.tz_convert("UTC"), end.tz_convert("UTC")
    first = ref_floor(pd.DatetimeIndex([start]), tf)[0]
    if first < start:
        first = ref_next(first, tf)
    freq = {TF.W1: "7D", TF.MN1: "MS"}.get(tf, FIXED_FREQ.get(tf))
    return pd.date_range(first, end, freq=freq, inclusive="left")


def ns(stamps: list[str] | pd.DatetimeIndex) -> np.ndarray:
    return pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("ns").asi8


AWKWARD_STAMPS = [
    "1969-07-20 20:17:40Z",  # before the epoch
    "1970-01-01 00:00Z",  # a Thursday: weeks do not start here
    "1970-01-04 23:59:59.999999999Z",  # the Sunday before the first anchored Monday
    "2000-02-29 12:34:56Z",
    "2019-12-31 23:59:59Z",
    "2024-01-01 00:00Z",  # a Monday and a month start: on every grid
    "2024-03-10 07:30Z",
    "2024-12-31 23:59:59.999999999Z",
    "2025-06-15 16:00:00.000000001Z",
]


# ---------------------------------------------------------------------------------------------
# Timeframe
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tf", list(TF))
def test_floor_matches_pandas_reference(tf: Timeframe) -> None:
    stamps = pd.DatetimeIndex(AWKWARD_STAMPS).as_unit("ns")
    assert list(tf.floor(ns(stamps))) == list(ns(ref_floor(stamps, tf)))


@pytest.mark.parametrize(
    ("tf", "stamp", "expected"),
    [
        (TF.M1, "2024-01-01 00:00:59.999Z", "2024-01-01 00:00Z"),
        (TF.M5, "2024-03-10 07:33:20Z", "2024-03-10 07:30Z"),
        (TF.M15, "2024-03-10 07:44:59Z", "2024-03-10 07:30Z"),
        (TF.M30, "2024-03-10 07:59Z", "2024-03-10 07:30Z"),
        (TF.H1, "2024-03-10 07:59:59.999999999Z", "2024-03-10 07:00Z"),
        (TF.H4, "2024-03-10 07:59Z", "2024-03-10 04:00Z"),
        (TF.H4, "1969-12-31 23:00Z", "1969-12-31 20:00Z"),
        (TF.D1, "1969-12-31 23:00Z", "1969-12-31 00:00Z"),
        (TF.W1, "2024-01-07 23:59Z", "2024-01-01 00:00Z"),  # Sunday -> the Monday before
        (TF.W1, "2024-01-08 00:00Z", "2024-01-08 00:00Z"),  # Monday stays
        (TF.W1, "1970-01-01 00:00Z", "1969-12-29 00:00Z"),
        (TF.MN1, "2024-02-29 13:00Z", "2024-02-01 00:00Z"),
        (TF.MN1, "1969-12-31 23:59Z", "1969-12-01 00:00Z"),
    ],
)
def test_floor_known_values(tf: Timeframe, stamp: str, expected: str) -> None:
    assert list(tf.floor(ns([stamp]))) == list(ns([expected]))


@pytest.mark.parametrize(
    ("tf", "stamp", "periods", "expected"),
    [
        (TF.MN1, "2024-01-01 00:00Z", 1, "2024-02-01 00:00Z"),
        (TF.MN1, "2024-01-01 00:00Z", 13, "2025-02-01 00:00Z"),
        (TF.MN1, "2024-01-01 00:00Z", -1, "2023-12-01 00:00Z"),
        (TF.MN1, "1970-01-01 00:00Z", -1, "1969-12-01 00:00Z"),
        (TF.W1, "2024-01-01 00:00Z", 1, "2024-01-08 00:00Z"),
        (TF.W1, "2024-01-01 00:00Z", -2, "2023-12-18 00:00Z"),
        (TF.H4, "2024-01-01 20:00Z", 1, "2024-01-02 00:00Z"),
        (TF.D1, "2024-02-28 00:00Z", 2, "2024-03-01 00:00Z"),
        (TF.M5, "2024-01-01 23:55Z", 3, "2024-01-02 00:10Z"),
    ],
)
def test_shift_known_values(tf: Timeframe, stamp: str, periods: int, expected: str) -> None:
    assert list(tf.shift(ns([stamp]), periods)) == list(ns([expected]))


@pytest.mark.parametrize("tf", list(TF))
@pytest.mark.parametrize("periods", [1, 3, -2])
def test_shift_matches_reference(tf: Timeframe, periods: int) -> None:
    start = pd.Timestamp("2023-11-01", tz="UTC")
    grid = ref_grid(start, ref_next(start, tf, 5), tf)
    expected = [ref_next(g, tf, periods) for g in grid]
    assert list(tf.shift(ns(grid), periods)) == list(ns(pd.DatetimeIndex(expected)))


GRID_WINDOWS = [
    ("2024-01-01 01:00Z", "2024-01-01 12:00Z"),
    ("2023-12-30 13:17Z", "2024-03-02 00:00Z"),
    ("1969-11-15 06:00Z", "1970-02-01 00:00Z"),
    ("2024-01-01 00:00:00.000000001Z", "2024-01-08 00:00Z"),
    ("2024-02-01 00:00Z", "2024-02-01 00:00Z"),  # empty
    ("2024-03-01 00:00Z", "2024-02-01 00:00Z"),  # reversed: empty
    ("2019-06-03 00:00Z", "2024-06-03 00:00Z"),  # long: many months and weeks
]


@pytest.mark.parametrize("tf", list(TF))
@pytest.mark.parametrize(("start", "end"), GRID_WINDOWS)
def test_grid_matches_date_range(tf: Timeframe, start: str, end: str) -> None:
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    if tf is TF.M1 and hi - lo > pd.Timedelta(days=100):
        hi = lo + pd.Timedelta(days=100)  # keep the test fast
    got = tf.grid(lo, hi)
    expected = ref_grid(lo, hi, tf)
    assert got.name == "timestamp"
    assert str(got.tz) == "UTC"
    assert got.dtype == "datetime64[ns, UTC]"
    assert list(ns(got)) == list(ns(expected))


def test_grid_known_values_and_other_time_zones() -> None:
    # 01:00 Paris is 00:00 UTC, on the 4h grid; 13:00 Paris is 12:00 UTC, excluded.
    got = TF.H4.grid(
        pd.Timestamp("2024-01-01 01:00", tz="Europe/Paris"),
        pd.Timestamp("2024-01-01 13:00", tz="Europe/Paris"),
    )
    assert [t.isoformat() for t in got] == [
        "2024-01-01T00:00:00+00:00",
        "2024-01-01T04:00:00+00:00",
        "2024-01-01T08:00:00+00:00",
    ]
    weeks = TF.W1.grid(pd.Timestamp("2024-01-31", tz="UTC"), pd.Timestamp("2024-02-20", tz="UTC"))
    assert [t.strftime("%Y-%m-%d %a") for t in weeks] == [
        "2024-02-05 Mon",
        "2024-02-12 Mon",
        "2024-02-19 Mon",
    ]
    months = TF.MN1.grid(pd.Timestamp("2023-11-15", tz="UTC"), pd.Timestamp("2024-03-01", tz="UTC"))
    assert [t.strftime("%Y-%m-%d") for t in months] == ["2023-12-01", "2024-01-01", "2024-02-01"]


def ref_divides(src: Timeframe, dst: Timeframe) -> bool:
    """Resampling works when dst is longer and each of its bar boundaries is a src boundary."""
    if src is dst:
        return True
    if LENGTH_MINUTES[src] >= LENGTH_MINUTES[dst]:
        return False
    # Four years hold every weekday/month-start combination; fixed grids repeat daily.
    span = (
        ("2020-01-01 00:00Z", "2024-01-01 00:00Z")
        if dst in (TF.W1, TF.MN1)
        else ("2024-01-01 00:00Z", "2024-01-03 00:00Z")
    )
    bounds = ref_grid(pd.Timestamp(span[0]), pd.Timestamp(span[1]), dst)
    return bool((ref_floor(bounds, src) == bounds).all())


@pytest.mark.parametrize("src", list(TF))
@pytest.mark.parametrize("dst", list(TF))
def test_divides_matches_reference(src: Timeframe, dst: Timeframe) -> None:
    assert src.divides(dst) is ref_divides(src, dst)


def test_divides_known_values() -> None:
    assert TF.H1.divides(TF.H4)
    assert TF.D1.divides(TF.W1)
    assert TF.D1.divides(TF.MN1)
    assert TF.H4.divides(TF.MN1)
    assert not TF.W1.divides(TF.MN1)  # months do not start on Mondays
    assert not TF.MN1.divides(TF.W1)
    assert not TF.H1.divides(TF.M30)  # finer target
    assert TF.MN1.divides(TF.MN1)


@pytest.mark.parametrize("tf", list(TF))
def test_path_token_round_trip(tf: Timeframe) -> None:
    assert Timeframe.from_path_token(tf.path_token) is tf


def test_path_tokens_differ_on_case_insensitive_file_systems() -> None:
    tokens = [tf.path_token.lower() for tf in TF]
    assert len(set(tokens)) == len(TF)
    assert TF.MN1.path_token == "1mo"
    assert TF.M1.path_token == "1m"


def test_lengths_and_order() -> None:
    assert [tf.minutes for tf in TF] == [1, 5, 15, 30, 60, 240, 1440, 10080, None]
    assert TF.H1.nanos == 3_600_000_000_000
    assert TF.MN1.nanos is None
    ordered = sorted(TF, key=lambda tf: tf.nominal_nanos)
    assert ordered == list(TF)
    assert TF.W1.is_finer_than(TF.MN1)
    assert not TF.MN1.is_finer_than(TF.W1)


# ---------------------------------------------------------------------------------------------
# SeriesKey
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "exchange", "symbol", "tf"),
    [
        ("binance/BTC/USDT/1h", "binance", "BTC/USDT", TF.H1),
        ("nasdaq/AAPL/1d", "nasdaq", "AAPL", TF.D1),
        ("bitstamp/BTC/USD/1M", "bitstamp", "BTC/USD", TF.MN1),
        ("cme/ES/H24/FUT/1m", "cme", "ES/H24/FUT", TF.M1),
        ("my-ex_2.0/EUR.USD/4h", "my-ex_2.0", "EUR.USD", TF.H4),
        ("x/^GSPC/1w", "x", "^GSPC", TF.W1),
    ],
)
def test_series_key_parse_and_str(text: str, exchange: str, symbol: str, tf: Timeframe) -> None:
    key = SeriesKey.parse(text)
    assert (key.exchange, key.symbol, key.timeframe) == (exchange, symbol, tf)
    assert str(key) == text
    assert SeriesKey.parse(str(key)) == key
    assert SeriesKey(exchange=exchange, symbol=symbol, timeframe=tf) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "binance",
        "binance/1h",
        "/BTC/1h",  # empty exchange
        "binance//1h",  # empty symbol
        "binance/BTC/",  # empty timeframe
        "binance/BTC//USDT/1h",  # '//' inside the symbol
        "binance//BTC/1h",  # '//' after the exchange
        "binance/BTC/USDT//1h",  # '//' before the timeframe
        "binance/BTC/2h",  # not a timeframe
        "binance/BTC/1H",
        "binance/BTC/1hour",
        "bin ance/BTC/1h",  # spaces
        "binance/BT C/1h",
        "binance/BTC/1h ",
        " binance/BTC/1h",
        "binance/BTC\t/1h",
        "binance/BTC\n/1h",  # a trailing newline must not slip through a '$' regex anchor
        "binance\n/BTC/1h",
        "bin@nce/BTC/1h",  # odd characters in the exchange
        "bin:ance/BTC/1h",
        "_binance/BTC/1h",
        "-binance/BTC/1h",
    ],
)
def test_series_key_rejects(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SeriesKey.parse(text)
    assert repr(text) in str(info.value)


def test_series_key_rejects_non_strings() -> None:
    with pytest.raises(InvalidInputError, match="string"):
        SeriesKey.parse(123)  # type: ignore[arg-type]


def test_series_key_is_frozen_and_ordered() -> None:
    key = SeriesKey.parse("binance/BTC/USDT/1h")
    with pytest.raises(ValueError, match="frozen"):
        key.exchange = "kraken"  # type: ignore[misc]
    keys = [SeriesKey.parse(t) for t in ["b/X/1d", "a/Y/1M", "a/Y/1h", "a/X/1w"]]
    assert [str(k) for k in sorted(keys, key=SeriesKey.sort_key)] == [
        "a/X/1w",
        "a/Y/1h",
        "a/Y/1M",
        "b/X/1d",
    ]


EXCHANGES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,12}", fullmatch=True)
SYMBOL_PARTS = st.text(
    alphabet=st.characters(exclude_categories=("C", "Z"), exclude_characters="/"),
    min_size=1,
    max_size=6,
)
SYMBOLS = st.lists(SYMBOL_PARTS, min_size=1, max_size=3).map("/".join)
WHITESPACE = st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u2003", "\u3000"])


@given(EXCHANGES, SYMBOLS, st.sampled_from(list(TF)))
def test_series_key_round_trip_property(exchange: str, symbol: str, tf: Timeframe) -> None:
    text = f"{exchange}/{symbol}/{tf.value}"
    key = SeriesKey.parse(text)
    assert (key.exchange, key.symbol, key.timeframe) == (exchange, symbol, tf)
    assert str(key) == text
    assert SeriesKey.parse(str(key)) == key


@given(EXCHANGES, SYMBOLS, st.sampled_from(list(TF)), WHITESPACE, st.data())
def test_series_key_with_whitespace_is_rejected_property(
    exchange: str, symbol: str, tf: Timeframe, space: str, data: st.DataObject
) -> None:
    text = f"{exchange}/{symbol}/{tf.value}"
    at = data.draw(st.integers(0, len(text)))
    bad = text[:at] + space + text[at:]
    with pytest.raises(InvalidInputError) as info:
        SeriesKey.parse(bad)
    assert repr(bad) in str(info.value)


# ---------------------------------------------------------------------------------------------
# validate_bars
# ---------------------------------------------------------------------------------------------

N = 12
# Offending rows used by most rule tests: six rows, so five are shown and the count says six.
BAD_ROWS = [2, 4, 5, 7, 8, 10]
BAD_STAMPS = (
    "2024-01-01T02:00:00+00:00",
    "2024-01-01T04:00:00+00:00",
    "2024-01-01T05:00:00+00:00",
    "2024-01-01T07:00:00+00:00",
    "2024-01-01T08:00:00+00:00",
)


def hourly_index(n: int = N, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h", tz="UTC", name="timestamp")


def make_bars(index: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Valid bars: open < close, high two above open, low two below."""
    index = hourly_index() if index is None else index
    base = 100.0 + np.arange(len(index))
    return pd.DataFrame(
        {
            "open": base,
            "high": base + 3.0,
            "low": base - 2.0,
            "close": base + 1.0,
            "volume": 1000.0 + np.arange(len(index)),
        },
        index=index,
    )


def assert_bars_error(
    error: InvalidBarsError, column: str, rule: str, stamps: tuple[str, ...], count: int
) -> None:
    assert (error.column, error.rule, error.timestamps, error.count) == (
        column,
        rule,
        stamps,
        count,
    )
    message = str(error)
    assert repr(column) in message
    assert f" {count} " in message
    for stamp in stamps:
        assert stamp in message


def rejected(
    bars: object, tf: Timeframe | None = None, *, repair: bool = False
) -> InvalidBarsError:
    with pytest.raises(InvalidBarsError) as info:
        validate_bars(bars, tf, repair=repair)  # type: ignore[arg-type]
    return info.value


def test_valid_bars_pass_unchanged() -> None:
    raw = make_bars()
    bars, report = validate_bars(raw, TF.H1)
    pd.testing.assert_frame_equal(bars, raw.set_axis(raw.index.as_unit("ns")), check_freq=False)
    assert not report.changed


@pytest.mark.parametrize("column", BAR_COLUMNS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "+inf", "-inf"])
def test_rejects_non_finite(column: str, value: float) -> None:
    raw = make_bars()
    raw.iloc[BAD_ROWS, raw.columns.get_loc(column)] = value
    assert_bars_error(rejected(raw, TF.H1), column, "not_finite", BAD_STAMPS, 6)


@pytest.mark.parametrize("column", ["open", "high", "low", "close"])
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_rejects_non_positive_prices(column: str, value: float) -> None:
    raw = make_bars()
    raw.iloc[BAD_ROWS, raw.columns.get_loc(column)] = value
    assert_bars_error(rejected(raw, TF.H1), column, "non_positive", BAD_STAMPS, 6)


def test_rejects_negative_volume_but_accepts_zero() -> None:
    raw = make_bars()
    raw.iloc[BAD_ROWS, raw.columns.get_loc("volume")] = -1.0
    assert_bars_error(rejected(raw), "volume", "negative", BAD_STAMPS, 6)
    raw.iloc[BAD_ROWS, raw.columns.get_loc("volume")] = 0.0
    validate_bars(raw)


def test_rejects_high_below_open_or_close() -> None:
    raw = make_bars()
    # Rows 2, 4, 5: high below the close (open < close); rows 7, 8, 10: below the open.
    raw.iloc[[2, 4, 5], raw.columns.get_loc("high")] = raw["close"].iloc[[2, 4, 5]] - 0.5
    raw.iloc[[7, 8, 10], raw.columns.get_loc("open")] = raw["high"].iloc[[7, 8, 10]] + 0.5
    raw.iloc[[7, 8, 10], raw.columns.get_loc("close")] = raw["low"].iloc[[7, 8, 10]] + 0.5
    assert_bars_error(rejected(raw), "high", "high_below_body", BAD_STAMPS, 6)


def test_rejects_low_above_open_or_close() -> None:
    raw = make_bars()
    # Rows 2, 4, 5: low above the open (open < close); rows 7, 8, 10: above the close.
    raw.iloc[[2, 4, 5], raw.columns.get_loc("low")] = raw["open"].iloc[[2, 4, 5]] + 0.5
    raw.iloc[[7, 8, 10], raw.columns.get_loc("close")] = raw["low"].iloc[[7, 8, 10]] - 0.5
    assert_bars_error(rejected(raw), "low", "low_above_body", BAD_STAMPS, 6)


def test_accepts_high_and_low_touching_the_body() -> None:
    raw = make_bars()
    raw["high"] = raw["close"]
    raw["low"] = raw["open"]
    validate_bars(raw)
    flat = make_bars()
    flat[["open", "high", "low", "close"]] = 5.0
    validate_bars(flat)


def test_rejects_duplicate_timestamps() -> None:
    hours = [0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 6, 7]  # the repeats: 02:00, 04:00 and 06:00 twice
    raw = make_bars(
        pd.DatetimeIndex(
            [pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=h) for h in hours]
        )
    )
    error = rejected(raw, TF.H1)
    expected = (
        "2024-01-01T02:00:00+00:00",
        "2024-01-01T04:00:00+00:00",
        "2024-01-01T06:00:00+00:00",
        "2024-01-01T06:00:00+00:00",
    )
    assert_bars_error(error, "timestamp", "duplicate_timestamp", expected, 4)


def test_rejects_unsorted_timestamps() -> None:
    hours = [0, 1, 2, 5, 3, 4, 6, 9, 7, 8, 10, 11]  # 3 and 7 come after a later bar
    raw = make_bars()
    raw.index = pd.DatetimeIndex(
        [pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=h) for h in hours]
    )
    expected = ("2024-01-01T03:00:00+00:00", "2024-01-01T07:00:00+00:00")
    assert_bars_error(rejected(raw, TF.H1), "timestamp", "unsorted", expected, 2)


OFF_GRID_CASES = {
    TF.M1: (["00:00", "00:00:30", "00:01", "00:02:00.000001"], [1, 3]),
    TF.M5: (["00:00", "00:05", "00:07", "00:10", "00:12:30", "00:15"], [2, 4]),
    TF.M15: (["00:00", "00:05", "00:15", "00:30", "00:50"], [1, 4]),
    TF.M30: (["00:00", "00:15", "00:30", "01:00", "01:20"], [1, 4]),
    TF.H1: (["00:00", "01:00", "01:30", "02:00", "02:00:00.000000001", "03:00"], [2, 4]),
    TF.H4: (["00:00", "02:00", "04:00", "08:00", "13:00"], [1, 4]),
}


@pytest.mark.parametrize("tf", list(OFF_GRID_CASES))
def test_rejects_off_grid_intraday(tf: Timeframe) -> None:
    times, bad = OFF_GRID_CASES[tf]
    stamps = [pd.Timestamp(f"2024-01-01 {t}", tz="UTC") for t in times]
    raw = make_bars(pd.DatetimeIndex(stamps))
    expected = tuple(stamps[i].isoformat() for i in bad)
    assert_bars_error(rejected(raw, tf), "timestamp", "off_grid", expected, len(bad))


@pytest.mark.parametrize(
    ("tf", "days", "bad"),
    [
        (TF.D1, ["2024-01-01", "2024-01-02 12:00", "2024-01-03", "2024-01-04 00:00:01"], [1, 3]),
        # Monday 1st is fine; Tuesday 2nd and Sunday 14th are not week opens.
        (TF.W1, ["2024-01-01", "2024-01-02", "2024-01-08", "2024-01-14", "2024-01-15"], [1, 3]),
        (TF.MN1, ["2024-01-01", "2024-02-02", "2024-03-01", "2024-03-31", "2024-04-01"], [1, 3]),
    ],
)
def test_rejects_off_grid_days_weeks_months(tf: Timeframe, days: list[str], bad: list[int]) -> None:
    stamps = [pd.Timestamp(d, tz="UTC") for d in days]
    raw = make_bars(pd.DatetimeIndex(stamps))
    expected = tuple(stamps[i].isoformat() for i in bad)
    assert_bars_error(rejected(raw, tf), "timestamp", "off_grid", expected, len(bad))
    # Without a timeframe there is no grid to be off.
    validate_bars(raw)


def test_off_grid_shows_at_most_five_timestamps() -> None:
    raw = make_bars(hourly_index() + pd.Timedelta(minutes=30))
    error = rejected(raw, TF.H1)
    assert error.count == N
    assert error.timestamps == tuple(f"2024-01-01T0{h}:30:00+00:00" for h in range(5))


def test_rejects_naive_timestamps() -> None:
    raw = make_bars(pd.date_range("2024-01-01", periods=N, freq="h"))
    expected = tuple(f"2024-01-01T0{h}:00:00" for h in range(5))
    assert_bars_error(rejected(raw, TF.H1), "timestamp", "naive", expected, N)


def test_rejects_missing_timestamps() -> None:
    raw = make_bars()
    raw.index = raw.index.insert(3, pd.NaT).delete(4)
    error = rejected(raw, TF.H1)
    assert (error.column, error.rule, error.count) == ("timestamp", "nat", 1)
    assert "NaT" in str(error)


@pytest.mark.parametrize("column", BAR_COLUMNS)
def test_rejects_missing_column(column: str) -> None:
    error = rejected(make_bars().drop(columns=column))
    assert (error.column, error.rule) == (column, "missing_column")
    assert repr(column) in str(error)


def test_rejects_capitalised_columns_as_missing() -> None:
    error = rejected(make_bars().rename(columns=str.capitalize))
    assert (error.column, error.rule) == ("open", "missing_column")


def test_rejects_unexpected_column() -> None:
    raw = make_bars().assign(**{"adj close": 1.0})
    error = rejected(raw)
    assert (error.column, error.rule) == ("adj close", "unexpected_column")
    assert "'adj close'" in str(error)


def test_rejects_repeated_column() -> None:
    raw = make_bars()
    raw = pd.concat([raw, raw[["close"]]], axis=1)
    error = rejected(raw)
    assert (error.column, error.rule) == ("close", "duplicate_column")


def test_rejects_non_numeric_cells() -> None:
    raw = make_bars()
    raw["open"] = raw["open"].astype(object)
    for row in BAD_ROWS:
        raw.iloc[row, raw.columns.get_loc("open")] = "n/a"
    assert_bars_error(rejected(raw), "open", "not_numeric", BAD_STAMPS, 6)


@pytest.mark.parametrize(
    "values",
    [
        pd.array(["1"] * N, dtype="string"),
        np.array([True] * N),
        pd.array([True] * N, dtype="boolean"),
        np.array([1 + 0j] * N),
        pd.date_range("2024-01-01", periods=N, tz="UTC"),
    ],
    ids=["string", "bool", "nullable-bool", "complex", "datetime"],
)
def test_rejects_non_numeric_dtypes(values: object) -> None:
    raw = make_bars()
    raw["volume"] = values
    error = rejected(raw)
    assert (error.column, error.rule, error.count) == ("volume", "not_numeric", N)
    assert error.timestamps == tuple(f"2024-01-01T0{h}:00:00+00:00" for h in range(5))


def test_accepts_object_column_of_numbers() -> None:
    raw = make_bars()
    raw["volume"] = pd.Series(
        [1, 2.5, np.int64(3), np.float32(4)] * 3, index=raw.index, dtype=object
    )
    bars, _ = validate_bars(raw)
    assert bars["volume"].dtype == np.float64
    assert list(bars["volume"]) == [1.0, 2.5, 3.0, 4.0] * 3


def test_rejects_index_that_is_not_datetime() -> None:
    error = rejected(make_bars().reset_index(drop=True))
    assert (error.column, error.rule) == ("timestamp", "not_datetime")


@pytest.mark.parametrize("bars", [None, [1, 2], {"open": [1.0]}, np.ones((2, 5)), pd.Series([1.0])])
def test_rejects_non_dataframes(bars: object) -> None:
    with pytest.raises(InvalidInputError, match="DataFrame"):
        validate_bars(bars)  # type: ignore[arg-type]


def test_converts_time_zones_to_utc() -> None:
    local = pd.date_range("2024-03-30 22:00", periods=N, freq="h", tz="Europe/Paris")
    bars, _ = validate_bars(make_bars(local), TF.H1)
    # 2024-03-30 22:00 in Paris (CET, UTC+1) is 21:00 UTC; the DST switch in the middle
    # (02:00 -> 03:00 local) keeps the UTC stamps hourly.
    assert str(bars.index.tz) == "UTC"
    assert bars.index[0].isoformat() == "2024-03-30T21:00:00+00:00"
    assert list(bars.index.asi8) == list(ns(hourly_index(N, "2024-03-30 21:00")))


def test_casts_integer_columns_to_float64() -> None:
    raw = make_bars().astype("int64")
    raw["volume"] = raw["volume"].astype("Int32")
    bars, _ = validate_bars(raw)
    assert list(bars.dtypes) == [np.float64] * 5
    assert list(bars["open"]) == [float(100 + i) for i in range(N)]


def test_normalises_index_name_and_unit() -> None:
    raw = make_bars(hourly_index().as_unit("s").rename("date"))
    bars, _ = validate_bars(raw, TF.H1)
    assert bars.index.name == "timestamp"
    assert bars.index.dtype == "datetime64[ns, UTC]"
    assert list(bars.columns) == list(BAR_COLUMNS)


def test_reorders_columns() -> None:
    raw = make_bars()[["volume", "close", "low", "high", "open"]]
    bars, _ = validate_bars(raw)
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert list(bars["open"]) == list(raw["open"])


def test_accepts_timestamp_as_a_column() -> None:
    raw = make_bars()
    flat = raw.reset_index()
    assert "timestamp" in flat.columns
    from_column, _ = validate_bars(flat, TF.H1)
    from_index, _ = validate_bars(raw, TF.H1)
    pd.testing.assert_frame_equal(from_column, from_index)


def test_does_not_mutate_input() -> None:
    raw = make_bars().iloc[::-1]
    copy = raw.copy()
    validate_bars(raw, TF.H1, repair=True)
    pd.testing.assert_frame_equal(raw, copy)


def test_repair_sorts_and_reports() -> None:
    raw = make_bars()
    order = [3, 0, 1, 2, 11, 4, 5, 6, 7, 10, 8, 9]
    bars, report = validate_bars(raw.iloc[order], TF.H1, repair=True)
    pd.testing.assert_frame_equal(bars, validate_bars(raw).bars)
    assert report.sorted
    assert report.duplicates_dropped == 0
    assert report.changed


def test_repair_drops_exact_duplicates_and_reports() -> None:
    raw = make_bars()
    doubled = pd.concat([raw, raw.iloc[[2, 5, 5]]]).sort_index(kind="stable")
    bars, report = validate_bars(doubled, TF.H1, repair=True)
    pd.testing.assert_frame_equal(bars, validate_bars(raw).bars)
    assert (report.sorted, report.duplicates_dropped) == (False, 3)


def test_repair_sorts_and_drops_together() -> None:
    raw = make_bars()
    messy = pd.concat([raw.iloc[6:], raw.iloc[[7, 0]], raw.iloc[:6]])
    bars, report = validate_bars(messy, TF.H1, repair=True)
    pd.testing.assert_frame_equal(bars, validate_bars(raw).bars)
    assert (report.sorted, report.duplicates_dropped) == (True, 2)


def test_without_repair_exact_duplicates_are_rejected() -> None:
    raw = make_bars()
    doubled = pd.concat([raw, raw.iloc[[4]]]).sort_index(kind="stable")
    error = rejected(doubled, TF.H1)
    assert (error.rule, error.timestamps) == ("duplicate_timestamp", ("2024-01-01T04:00:00+00:00",))


@pytest.mark.parametrize("column", BAR_COLUMNS)
def test_repair_refuses_duplicates_with_different_values(column: str) -> None:
    raw = make_bars()
    other = raw.iloc[[4]].copy()
    other[column] = other[column] * 1.001 if column != "low" else other[column] * 0.999
    clash = pd.concat([raw, other]).iloc[::-1]  # unsorted too: repair sorts, then refuses
    error = rejected(clash, TF.H1, repair=True)
    assert (error.column, error.rule, error.timestamps, error.count) == (
        "timestamp",
        "duplicate_timestamp",
        ("2024-01-01T04:00:00+00:00",),
        1,
    )


def test_repair_never_changes_prices() -> None:
    rng = np.random.default_rng(7)
    raw = make_bars()
    raw[["open", "close"]] = rng.uniform(50, 150, size=(N, 2))
    raw["high"] = raw[["open", "close"]].max(axis=1) + rng.uniform(0, 3, N)
    raw["low"] = raw[["open", "close"]].min(axis=1) - rng.uniform(0, 3, N)
    shuffled = raw.iloc[rng.permutation(N)]
    bars, _ = validate_bars(shuffled, TF.H1, repair=True)
    for column in BAR_COLUMNS:
        assert list(bars[column]) == list(raw[column])  # exact, row by row


def test_repair_of_clean_bars_changes_nothing() -> None:
    _, report = validate_bars(make_bars(), TF.H1, repair=True)
    assert (report.sorted, report.duplicates_dropped, report.changed) == (False, 0, False)


@pytest.mark.parametrize(
    "frame",
    [
        empty_bars(),
        pd.DataFrame(columns=list(BAR_COLUMNS)),
        make_bars().iloc[:0],
        make_bars(pd.DatetimeIndex([], name="timestamp")),
    ],
    ids=["empty_bars", "columns-only", "sliced", "naive-empty"],
)
def test_empty_frames_are_valid(frame: pd.DataFrame) -> None:
    bars, report = validate_bars(frame, TF.M5, repair=True)
    assert len(bars) == 0
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert list(bars.dtypes) == [np.float64] * 5
    assert bars.index.dtype == "datetime64[ns, UTC]"
    assert bars.index.name == "timestamp"
    assert not report.changed


def test_empty_frame_still_needs_the_columns() -> None:
    error = rejected(pd.DataFrame(columns=["open", "high", "low", "close"]))
    assert (error.column, error.rule) == ("volume", "missing_column")


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------


def read_ohlc_csv(path: Path) -> pd.DataFrame:
    """Read a Yahoo / backtesting.py style file as the bars convention wants it."""
    frame = pd.read_csv(path, index_col=0, parse_dates=True)
    index = pd.DatetimeIndex(frame.index)
    frame.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame.drop(columns=["adj close"], errors="ignore")


# (file, timeframe, rows per the data README)
REAL_CSV = [
    ("stocks_daily/nvda-1999-2014.txt", TF.D1, 4012),
    ("stocks_daily/orcl-1995-2014.txt", TF.D1, 5036),
    ("stocks_daily/yhoo-1996-2015.txt", TF.D1, 4965),
    ("stocks_daily/GOOG.csv", TF.D1, 2148),
    ("fx/EURUSD.csv", TF.H1, 5000),
    ("crypto/ETH_BTC-5m.csv", TF.M5, 5760),
    ("crypto/LTC_BTC-5m.csv", TF.M5, 5760),
    ("crypto/ADA_BTC-5m.csv", TF.M5, 5720),
    ("crypto/XRP_ETH-5m.csv", TF.M5, 706),
    ("crypto/XRP_ETH-1m.csv", TF.M1, 2469),
]
REAL_FEATHER = [(name.replace(".csv", ".feather"), tf, n) for name, tf, n in REAL_CSV[5:]]


@pytest.mark.parametrize(("name", "tf", "rows"), REAL_CSV)
def test_real_csv_files_are_valid(shared_data: Path, name: str, tf: Timeframe, rows: int) -> None:
    bars, report = validate_bars(read_ohlc_csv(shared_data / name), tf)
    assert len(bars) == rows
    assert not report.changed


@pytest.mark.parametrize(("name", "tf", "rows"), REAL_FEATHER)
def test_real_feather_files_are_valid(
    shared_data: Path, name: str, tf: Timeframe, rows: int
) -> None:
    raw = pd.read_feather(shared_data / name).rename(columns={"date": "timestamp"})
    bars, _ = validate_bars(raw, tf)
    assert len(bars) == rows
    # The 5m files are not on a 15m grid (an independent check that the grid test bites).
    assert rejected(raw, TF.M15).rule == "off_grid"


def test_btcusd_month_end_labels_are_off_the_month_grid(shared_data: Path) -> None:
    raw = read_ohlc_csv(shared_data / "crypto/BTCUSD.csv")
    error = rejected(raw, TF.MN1)
    # Every label is a month end (2012-01-31 ...), none a month start: all 156 rows are off.
    assert_bars_error(
        error,
        "timestamp",
        "off_grid",
        (
            "2012-01-31T00:00:00+00:00",
            "2012-02-29T00:00:00+00:00",
            "2012-03-31T00:00:00+00:00",
            "2012-04-30T00:00:00+00:00",
            "2012-05-31T00:00:00+00:00",
        ),
        156,
    )
    validate_bars(raw)  # the values themselves are fine
    # Relabelled to month starts (what the file importer does), the same bars are on the grid.
    starts = raw.index - pd.to_timedelta(raw.index.day - 1, unit="D")
    assert len(validate_bars(raw.set_axis(starts), TF.MN1).bars) == 156


# ---------------------------------------------------------------------------------------------
# resample_bars against pandas
# ---------------------------------------------------------------------------------------------

PANDAS_RULE = {**FIXED_FREQ, TF.W1: "W-MON", TF.MN1: "MS"}


def pandas_resample(bars: pd.DataFrame, target: Timeframe) -> pd.DataFrame:
    # Epoch origin for intraday bins; pandas already starts day bins at midnight UTC.
    kwargs = {"origin": "epoch"} if target in FIXED_FREQ and target is not TF.D1 else {}
    out = bars.resample(PANDAS_RULE[target], label="left", closed="left", **kwargs).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return out.dropna(subset=["open"])  # target bars with no source bar


def load_feather(shared_data: Path, name: str, tf: Timeframe) -> pd.DataFrame:
    raw = pd.read_feather(shared_data / name).rename(columns={"date": "timestamp"})
    return validate_bars(raw, tf).bars


@pytest.mark.parametrize(
    ("name", "source", "target"),
    [
        ("crypto/ETH_BTC-5m.feather", TF.M5, TF.M15),
        ("crypto/ETH_BTC-5m.feather", TF.M5, TF.H1),
        ("crypto/ETH_BTC-5m.feather", TF.M5, TF.H4),
        ("crypto/ETH_BTC-5m.feather", TF.M5, TF.D1),
        ("crypto/ADA_BTC-5m.feather", TF.M5, TF.H1),  # with holes
        ("crypto/XRP_ETH-1m.feather", TF.M1, TF.M5),  # sparse: many empty target bars
        ("crypto/XRP_ETH-1m.feather", TF.M1, TF.M30),
    ],
)
def test_resample_crypto_matches_pandas(
    shared_data: Path, name: str, source: Timeframe, target: Timeframe
) -> None:
    bars = load_feather(shared_data, name, source)
    got = resample_bars(bars, source, target)
    pd.testing.assert_frame_equal(
        got, pandas_resample(bars, target), check_exact=True, check_freq=False
    )
    validate_bars(got, target)


@pytest.mark.parametrize(
    ("name", "source", "target"),
    [
        ("fx/EURUSD.csv", TF.H1, TF.H4),
        ("fx/EURUSD.csv", TF.H1, TF.D1),
        ("stocks_daily/nvda-1999-2014.txt", TF.D1, TF.W1),
        ("stocks_daily/nvda-1999-2014.txt", TF.D1, TF.MN1),
        ("stocks_daily/GOOG.csv", TF.D1, TF.W1),
    ],
)
def test_resample_csv_matches_pandas(
    shared_data: Path, name: str, source: Timeframe, target: Timeframe
) -> None:
    bars = validate_bars(read_ohlc_csv(shared_data / name), source).bars
    got = resample_bars(bars, source, target)
    pd.testing.assert_frame_equal(
        got, pandas_resample(bars, target), check_exact=True, check_freq=False
    )
    validate_bars(got, target)


def test_resample_known_values() -> None:
    # Monday 2024-01-01 .. Wednesday 2024-01-10, daily: weeks of 7 and 3 bars.
    days = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC", name="timestamp")
    bars = make_bars(days)
    weekly = resample_bars(validate_bars(bars).bars, TF.D1, TF.W1)
    assert [t.isoformat() for t in weekly.index] == [
        "2024-01-01T00:00:00+00:00",
        "2024-01-08T00:00:00+00:00",
    ]
    assert list(weekly["open"]) == [100.0, 107.0]
    assert list(weekly["high"]) == [109.0, 112.0]
    assert list(weekly["low"]) == [98.0, 105.0]
    assert list(weekly["close"]) == [107.0, 110.0]
    assert list(weekly["volume"]) == [sum(range(1000, 1007)), sum(range(1007, 1010))]


@pytest.mark.parametrize(
    ("source", "target"),
    [(TF.W1, TF.MN1), (TF.MN1, TF.W1), (TF.H1, TF.M30), (TF.D1, TF.H4), (TF.MN1, TF.D1)],
)
def test_resample_rejects_incompatible_pairs(source: Timeframe, target: Timeframe) -> None:
    with pytest.raises(InvalidInputError) as info:
        resample_bars(make_bars(), source, target)
    assert source.value in str(info.value)
    assert target.value in str(info.value)


def test_resample_same_timeframe_and_empty() -> None:
    bars = validate_bars(make_bars()).bars
    pd.testing.assert_frame_equal(resample_bars(bars, TF.H1, TF.H1), bars)
    empty = resample_bars(empty_bars(), TF.H1, TF.D1)
    pd.testing.assert_frame_equal(empty, empty_bars())
