"""Indicators against backtrader's own indicators on real data, plus the edge cases.

The expected values never come from the code under test:

- backtrader (the ``backtrader`` extra), run in this session: one ``Cerebro`` per data set over
  a ``PandasData`` feed, every indicator and parameter set attached to one strategy. After the
  run (``runonce``, backtrader's default) each indicator line's ``array`` holds one value per
  bar and NaN where backtrader has no value yet, so the warm-up is compared bar for bar.
- numpy / pandas computations written here where backtrader has no such indicator (``zscore``,
  the Donchian middle) and for the standard deviation, whose backtrader formula
  ``sqrt(|mean(x**2) - mean(x)**2|)`` loses digits to cancellation (see
  :func:`test_stddev_against_backtrader_within_its_rounding`).

Data: NVDA daily (4012 bars), EUR/USD hourly (5000) and ETH/BTC 5-minute (5760) from the shared
real-data folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from foanalytics.domain import indicators as ind
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import BAR_COLUMNS, validate_bars
from foanalytics.domain.strategy import (
    PRICE_FIELDS,
    Atr,
    BBands,
    Compare,
    Donchian,
    Ema,
    Highest,
    Lowest,
    Macd,
    Momentum,
    Roc,
    Rsi,
    Sma,
    StdDev,
    StrategySpec,
    Wma,
    ZScore,
)

FloatArray = npt.NDArray[np.float64]
EPS = float(np.finfo(np.float64).eps)
RTOL = 1e-9

# ---------------------------------------------------------------------------------------------
# Real data, as validated foanalytics bars
# ---------------------------------------------------------------------------------------------


def _bars(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.rename(columns=str.lower)[list(BAR_COLUMNS)].astype(np.float64)
    index = pd.DatetimeIndex(frame.index)
    frame.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return validate_bars(frame).bars


LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "nvda_daily": lambda root: _bars(
        pd.read_csv(root / "stocks_daily" / "nvda-1999-2014.txt", index_col=0, parse_dates=True)
    ),
    "eurusd_hourly": lambda root: _bars(
        pd.read_csv(root / "fx" / "EURUSD.csv", index_col=0, parse_dates=True)
    ),
    "ethbtc_5m": lambda root: _bars(
        pd.read_feather(root / "crypto" / "ETH_BTC-5m.feather").set_index("date")
    ),
}

# ---------------------------------------------------------------------------------------------
# What is compared: backtrader's indicator and ours, for each kind and parameter set
# ---------------------------------------------------------------------------------------------

WINDOWS = (1, 2, 14, 50, 200)
BBANDS = ((1, 2.0), (2, 1.0), (20, 2.0), (50, 2.5), (200, 3.0))
MACDS = ((12, 26, 9), (3, 10, 16), (1, 2, 1), (50, 200, 20))

Factory = Callable[[Any, Any, int], Any]  # (backtrader module, data feed, window) -> indicator
Ours = Callable[[pd.DataFrame, int], FloatArray]

# kind -> (backtrader indicator, our function). backtrader's plain RSI raises ZeroDivisionError
# when the average loss is 0 (window 1 on real data, flat prices): RSI_Safe is the same formula
# with 100 (no losses) and 50 (no moves) there, the values ours follows.
SINGLE: dict[str, tuple[Factory, Ours]] = {
    "sma": (lambda bt, d, w: bt.ind.SMA(d.close, period=w), lambda b, w: ind.sma(b.close, w)),
    "ema": (lambda bt, d, w: bt.ind.EMA(d.close, period=w), lambda b, w: ind.ema(b.close, w)),
    "wma": (lambda bt, d, w: bt.ind.WMA(d.close, period=w), lambda b, w: ind.wma(b.close, w)),
    "rsi": (lambda bt, d, w: bt.ind.RSI_Safe(d.close, period=w), lambda b, w: ind.rsi(b.close, w)),
    "roc": (lambda bt, d, w: bt.ind.ROC(d.close, period=w), lambda b, w: ind.roc(b.close, w)),
    # backtrader's PctChange is the brief's formula x / x[-w] - 1 (ours rounds like ROC).
    "roc_pct": (
        lambda bt, d, w: bt.ind.PctChange(d.close, period=w),
        lambda b, w: ind.roc(b.close, w),
    ),
    "momentum": (
        lambda bt, d, w: bt.ind.Momentum(d.close, period=w),
        lambda b, w: ind.momentum(b.close, w),
    ),
    "highest": (
        lambda bt, d, w: bt.ind.Highest(d.high, period=w),
        lambda b, w: ind.highest(b.high, w),
    ),
    "lowest": (
        lambda bt, d, w: bt.ind.Lowest(d.low, period=w),
        lambda b, w: ind.lowest(b.low, w),
    ),
    "atr": (
        lambda bt, d, w: bt.ind.ATR(d, period=w),
        lambda b, w: ind.atr(b.high, b.low, b.close, w),
    ),
}
# Kinds that agree with backtrader bit for bit (same operations in the same order, sums that
# round like math.fsum): engine parity on exact ties, such as a close equal to its SMA on a
# flat stretch, depends on it.
BIT_FOR_BIT = ("sma", "ema", "rsi", "roc", "momentum", "highest", "lowest", "atr")
# backtrader's plain RSI on windows where no average loss is 0 on these data sets.
PLAIN_RSI_WINDOWS = (14, 50, 200)
# Offsets: backtrader's ``indicator(-n)`` (a delayed line) against compute_indicators' lag.
OFFSET_CASES = (("sma", 14, 3), ("rsi", 14, 1), ("atr", 50, 7))


@dataclass(frozen=True)
class Case:
    """One data set with every backtrader reference line, keyed like ``("sma", 14)``."""

    name: str
    bars: pd.DataFrame
    ref: dict[tuple[Any, ...], tuple[FloatArray, ...]]

    @property
    def scale(self) -> float:
        """A typical price: absolute tolerances of price-unit values near 0 scale with it."""
        return float(self.bars["close"].median())


def _array(line: Any) -> FloatArray:
    return np.asarray(line.array, dtype=np.float64)


def _run_backtrader(bars: pd.DataFrame) -> dict[tuple[Any, ...], tuple[FloatArray, ...]]:
    bt = pytest.importorskip("backtrader")

    class Record(bt.Strategy):
        def __init__(self) -> None:
            d = self.data
            self.made: dict[tuple[Any, ...], Any] = {}
            for kind, (factory, _) in SINGLE.items():
                for w in WINDOWS:
                    self.made[kind, w] = factory(bt, d, w)
            for w in WINDOWS:
                self.made["stddev", w] = bt.ind.StdDev(d.close, period=w)
            for w in PLAIN_RSI_WINDOWS:
                self.made["rsi_plain", w] = bt.ind.RSI(d.close, period=w)
            for w, k in BBANDS:
                self.made["bbands", w, k] = bt.ind.BBands(d.close, period=w, devfactor=k)
            for fast, slow, signal in MACDS:
                self.made["macd", fast, slow, signal] = bt.ind.MACDHisto(
                    d.close, period_me1=fast, period_me2=slow, period_signal=signal
                )
            for kind, w, lag in OFFSET_CASES:
                self.made["lag", kind, w, lag] = SINGLE[kind][0](bt, d, w)(-lag)

        # The vectorised pass (runonce) has filled every line before the bar-by-bar strategy
        # loop starts, and that loop only moves pointers: stop it on the first bar.
        def prenext(self) -> None:
            self.env.runstop()

        def next(self) -> None:
            self.env.runstop()

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars.tz_convert(None)))
    cerebro.addstrategy(Record)
    strategy = cerebro.run()[0]
    ref: dict[tuple[Any, ...], tuple[FloatArray, ...]] = {}
    for key, made in strategy.made.items():
        if key[0] == "bbands":
            ref[key] = (_array(made.top), _array(made.mid), _array(made.bot))
        elif key[0] == "macd":
            ref[key] = (_array(made.macd), _array(made.signal), _array(made.histo))
        elif key[0] == "lag":
            ref[key] = (_array(made),)
        else:
            ref[key] = (_array(made.lines[0]),)
    for arrays in ref.values():
        assert all(len(a) == len(bars) for a in arrays)
    return ref


@pytest.fixture(scope="module", params=list(LOADERS))
def case(request: pytest.FixtureRequest, shared_data: Path) -> Case:
    bars = LOADERS[request.param](shared_data)
    return Case(request.param, bars, _run_backtrader(bars))


# ---------------------------------------------------------------------------------------------
# Comparison helpers
# ---------------------------------------------------------------------------------------------


def assert_matches(
    ours: FloatArray, ref: FloatArray, *, atol: float | FloatArray = 0.0, what: str = ""
) -> None:
    """NaN exactly where the reference has none yet; elsewhere ``|a - b| <= RTOL |b| + atol``."""
    assert ours.dtype == np.float64
    assert ours.shape == ref.shape, what
    undefined = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(ours), undefined, err_msg=f"{what}: warm-up differs")
    bound = RTOL * np.abs(ref) + atol
    bad = np.abs(ours - ref) > bound
    bad &= ~undefined
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        allowed = np.broadcast_to(bound, ref.shape)[i]
        raise AssertionError(
            f"{what}: {int(bad.sum())} values differ, first at bar {i}: "
            f"ours {ours[i]!r}, reference {ref[i]!r}, allowed {allowed}"
        )


def first_defined(a: FloatArray) -> int:
    defined = np.flatnonzero(~np.isnan(a))
    return int(defined[0]) if defined.size else len(a)


def window_std(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Reference mean and population std per window: numpy's two-pass, on every window."""
    mean, std = np.full(len(x), np.nan), np.full(len(x), np.nan)
    if window <= len(x):
        windows = sliding_window_view(x, window)
        mean[window - 1 :] = windows.mean(axis=1)
        std[window - 1 :] = windows.std(axis=1)
    return mean, std


