"""The market-data service, wired with the in-memory store through bootstrap.build."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from foanalytics import Settings, build
from foanalytics.bootstrap import Services
from foanalytics.domain.errors import InvalidBarsError, InvalidInputError, NotFoundError
from foanalytics.domain.market import SeriesKey
from foanalytics.ports.market_data import ProgressCallback, SourceInfo

KEY = SeriesKey.parse("synthetic/BTC/USD/1h")


@pytest.fixture
def services() -> Services:
    return build(Settings(data_dir="/nonexistent", storage={"backend": "memory"}))


class ScriptedSource:
    """A hand-written source: fixed frames per key, or an error for a key."""

    def __init__(self, frames: dict[SeriesKey, pd.DataFrame | Exception]) -> None:
        self.frames = frames
        self.calls: list[tuple[SeriesKey, Any, Any]] = []

    def info(self) -> SourceInfo:
        return SourceInfo(name="scripted", timeframes=())

    def fetch(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        self.calls.append((key, start, end))
        frame = self.frames[key]
        if isinstance(frame, Exception):
            raise frame
        return frame


def test_ingest_stores_what_the_source_gives(services: Services) -> None:
    report = services.market_data.ingest("synthetic", KEY, "2024-01-01", "2024-01-08")
    expected = services.sources["synthetic"].fetch(KEY, "2024-01-01", "2024-01-08")
    assert report.rows == 168 == len(expected)
    assert report.start == pd.Timestamp("2024-01-01", tz="UTC")
    assert report.end == pd.Timestamp("2024-01-07 23:00", tz="UTC")
    pd.testing.assert_frame_equal(services.market_data.bars(KEY), expected, check_exact=True)


def test_bars_resample_on_read_matches_pandas(services: Services) -> None:
    services.market_data.ingest("synthetic", KEY, "2024-01-01", "2024-01-08")
    hourly = services.market_data.bars(KEY)
    expected = (
        hourly.resample("4h", origin="epoch", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )
    got = services.market_data.bars(KEY, timeframe="4h")
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert list(got.index) == list(expected.index)


def test_resampled_range_keeps_whole_bars_only(services: Services) -> None:
    services.market_data.ingest("synthetic", KEY, "2024-01-01", "2024-01-03")
    got = services.market_data.bars(KEY, "2024-01-01 01:00", "2024-01-01 13:00", timeframe="4h")
    # Bars whose open time is in [01:00, 13:00): 00:00 opens before the range and is left
    # out; 12:00 opens inside it and is aggregated whole (to 16:00), never cut.
    assert [ts.hour for ts in got.index] == [4, 8, 12]
    last = services.market_data.bars(KEY, "2024-01-01 12:00", "2024-01-01 16:00")
    assert len(last) == 4
    assert got["high"].iloc[-1] == last["high"].max()
    assert got["close"].iloc[-1] == last["close"].iloc[-1]
    assert got["volume"].iloc[-1] == pytest.approx(last["volume"].sum(), rel=1e-15)


def test_gaps_after_an_outage_and_ensure_complete_fills_exactly(services: Services) -> None:
    market = services.market_data
    market.ingest("synthetic", KEY, "2024-01-01", "2024-01-11")
    assert market.delete(KEY, "2024-01-03 05:00", "2024-01-03 09:00") == 4
    assert market.delete(KEY, "2024-01-05", "2024-01-06") == 24
    report = market.gaps(KEY)
    assert report.calendar.value == "24/7"  # the series has weekend bars
    assert [[*g.to_pair(), g.bars] for g in report.gaps] == [
        ["2024-01-03T05:00:00+00:00", "2024-01-03T09:00:00+00:00", 4],
        ["2024-01-05T00:00:00+00:00", "2024-01-06T00:00:00+00:00", 24],
    ]
    source = ScriptedSource({})
    real = services.sources["synthetic"]

    class Spy(ScriptedSource):
        def fetch(self, key: SeriesKey, start: Any = None, end: Any = None, progress=None):
            self.calls.append((key, start, end))
            return real.fetch(key, start, end, progress)

    spy = Spy({})
    filled = market.ensure_complete(KEY, "2024-01-01", "2024-01-11", spy)
    assert filled.fetched_rows == 28
    assert filled.complete
    assert [(str(s), str(e)) for _, s, e in spy.calls] == [
        ("2024-01-03 05:00:00+00:00", "2024-01-03 09:00:00+00:00"),
        ("2024-01-05 00:00:00+00:00", "2024-01-06 00:00:00+00:00"),
    ]
    pd.testing.assert_frame_equal(
        market.bars(KEY), real.fetch(KEY, "2024-01-01", "2024-01-11"), check_exact=True
    )
    assert source.calls == []


def test_ensure_complete_reports_what_the_source_cannot_fill(services: Services) -> None:
    market = services.market_data
    market.ingest("synthetic", KEY, "2024-01-01", "2024-01-02")
    market.delete(KEY, "2024-01-01 10:00", "2024-01-01 12:00")
    empty = services.sources["synthetic"].fetch(KEY, "2000-01-01", "2000-01-01")
    report = market.ensure_complete(
        KEY, "2024-01-01", "2024-01-02", ScriptedSource({KEY: empty}), calendar="24/7"
    )
    assert not report.complete
    assert report.to_dict()["still_missing"] == [
        ["2024-01-01T10:00:00+00:00", "2024-01-01T12:00:00+00:00"]
    ]
    assert report.to_dict()["count"] == 2


def test_ensure_complete_fetches_a_new_series_whole(services: Services) -> None:
    key = SeriesKey.parse("synthetic/NEW/1d")
    report = services.market_data.ensure_complete(key, "2024-01-01", "2024-02-01", "synthetic")
    assert report.fetched_rows == 31
    assert report.complete


def test_stats_against_an_independent_computation(services: Services) -> None:
    daily = SeriesKey.parse("synthetic/ACME/1d")
    services.market_data.ingest("synthetic", daily, "2023-01-01", "2024-01-01")
    stats = services.market_data.stats(daily)
    close = services.market_data.bars(daily)["close"]
    returns = close.pct_change().dropna()
    assert stats.rows == 365
    assert stats.missing_bars == 0
    assert stats.periods_per_year == 365.0
    assert stats.volatility == pytest.approx(returns.std() * np.sqrt(365), rel=1e-12)
    assert stats.total_return == pytest.approx(close.iloc[-1] / close.iloc[0] - 1, rel=1e-12)
    assert stats.mean_return == pytest.approx(returns.mean(), rel=1e-12)
    assert stats.worst_return == returns.min()
    assert stats.to_dict()["key"] == "synthetic/ACME/1d"


def test_ingest_all_stores_nothing_when_one_series_is_bad(services: Services) -> None:
    good = services.sources["synthetic"].fetch(KEY, "2024-01-01", "2024-01-02")
    other = SeriesKey.parse("x/BAD/1h")
    error = InvalidBarsError("bad", column="close", rule="not_finite")
    with pytest.raises(InvalidBarsError):
        services.market_data.ingest_all(ScriptedSource({KEY: good, other: error}), [KEY, other])
    assert services.market_data.list() == []


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda m: m.ingest("nope", KEY), InvalidInputError, "unknown source 'nope'"),
        (lambda m: m.bars(KEY, timeframe="2h"), InvalidInputError, "unknown timeframe '2h'"),
        (lambda m: m.bars(KEY, timeframe="1m"), InvalidInputError, "cannot resample"),
        (lambda m: m.gaps(KEY, calendar="lunar"), InvalidInputError, "unknown calendar 'lunar'"),
        (lambda m: m.gaps(SeriesKey.parse("a/B/1h")), NotFoundError, "a/B/1h"),
        (lambda m: m.stats(SeriesKey.parse("a/B/1h")), NotFoundError, "a/B/1h"),
        (lambda m: m.ingest("synthetic", KEY, "2024-01-01"), InvalidInputError, "start and end"),
        (lambda m: m.ingest("synthetic", KEY, "soon", "later"), InvalidInputError, "'soon'"),
    ],
)
def test_bad_input_gets_a_typed_error(
    services: Services, call: Any, error: type[Exception], words: str
) -> None:
    services.market_data.ingest("synthetic", KEY, "2024-01-01", "2024-01-02")
    with pytest.raises(error, match=words):
        call(services.market_data)
