"""The native engine's execution rules on small frames whose fills are worked out by hand.

Every expected number below is written out from the rules in the module docstring of
``foanalytics.adapters.engines.native`` (fills at the next open, slippage against the trader
and inside the bar, commission on every fill, stops from the bar after the entry), never
computed with the engine. The parity suite (``tests/contract/test_engines.py``) checks the
same rules against backtrader on real data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from foanalytics.adapters.engines.native import NativeBacktestEngine, check_lookback, custom_spec
from foanalytics.domain.errors import BacktestError, InvalidInputError
from foanalytics.domain.strategy import Compare, Sma, StrategySpec
from foanalytics.domain.templates import sma_crossover

ENGINE = NativeBacktestEngine()


def make_bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Bars from (open, high, low, close) rows, one day apart."""
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], dtype=float)
    frame["volume"] = 1.0
    frame.index = pd.date_range("2024-01-01", periods=len(rows), tz="UTC", name="timestamp")
    return frame


def flags(n: int, *at: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[list(at)] = True
    return out


FLAT = (100.0, 101.0, 99.0, 100.0)


def test_round_trip_with_commission_and_slippage_by_hand() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,  # entry signal on this close: size = 0.5 * 10,000 / 100 = 50
            (102.0, 105.0, 101.0, 104.0),  # buy at 102 * 1.001 = 102.102
            (104.0, 106.0, 103.0, 105.0),  # exit signal on this close
            (103.0, 104.0, 100.0, 101.0),  # sell at 103 * 0.999 = 102.897
            FLAT,
        ]
    )
    settings = {
        "sizing": {"method": "fraction", "fraction": 0.5},
        "costs": {"commission": 0.001, "slippage_bps": 10},
        "initial_cash": 10_000.0,
    }
    result = ENGINE.run_signals(flags(6, 1), flags(6, 3), bars, settings, 252)
    trades = result.trades
    assert len(trades) == 1
    trade = trades.iloc[0]
    assert trade["entry_time"] == bars.index[2]
    assert trade["exit_time"] == bars.index[4]
    assert trade["entry_price"] == pytest.approx(102.102, rel=1e-12)
    assert trade["exit_price"] == pytest.approx(102.897, rel=1e-12)
    assert trade["size"] == pytest.approx(50.0, rel=1e-12)
    # Commissions: 50 * 0.001 * 102.102 = 5.1051 in, 50 * 0.001 * 102.897 = 5.14485 out.
    assert trade["pnl"] == pytest.approx(50 * (102.897 - 102.102) - 5.1051 - 5.14485, abs=1e-9)
    assert trade["return"] == pytest.approx(29.50005 / (50 * 102.102), rel=1e-9)
    assert trade["bars_held"] == 2
    assert trade["exit_reason"] == "signal"
    # Cash after the buy: 10,000 - 5,105.1 - 5.1051 = 4,889.7949; marked at the closes.
    expected_equity = [
        10_000.0,
        10_000.0,
        4_889.7949 + 50 * 104.0,
        4_889.7949 + 50 * 105.0,
        10_029.50005,
        10_029.50005,
    ]
    np.testing.assert_allclose(result.equity.to_numpy(), expected_equity, rtol=1e-12)
    np.testing.assert_array_equal(result.positions.to_numpy(), [0, 0, 50, 50, 0, 0])
    assert result.stats.final_equity == pytest.approx(10_029.50005, rel=1e-12)


def test_slippage_never_leaves_the_bar() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            (110.0, 110.0, 108.0, 109.0),  # 110 * 1.01 is above the high: buy at the high, 110
            FLAT,
            (95.0, 96.0, 95.0, 95.5),  # 95 * 0.99 is below the low: sell at the low, 95
        ]
    )
    settings = {"sizing": {"method": "units", "units": 1}, "costs": {"slippage_bps": 100}}
    trade = ENGINE.run_signals(flags(5, 1), flags(5, 3), bars, settings).trades.iloc[0]
    assert trade["entry_price"] == 110.0
    assert trade["exit_price"] == 95.0