def bt_std_slack(x: FloatArray, window: int, ours: FloatArray, theirs: FloatArray) -> FloatArray:
    """How far backtrader's ``StdDev`` may sit from the exact value, per bar.

    backtrader takes ``sqrt(|mean(x**2) - mean(x)**2|)``. Each mean is within about ``2 eps``
    of its value (rounded squares, one fsum rounding, the division; squaring the mean doubles
    its error), so its variance carries up to ``~4 eps * mean(x**2)`` of cancellation error,
    which for two nearly equal FX or crypto closes is most of the variance. On the variance the
    allowed gap is ``RTOL * var + 4 eps * mean(x**2)``; on the std it is that over the sum of
    the two stds.
    """
    mean_sq = pd.Series(x * x).rolling(window).mean().to_numpy()
    var_slack = RTOL * theirs**2 + 4.0 * EPS * mean_sq
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = var_slack / (ours + theirs)
    return np.where(ours + theirs == 0.0, 0.0, slack)


# ---------------------------------------------------------------------------------------------
# Against backtrader, on real data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("kind", list(SINGLE))
def test_single_output_matches_backtrader(case: Case, kind: str, window: int) -> None:
    ours = SINGLE[kind][1](case.bars, window)
    atol = {"rsi": 1e-10, "roc": 1e-14, "roc_pct": 1e-14}.get(kind, 1e-12 * case.scale)
    assert_matches(ours, case.ref[kind, window][0], atol=atol, what=f"{case.name} {kind}({window})")


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("kind", BIT_FOR_BIT)
def test_bit_for_bit_with_backtrader(case: Case, kind: str, window: int) -> None:
    ours = SINGLE[kind][1](case.bars, window)
    np.testing.assert_array_equal(ours, case.ref[kind, window][0])


