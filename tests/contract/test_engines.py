"""The ``BacktestEngine`` contract, and the parity of the native engine with backtrader.

The parity cases run every template with two parameter sets in every direction on four real
series (NVDA and GOOG daily, EUR/USD hourly, ETH/BTC 5-minute), rotating through eight
settings: no costs; commission 0.1% and slippage 5 bps; stop loss + take profit; trailing
stop; all three stops with integer units; fixed units with a stop; half the equity in whole
units with a take profit; target-volatility sizing with a stop. Four hand-made specs add the
other indicators (EMA, WMA, MACD, ATR, z-score, standard deviation, momentum, Donchian,
highest/lowest, offsets) and the ``and``/``or``/``not``/``between`` rules. Both engines must
list the same trades (times, exit reasons and bars held exactly; prices and sizes to 1e-9
relative; pnl to 1e-9 of the notional), the same equity curve to 1e-9 and final equity to 1e-6.

What backtrader cannot express as is, and how the suite handles it:

- Stops working on the entry bar itself: backtrader learns the fill only after the entry bar,
  so the contract makes stops work from the next bar (both engines; pinned by hand in
  ``tests/unit/test_native_engine.py``).
- A trailing stop that follows highs: ``StopTrail`` follows closes, so the contract does too.
- A take profit reached by a gap, slipped: ``BackBroker`` can fill it below the bar's low; the
  backtrader adapter fixes that one case (``_Broker``) and the native engine keeps fills in
  the bar. The gap case is pinned by hand in the unit tests.
- Orders never refused for lack of cash: ``set_checksubmit(False)`` alone still lets
  ``BackBroker`` refuse a fill at execution; the adapter lifts that with the commission
  scheme's leverage. ``test_gap_beyond_cash_is_filled`` checks both engines fill.
- The accurate standard deviation (``stddev``, ``bbands``, ``zscore``): backtrader's
  ``StandardDeviation`` loses digits, so the adapter brings its own backtrader indicator.
- Target-volatility sizing: no backtrader sizer; the adapter computes it in its strategy.
- Custom Python signal functions run on the native engine only (unit tests).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from foanalytics.adapters.engines.backtrader import BacktraderBacktestEngine
from foanalytics.adapters.engines.native import NativeBacktestEngine
from foanalytics.domain.backtest import TRADE_COLUMNS, BacktestResult
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import validate_bars
from foanalytics.domain.strategy import (
    AllOf,
    AnyOf,
    Atr,
    BBands,
    Between,
    Compare,
    Donchian,
    Ema,
    Highest,
    Lowest,
    Macd,
    Momentum,
    Not,
    Roc,
    Rsi,
    Sma,
    StdDev,
    StrategySpec,
    Wma,
    ZScore,
)
from foanalytics.domain.templates import build_template
from foanalytics.ports.engines import BacktestEngine

ENGINES: list[BacktestEngine] = [NativeBacktestEngine(), BacktraderBacktestEngine()]
BARS = 2000  # per series: keeps backtrader (about 10k bars/s) inside the time budget


@dataclass(frozen=True)
class Series:
    path: str
    periods_per_year: float
    stop_scale: float  # stop distances in units of a daily stock's (bar ranges differ)


SERIES = {
    "nvda_1d": Series("stocks_daily/nvda-1999-2014.txt", 252, 1.0),
    "goog_1d": Series("stocks_daily/GOOG.csv", 252, 1.0),
    "eurusd_1h": Series("fx/EURUSD.csv", 252 * 24, 0.05),
    "ethbtc_5m": Series("crypto/ETH_BTC-5m.feather", 365 * 288, 0.25),
}

TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("sma_crossover", {"fast": 10, "slow": 30}),
    ("sma_crossover", {"fast": 20, "slow": 100}),
    ("rsi_mean_reversion", {"period": 14, "lower": 30, "upper": 70}),
    ("rsi_mean_reversion", {"period": 7, "lower": 25, "upper": 60}),
    ("bollinger", {"period": 20, "k": 2.0}),
    ("bollinger", {"period": 10, "k": 1.5}),
    ("momentum", {"lookback": 20, "threshold": 0.0}),
    ("momentum", {"lookback": 10, "threshold": 0.01}),
    ("donchian_breakout", {"entry": 20, "exit": 10}),
    ("donchian_breakout", {"entry": 55, "exit": 20}),
]
DIRECTIONS = ("long", "short", "both")
COSTS = {"commission": 0.001, "slippage_bps": 5.0}
SETTINGS = (
    "plain",
    "costs",
    "stop_take",
    "trailing",
    "all_stops_integer",
    "units_stop",
    "half_integer_take",
    "target_vol_stop",
)


def settings(name: str, series: Series, first_close: float) -> dict[str, Any]:
    """Spec fields for one of :data:`SETTINGS` on a series."""
    k = series.stop_scale
    if name == "plain":
        return {}
    if name == "costs":
        return {"costs": COSTS}
    if name == "stop_take":
        return {"stop_loss": 0.03 * k, "take_profit": 0.06 * k, "costs": COSTS}
    if name == "trailing":
        return {"trailing_stop": 0.04 * k, "costs": COSTS}
    if name == "all_stops_integer":
        return {
            "stop_loss": 0.02 * k,
            "trailing_stop": 0.03 * k,
            "take_profit": 0.05 * k,
            "integer_units": True,
            "initial_cash": 40 * first_close,  # about 40 units, so flooring matters
            "costs": COSTS,
        }
    if name == "units_stop":
        return {"sizing": {"method": "units", "units": 300.0 / first_close}, "stop_loss": 0.03 * k}
    if name == "half_integer_take":
        return {
            "sizing": {"method": "fraction", "fraction": 0.5},
            "integer_units": True,
            "initial_cash": 100 * first_close,
            "take_profit": 0.04 * k,
            "costs": COSTS,
        }
    assert name == "target_vol_stop"
    return {
        "sizing": {"method": "target_volatility", "target": 0.15, "window": 20, "max_leverage": 2},
        "stop_loss": 0.03 * k,
        "costs": COSTS,
    }


def rules_specs() -> list[StrategySpec]:
    """Specs covering the indicators and rules the templates do not use."""
    return [
        StrategySpec(
            name="macd_zscore",
            indicators=[
                Macd(name="m"),
                ZScore(name="z", window=30),
                Ema(name="trend", window=50, offset=1),
            ],
            entry=AllOf(
                conditions=[
                    Compare(op="cross_above", left="m.macd", right="m.signal"),
                    Compare(op="gt", left="close", right="trend"),
                ]
            ),
            exit=AnyOf(
                conditions=[
                    Compare(op="cross_below", left="m.macd", right="m.signal"),
                    Compare(op="gt", left="z", right=2.0),
                ]
            ),
            direction="both",
            costs=COSTS,
        ),
        StrategySpec(
            name="wma_atr",
            indicators=[
                Wma(name="wma", window=20),
                Atr(name="atr", window=14),
                StdDev(name="sd", window=14, source="high"),
                Momentum(name="mom", window=10),
            ],
            entry=AllOf(
                conditions=[
                    Compare(op="gt", left="close", right="wma"),
                    Compare(op="gt", left="atr", right="sd"),
                    Not(condition=Compare(op="lt", left="mom", right=0)),
                ]
            ),
            exit=Compare(op="lt", left="close", right="wma"),
            direction="long",
            trailing_stop=0.02,
        ),
        StrategySpec(
            name="donchian_rsi",
            indicators=[
                Donchian(name="dc", window=20, offset=1),
                Rsi(name="rsi", window=7, source="open"),
                Highest(name="hv", window=10, source="volume", offset=1),
            ],
            entry=AnyOf(
                conditions=[
                    AllOf(
                        conditions=[
                            Compare(op="gt", left="close", right="dc.upper"),
                            Compare(op="gt", left="volume", right="hv"),
                        ]
                    ),
                    Between(value="rsi", lower=5, upper=20),
                ]
            ),
            exit=AnyOf(
                conditions=[
                    Compare(op="lt", left="close", right="dc.middle"),
                    Not(condition=Between(value="rsi", lower=15, upper=85)),
                ]
            ),
            direction="short",
            stop_loss=0.03,
            costs=COSTS,
        ),
        StrategySpec(
            name="bands_roc",
            indicators=[
                BBands(name="bb", window=15, k=1.5, offset=2),
                Roc(name="roc", window=5),
                Sma(name="vol_mean", window=30, source="volume"),
                Lowest(name="floor", window=15, source="low"),
            ],
            entry=AnyOf(
                conditions=[
                    Compare(op="cross_below", left="close", right="bb.lower"),
                    Compare(op="cross_above", left="roc", right=0.02),
                ]
            ),
            exit=AllOf(
                conditions=[
                    Compare(op="gt", left="close", right="bb.middle"),
                    Compare(op="gt", left="volume", right="vol_mean"),
                    Compare(op="gt", left="low", right="floor"),
                ]
            ),
            direction="both",
            take_profit=0.03,
            integer_units=True,
        ),
    ]


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".feather":
        frame = pd.read_feather(path).set_index("date")
    else:
        frame = pd.read_csv(path, index_col=0, parse_dates=True)
    frame.columns = [str(c).lower() for c in frame.columns]
    frame = frame.drop(columns=["adj close"], errors="ignore")
    index = pd.DatetimeIndex(frame.index)
    frame.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return validate_bars(frame.iloc[:BARS]).bars


@pytest.fixture(scope="module")
def series_bars(shared_data: Path) -> dict[str, pd.DataFrame]:
    return {name: _read(shared_data / s.path) for name, s in SERIES.items()}


@dataclass(frozen=True)
class Case:
    id: str
    series: str
    template: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    direction: str = "long"
    setting: str = "plain"
    spec_index: int = -1

    def spec(self, bars: pd.DataFrame) -> StrategySpec:
        if self.template is None:
            return rules_specs()[self.spec_index]
        base = build_template(self.template, {**dict(self.params), "direction": self.direction})
        extra = settings(self.setting, SERIES[self.series], float(bars["close"].iloc[0]))
        return StrategySpec.parse({**base.model_dump(), **extra})


def _cases() -> list[Case]:
    cases = []
    combo = 0
    for template, params in TEMPLATES:
        for direction in DIRECTIONS:
            for s, series in enumerate(SERIES):
                setting = SETTINGS[(combo + s) % len(SETTINGS)]
                label = "-".join(str(v) for v in params.values())
                cases.append(
                    Case(
                        id=f"{template}({label})-{direction}-{series}-{setting}",
                        series=series,
                        template=template,
                        params=tuple(params.items()),
                        direction=direction,
                        setting=setting,
                    )
                )
            combo += 1
    for i, spec in enumerate(rules_specs()):
        for series in SERIES:
            cases.append(Case(id=f"{spec.name}-{series}", series=series, spec_index=i))
    return cases


CASES = _cases()


def assert_same_backtest(native: BacktestResult, reference: BacktestResult) -> None:
    """Assert two results list the same trades and the same equity curve."""
    a, b = native.trades, reference.trades
    where = f"{native.spec.name} {native.spec.direction.value}"
    if len(a) != len(b):
        n = min(len(a), len(b))
        first = next((i for i in range(n) if a["entry_time"].iloc[i] != b["entry_time"].iloc[i]), n)
        raise AssertionError(
            f"{where}: {len(a)} native trades vs {len(b)} backtrader; first difference at "
            f"trade {first}:\n{a.iloc[first : first + 2]}\n{b.iloc[first : first + 2]}"
        )
    for column in ("entry_time", "exit_time", "exit_reason", "bars_held"):
        pd.testing.assert_series_equal(a[column], b[column], obj=f"{where} {column}")
    for column in ("entry_price", "exit_price", "size"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, err_msg=f"{where} {column}")
    if native.spec.integer_units:
        np.testing.assert_array_equal(a["size"], b["size"], err_msg=f"{where} whole units")
    notional = np.abs(a["size"] * a["entry_price"]).to_numpy()
    np.testing.assert_array_less(
        np.abs(a["pnl"] - b["pnl"]).to_numpy(), 1e-9 * notional + 1e-9, err_msg=f"{where} pnl"
    )
    np.testing.assert_allclose(native.equity, reference.equity, rtol=1e-9, err_msg=where)
    np.testing.assert_allclose(native.positions, reference.positions, rtol=1e-9, err_msg=where)
    assert native.final_equity == pytest.approx(reference.final_equity, rel=1e-6)
    assert native.stats.trades == reference.stats.trades


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_native_matches_backtrader(case: Case, series_bars: dict[str, pd.DataFrame]) -> None:
    bars = series_bars[case.series]
    spec = case.spec(bars)
    per_year = SERIES[case.series].periods_per_year
    native = NativeBacktestEngine().run(spec, bars, per_year)
    reference = BacktraderBacktestEngine().run(spec, bars, per_year)
    assert len(reference.trades) > 0, "a case without trades proves nothing"
    assert_same_backtest(native, reference)


def test_parity_cases_exercise_every_rule(series_bars: dict[str, pd.DataFrame]) -> None:
    """The parity cases reach every exit reason, gaps through stops, reversals and clamps."""
    seen: Counter[str] = Counter()
    for case in CASES:
        bars = series_bars[case.series]
        spec = case.spec(bars)
        result = NativeBacktestEngine().run(spec, bars, SERIES[case.series].periods_per_year)
        trades = result.trades
        seen.update(trades["exit_reason"])
        exit_bar = bars.loc[trades["exit_time"]]
        opens = exit_bar["open"].to_numpy()
        long = (trades["size"] > 0).to_numpy()
        entry = trades["entry_price"].to_numpy()
        reason = trades["exit_reason"].to_numpy()
        if spec.stop_loss:
            level = np.where(long, entry * (1 - spec.stop_loss), entry * (1 + spec.stop_loss))
            gapped = np.where(long, opens <= level, opens >= level)
            seen["stop_loss_gap"] += int((gapped & (reason == "stop_loss")).sum())
        if spec.take_profit:
            level = np.where(long, entry * (1 + spec.take_profit), entry * (1 - spec.take_profit))
            gapped = np.where(long, opens >= level, opens <= level)
            seen["take_profit_gap"] += int((gapped & (reason == "take_profit")).sum())
        if spec.costs.slippage_bps:
            entry_bar = bars.loc[trades["entry_time"]]
            at_edge = np.where(long, entry == entry_bar["high"], entry == entry_bar["low"])
            seen["slippage_clamped"] += int(at_edge.sum())
        reversals = (trades["exit_time"].to_numpy()[:-1] == trades["entry_time"].to_numpy()[1:]) & (
            np.sign(trades["size"].to_numpy()[:-1]) != np.sign(trades["size"].to_numpy()[1:])
        )
        seen["reversal"] += int(reversals.sum())
        seen["short"] += int((~long).sum())
    for what in (
        "signal",
        "stop_loss",
        "take_profit",
        "trailing_stop",
        "open",
        "stop_loss_gap",
        "take_profit_gap",
        "slippage_clamped",
        "reversal",
        "short",
    ):
        assert seen[what] >= 3, f"the parity cases reach {what!r} only {seen[what]} times"


# -- the port contract, for every engine -------------------------------------------------------


def _frame(closes: list[float]) -> pd.DataFrame:
    close = np.asarray(closes, dtype=float)
    return pd.DataFrame(
        {
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1.0,
        },
        index=pd.date_range("2024-01-01", periods=len(close), tz="UTC", name="timestamp"),
    )


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_result_shape(engine: BacktestEngine, series_bars: dict[str, pd.DataFrame]) -> None:
    bars = series_bars["goog_1d"]
    result = engine.run(build_template("sma_crossover", {"fast": 10, "slow": 30}), bars, 252)
    assert result.engine == engine.name
    assert result.equity.index.equals(bars.index)
    assert result.positions.index.equals(bars.index)
    assert str(result.equity.index.tz) == "UTC"
    assert list(result.trades.columns) == list(TRADE_COLUMNS)
    assert result.trades["entry_time"].is_monotonic_increasing
    assert (result.trades["exit_time"] >= result.trades["entry_time"]).all()
    assert result.stats.final_equity == pytest.approx(result.equity.iloc[-1])
    assert result.stats.periods_per_year == 252


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_open_position_is_listed_as_open(engine: BacktestEngine) -> None:
    # Rising closes: the fast SMA crosses above on bar 2 and never back.
    bars = _frame([10.0, 10.0, 11.0, 12.0, 13.0, 14.0])
    spec = build_template("sma_crossover", {"fast": 1, "slow": 2})
    trades = engine.run(spec, bars, 252).trades
    assert list(trades["exit_reason"]) == ["open"]
    trade = trades.iloc[0]
    assert (trade["entry_time"], trade["entry_price"]) == (bars.index[3], 12.0)
    assert (trade["exit_time"], trade["exit_price"]) == (bars.index[-1], 14.0)
    assert trade["bars_held"] == 2
    assert trade["pnl"] == pytest.approx(trade["size"] * 2.0)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_gap_beyond_cash_is_filled(engine: BacktestEngine) -> None:
    bars = _frame([10.0, 10.0, 11.0, 12.0, 13.0, 14.0])
    bars.loc[bars.index[3], ["open", "high"]] = [20.0, 20.5]  # the fill costs twice the cash
    spec = build_template("sma_crossover", {"fast": 1, "slow": 2})
    spec = spec.model_copy(update={"costs": spec.costs.model_copy(update={"commission": 0.01})})
    trade = engine.run(spec, bars, 252).trades.iloc[0]
    assert trade["entry_price"] == 20.0
    assert trade["size"] == pytest.approx(100_000.0 / 11.0)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_too_few_bars_is_invalid_input(engine: BacktestEngine) -> None:
    spec = build_template("donchian_breakout", {"entry": 20, "exit": 10})
    # Highest(20) lagged one bar is first defined on bar 20: 22 bars are the minimum.
    with pytest.raises(InvalidInputError, match=r"'upper'.*at least 22 bars"):
        engine.run(spec, _frame([10.0] * 21), 252)
    engine.run(spec, _frame([10.0] * 22), 252)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_bad_periods_per_year_is_invalid_input(engine: BacktestEngine) -> None:
    with pytest.raises(InvalidInputError, match="periods_per_year"):
        engine.run(build_template("momentum", {"lookback": 2}), _frame([10.0] * 10), 0)
