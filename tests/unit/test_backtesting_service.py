"""The backtesting service, wired through bootstrap.build with the in-memory store."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from foanalytics import Settings, build
from foanalytics.adapters.engines.native import NativeBacktestEngine
from foanalytics.bootstrap import Services
from foanalytics.domain.errors import InvalidBarsError, InvalidInputError, NotFoundError
from foanalytics.domain.market import SeriesKey
from foanalytics.domain.templates import sma_crossover

KEY = SeriesKey.parse("synthetic/BTC/USD/1h")


@pytest.fixture(scope="module")
def services() -> Services:
    services = build(Settings(data_dir="/nonexistent", storage={"backend": "memory"}))
    services.market_data.ingest("synthetic", KEY, "2024-01-01", "2024-04-01")
    return services


def test_strategies_lists_the_templates(services: Services) -> None:
    names = [t.name for t in services.backtesting.strategies()]
    assert names == [
        "bollinger",
        "donchian_breakout",
        "momentum",
        "rsi_mean_reversion",
        "sma_crossover",
    ]


def test_run_on_a_stored_series_equals_the_engine_on_its_bars(services: Services) -> None:
    result = services.backtesting.run("sma_crossover", KEY, params={"fast": 5, "slow": 20})
    bars = services.market_data.bars(KEY)
    direct = NativeBacktestEngine().run(sma_crossover(5, 20), bars, 8760.0)
    assert result.stats.periods_per_year == 8760.0  # hourly, 24/7 (weekend bars present)
    assert result.stats.trades > 5
    pd.testing.assert_frame_equal(result.trades, direct.trades)
    assert result.final_equity == direct.final_equity


def test_run_on_a_frame_infers_the_timeframe_and_weekday_calendar(shared_data) -> None:
    raw = pd.read_csv(shared_data / "stocks_daily/GOOG.csv", index_col=0, parse_dates=True)
    bars = raw.rename(columns=str.lower).tz_localize("UTC")
    services = build(Settings(data_dir="/nonexistent", storage={"backend": "memory"}))
    result = services.backtesting.run("sma_crossover", bars, params={"fast": 10, "slow": 50})
    assert result.stats.periods_per_year == 252.0
    sliced = services.backtesting.run(
        "sma_crossover", bars, "2008-01-01", "2010-01-01", params={"fast": 10, "slow": 50}
    )
    assert sliced.equity.index[0] >= pd.Timestamp("2008-01-01", tz="UTC")
    assert sliced.equity.index[-1] < pd.Timestamp("2010-01-01", tz="UTC")


def test_overrides_reach_the_spec(services: Services) -> None:
    result = services.backtesting.run(
        "sma_crossover",
        KEY,
        overrides={"initial_cash": 5_000.0, "costs": {"commission": 0.002}, "stop_loss": 0.05},
    )
    assert result.spec.initial_cash == 5_000.0
    assert result.spec.costs.commission == 0.002
    assert result.spec.costs.slippage_bps == 0.0
    assert result.spec.stop_loss == 0.05


def test_compare_gives_one_row_per_strategy(services: Services) -> None:
    table = services.backtesting.compare(["sma_crossover", "momentum", "bollinger"], KEY)
    assert list(table.index) == ["sma_crossover(10,50)", "momentum(20,0)", "bollinger(20,2)"]
    assert {"sharpe", "max_drawdown", "trades"} <= set(table.columns)


def test_sweep_runs_every_valid_pair_sorted_by_the_metric(services: Services) -> None:
    grid = {"fast": [5, 10, 30], "slow": [10, 20, 40]}
    seen: list[tuple[int, int]] = []
    frame = services.backtesting.sweep(
        "sma_crossover", grid, KEY, metric="total_return", progress=lambda d, n: seen.append((d, n))
    )
    pairs = sorted(zip(frame["fast"], frame["slow"], strict=True))
    assert pairs == [(5, 10), (5, 20), (5, 40), (10, 20), (10, 40), (30, 40)]
    assert seen[-1] == (9, 9)
    assert frame["total_return"].is_monotonic_decreasing
    bars = services.market_data.bars(KEY)
    for row in frame.itertuples():
        direct = NativeBacktestEngine().run(sma_crossover(row.fast, row.slow), bars, 8760.0)
        assert row.total_return == direct.stats.total_return


def test_both_engines_agree_through_the_service(services: Services) -> None:
    native = services.backtesting.run("rsi_mean_reversion", KEY, engine="native")
    bt = services.backtesting.run("rsi_mean_reversion", KEY, engine="backtrader")
    assert len(native.trades) == len(bt.trades) > 0
    assert np.isclose(native.final_equity, bt.final_equity, rtol=1e-6)


def _nan_bars() -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=100, freq="h", tz="UTC")
    bars = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}, index=index
    )
    bars.iloc[50, 3] = np.nan
    return bars


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda b: b.run("nope", KEY), InvalidInputError, "unknown strategy template 'nope'"),
        (lambda b: b.run("sma_crossover", KEY, params={"fats": 3}), InvalidInputError, "'fats'"),
        (
            lambda b: b.run("sma_crossover", KEY, params={"fast": "x"}),
            InvalidInputError,
            "fast='x'",
        ),
        (lambda b: b.run("sma_crossover", KEY, params={"fast": 2.5}), InvalidInputError, "whole"),
        (lambda b: b.run("sma_crossover", KEY, engine="zipline"), InvalidInputError, "zipline"),
        (
            lambda b: b.run("sma_crossover", KEY, overrides={"initial_cash": 0}),
            InvalidInputError,
            "initial_cash",
        ),
        (lambda b: b.run("sma_crossover", KEY, overrides={"cash": 1}), InvalidInputError, "'cash'"),
        (
            lambda b: b.run(sma_crossover(), KEY, params={"fast": 3}),
            InvalidInputError,
            "params apply to templates",
        ),
        (
            lambda b: b.run("sma_crossover", KEY, "2024-01-01", "2024-01-02"),
            InvalidInputError,
            "sma_slow",
        ),
        (lambda b: b.run("sma_crossover", _nan_bars()), InvalidBarsError, "column 'close'"),
        (
            lambda b: b.run("sma_crossover", SeriesKey.parse("x/Y/1h")),
            NotFoundError,
            "x/Y/1h",
        ),
        (
            lambda b: b.sweep("sma_crossover", {"fast": [5]}, KEY, metric="luck"),
            InvalidInputError,
            "unknown metric 'luck'",
        ),
        (
            lambda b: b.sweep("sma_crossover", {"fast": [60], "slow": [20]}, KEY),
            InvalidInputError,
            "no combination",
        ),
        (
            lambda b: b.run("sma_crossover", [1, 2, 3]),
            InvalidInputError,
            "SeriesKey or a DataFrame",
        ),
    ],
)
def test_bad_input_gets_a_typed_error(
    services: Services, call: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        call(services.backtesting)