@pytest.mark.parametrize("window", PLAIN_RSI_WINDOWS)
def test_rsi_equals_backtraders_plain_rsi_where_it_is_defined(case: Case, window: int) -> None:
    np.testing.assert_array_equal(
        ind.rsi(case.bars.close, window), case.ref["rsi_plain", window][0]
    )


@pytest.mark.parametrize("window", WINDOWS)
def test_stddev_against_backtrader_within_its_rounding(case: Case, window: int) -> None:
    x = case.bars["close"].to_numpy()
    ours, theirs = ind.stddev(x, window), case.ref["stddev", window][0]
    slack = bt_std_slack(x, window, ours, theirs)
    assert_matches(ours, theirs, atol=slack, what=f"{case.name} stddev({window}) vs backtrader")


@pytest.mark.parametrize("window", WINDOWS)
def test_stddev_matches_exact_two_pass_reference(case: Case, window: int) -> None:
    x = case.bars["close"].to_numpy()
    ours = ind.stddev(x, window)
    _, exact = window_std(x, window)
    assert_matches(ours, exact, what=f"{case.name} stddev({window}) vs two-pass")
    # A window of equal closes (common at 5 minutes) is exactly 0, never a rounding residue.
    np.testing.assert_array_equal(ours == 0.0, exact == 0.0)


