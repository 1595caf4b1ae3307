"""The native backtest engine: numpy signals and one numba kernel for the path-dependent loop.

:class:`NativeBacktestEngine` evaluates a spec's indicators
(:func:`~foanalytics.domain.indicators.compute_indicators`) and rules
(:func:`~foanalytics.domain.signals.rule_signals`) over whole arrays, then runs
:func:`~foanalytics.adapters.engines.native_nb.simulate_nb` once over the bars. It also runs
signals computed elsewhere (:meth:`~NativeBacktestEngine.run_signals`) or by a Python function
(:meth:`~NativeBacktestEngine.run_custom`).

Execution rules (the ``BacktestEngine`` contract, pinned to backtrader's default broker; the
parity suite ``tests/contract/test_engines.py`` holds the two engines to them trade for trade):

1. **Orders.** Signals are read on the close of bar t and become market orders filled at the
   open of bar t+1. A signal on the last bar is not traded. Orders are never refused for lack
   of cash: cash may go negative when a gap makes a fill cost more than the account holds.
2. **Position.** ``long``: an entry opens a long when flat, an exit closes it. ``short``: the
   same with a short. ``both``: when long, an exit reverses to short; when short, an entry
   reverses to long; when flat, an entry goes long, else an exit goes short. An entry while
   already in the position is ignored (no pyramiding). A reversal is one order for the old
   size plus the new one, filled at one price.
3. **Sizing**, at the signal bar t from the equity and the close of bar t: ``fraction`` trades
   ``fraction * equity / close`` units, ``units`` a fixed number, ``target_volatility``
   ``min(target / vol, max_leverage) * equity / close``, where ``vol`` is the population
   standard deviation of the last ``window`` close-to-close returns times
   ``sqrt(periods_per_year)`` (``max_leverage`` when it is 0). ``integer_units`` floors the
   size. A size that is not positive (zero whole units, a negative equity, no volatility yet)
   means no new position: a flat entry is skipped, a reversal only closes.
4. **Fills and costs.** With ``s = slippage_bps / 10,000``, a market buy fills at
   ``min(open * (1 + s), high)`` and a sell at ``max(open * (1 - s), low)``. Each fill pays
   ``commission * |units| * price``; a reversal pays it on the closing and the opening units.
5. **Stops** are set when the entry fills, as fractions of the fill price, and work from the
   bar *after* the entry bar (backtrader can place them only once it reports the fill, after
   the entry bar has closed). For a long (a short mirrors it):

   - stop loss: a sell stop at ``fill * (1 - stop_loss)``. If the bar opens at or below it, it
     fills at ``max(open * (1 - s), low)`` (a gap fills at the open); else if the low reaches
     it, at ``max(stop * (1 - s), low)``.
   - trailing stop: a sell stop like the stop loss, starting at ``ref - ref * trailing_stop``
     where ``ref`` is the higher of the fill price and the entry bar's close. After each bar
     on which it did not trigger it is raised to ``close - close * trailing_stop`` when that is
     higher (backtrader's ``StopTrail`` follows closes, not highs).
   - take profit: a sell limit at ``fill * (1 + take_profit)``. If the bar opens at or above
     it, it fills at ``max(open * (1 - s), low, limit)``; else if the high reaches it, at the
     limit itself (a limit fill has no slippage). (Backtrader's own ``BackBroker`` leaves out
     the ``low`` on that gap fill; the backtrader adapter corrects it, see its docstring.)
   - One bar can trigger several: they are checked in the order stop loss, trailing stop, take
     profit, and the first that triggers fills and cancels the others. So when the stop loss
     and the take profit are both inside a bar's range the stop loss wins (the cautious
     reading), even when the bar opened beyond the take profit.
   - A signal exit or a reversal at the close of bar t cancels the working stops at once: they
     are not checked on bar t+1, where the market order fills.
6. **Accounting.** Equity at each close is cash plus the position marked at the close. A trade
   runs from its entry fill to its exit fill (times are the fill bars' timestamps, ``bars_held``
   the difference of their indices), pnl is ``size * (exit - entry)`` less both commissions.
   A position still open after the last bar is listed with ``exit_reason == "open"``, its
   exit price the last close, its pnl unrealised and net of the entry commission only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from foanalytics.adapters.engines import native_nb as nb
from foanalytics.domain.backtest import BacktestResult, make_result, trades_frame
from foanalytics.domain.errors import BacktestError, InvalidInputError
from foanalytics.domain.indicators import compute_indicators
from foanalytics.domain.market import index_ns
from foanalytics.domain.signals import rule_signals
from foanalytics.domain.strategy import (
    Compare,
    Direction,
    FixedUnits,
    FractionOfEquity,
    StrategySpec,
    TargetVolatility,
    check_lookback,
)

BoolArray = npt.NDArray[np.bool_]
#: A custom strategy: bars in, ``(entries, exits)`` out (boolean, one per bar).
SignalFunction = Callable[[pd.DataFrame], tuple[Any, Any]]
#: A spec, or spec fields (``direction``, ``sizing``, ``stop_loss``, ``costs``, ...) for one.
SpecLike = StrategySpec | Mapping[str, Any] | None

_DIRECTIONS = {Direction.LONG: nb.LONG, Direction.SHORT: nb.SHORT, Direction.BOTH: nb.BOTH}
_PRICES = ("open", "high", "low", "close")


class NativeBacktestEngine:
    """Backtest specs with numpy and numba (the default engine).

    Examples
    --------
    >>> from foanalytics.domain.templates import sma_crossover
    >>> close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 500)))
    >>> bars = pd.DataFrame(
    ...     {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
    ...     index=pd.date_range("2024-01-01", periods=500, tz="UTC", name="timestamp"))
    >>> result = NativeBacktestEngine().run(sma_crossover(10, 50), bars, 252)
    >>> result.engine, len(result.equity) == len(bars), len(result.trades) > 0
    ('native', True, True)
    """

    name = "native"

    def run(
        self, spec: StrategySpec, bars: pd.DataFrame, periods_per_year: float
    ) -> BacktestResult:
        """Backtest ``spec`` over ``bars`` (the :class:`BacktestEngine` contract)."""
        _check_bars(bars)
        check_lookback(spec, len(bars))
        values = compute_indicators(spec, bars)
        entries, exits = rule_signals(spec, values)
        return self._simulate(spec, bars, entries, exits, periods_per_year)

    def run_signals(
        self,
        entries: Any,
        exits: Any,
        bars: pd.DataFrame,
        spec: SpecLike = None,
        periods_per_year: float = 252.0,
    ) -> BacktestResult:
        """Backtest entry and exit signals computed elsewhere.

        Parameters
        ----------
        entries, exits
            Booleans, one per bar (arrays, lists or Series on the bars' index): the signals
            on each bar's close, read as the spec's entry and exit rules would be.
        bars
            The bars (the contract of :mod:`foanalytics.domain.market`).
        spec
            The settings: a :class:`StrategySpec` (its indicators and rules are not used), a
            mapping of spec fields (``direction``, ``sizing``, ``stop_loss``, ``costs``,
            ``initial_cash``, ``name``...), or ``None`` for the defaults.
        periods_per_year
            Annualises the statistics (and the target-volatility sizing).

        Examples
        --------
        >>> close = pd.Series(100 * np.exp(np.cumsum(
        ...     np.random.default_rng(7).normal(0, 0.01, 300))),
        ...     index=pd.date_range("2024-01-01", periods=300, tz="UTC", name="timestamp"))
        >>> bars = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
        ...                      "close": close, "volume": 1.0})
        >>> up = (close > close.rolling(20).mean()).to_numpy()
        >>> result = NativeBacktestEngine().run_signals(
        ...     up, ~up, bars, {"name": "above the 20-bar mean", "stop_loss": 0.015})
        >>> result.spec.name, result.stats.trades > 0
        ('above the 20-bar mean', True)
        >>> sorted(set(result.trades["exit_reason"]) - {"open"})
        ['signal', 'stop_loss']
        """
        _check_bars(bars)
        settings = custom_spec(spec)
        n = len(bars)
        minimum = max(2, _sizing_lookback(settings) + 2)
        if n < minimum:
            raise InvalidInputError(
                f"{n} bars are too few for {settings.name!r}: it needs at least {minimum}"
            )
        return self._simulate(
            settings,
            bars,
            _as_signal(entries, "entries", bars),
            _as_signal(exits, "exits", bars),
            periods_per_year,
        )

    def run_custom(
        self,
        func: SignalFunction,
        bars: pd.DataFrame,
        spec: SpecLike = None,
        periods_per_year: float = 252.0,
    ) -> BacktestResult:
        """Backtest a Python signal function ``func(bars) -> (entries, exits)``.

        ``func`` receives a copy of the bars and returns two boolean sequences, one value per
        bar; the rest is :meth:`run_signals`. When ``spec`` gives no name, the function's name
        is used. An exception inside ``func`` is raised as :class:`BacktestError`.

        Examples
        --------
        >>> close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 400)))
        >>> bars = pd.DataFrame(
        ...     {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
        ...     index=pd.date_range("2024-01-01", periods=400, tz="UTC", name="timestamp"))
        >>> def breakout(bars):
        ...     high = bars["close"].rolling(20).max().shift(1)
        ...     low = bars["close"].rolling(10).min().shift(1)
        ...     return bars["close"] > high, bars["close"] < low
        >>> result = NativeBacktestEngine().run_custom(breakout, bars, {"direction": "both"})
        >>> result.spec.name
        'breakout'
        """
        if not callable(func):
            raise InvalidInputError(f"func must be callable, got {type(func).__name__}")
        _check_bars(bars)
        settings: dict[str, Any]
        if isinstance(spec, StrategySpec):
            settings = spec.model_dump()
        else:
            settings = dict(spec or {})
            settings.setdefault("name", getattr(func, "__name__", "custom") or "custom")
        try:
            out = func(bars.copy())
        except Exception as exc:
            raise BacktestError(f"signal function {settings['name']!r} failed: {exc!r}") from exc
        if not isinstance(out, tuple | list) or len(out) != 2:
            raise InvalidInputError(
                f"signal function {settings['name']!r} must return (entries, exits), "
                f"got {type(out).__name__}"
            )
        return self.run_signals(out[0], out[1], bars, settings, periods_per_year)

    def _simulate(
        self,
        spec: StrategySpec,
        bars: pd.DataFrame,
        entries: BoolArray,
        exits: BoolArray,
        periods_per_year: float,
    ) -> BacktestResult:
        ppy = _check_periods(periods_per_year)
        open_, high, low, close = (np.ascontiguousarray(bars[c], dtype=np.float64) for c in _PRICES)
        sizing = spec.sizing
        if isinstance(sizing, FractionOfEquity):
            method, amount, window, cap = nb.FRACTION, sizing.fraction, 0, 0.0
        elif isinstance(sizing, FixedUnits):
            method, amount, window, cap = nb.UNITS, sizing.units, 0, 0.0
        else:
            method, amount = nb.TARGET_VOLATILITY, sizing.target
            window, cap = sizing.window, sizing.max_leverage
        equity, positions, entry_i, exit_i, entry_px, exit_px, size, pnl, reason = nb.simulate_nb(
            open_,
            high,
            low,
            close,
            np.ascontiguousarray(entries, dtype=np.bool_),
            np.ascontiguousarray(exits, dtype=np.bool_),
            _DIRECTIONS[spec.direction],
            method,
            float(amount),
            int(window),
            float(cap),
            ppy,
            bool(spec.integer_units),
            float(spec.stop_loss or 0.0),
            float(spec.take_profit or 0.0),
            float(spec.trailing_stop or 0.0),
            float(spec.costs.commission),
            float(spec.costs.slippage_bps) / 10_000.0,
            float(spec.initial_cash),
        )
        index = pd.DatetimeIndex(bars.index)
        ns = index_ns(index)
        trades = trades_frame(
            entry_time=ns[entry_i],
            exit_time=ns[exit_i],
            entry_price=entry_px,
            exit_price=exit_px,
            size=size,
            pnl=pnl,
            bars_held=exit_i - entry_i,
            exit_reason=[nb.EXIT_REASONS[r] for r in reason],
        )
        return make_result(spec, self.name, index, equity, positions, trades, ppy)


def custom_spec(spec: SpecLike = None) -> StrategySpec:
    """Return the spec that carries the settings of a custom-signal backtest.

    A :class:`StrategySpec` is returned as is. A mapping of spec fields is completed with a
    placeholder rule (``close > close``, never true: the signals come from elsewhere) and the
    name ``custom`` unless it names one.

    Examples
    --------
    >>> custom_spec({"direction": "both", "stop_loss": 0.02}).direction.value
    'both'
    """
    if isinstance(spec, StrategySpec):
        return spec
    fields = dict(spec or {})
    fields.setdefault("name", "custom")
    fields.setdefault("description", "signals from a Python function; the rules are unused")
    fields.setdefault("entry", Compare(op="gt", left="close", right="close").model_dump())
    return StrategySpec.parse(fields)


def _sizing_lookback(spec: StrategySpec) -> int:
    return spec.sizing.window if isinstance(spec.sizing, TargetVolatility) else 0


def _check_bars(bars: pd.DataFrame) -> None:
    if not isinstance(bars, pd.DataFrame):
        raise InvalidInputError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise InvalidInputError(
            f"bars need a DatetimeIndex (UTC bar open times), got {type(bars.index).__name__}"
        )
    missing = [c for c in _PRICES if c not in bars.columns]
    if missing:
        raise InvalidInputError(
            f"bars lack the column(s) {', '.join(missing)}; expected open, high, low, close, volume"
        )


def _check_periods(periods_per_year: float) -> float:
    try:
        value = float(periods_per_year)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"periods_per_year must be a number, got {periods_per_year!r}"
        ) from None
    if not np.isfinite(value) or value <= 0:
        raise InvalidInputError(f"periods_per_year must be > 0, got {periods_per_year!r}")
    return value


def _as_signal(values: Any, name: str, bars: pd.DataFrame) -> BoolArray:
    if isinstance(values, pd.Series):
        if not values.index.equals(bars.index):
            raise InvalidInputError(f"{name}: a Series must have the bars' index")
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != len(bars):
        raise InvalidInputError(
            f"{name} must hold one value per bar ({len(bars)}), got shape {array.shape}"
        )
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iuf":
        finite = np.isfinite(array) if array.dtype.kind == "f" else np.ones(len(array), bool)
        if finite.all() and np.isin(array, (0, 1)).all():
            return array.astype(np.bool_)
    if array.dtype == object and all(isinstance(v, bool | np.bool_) for v in array):
        return array.astype(np.bool_)
    raise InvalidInputError(
        f"{name} must be booleans (or 0/1), got dtype {array.dtype}; NaN is not a signal"
    )
