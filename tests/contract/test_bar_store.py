"""The ``BarStore`` contract: one suite that each of ``conftest.BAR_STORE_ADAPTERS`` passes.

Expected results are built with plain pandas and numpy from the inputs (never with the code under
test), and bars are compared to the bit: float columns as their raw 64-bit patterns, so that even
``-0.0`` and ``0.0`` differ, and the index as epoch nanoseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foanalytics.domain.errors import InvalidBarsError, NotFoundError
from foanalytics.domain.market import SeriesKey
from foanalytics.ports.storage import BarStore

from ._writer import Writer, new_event, start_writer
from .conftest import SharedBarStore, StoreFactory

COLUMNS = ["open", "high", "low", "close", "volume"]

Bounds = tuple[Any, Any]


# -- building and comparing bars (pandas and numpy only) ------------------------------------------


def key(text: str) -> SeriesKey:
    return SeriesKey.parse(text)


def synthetic_bars(index: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """Valid bars on ``index``: a log-normal walk with a random high/low band."""
    rng = np.random.default_rng(seed)
    n = len(index)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.r_[close[:1] * 0.999, close[:-1]]
    band = rng.exponential(0.001, n) * close
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + band,
            "low": np.minimum(open_, close) - band,
            "close": close,
            "volume": rng.exponential(50.0, n),
        },
        index=pd.DatetimeIndex(index, name="timestamp"),
    )


def bars(start: str, periods: int, freq: str, seed: int) -> pd.DataFrame:
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC", unit="ns")
    return synthetic_bars(index, seed)


def expected(frame: pd.DataFrame) -> pd.DataFrame:
    """What a store must return for ``frame``: bars columns as float64, ns UTC index."""
    out = frame.loc[:, COLUMNS].astype(np.float64)
    index = pd.DatetimeIndex(out.index).tz_convert("UTC").as_unit("ns")
    out.index = index.rename("timestamp")
    return out


def upsert(model: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """The reference upsert: ``new`` wins at shared timestamps, everything else is kept."""
    new = expected(new)
    if model is None:
        return new
    return expected(new.combine_first(model).sort_index())


def in_range(frame: pd.DataFrame, start: Any, end: Any) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    if start is not None:
        mask &= frame.index >= utc(start)
    if end is not None:
        mask &= frame.index < utc(end)
    return mask


def utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def bits(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=np.float64).view(np.uint64)


def assert_bars_shape(frame: pd.DataFrame) -> None:
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == COLUMNS
    assert [str(t) for t in frame.dtypes] == ["float64"] * 5
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "timestamp"
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert frame.index.is_monotonic_increasing
    assert frame.index.is_unique


def same_bars(actual: pd.DataFrame, wanted: pd.DataFrame) -> bool:
    return (
        len(actual) == len(wanted)
        and np.array_equal(pd.DatetimeIndex(actual.index).asi8, pd.DatetimeIndex(wanted.index).asi8)
        and all(np.array_equal(bits(actual, c), bits(wanted, c)) for c in COLUMNS)
    )


def assert_bars(actual: pd.DataFrame, wanted: pd.DataFrame) -> None:
    assert_bars_shape(actual)
    pd.testing.assert_frame_equal(actual, wanted, check_exact=True, check_freq=False)
    assert same_bars(actual, wanted), "equal values but different bits (signed zeros?)"


def assert_coverage(store: BarStore, series: SeriesKey, wanted: pd.DataFrame) -> None:
    cov = store.coverage(series)
    assert cov.key == series
    assert (cov.rows, cov.start, cov.end) == (len(wanted), wanted.index[0], wanted.index[-1])
    assert str(cov.start.tz) == "UTC"
    assert str(cov.end.tz) == "UTC"


def assert_absent(store: BarStore, series: SeriesKey) -> None:
    assert series not in store.keys()
    for call in (store.read, store.coverage, store.delete):
        with pytest.raises(NotFoundError):
            call(series)


def assert_holds(store: BarStore, series: SeriesKey, wanted: pd.DataFrame) -> None:
    assert_bars(store.read(series), wanted)
    assert_coverage(store, series, wanted)
    assert series in store.keys()


# -- real data ------------------------------------------------------------------------------------

RealBars = tuple[SeriesKey, pd.DataFrame]


@pytest.fixture(scope="module")
def eth_btc_5m(shared_data: Path) -> RealBars:
    frame = pd.read_feather(shared_data / "crypto" / "ETH_BTC-5m.feather")
    return key("bittrex/ETH/BTC/5m"), frame.set_index("date").rename_axis("timestamp")


@pytest.fixture(scope="module")
def xrp_eth_1m(shared_data: Path) -> RealBars:
    # Sparse: minutes without trades are missing.
    frame = pd.read_feather(shared_data / "crypto" / "XRP_ETH-1m.feather")
    return key("unknown/XRP/ETH/1m"), frame.set_index("date")


@pytest.fixture(scope="module")
def nvda_daily(shared_data: Path) -> RealBars:
    path = shared_data / "stocks_daily" / "nvda-1999-2014.txt"
    frame = pd.read_csv(path, index_col=0, parse_dates=True).tz_localize("UTC")
    frame.columns = frame.columns.str.lower()
    # Left with index name "Date", a microsecond index and int64 volume: the store normalises.
    return key("nasdaq/NVDA/1d"), frame.drop(columns="adj close")


@pytest.mark.parametrize("dataset", ["eth_btc_5m", "xrp_eth_1m", "nvda_daily"])
def test_round_trip_of_real_bars_is_bit_exact(
    bar_store: BarStore, dataset: str, request: pytest.FixtureRequest
) -> None:
    series, frame = request.getfixturevalue(dataset)
    assert bar_store.write(series, frame) == len(frame)
    got = bar_store.read(series)
    assert len(got) == len(frame)
    assert_bars(got, expected(frame))
    assert_coverage(bar_store, series, expected(frame))
    assert bar_store.keys() == [series]


def test_round_trip_keeps_every_bit_and_overwrites_signed_zero(bar_store: BarStore) -> None:
    tiny = 5e-324  # the smallest subnormal
    huge = np.finfo(np.float64).max
    one_up, one_down = np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0)
    frame = pd.DataFrame(
        {
            "open": [tiny, 0.1 + 0.2, 1.0, huge, np.pi],
            "high": [tiny, np.nextafter(0.1 + 0.2, 1.0), one_up, huge, np.pi],
            "low": [tiny, 0.3, one_down, 1e308, np.pi],
            "close": [tiny, 0.3, one_up, huge, np.pi],
            "volume": [-0.0, 0.0, tiny, huge, 123456789.123456789],
        },
        index=pd.date_range("2024-02-29", periods=5, freq="1h", tz="UTC", name="timestamp"),
    )
    series = key("edge/FLOATS/1h")
    bar_store.write(series, frame)
    assert_bars(bar_store.read(series), expected(frame))
    assert np.signbit(bar_store.read(series)["volume"].to_numpy()[:2]).tolist() == [True, False]

    # -0.0 == 0.0, yet each write of the other zero must be stored.
    flipped = frame.iloc[:2].copy()
    flipped["volume"] = [0.0, -0.0]
    bar_store.write(series, flipped)
    assert np.signbit(bar_store.read(series)["volume"].to_numpy()[:2]).tolist() == [False, True]
    assert_bars(bar_store.read(series), upsert(expected(frame), flipped))


def test_write_converts_other_time_zones_and_number_types(bar_store: BarStore) -> None:
    frame = bars("2024-03-30 22:00", 72, "1h", seed=3)  # across a DST change in New York
    local = frame.tz_convert("America/New_York")
    local["volume"] = np.arange(72, dtype=np.int64) * 1000
    series = key("tz/ABC/1h")
    assert bar_store.write(series, local) == 72
    got = bar_store.read(series)
    assert_bars(got, expected(local))
    assert np.array_equal(pd.DatetimeIndex(got.index).asi8, pd.DatetimeIndex(frame.index).asi8)


def test_store_keeps_no_reference_to_callers_frames(bar_store: BarStore) -> None:
    frame = bars("2024-01-01", 10, "1D", seed=4)
    wanted = expected(frame.copy())
    series = key("alias/ABC/1d")
    bar_store.write(series, frame)
    frame.iloc[0, :] = 1e9
    first = bar_store.read(series)
    first.iloc[1, :] = 1e9
    assert_bars(bar_store.read(series), wanted)


# -- ranges are half-open ----------------------------------------------------------------------

# 1m bars from 2023-12-19 for 36,000 minutes: two monthly partitions, more than one Parquet row
# group in December (16,384 rows a group by default).
RANGE_START = pd.Timestamp("2023-12-19", tz="UTC")
RANGE_SERIES = key("range/BTC/USDT/1m")


def t(minute: int) -> pd.Timestamp:
    return RANGE_START + pd.Timedelta(minutes=minute)


RANGE_CASES: dict[str, Bounds] = {
    "middle": (t(100), t(200)),
    "start-open": (None, t(50)),
    "end-open": (t(35_950), None),
    "both-open": (None, None),
    "all-but-last": (t(0), t(35_999)),
    "single-bar": (t(777), t(778)),
    "off-grid-bounds": (t(10) + pd.Timedelta(seconds=30), t(20) + pd.Timedelta(seconds=30)),
    "before-and-into-data": (t(0) - pd.Timedelta(days=3), t(5)),
    "into-and-past-data": (t(35_990), t(36_000) + pd.Timedelta(days=40)),
    "across-month-boundary": ("2023-12-31 23:00", "2024-01-01 01:00"),
    "partition-first-bar": (pd.Timestamp("2024-01-01", tz="UTC"), "2024-01-01 00:01"),
    "partition-last-bar": ("2023-12-31 23:59", pd.Timestamp("2024-01-01", tz="UTC")),
    "across-row-groups": (t(16_380), t(16_390)),
    "other-time-zone": (pd.Timestamp("2024-01-01 01:00", tz="Europe/Berlin"), "2024-01-01 00:05"),
    "naive-means-utc": (pd.Timestamp("2023-12-25 12:00"), pd.Timestamp("2023-12-25 12:03")),
}


@pytest.fixture(scope="module")
def range_bars() -> pd.DataFrame:
    return bars(str(RANGE_START), 36_000, "1min", seed=5)


@pytest.mark.parametrize("bounds", list(RANGE_CASES.values()), ids=list(RANGE_CASES))
def test_read_returns_the_half_open_range(
    bar_store: BarStore, range_bars: pd.DataFrame, bounds: Bounds
) -> None:
    bar_store.write(RANGE_SERIES, range_bars)
    start, end = bounds
    wanted = expected(range_bars)[in_range(expected(range_bars), start, end)]
    assert len(wanted) > 0
    got = bar_store.read(RANGE_SERIES, start, end)
    assert_bars(got, wanted)
    if start is not None and utc(start) in range_bars.index:
        assert got.index[0] == utc(start)  # the bar at start is in
    if end is not None:
        assert got.index[-1] < utc(end)  # the bar at end is out


EMPTY_CASES: dict[str, Bounds] = {
    "before-data": ("2023-01-01", "2024-01-01"),
    "after-data": ("2024-03-02", None),
    "start-equals-end": ("2024-01-01 00:10", "2024-01-01 00:10"),
    "start-after-end": ("2024-01-01 00:30", "2024-01-01 00:10"),
    "gap-between-partitions": ("2024-02-01", "2024-03-01"),
    "gap-inside-partition": ("2024-01-01 01:00", "2024-01-01 03:00"),
    "between-two-bars": ("2024-01-01 00:10:01", "2024-01-01 00:10:59"),
}


@pytest.mark.parametrize("bounds", list(EMPTY_CASES.values()), ids=list(EMPTY_CASES))
def test_range_without_bars_gives_an_empty_bars_frame(bar_store: BarStore, bounds: Bounds) -> None:
    series = key("empty/ETH/USDT/1m")
    january = bars("2024-01-01", 60, "1min", seed=6)
    later = bars("2024-01-01 03:00", 60, "1min", seed=7)
    march = bars("2024-03-01", 60, "1min", seed=8)
    for frame in (january, later, march):
        bar_store.write(series, frame)
    got = bar_store.read(series, *bounds)
    assert len(got) == 0
    assert_bars(got, expected(january).iloc[:0])


def test_writing_no_rows_creates_and_changes_nothing(bar_store: BarStore) -> None:
    series = key("none/ABC/1h")
    frame = bars("2024-01-01", 24, "1h", seed=9)
    assert bar_store.write(series, frame.iloc[:0]) == 0
    assert bar_store.keys() == []
    assert_absent(bar_store, series)
    bar_store.write(series, frame)
    assert bar_store.write(series, frame.iloc[:0]) == 0
    assert_holds(bar_store, series, expected(frame))


# -- upserts -----------------------------------------------------------------------------------


def test_overlapping_writes_replace_shared_timestamps_and_keep_the_rest(
    bar_store: BarStore,
) -> None:
    series = key("upsert/BTC/USDT/1h")
    writes = [
        bars("2023-12-30", 100, "1h", seed=10),  # across a year (a Parquet partition) boundary
        bars("2024-01-02 22:00", 100, "1h", seed=11),  # overlaps the tail, extends it
        bars("2023-12-31 20:00", 30, "1h", seed=12),  # inside, across the boundary
        bars("2023-06-01", 5, "1h", seed=13),  # far before, leaving a gap
    ]
    model: pd.DataFrame | None = None
    for frame in writes:
        assert bar_store.write(series, frame) == len(frame)
        model = upsert(model, frame)
        assert_holds(bar_store, series, model)
    assert model is not None
    assert len(model) == 100 + 100 - 6 + 5  # six hours overlap
    assert bar_store.keys() == [series]


def test_rewriting_the_same_bars_changes_nothing(bar_store: BarStore) -> None:
    series = key("idem/BTC/USDT/1m")
    frame = bars("2024-01-30", 6 * 1440, "1min", seed=14)  # January and February
    bar_store.write(series, frame)
    before, coverage = bar_store.read(series), bar_store.coverage(series)
    for again in (frame, frame.iloc[1000:3000], frame.iloc[-1:]):
        assert bar_store.write(series, again) == len(again)
        assert_bars(bar_store.read(series), before)
        assert bar_store.coverage(series) == coverage
    assert bar_store.keys() == [series]


PARTITION_CASES = {
    # key, bars (start, periods, freq), the day re-written in the middle
    "1m-across-a-year-end": ("x/BTC/USDT/1m", ("2023-12-10", 45 * 1440, "1min"), "2024-01-01"),
    "1h-across-two-years": ("x/BTC/USDT/1h", ("2022-11-01", 2 * 8784, "1h"), "2023-12-31"),
    "5m-across-months": ("x/BTC/USDT/5m", ("2024-01-15", 90 * 288, "5min"), "2024-02-29"),
}


@pytest.mark.parametrize("case", list(PARTITION_CASES.values()), ids=list(PARTITION_CASES))
def test_write_across_many_partitions_then_upsert_a_middle_day(
    bar_store: BarStore, case: tuple[str, tuple[str, int, str], str]
) -> None:
    text, (start, periods, freq), day = case
    series = key(text)
    frame = bars(start, periods, freq, seed=15)
    assert bar_store.write(series, frame) == periods
    assert_holds(bar_store, series, expected(frame))

    day_start = pd.Timestamp(day, tz="UTC")
    day_end = day_start + pd.Timedelta(days=1)
    patch = synthetic_bars(pd.DatetimeIndex(frame.index[in_range(frame, day_start, day_end)]), 16)
    assert 0 < len(patch) < periods
    bar_store.write(series, patch)
    model = upsert(expected(frame), patch)
    assert_holds(bar_store, series, model)
    assert_bars(bar_store.read(series, day_start, day_end), expected(patch))
    outside = ~in_range(model, day_start, day_end)
    assert_bars(bar_store.read(series)[outside], expected(frame)[outside])


def test_series_written_out_of_order_reads_sorted(bar_store: BarStore) -> None:
    series = key("order/ETH/USDT/5m")
    chunks = [bars(month, 2000, "5min", seed=i) for i, month in enumerate(["2024-03", "2024-01"])]
    chunks.append(bars("2024-02-01", 500, "5min", seed=2))
    model: pd.DataFrame | None = None
    for frame in chunks:
        bar_store.write(series, frame)
        model = upsert(model, frame)
    assert model is not None
    assert_holds(bar_store, series, model)


# -- deletes -------------------------------------------------------------------------------------

DELETE_START = pd.Timestamp("2023-12-31 12:00", tz="UTC")


def d(minute: int) -> pd.Timestamp:
    return DELETE_START + pd.Timedelta(minutes=minute)


DELETE_CASES: dict[str, Bounds] = {
    "middle": (d(1000), d(2000)),
    "head": (None, d(500)),
    "tail": (d(3500), None),
    "across-partitions": ("2023-12-31 23:00", "2024-01-01 01:00"),
    "one-whole-partition": ("2023-12-01", "2024-01-01"),
    "nothing-between-bars": (d(100) + pd.Timedelta(seconds=1), d(101)),
    "nothing-after-data": (d(5000), None),
    "whole-by-bounds": (d(0), d(4000)),
    "whole": (None, None),
}


@pytest.mark.parametrize("bounds", list(DELETE_CASES.values()), ids=list(DELETE_CASES))
def test_delete_removes_the_half_open_range(bar_store: BarStore, bounds: Bounds) -> None:
    series = key("del/BTC/USDT/1m")
    neighbour = key("del/BTC/USDT/1h")  # same symbol, another timeframe: must not be touched
    frame = expected(bars(str(DELETE_START), 4000, "1min", seed=17))
    other = expected(bars(str(DELETE_START), 100, "1h", seed=18))
    bar_store.write(series, frame)
    bar_store.write(neighbour, other)

    doomed = in_range(frame, *bounds)
    assert bar_store.delete(series, *bounds) == int(doomed.sum())
    if doomed.all():
        assert_absent(bar_store, series)
        assert bar_store.keys() == [neighbour]
    else:
        assert_holds(bar_store, series, frame[~doomed])
        assert bar_store.keys() == [series, neighbour]
    assert_holds(bar_store, neighbour, other)


def test_deleted_series_can_be_written_again(bar_store: BarStore) -> None:
    series = key("again/ABC/1d")
    bar_store.write(series, bars("2020-01-01", 400, "1D", seed=19))
    assert bar_store.delete(series) == 400
    assert_absent(bar_store, series)
    fresh = bars("2020-06-01", 10, "1D", seed=20)
    bar_store.write(series, fresh)
    assert_holds(bar_store, series, expected(fresh))


def test_deleting_every_bar_piece_by_piece_drops_the_key(bar_store: BarStore) -> None:
    series = key("pieces/ABC/1h")
    bar_store.write(series, bars("2023-12-31", 48, "1h", seed=21))
    assert bar_store.delete(series, "2024-01-01", None) == 24
    assert bar_store.delete(series, "2024-01-01", None) == 0
    assert series in bar_store.keys()
    assert bar_store.delete(series, None, "2024-01-01") == 24
    assert_absent(bar_store, series)


# -- keys, coverage, unknown keys ----------------------------------------------------------------

# In SeriesKey.sort_key order: exchange, symbol, then bar length ("1m" < "1h" < "1w" < "1M").
KEYS_IN_ORDER = [
    "binance/BTC/USDT/1m",
    "binance/BTC/USDT/1h",
    "binance/BTC/USDT/1w",
    "binance/BTC/USDT/1M",
    "binance/ETH/BTC/5m",
    "kraken/XBT/EUR/4h",
    "nyse/BRK.B/1d",
    "x/./1h",
    "x/../1h",
    "x/.hidden/1h",
    "x/a%2Fb/1d",
    "x/a/b/1d",
]

FREQ = {"1m": "1min", "5m": "5min", "1h": "1h", "4h": "4h", "1d": "1D", "1w": "W-MON", "1M": "MS"}


def test_keys_are_sorted_and_series_stay_apart(bar_store: BarStore) -> None:
    assert bar_store.keys() == []
    frames = {}
    shuffled = np.random.default_rng(22).permutation(len(KEYS_IN_ORDER))
    for i in shuffled:
        series = key(KEYS_IN_ORDER[i])
        frames[series] = bars("2024-01-01", 30, FREQ[series.timeframe.value], seed=int(i))
        bar_store.write(series, frames[series])
    assert bar_store.keys() == [key(text) for text in KEYS_IN_ORDER]
    assert [str(k) for k in bar_store.keys()] == KEYS_IN_ORDER
    for series, frame in frames.items():
        assert_holds(bar_store, series, expected(frame))

    # 1M (months) and 1m (minutes) of one symbol are two series.
    bar_store.delete(key("binance/BTC/USDT/1M"))
    assert [str(k) for k in bar_store.keys()] == [k for k in KEYS_IN_ORDER if k[-2:] != "1M"]
    assert_holds(
        bar_store, key("binance/BTC/USDT/1m"), expected(frames[key("binance/BTC/USDT/1m")])
    )


def test_coverage_follows_writes_and_deletes(bar_store: BarStore) -> None:
    series = key("cov/ABC/4h")
    bar_store.write(series, bars("2024-01-01 04:00", 10, "4h", seed=23))
    cov = bar_store.coverage(series)
    assert (cov.rows, cov.start, cov.end) == (
        10,
        pd.Timestamp("2024-01-01 04:00", tz="UTC"),
        pd.Timestamp("2024-01-02 16:00", tz="UTC"),
    )
    bar_store.write(series, bars("2023-12-31 20:00", 2, "4h", seed=24))
    bar_store.write(series, bars("2024-01-05", 1, "4h", seed=25))
    cov = bar_store.coverage(series)
    assert (cov.rows, cov.start, cov.end) == (
        13,
        pd.Timestamp("2023-12-31 20:00", tz="UTC"),
        pd.Timestamp("2024-01-05", tz="UTC"),
    )
    bar_store.delete(series, None, "2024-01-01 08:00")
    bar_store.delete(series, "2024-01-02", None)
    cov = bar_store.coverage(series)
    assert (cov.rows, cov.start, cov.end) == (
        4,
        pd.Timestamp("2024-01-01 08:00", tz="UTC"),
        pd.Timestamp("2024-01-01 20:00", tz="UTC"),
    )


UNKNOWN_CALLS: dict[str, Callable[[BarStore, SeriesKey], object]] = {
    "read": lambda store, series: store.read(series),
    "read-range": lambda store, series: store.read(series, "2024-01-01", "2024-02-01"),
    "delete": lambda store, series: store.delete(series),
    "delete-range": lambda store, series: store.delete(series, "2024-01-01", "2024-02-01"),
    "coverage": lambda store, series: store.coverage(series),
}


@pytest.mark.parametrize("call", list(UNKNOWN_CALLS.values()), ids=list(UNKNOWN_CALLS))
def test_unknown_key_raises_not_found(
    bar_store: BarStore, call: Callable[[BarStore, SeriesKey], object]
) -> None:
    with pytest.raises(NotFoundError):
        call(bar_store, key("nowhere/ABC/1h"))
    known = key("known/ABC/1d")
    bar_store.write(known, bars("2024-01-01", 5, "1D", seed=26))
    for unknown in ("known/ABC/1h", "known/ABCD/1d", "other/ABC/1d"):
        with pytest.raises(NotFoundError, match="not in the store"):
            call(bar_store, key(unknown))
    assert bar_store.keys() == [known]


# -- invalid bars ---------------------------------------------------------------------------------


def _set(column: str, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[-1], column] = value
        return frame

    return change


def _shift_last(delta: pd.Timedelta) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        index = frame.index.to_series()
        index.iloc[-1] += delta
        frame.index = pd.DatetimeIndex(index, name="timestamp")
        return frame

    return change


INVALID_CASES: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "nan": ("close", _set("close", np.nan)),
    "inf": ("volume", _set("volume", np.inf)),
    "off-grid": ("timestamp", _shift_last(pd.Timedelta(seconds=30))),
    "naive-index": ("timestamp", lambda frame: frame.tz_localize(None)),
    "non-positive-price": ("low", _set("low", 0.0)),
    "high-below-body": ("high", _set("high", 1e-3)),
    "negative-volume": ("volume", _set("volume", -1.0)),
    "duplicate-timestamp": ("timestamp", _shift_last(-pd.Timedelta(minutes=1))),
    "unsorted": ("timestamp", _shift_last(-pd.Timedelta(minutes=2))),
}


@pytest.mark.parametrize("case", list(INVALID_CASES.values()), ids=list(INVALID_CASES))
def test_invalid_bars_are_rejected_and_nothing_is_stored(
    bar_store: BarStore, case: tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]
) -> None:
    column, spoil = case
    # The bad bar is the last of three months: a store must check everything before storing.
    index = pd.date_range("2023-12-30", "2024-02-02", freq="1min", tz="UTC", inclusive="left")
    bad = spoil(synthetic_bars(index, seed=27))
    fresh, held = key("bad/ABC/1m"), key("bad/XYZ/1m")
    with pytest.raises(InvalidBarsError) as error:
        bar_store.write(fresh, bad)
    assert error.value.column == column
    assert_absent(bar_store, fresh)

    earlier = expected(synthetic_bars(index, seed=28))
    bar_store.write(held, earlier)
    with pytest.raises(InvalidBarsError):
        bar_store.write(held, bad)
    assert_holds(bar_store, held, earlier)
    assert bar_store.keys() == [held]


# -- concurrency: threads -------------------------------------------------------------------------


def test_concurrent_thread_writers_all_land(bar_store: BarStore) -> None:
    writers, chunks = 4, 5
    own = {i: bars("2024-01-25", 10_000, "1min", seed=30 + i) for i in range(writers)}
    shared_key = key("threads/SHARED/1h")
    shared = bars("2023-12-20", 40 * 24, "1h", seed=39)  # across a year boundary
    barrier = threading.Barrier(writers)

    def run(i: int) -> None:
        mine = shared.iloc[i::writers]  # disjoint rows of one series: a lost update shows
        barrier.wait()
        for part, theirs in zip(
            np.array_split(np.arange(len(own[i])), chunks),
            np.array_split(np.arange(len(mine)), chunks),
            strict=True,
        ):
            bar_store.write(key(f"threads/S{i}/1m"), own[i].iloc[part])
            bar_store.write(shared_key, mine.iloc[theirs])

    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(run, i) for i in range(writers)]:
            future.result()

    for i, frame in own.items():
        assert_holds(bar_store, key(f"threads/S{i}/1m"), expected(frame))
    assert_holds(bar_store, shared_key, expected(shared))
    assert len(bar_store.keys()) == writers + 1


def test_writes_racing_whole_series_deletes_lose_nothing(bar_store: BarStore) -> None:
    """Every written bar is either counted by a delete or still there at the end."""
    series = key("race/ABC/1h")
    rows = 60
    frame = expected(bars("2023-12-31 12:00", 2 * rows, "1h", seed=40))
    writing = threading.Event()
    writing.set()
    deleted: list[int] = []

    def write(offset: int) -> None:
        for i in range(offset, 2 * rows, 2):
            bar_store.write(series, frame.iloc[i : i + 1])

    def delete() -> None:
        while writing.is_set():
            try:
                deleted.append(bar_store.delete(series))
            except NotFoundError:
                deleted.append(0)

    with ThreadPoolExecutor(3) as pool:
        deleter = pool.submit(delete)
        writers = [pool.submit(write, offset) for offset in (0, 1)]
        try:
            for future in writers:
                future.result()
        finally:
            writing.clear()
        deleter.result()

    try:
        left = bar_store.read(series)
    except NotFoundError:
        left = frame.iloc[:0]
    assert sum(deleted) + len(left) == 2 * rows
    assert sum(deleted) > 0
    assert_bars(left, frame[frame.index.isin(left.index)])


def test_reads_during_rewrites_see_whole_states(bar_store: BarStore) -> None:
    series = key("reader/BTC/USDT/1m")
    index = pd.date_range("2024-01-25", periods=20_000, freq="1min", tz="UTC")
    states = [expected(synthetic_bars(index, seed=s)) for s in (41, 42)]  # two partitions each
    bar_store.write(series, states[0])
    seen, writes = [0, 0], [0]
    stop = threading.Event()

    def rewrite() -> None:
        while not stop.is_set():
            bar_store.write(series, states[(writes[0] + 1) % 2])
            writes[0] += 1

    # The writer keeps rewriting until the reader has read many times and seen both states.
    deadline = time.monotonic() + 30.0
    with ThreadPoolExecutor(1) as pool:
        writer = pool.submit(rewrite)
        try:
            while (sum(seen) < 50 or not all(seen)) and time.monotonic() < deadline:
                got = bar_store.read(series)
                matches = [same_bars(got, state) for state in states]
                assert any(matches), f"read {sum(seen)} saw a state that was never written"
                seen[matches.index(True)] += 1
                if writer.done():
                    writer.result()  # raises the writer's error, if any
                    pytest.fail("the writer stopped early")
        finally:
            stop.set()
        writer.result()
    assert all(seen), f"the reads saw only one state: {seen} in {writes[0]} rewrites"
    assert writes[0] >= 2


# -- concurrency and crashes: separate processes -------------------------------------------------

Spawn = Callable[[SharedBarStore, list[tuple[SeriesKey, pd.DataFrame]], bool], Writer]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start writer processes (bars passed through Feather files); kill leftovers at the end."""
    writers: list[Writer] = []
    files = itertools.count()
    go = new_event()

    def start(
        shared: SharedBarStore, jobs: list[tuple[SeriesKey, pd.DataFrame]], loop: bool
    ) -> Writer:
        paths = []
        for series, frame in jobs:
            path = tmp_path / f"bars-{next(files)}.feather"
            frame.reset_index().to_feather(path)
            paths.append((series, path))
        # Looping writers (killed one at a time) get their own go; one-shot writers share one.
        writer = start_writer(shared.open_args, paths, loop, go=None if loop else go)
        writers.append(writer)
        return writer

    yield start
    for writer in writers:
        writer.kill()