def test_gap_through_the_stop_fills_at_the_open() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            (100.0, 101.0, 80.0, 99.0),  # entry bar: its low is below the stop, not yet working
            (90.0, 92.0, 88.0, 91.0),  # opens below the stop at 95: fills at the open, 90
            FLAT,
        ]
    )
    settings = {"sizing": {"method": "units", "units": 2}, "stop_loss": 0.05}
    result = ENGINE.run_signals(flags(5, 1), flags(5), bars, settings)
    trade = result.trades.iloc[0]
    assert (trade["entry_price"], trade["exit_price"]) == (100.0, 90.0)
    assert trade["exit_time"] == bars.index[3]
    assert trade["exit_reason"] == "stop_loss"
    assert trade["pnl"] == pytest.approx(2 * (90.0 - 100.0))
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 - 20.0)


def test_stop_inside_the_bar_fills_at_the_stop_slipped_but_not_below_the_low() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            FLAT,  # entry at 100: stop at 95
            (97.0, 98.0, 94.0, 96.0),  # low 94 reaches 95: sells at 95 * 0.998 = 94.81
            (97.0, 98.0, 94.9, 96.0),
        ]
    )
    settings = {
        "sizing": {"method": "units", "units": 1},
        "stop_loss": 0.05,
        "costs": {"slippage_bps": 20},
    }
    trade = ENGINE.run_signals(flags(5, 1), flags(5), bars, settings).trades.iloc[0]
    assert trade["entry_price"] == pytest.approx(100 * 1.002)
    # The stop is 5% under the slipped entry 100.2: 95.19, slipped to 94.99962 (above the low).
    assert trade["exit_price"] == pytest.approx(100.2 * 0.95 * 0.998, rel=1e-12)
    assert trade["exit_reason"] == "stop_loss"


def test_stop_loss_wins_when_stop_and_take_profit_share_a_bar() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            FLAT,  # entry at 100: stop 95, take profit 105
            (100.0, 106.0, 94.0, 100.0),  # both inside the range: the stop loss fills, at 95
            FLAT,
        ]
    )
    settings = {"sizing": {"method": "units", "units": 1}, "stop_loss": 0.05, "take_profit": 0.05}
    trade = ENGINE.run_signals(flags(5, 1), flags(5), bars, settings).trades.iloc[0]
    assert (trade["exit_price"], trade["exit_reason"]) == (95.0, "stop_loss")


def test_take_profit_fills_at_the_limit_or_at_a_better_open() -> None:
    settings = {
        "sizing": {"method": "units", "units": 1},
        "take_profit": 0.05,
        "costs": {"slippage_bps": 50},
    }
    # Intrabar: the high reaches 105, the limit fills at 105 exactly (no slippage on a limit).
    inside = make_bars([FLAT, FLAT, FLAT, (101.0, 106.0, 100.0, 102.0), FLAT])
    # The entry is slipped too: 100 * 1.005 = 100.5, so the limit is 105.525.
    trade = ENGINE.run_signals(flags(5, 1), flags(5), inside, settings).trades.iloc[0]
    assert trade["exit_price"] == pytest.approx(100.5 * 1.05, rel=1e-12)
    assert trade["exit_reason"] == "take_profit"
    # Gap: opens at 110 above the limit; slipped 110 * 0.995 = 109.45 is below the low 109.8,
    # so the fill is the low (never outside the bar; backtrader's own broker would give 109.45).
    gap = make_bars([FLAT, FLAT, FLAT, (110.0, 112.0, 109.8, 111.0), FLAT])
    trade = ENGINE.run_signals(flags(5, 1), flags(5), gap, settings).trades.iloc[0]
    assert (trade["exit_price"], trade["exit_reason"]) == (109.8, "take_profit")


def test_trailing_stop_follows_closes_from_the_entry_bar() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            (100.0, 105.0, 99.0, 104.0),  # fill 100, close 104: stop 104 - 10.4 = 93.6
            (104.0, 111.0, 94.0, 110.0),  # low 94 above 93.6; close 110 raises it to 99
            (109.0, 109.0, 100.0, 101.0),  # low 100 above 99; close 101 does not lower it
            (100.0, 100.0, 98.0, 98.5),  # low 98 reaches 99: fills at 99
            FLAT,
        ]
    )
    settings = {"sizing": {"method": "units", "units": 1}, "trailing_stop": 0.1}
    trade = ENGINE.run_signals(flags(7, 1), flags(7), bars, settings).trades.iloc[0]
    assert trade["exit_time"] == bars.index[5]
    assert trade["exit_price"] == pytest.approx(110.0 - 11.0, rel=1e-12)
    assert trade["exit_reason"] == "trailing_stop"