@pytest.mark.parametrize(("window", "k"), BBANDS)
def test_bbands_match_backtrader(case: Case, window: int, k: float) -> None:
    x = case.bars["close"].to_numpy()
    upper, middle, lower = ind.bbands(x, window, k)
    top, mid, bot = case.ref["bbands", window, k]
    what = f"{case.name} bbands({window}, {k})"
    np.testing.assert_array_equal(middle, mid, err_msg=f"{what} middle")
    # The bands inherit backtrader's StdDev rounding (above), scaled by k.
    slack = k * bt_std_slack(x, window, (upper - middle) / k, (top - mid) / k)
    assert_matches(upper, top, atol=slack, what=f"{what} upper")
    assert_matches(lower, bot, atol=slack, what=f"{what} lower")
    # And against the exact two-pass std.
    mean, std = window_std(x, window)
    assert_matches(upper, mean + k * std, what=f"{what} upper vs two-pass")
    assert_matches(lower, mean - k * std, what=f"{what} lower vs two-pass")


@pytest.mark.parametrize(("fast", "slow", "signal"), MACDS)
def test_macd_matches_backtrader_bit_for_bit(case: Case, fast: int, slow: int, signal: int) -> None:
    ours = ind.macd(case.bars["close"], fast, slow, signal)
    refs = case.ref["macd", fast, slow, signal]
    for name, a, b in zip(("macd", "signal", "hist"), ours, refs, strict=True):
        what = f"{case.name} macd({fast}, {slow}, {signal}).{name}"
        assert_matches(a, b, atol=1e-12 * case.scale, what=what)
        np.testing.assert_array_equal(a, b, err_msg=what)
    assert first_defined(ours[0]) == slow - 1
    assert first_defined(ours[1]) == first_defined(ours[2]) == slow + signal - 2


@pytest.mark.parametrize("window", WINDOWS)
def test_donchian_matches_backtrader_and_pandas(case: Case, window: int) -> None:
    bars = case.bars
    upper, middle, lower = ind.donchian(bars["high"], bars["low"], window)
    np.testing.assert_array_equal(upper, case.ref["highest", window][0])
    np.testing.assert_array_equal(lower, case.ref["lowest", window][0])
    hi = bars["high"].rolling(window).max().to_numpy()
    lo = bars["low"].rolling(window).min().to_numpy()
    assert_matches(middle, (hi + lo) / 2, what=f"{case.name} donchian({window}).middle")


@pytest.mark.parametrize("window", WINDOWS)
def test_zscore_matches_two_pass_reference(case: Case, window: int) -> None:
    x = case.bars["close"].to_numpy()
    mean, std = window_std(x, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(std == 0.0, np.nan, (x - mean) / std)
    # (x - mean) cancels: a rounding of the mean (~eps |x|) is amplified by 1 / std.
    with np.errstate(divide="ignore", invalid="ignore"):
        conditioning = 4.0 * EPS * (np.abs(x) + np.abs(mean)) / std
    assert_matches(
        ind.zscore(x, window), expected, atol=conditioning, what=f"{case.name} zscore({window})"
    )


def test_arrays_are_what_a_strategy_sees_bar_by_bar(shared_data: Path) -> None:
    # The references above are backtrader's line arrays after the run; check on a slice that a
    # strategy reading ``indicator[0]`` in prenext/next (the warm-up) sees exactly ours.
    bt = pytest.importorskip("backtrader")
    bars = LOADERS["nvda_daily"](shared_data).iloc[:400]

    class Record(bt.Strategy):
        def __init__(self) -> None:
            c = self.data.close
            self.made = {
                "sma": bt.ind.SMA(c, period=14),
                "rsi": bt.ind.RSI_Safe(c, period=14),
                "atr": bt.ind.ATR(self.data, period=20),
                "macd.signal": bt.ind.MACD(c).signal,
                "bbands.middle": bt.ind.BBands(c, period=30).mid,
            }
            self.seen: dict[str, list[float]] = {k: [] for k in self.made}

        def prenext(self) -> None:
            for key, line in self.made.items():
                self.seen[key].append(line[0])

        next = prenext

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars.tz_convert(None)))
    cerebro.addstrategy(Record)
    seen = cerebro.run()[0].seen
    x = bars["close"].to_numpy()
    ours = {
        "sma": ind.sma(x, 14),
        "rsi": ind.rsi(x, 14),
        "atr": ind.atr(bars["high"], bars["low"], x, 20),
        "macd.signal": ind.macd(x)[1],
        "bbands.middle": ind.bbands(x, 30)[1],
    }
    for key, values in ours.items():
        np.testing.assert_array_equal(values, seen[key], err_msg=key)