def test_concurrent_process_writers_all_land(
    shared_bar_store: SharedBarStore, spawn: Spawn
) -> None:
    store, count, chunks = shared_bar_store.store, 3, 4
    own = {i: bars("2024-02-20", 15_000, "1min", seed=50 + i) for i in range(count)}
    shared_key = key("procs/SHARED/1h")
    shared = bars("2023-12-20", 40 * 24, "1h", seed=59)
    writers = []
    for i in range(count):
        jobs = []
        mine = shared.iloc[i::count]  # disjoint rows of one series: a lost update shows
        for part, theirs in zip(
            np.array_split(np.arange(len(own[i])), chunks),
            np.array_split(np.arange(len(mine)), chunks),
            strict=True,
        ):
            jobs += [(key(f"procs/S{i}/1m"), own[i].iloc[part]), (shared_key, mine.iloc[theirs])]
        writers.append(spawn(shared_bar_store, jobs, False))
    for writer in writers:
        writer.wait(writer.ready.is_set, "ready")
    writers[0].go.set()  # shared by all: they start together
    for writer in writers:
        assert writer.join() == 0
        assert writer.finished.value == 2 * chunks

    for i, frame in own.items():
        assert_holds(store, key(f"procs/S{i}/1m"), expected(frame))
    assert_holds(store, shared_key, expected(shared))
    assert len(store.keys()) == count + 1