def test_short_stops_mirror_the_long_ones() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            FLAT,  # short at 100: stop 104, take profit 90
            (102.0, 103.0, 99.0, 101.0),  # neither reached
            (105.0, 106.0, 104.5, 105.5),  # opens above the stop: buys at the open, 105
            FLAT,
        ]
    )
    settings = {
        "direction": "short",
        "sizing": {"method": "units", "units": 3},
        "stop_loss": 0.04,
        "take_profit": 0.1,
    }
    trade = ENGINE.run_signals(flags(6, 1), flags(6), bars, settings).trades.iloc[0]
    assert trade["size"] == -3.0
    assert (trade["entry_price"], trade["exit_price"]) == (100.0, 105.0)
    assert trade["pnl"] == pytest.approx(-3 * (105.0 - 100.0))
    assert trade["exit_reason"] == "stop_loss"


def test_signal_exit_cancels_the_stops() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,
            FLAT,  # long at 100, stop 95; exit signal on this close
            (99.0, 99.0, 90.0, 92.0),  # the stop would trigger, but the exit fills at the open
            FLAT,
        ]
    )
    settings = {"sizing": {"method": "units", "units": 1}, "stop_loss": 0.05}
    trade = ENGINE.run_signals(flags(5, 1), flags(5, 2), bars, settings).trades.iloc[0]
    assert (trade["exit_price"], trade["exit_reason"]) == (99.0, "signal")


def test_reversal_pays_commission_on_both_legs() -> None:
    bars = make_bars(
        [
            FLAT,
            FLAT,  # entry: 0.1 * 100,000 / 100 = 100 units
            (100.0, 102.0, 99.0, 101.0),  # buy 100 at 100, comm 100 * 0.01 * 100 = 100
            (102.0, 103.0, 101.0, 102.0),  # exit: reverse to short; equity here 100,100
            (104.0, 105.0, 103.0, 104.0),  # sell 100 + 98.1372549... at 104
            (103.0, 104.0, 102.0, 103.0),
        ]
    )
    settings = {
        "direction": "both",
        "sizing": {"method": "fraction", "fraction": 0.1},
        "costs": {"commission": 0.01},
    }
    result = ENGINE.run_signals(flags(6, 1), flags(6, 3), bars, settings)
    first, second = result.trades.iloc[0], result.trades.iloc[1]
    assert first["size"] == pytest.approx(100.0)
    assert first["exit_price"] == 104.0
    # Long leg: 100 * (104 - 100) less 100 (in) and 100 * 0.01 * 104 = 104 (out).
    assert first["pnl"] == pytest.approx(400.0 - 100.0 - 104.0)
    assert first["exit_reason"] == "signal"
    # Equity at bar 3's close: 100,000 - 100 + 100 * (102 - 100) = 100,100.
    short_units = 0.1 * 100_100.0 / 102.0
    assert second["size"] == pytest.approx(-short_units, rel=1e-12)
    assert second["entry_time"] == bars.index[4]
    assert second["exit_reason"] == "open"
    assert second["exit_price"] == 103.0
    assert second["pnl"] == pytest.approx(
        -short_units * (103.0 - 104.0) - short_units * 0.01 * 104.0, rel=1e-12
    )
    assert result.positions.iloc[-1] == pytest.approx(-short_units, rel=1e-12)
    expected = 100_000.0 - 100.0 + 400.0 - 104.0 + second["pnl"]
    assert result.equity.iloc[-1] == pytest.approx(expected, rel=1e-12)


def test_integer_units_floor_the_size() -> None:
    bars = make_bars([(300.0, 301.0, 299.0, 300.0)] * 4)
    settings = {"integer_units": True, "initial_cash": 10_000.0}
    trade = ENGINE.run_signals(flags(4, 1), flags(4), bars, settings).trades.iloc[0]
    assert trade["size"] == 33.0  # 10,000 / 300 = 33.3
    assert trade["exit_reason"] == "open"
    too_small = {"integer_units": True, "initial_cash": 250.0}
    assert ENGINE.run_signals(flags(4, 1), flags(4), bars, too_small).trades.empty