@pytest.mark.parametrize(("kind", "window", "lag"), OFFSET_CASES)
def test_offset_is_backtraders_delayed_line(case: Case, kind: str, window: int, lag: int) -> None:
    model = {"sma": Sma, "rsi": Rsi, "atr": Atr}[kind]
    spec = StrategySpec(
        name="lag",
        indicators=[model(name="x", window=window, offset=lag)],
        entry=Compare(op="gt", left="x", right=0.0),
    )
    ours = ind.compute_indicators(spec, case.bars)["x"]
    np.testing.assert_array_equal(ours, case.ref["lag", kind, window, lag][0])


# ---------------------------------------------------------------------------------------------
# compute_indicators over a whole spec
# ---------------------------------------------------------------------------------------------

FULL_SPEC = StrategySpec(
    name="every kind",
    indicators=[
        Sma(name="sma_open", window=10, source="open", offset=2),
        Ema(name="ema", window=20),
        Wma(name="wma", window=15, source="high", offset=1),
        Rsi(name="rsi", window=14, offset=3),
        Roc(name="roc", window=12),
        Momentum(name="mom", window=5, source="volume", offset=4),
        StdDev(name="sd", window=30, source="low"),
        ZScore(name="z", window=40, offset=1),
        Highest(name="hh", window=55, source="high"),
        Lowest(name="ll", window=55, source="low", offset=2),
        Atr(name="atr", window=21, offset=5),
        BBands(name="bb", window=20, k=2.5, offset=1),
        Macd(name="macd", fast=8, slow=21, signal=5, offset=2),
        Donchian(name="dc", window=20, offset=1),
    ],
    entry=Compare(op="cross_above", left="ema", right="bb.upper"),
    exit=Compare(op="lt", left="z", right=-1.0),
)


def test_compute_indicators_full_spec_equals_the_single_functions(shared_data: Path) -> None:
    bars = LOADERS["nvda_daily"](shared_data)
    out = ind.compute_indicators(FULL_SPEC, bars)
    col = {c: bars[c].to_numpy() for c in PRICE_FIELDS}
    single: dict[str, tuple[FloatArray, int]] = {
        "sma_open": (ind.sma(col["open"], 10), 2),
        "ema": (ind.ema(col["close"], 20), 0),
        "wma": (ind.wma(col["high"], 15), 1),
        "rsi": (ind.rsi(col["close"], 14), 3),
        "roc": (ind.roc(col["close"], 12), 0),
        "mom": (ind.momentum(col["volume"], 5), 4),
        "sd": (ind.stddev(col["low"], 30), 0),
        "z": (ind.zscore(col["close"], 40), 1),
        "hh": (ind.highest(col["high"], 55), 0),
        "ll": (ind.lowest(col["low"], 55), 2),
        "atr": (ind.atr(col["high"], col["low"], col["close"], 21), 5),
    }
    multi = {
        "bb": (ind.bbands(col["close"], 20, 2.5), ("upper", "middle", "lower"), 1),
        "macd": (ind.macd(col["close"], 8, 21, 5), ("macd", "signal", "hist"), 2),
        "dc": (ind.donchian(col["high"], col["low"], 20), ("upper", "middle", "lower"), 1),
    }
    expected: dict[str, FloatArray] = {c: col[c] for c in PRICE_FIELDS}
    for name, (values, lag) in single.items():
        expected[name] = ind.shift(values, lag)
    for name, (arrays, outputs, lag) in multi.items():
        for output, values in zip(outputs, arrays, strict=True):
            expected[f"{name}.{output}"] = ind.shift(values, lag)
    assert set(out) == set(expected)
    for key, values in expected.items():
        assert out[key].dtype == np.float64, key
        assert out[key].shape == (len(bars),), key
        np.testing.assert_array_equal(out[key], values, err_msg=key)
    # Every indicator is defined from its lookback on, as the spec declares.
    for indicator in FULL_SPEC.indicators:
        keys = (
            [indicator.name]
            if not indicator.outputs
            else [f"{indicator.name}.{o}" for o in indicator.outputs]
        )
        assert max(first_defined(out[k]) for k in keys) == indicator.lookback(), indicator.name
    assert first_defined(out["macd.macd"]) == 21 - 1 + 2
    # The price fields are copies: changing them leaves the bars alone.
    out["close"][:] = 0.0
    assert (bars["close"] > 0).all()


