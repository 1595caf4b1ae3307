"""SyntheticMarketDataSource: valid, reproducible, range-independent, realistic bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foanalytics.adapters.market_data.synthetic import (
    SyntheticMarketDataSource,
    SyntheticSourceConfig,
)
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import SeriesKey, Timeframe, validate_bars

SOURCE = SyntheticMarketDataSource(SyntheticSourceConfig(seed=3, annual_volatility=0.5))


@pytest.mark.parametrize("timeframe", list(Timeframe))
def test_every_timeframe_gives_valid_bars_on_its_grid(timeframe: Timeframe) -> None:
    key = SeriesKey(exchange="s", symbol="BTC/USD", timeframe=timeframe)
    span = {"1w": ("2023-01-01", "2024-01-01"), "1M": ("2020-01-01", "2024-01-01")}
    start, end = span.get(timeframe.value, ("2024-01-01", "2024-01-04"))
    bars = SOURCE.fetch(key, start, end)
    assert len(bars) > 0
    validate_bars(bars, timeframe)  # raises if anything is off
    assert bars.index[0] >= pd.Timestamp(start, tz="UTC")
    assert bars.index[-1] < pd.Timestamp(end, tz="UTC")


def test_a_bar_depends_on_its_time_not_on_the_range_asked() -> None:
    key = SeriesKey.parse("s/ETH/USD/5m")
    whole = SOURCE.fetch(key, "2024-01-01", "2024-01-05")
    part = SOURCE.fetch(key, "2024-01-02 13:05", "2024-01-03 02:00")
    pd.testing.assert_frame_equal(part, whole.loc[part.index], check_exact=True)
    again = SyntheticMarketDataSource(SyntheticSourceConfig(seed=3, annual_volatility=0.5))
    pd.testing.assert_frame_equal(again.fetch(key, "2024-01-01", "2024-01-05"), whole)


def test_symbols_and_seeds_differ() -> None:
    a = SOURCE.fetch(SeriesKey.parse("s/A/1d"), "2024-01-01", "2024-02-01")["close"]
    b = SOURCE.fetch(SeriesKey.parse("s/B/1d"), "2024-01-01", "2024-02-01")["close"]
    other = SyntheticMarketDataSource(SyntheticSourceConfig(seed=4))
    c = other.fetch(SeriesKey.parse("s/A/1d"), "2024-01-01", "2024-02-01")["close"]
    assert not np.allclose(a, b)
    assert not np.allclose(a, c)


def test_intraday_closes_meet_the_daily_path() -> None:
    daily = SOURCE.fetch(SeriesKey.parse("s/X/1d"), "2024-01-01", "2024-01-10")
    hourly = SOURCE.fetch(SeriesKey.parse("s/X/1h"), "2024-01-01", "2024-01-10")
    day_close = hourly["close"].groupby(hourly.index.floor("D")).last()
    np.testing.assert_allclose(day_close.to_numpy(), daily["close"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        hourly["open"].to_numpy()[1:], hourly["close"].to_numpy()[:-1], rtol=0
    )


def test_volatility_matches_the_configured_level() -> None:
    bars = SOURCE.fetch(SeriesKey.parse("s/V/1h"), "2020-01-01", "2024-01-01")
    log_returns = np.diff(np.log(bars["close"].to_numpy()))
    annual = log_returns.std() * np.sqrt(365 * 24)
    assert annual == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (None, "2024-01-01", "start and end"),
        ("1960-01-01", "1961-01-01", "1970"),
        ("2024-01-01", "2200-01-01", "2100"),
        ("yesterday-ish", "2024-01-01", "not a timestamp"),
    ],
)
def test_bad_ranges(start, end, words) -> None:
    with pytest.raises(InvalidInputError, match=words):
        SOURCE.fetch(SeriesKey.parse("s/A/1h"), start, end)


def test_empty_range_is_an_empty_frame() -> None:
    bars = SOURCE.fetch(SeriesKey.parse("s/A/1h"), "2024-01-02", "2024-01-01")
    assert bars.empty
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="annual_volatility"):
        SyntheticSourceConfig(annual_volatility=-1)