def test_cash_can_go_negative_on_a_gap() -> None:
    bars = make_bars([FLAT, FLAT, (120.0, 121.0, 119.0, 120.0), (120.0, 121.0, 119.0, 120.0)])
    result = ENGINE.run_signals(flags(4, 1), flags(4), bars, {"initial_cash": 1_000.0})
    trade = result.trades.iloc[0]
    assert (trade["size"], trade["entry_price"]) == (10.0, 120.0)  # costs 1,200 > 1,000 cash
    assert result.equity.iloc[-1] == pytest.approx(1_000.0)  # cash -200 + 10 * 120


def test_target_volatility_sizing_by_hand() -> None:
    # Closes alternate 100, 110, 100, 110...: returns +10%, -9.0909...%, population std of the
    # last 2 returns = (0.1 + 1/11) / 2 = 0.0954545...; x sqrt(4) periods a year = 0.190909...
    closes = [100.0, 110.0, 100.0, 110.0, 110.0, 110.0]
    bars = make_bars([(c, c, c, c) for c in closes])
    settings = {
        "sizing": {"method": "target_volatility", "target": 0.1, "window": 2, "max_leverage": 5},
        "initial_cash": 1_000.0,
    }
    result = ENGINE.run_signals(flags(6, 3), flags(6), bars, settings, periods_per_year=4)
    vol = (0.1 + 1 / 11) / 2 * 2
    assert result.trades.iloc[0]["size"] == pytest.approx(0.1 / vol * 1_000.0 / 110.0, rel=1e-12)
    capped = {**settings, "sizing": {**settings["sizing"], "target": 2.0, "max_leverage": 1.5}}
    result = ENGINE.run_signals(flags(6, 3), flags(6), bars, capped, periods_per_year=4)
    assert result.trades.iloc[0]["size"] == pytest.approx(1.5 * 1_000.0 / 110.0, rel=1e-12)


def test_target_volatility_has_no_size_before_its_window() -> None:
    bars = make_bars([FLAT] * 6)
    settings = {"sizing": {"method": "target_volatility", "target": 0.1, "window": 3}}
    assert ENGINE.run_signals(flags(6, 1), flags(6), bars, settings).trades.empty
    # Flat closes have no volatility: the size is capped at max_leverage (1) times equity.
    trade = ENGINE.run_signals(flags(6, 3), flags(6), bars, settings).trades.iloc[0]
    assert trade["size"] == pytest.approx(1_000.0)


def test_entry_while_in_position_is_ignored_and_last_bar_signal_not_traded() -> None:
    bars = make_bars([FLAT] * 5)
    settings = {"sizing": {"method": "units", "units": 1}}
    result = ENGINE.run_signals(flags(5, 0, 1, 2, 4), flags(5), bars, settings)
    assert len(result.trades) == 1
    assert result.trades.iloc[0]["entry_time"] == bars.index[1]
    np.testing.assert_array_equal(result.positions.to_numpy(), [0, 1, 1, 1, 1])
    exit_last = ENGINE.run_signals(flags(5, 0), flags(5, 4), bars, settings)
    assert exit_last.trades.iloc[0]["exit_reason"] == "open"


def test_both_starts_short_on_an_exit_when_flat() -> None:
    bars = make_bars([FLAT] * 4)
    settings = {"direction": "both", "sizing": {"method": "units", "units": 2}}
    result = ENGINE.run_signals(flags(4), flags(4, 1), bars, settings)
    assert result.trades.iloc[0]["size"] == -2.0
    assert ENGINE.run_signals(flags(4, 1), flags(4, 1), bars, settings).trades.iloc[0]["size"] == 2


def test_open_trade_at_the_end_is_marked_to_the_last_close() -> None:
    bars = make_bars([FLAT, FLAT, (100.0, 101.0, 99.0, 100.0), (101.0, 103.0, 100.0, 102.5)])
    settings = {"sizing": {"method": "units", "units": 4}, "costs": {"commission": 0.01}}
    result = ENGINE.run_signals(flags(4, 1), flags(4), bars, settings)
    trade = result.trades.iloc[0]
    assert trade["exit_reason"] == "open"
    assert trade["exit_time"] == bars.index[3]
    assert (trade["exit_price"], trade["bars_held"]) == (102.5, 1)
    assert trade["pnl"] == pytest.approx(4 * 2.5 - 4 * 0.01 * 100.0)
    assert result.stats.trades == 0  # stats count closed trades only
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 + trade["pnl"])