def test_compute_indicators_without_indicators_gives_the_price_fields() -> None:
    bars = pd.DataFrame({c: [1.0, 2.0] for c in PRICE_FIELDS})
    spec = StrategySpec(name="plain", entry=Compare(op="gt", left="close", right="open"))
    out = ind.compute_indicators(spec, bars)
    assert list(out) == list(PRICE_FIELDS)
    np.testing.assert_array_equal(out["volume"], [1.0, 2.0])


def test_compute_indicators_names_missing_columns() -> None:
    bars = pd.DataFrame({"open": [1.0], "close": [1.0]})
    spec = StrategySpec(name="plain", entry=Compare(op="gt", left="close", right="open"))
    with pytest.raises(InvalidInputError, match="high, low, volume"):
        ind.compute_indicators(spec, bars)


# ---------------------------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------------------------

X = np.array([10.0, 11.0, 10.5, 12.0, 11.5, 13.0, 12.5])

ALL: dict[str, Callable[[FloatArray, int], FloatArray]] = {
    "sma": ind.sma,
    "ema": ind.ema,
    "wma": ind.wma,
    "rsi": ind.rsi,
    "roc": ind.roc,
    "momentum": ind.momentum,
    "stddev": ind.stddev,
    "zscore": ind.zscore,
    "highest": ind.highest,
    "lowest": ind.lowest,
    "atr": lambda x, w: ind.atr(x + 1.0, x - 1.0, x, w),
    "bbands.upper": lambda x, w: ind.bbands(x, w)[0],
    "bbands.lower": lambda x, w: ind.bbands(x, w)[2],
    "macd.macd": lambda x, w: ind.macd(x, w, w + 1, 2)[0],
    "macd.signal": lambda x, w: ind.macd(x, w, w + 1, 2)[1],
    "donchian.middle": lambda x, w: ind.donchian(x + 1.0, x - 1.0, w)[1],
}
# Index of the first defined value for a window w (macd: fast w, slow w + 1, signal 2).
FIRST = {
    "rsi": lambda w: w,
    "roc": lambda w: w,
    "momentum": lambda w: w,
    "atr": lambda w: w,
    "macd.macd": lambda w: w,
    "macd.signal": lambda w: w + 1,
}


@pytest.mark.parametrize("name", list(ALL))
def test_window_longer_than_the_data_is_all_nan(name: str) -> None:
    out = ALL[name](X, len(X) + 1)
    assert out.shape == X.shape
    assert np.isnan(out).all()
    assert ALL[name](X, 500).shape == X.shape


@pytest.mark.parametrize("name", list(ALL))
def test_empty_input_gives_empty_output(name: str) -> None:
    out = ALL[name](np.array([]), 3)
    assert out.dtype == np.float64
    assert out.shape == (0,)


@pytest.mark.parametrize("name", list(ALL))
def test_warm_up_length(name: str) -> None:
    for w in (1, 2, 3):
        first = FIRST.get(name, lambda w: w - 1)(w)
        out = ALL[name](X, w)
        assert np.isnan(out[:first]).all(), (name, w)
        if name != "zscore" or w > 1:
            assert not np.isnan(out[first:]).any(), (name, w)