def _orphans(root: Path) -> list[str]:
    """Files under a Parquet store's ``root`` that no series manifest names (its layout)."""
    found = []
    for directory, _, names in os.walk(root):
        live = {"_manifest.json", ".lock"}
        with contextlib.suppress(FileNotFoundError):
            document = json.loads(Path(directory, "_manifest.json").read_text())
            live |= {part["file"] for part in document["partitions"].values()}
        found += [str(Path(directory, name)) for name in names if name not in live]
    return found


# Kill points: how many writes to let complete, then how long to wait before SIGKILL (None: until
# the next write has put a file its manifest does not name yet, i.e. surely mid-write).
KILL_POINTS: list[tuple[int, float | None]] = [(0, 0.0), (0, None), (1, 0.03), (2, None), (1, 0.07)]


def _has_started(writer: Writer, writes: int) -> Callable[[], bool]:
    return lambda: bool(writer.started.value >= writes)


def test_killed_writer_leaves_the_old_or_the_new_state(
    shared_bar_store: SharedBarStore, spawn: Spawn
) -> None:
    store, root, series = shared_bar_store.store, shared_bar_store.root, key("kill/BTC/USDT/1m")
    index = pd.date_range("2024-01-20", periods=100_000, freq="1min", tz="UTC")  # 3 partitions
    new_states = {f"new-{s}": expected(synthetic_bars(index, seed=s)) for s in (61, 62)}
    state = expected(synthetic_bars(index[:20_000], seed=60))
    store.write(series, state)
    # Each writer loops over the two new states, so every write it starts changes every bar.
    jobs = [(series, frame) for frame in new_states.values()]
    writers = [spawn(shared_bar_store, jobs, True) for _ in KILL_POINTS]
    for writer in writers:
        writer.wait(writer.ready.is_set, "ready")

    outcomes = []
    for writer, (completed, delay) in zip(writers, KILL_POINTS, strict=True):
        writer.go.set()
        writer.wait(_has_started(writer, completed + 1), f"write {completed + 1}")
        if delay is None:
            writer.wait(lambda: bool(_orphans(root)), "a partition file")
        else:
            time.sleep(delay)
        writer.kill()
        assert writer.process.exitcode == -signal.SIGKILL
        mid_write = writer.started.value > writer.finished.value

        got = store.read(series)
        names = [n for n, s in {"old": state, **new_states}.items() if same_bars(got, s)]
        assert names, f"after a kill the series is neither the old nor a new state ({len(got)})"
        assert_coverage(store, series, got)
        outcomes.append((names[0], mid_write, len(_orphans(root))))

        # A later write works, and (Parquet) sweeps away what the killed writer left.
        patch = got.iloc[[5]].copy()
        patch["volume"] = patch["volume"] * 2.0 + 1.0
        assert store.write(series, patch) == 1
        state = upsert(got, patch)
        assert_holds(store, series, state)
        assert _orphans(root) == []

    # Not vacuous: kills hit writes in progress, and some writes completed before a kill.
    assert any(mid for _, mid, _ in outcomes), outcomes
    assert any(name != "old" for name, _, _ in outcomes), outcomes
    if shared_bar_store.open_args[0] == "parquet":
        assert any(orphans for _, _, orphans in outcomes), outcomes