def test_run_uses_the_spec_rules() -> None:
    spec = StrategySpec(
        name="above",
        indicators=[Sma(name="m", window=2)],
        entry=Compare(op="cross_above", left="close", right="m"),
        exit=Compare(op="cross_below", left="close", right="m"),
        sizing={"method": "units", "units": 1},
    )
    closes = [10.0, 10.0, 12.0, 13.0, 11.0, 10.0, 10.0]
    # m: nan, 10, 11, 12.5, 12, 10.5, 10: close crosses above at bar 2, below at bar 4.
    bars = make_bars([(c, c, c, c) for c in closes])
    trade = ENGINE.run(spec, bars, 252).trades.iloc[0]
    assert (trade["entry_time"], trade["exit_time"]) == (bars.index[3], bars.index[5])
    assert (trade["entry_price"], trade["exit_price"]) == (13.0, 10.0)


def test_too_few_bars_names_the_indicator() -> None:
    # SMA(50) is first defined on bar 49; one signal bar and one fill bar make 51.
    bars = make_bars([FLAT] * 50)
    with pytest.raises(InvalidInputError, match=r"'sma_slow'.*at least 51 bars"):
        ENGINE.run(sma_crossover(10, 50), bars, 252)
    ENGINE.run(sma_crossover(10, 50), make_bars([FLAT] * 51), 252)
    spec = custom_spec({"sizing": {"method": "target_volatility", "target": 0.1, "window": 30}})
    with pytest.raises(InvalidInputError, match="target-volatility window"):
        check_lookback(spec, 20)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (np.zeros(3, dtype=bool), "one value per bar"),
        (np.array([0.0, np.nan, 1.0, 0.0, 0.0]), "booleans"),
        (np.array(["a"] * 5), "booleans"),
    ],
)
def test_bad_signals_are_refused(entries: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ENGINE.run_signals(entries, flags(5), make_bars([FLAT] * 5))


def test_signals_may_be_series_or_zero_one() -> None:
    bars = make_bars([FLAT] * 5)
    as_series = pd.Series(flags(5, 1), index=bars.index)
    assert len(ENGINE.run_signals(as_series, [0, 0, 0, 0, 0], bars).trades) == 1
    with pytest.raises(InvalidInputError, match="bars' index"):
        ENGINE.run_signals(as_series.reset_index(drop=True), flags(5), bars)


def test_bad_inputs_raise_typed_errors() -> None:
    bars = make_bars([FLAT] * 60)
    with pytest.raises(InvalidInputError, match="DataFrame"):
        ENGINE.run(sma_crossover(5, 20), bars.to_numpy(), 252)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="close"):
        ENGINE.run(sma_crossover(5, 20), bars.drop(columns="close"), 252)
    with pytest.raises(InvalidInputError, match="DatetimeIndex"):
        ENGINE.run(sma_crossover(5, 20), bars.reset_index(drop=True), 252)
    for bad in (0, -1, math.nan, "x"):
        with pytest.raises(InvalidInputError, match="periods_per_year"):
            ENGINE.run(sma_crossover(5, 20), bars, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="direction"):
        ENGINE.run_signals(flags(60, 1), flags(60), bars, {"direction": "sideways"})


def test_run_custom_calls_the_function_and_wraps_its_failures() -> None:
    bars = make_bars([FLAT] * 6)
    seen: list[int] = []

    def crossing(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        seen.append(len(frame))
        return flags(len(frame), 1), flags(len(frame), 3)

    result = ENGINE.run_custom(crossing, bars, {"sizing": {"method": "units", "units": 1}})
    assert seen == [6]
    assert result.spec.name == "crossing"
    assert result.trades.iloc[0]["exit_time"] == bars.index[4]

    def broken(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        raise RuntimeError("boom")

    with pytest.raises(BacktestError, match=r"'broken' failed.*boom"):
        ENGINE.run_custom(broken, bars)
    with pytest.raises(InvalidInputError, match=r"must return \(entries, exits\)"):
        ENGINE.run_custom(lambda frame: flags(6, 1), bars)  # type: ignore[arg-type,return-value]


def test_custom_function_cannot_change_the_bars() -> None:
    bars = make_bars([FLAT] * 5)
    before = bars.copy()

    def vandal(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        frame["close"] = 0.0
        return flags(5, 1), flags(5)

    ENGINE.run_custom(vandal, bars)
    pd.testing.assert_frame_equal(bars, before)