def test_window_one() -> None:
    np.testing.assert_array_equal(ind.sma(X, 1), X)
    np.testing.assert_array_equal(ind.ema(X, 1), X)
    np.testing.assert_array_equal(ind.wma(X, 1), X)
    np.testing.assert_array_equal(ind.highest(X, 1), X)
    np.testing.assert_array_equal(ind.lowest(X, 1), X)
    np.testing.assert_array_equal(ind.stddev(X, 1), np.zeros(len(X)))
    # One value has no dispersion, so no z-score.
    assert np.isnan(ind.zscore(X, 1)).all()
    # RSI over one move: 100 on a rise, 0 on a fall.
    np.testing.assert_array_equal(ind.rsi(X, 1), [np.nan, 100, 0, 100, 0, 100, 0])


def test_constant_prices() -> None:
    flat = np.full(30, 0.1)  # 0.1 is not exact in binary: sums of it round
    np.testing.assert_array_equal(ind.stddev(flat, 7)[6:], 0.0)
    assert np.isnan(ind.zscore(flat, 7)).all()
    upper, middle, lower = ind.bbands(flat, 7)
    np.testing.assert_array_equal(upper[6:], middle[6:])
    np.testing.assert_array_equal(lower[6:], middle[6:])
    # No moves at all: RSI 50 (backtrader RSI_Safe), and no range: ATR 0.
    np.testing.assert_array_equal(ind.rsi(flat, 14)[14:], 50.0)
    np.testing.assert_array_equal(ind.atr(flat, flat, flat, 14)[14:], 0.0)
    np.testing.assert_array_equal(ind.momentum(flat, 3)[3:], 0.0)
    np.testing.assert_array_equal(ind.roc(flat, 3)[3:], 0.0)
    line, _, hist = ind.macd(flat, 3, 6, 4)
    np.testing.assert_allclose(line[5:], 0.0, atol=1e-16)
    np.testing.assert_allclose(hist[8:], 0.0, atol=1e-16)


def test_rsi_without_losses_is_100() -> None:
    rising = np.linspace(1.0, 2.0, 40)
    np.testing.assert_array_equal(ind.rsi(rising, 14)[14:], 100.0)
    falling = rising[::-1].copy()
    np.testing.assert_array_equal(ind.rsi(falling, 14)[14:], 0.0)


@pytest.mark.parametrize(
    ("prices", "expected"),
    [(np.full(20, 1.0), 50.0), (np.linspace(1.0, 2.0, 20), 100.0)],
    ids=["flat", "rising"],
)
def test_rsi_zero_average_loss_follows_backtrader_rsi_safe(
    prices: FloatArray, expected: float
) -> None:
    bt = pytest.importorskip("backtrader")
    index = pd.date_range("2024-01-01", periods=len(prices), freq="D")
    frame = pd.DataFrame({c: prices for c in BAR_COLUMNS}, index=index)

    class Record(bt.Strategy):
        def __init__(self) -> None:
            self.safe = bt.ind.RSI_Safe(self.data.close, period=5)

    def run(strategy: Any) -> Any:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame))
        cerebro.addstrategy(strategy)
        return cerebro.run()[0]

    safe = _array(run(Record).safe.lines[0])
    ours = ind.rsi(prices, 5)
    np.testing.assert_array_equal(ours, safe)
    np.testing.assert_array_equal(ours[5:], expected)

    class Plain(bt.Strategy):
        def __init__(self) -> None:
            self.rsi = bt.ind.RSI(self.data.close, period=5)

    # Why ours follows RSI_Safe: backtrader's default RSI divides by the 0 average loss.
    with pytest.raises(ZeroDivisionError):
        run(Plain)


def test_shift() -> None:
    np.testing.assert_array_equal(ind.shift(X, 0), X)
    np.testing.assert_array_equal(ind.shift(X, 2), np.r_[np.nan, np.nan, X[:-2]])
    assert np.isnan(ind.shift(X, len(X))).all()
    assert np.isnan(ind.shift(X, len(X) + 5)).all()
    assert ind.shift(np.array([]), 1).shape == (0,)


def test_outputs_are_new_arrays_and_inputs_untouched() -> None:
    x = X.copy()
    for name, function in ALL.items():
        out = function(x, 1)
        assert not np.shares_memory(out, x), name
        out[:] = -1.0
    np.testing.assert_array_equal(x, X)
    assert not np.shares_memory(ind.shift(x, 0), x)