# -- property: random upserts and deletes against a pandas model ------------------------------

# 24 slots on the 1m grid, 9 days 7 hours 13 minutes apart: about seven monthly partitions.
SLOT_BASE = pd.Timestamp("2023-11-20 00:00", tz="UTC")
SLOT_STEP = pd.Timedelta(days=9, hours=7, minutes=13)
SLOTS = 24

slot_bound = st.none() | st.integers(0, SLOTS).map(lambda i: SLOT_BASE + i * SLOT_STEP)
operation = st.one_of(
    st.tuples(
        st.just("write"),
        st.sets(st.integers(0, SLOTS - 1), min_size=1, max_size=10),
        st.integers(0, 2**32 - 1),
    ),
    st.tuples(st.just("delete"), slot_bound, slot_bound),
    st.tuples(st.just("read"), slot_bound, slot_bound),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=8))
def test_random_operations_match_a_pandas_model(
    new_bar_store: StoreFactory, operations: list[tuple[str, Any, Any]]
) -> None:
    store, series = new_bar_store(), key("prop/BTC/USDT/1m")
    model = expected(bars("2024-01-01", 1, "1min", seed=0)).iloc[:0]
    for op, first, second in operations:
        if op == "write":
            index = pd.DatetimeIndex([SLOT_BASE + i * SLOT_STEP for i in sorted(first)])
            frame = synthetic_bars(index, seed=second)
            assert store.write(series, frame) == len(frame)
            model = upsert(model if len(model) else None, frame)
        elif len(model) == 0:
            with pytest.raises(NotFoundError):
                (store.delete if op == "delete" else store.read)(series, first, second)
        elif op == "delete":
            doomed = in_range(model, first, second)
            assert store.delete(series, first, second) == int(doomed.sum())
            model = model[~doomed]
        else:
            assert_bars(store.read(series, first, second), model[in_range(model, first, second)])
        if len(model):
            assert_holds(store, series, model)
        else:
            assert_absent(store, series)