def test_accepts_lists_and_read_only_arrays() -> None:
    frozen = X.copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(ind.ema(frozen, 3), ind.ema(list(X), 3))
    np.testing.assert_array_equal(ind.stddev(frozen, 3), ind.stddev(X.tolist(), 3))
    np.testing.assert_array_equal(ind.sma(X[::2], 2), ind.sma(X[::2].copy(), 2))


def test_nan_inputs_propagate_as_documented() -> None:
    x = X.copy()
    x[3] = np.nan
    # A rolling window holding the NaN is NaN, and only those windows.
    np.testing.assert_array_equal(np.isnan(ind.sma(x, 2)), [1, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(np.isnan(ind.highest(x, 2)), [1, 0, 0, 1, 1, 0, 0])
    # A recursive indicator stays NaN from the NaN on.
    np.testing.assert_array_equal(np.isnan(ind.ema(x, 2)), [1, 0, 0, 1, 1, 1, 1])


@pytest.mark.parametrize("window", [0, -3, 2.5, True, "14", None])
def test_bad_windows_are_rejected(window: Any) -> None:
    with pytest.raises(InvalidInputError, match="window must be an integer >= 1"):
        ind.sma(X, window)
    with pytest.raises(InvalidInputError, match="window"):
        ind.atr(X, X, X, window)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="lag"):
        ind.shift(X, -1)
    with pytest.raises(InvalidInputError, match="1-D"):
        ind.sma(np.ones((3, 2)), 2)
    with pytest.raises(InvalidInputError, match="same length"):
        ind.atr(X, X[:-1], X, 2)
    with pytest.raises(InvalidInputError, match="same length"):
        ind.donchian(X, X[:-1], 2)
    with pytest.raises(InvalidInputError, match="k must be"):
        ind.bbands(X, 3, 0.0)
    with pytest.raises(InvalidInputError, match="slow must be"):
        ind.macd(X, 2, 0, 3)


def test_long_series_keeps_full_precision() -> None:
    # 200k bars of a random walk around 1e4 with a quiet stretch after a volatile one: the
    # rolling sums must not drift, and the quiet windows keep their digits.
    rng = np.random.default_rng(7)
    steps = np.r_[rng.normal(0, 50.0, 100_000), rng.normal(0, 1e-4, 100_000)]
    x = 1e4 + np.cumsum(steps)
    for w in (3, 50):
        mean, std = window_std(x, w)
        assert_matches(ind.sma(x, w), mean, what=f"sma({w})")
        assert_matches(ind.stddev(x, w), std, atol=1e-6 * EPS * 1e4, what=f"stddev({w})")


# ---------------------------------------------------------------------------------------------
# Properties on random series
# ---------------------------------------------------------------------------------------------

prices = st.lists(
    st.floats(min_value=0.5, max_value=2.0, allow_nan=False), min_size=0, max_size=60
).map(lambda v: np.round(np.array(v, dtype=np.float64), 3))  # rounded: ties and flat runs


@settings(max_examples=80, deadline=None)
@given(x=prices, window=st.integers(min_value=1, max_value=65))
def test_properties_against_pandas(x: FloatArray, window: int) -> None:
    series = pd.Series(x, dtype=np.float64)
    rolling = series.rolling(window)
    assert_matches(ind.sma(x, window), rolling.mean().to_numpy(), atol=1e-15, what="sma")
    np.testing.assert_array_equal(ind.highest(x, window), rolling.max().to_numpy())
    np.testing.assert_array_equal(ind.lowest(x, window), rolling.min().to_numpy())
    _, std = window_std(x, window)
    assert_matches(ind.stddev(x, window), std, atol=1e-15, what="stddev")
    np.testing.assert_array_equal(ind.momentum(x, window), series.diff(window).to_numpy())
    assert_matches(ind.roc(x, window), series.pct_change(window).to_numpy(), atol=1e-15)
    np.testing.assert_array_equal(ind.shift(x, window), series.shift(window).to_numpy())
    for name, function in ALL.items():
        out = function(x, window)
        assert out.shape == x.shape, name
        if name != "zscore":
            first = FIRST.get(name, lambda w: w - 1)(window)
            assert first_defined(out) == min(first, len(x)), name
