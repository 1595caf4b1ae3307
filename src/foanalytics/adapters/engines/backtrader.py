"""The backtrader engine: a spec run through backtrader's ``Cerebro`` and its default broker.

The spec's indicators are backtrader's own (``SMA``, ``EMA``, ``WMA``, ``RSI``, ``ROC``,
``Momentum``, ``Highest``, ``Lowest``, ``ATR``, ``MACDHisto``), offsets are backtrader line
delays, and the rules are read bar by bar in the strategy's ``next``. Orders go through
``BackBroker`` with market orders at the next open, ``Stop``/``StopTrail``/``Limit`` orders for
the stops, ``set_slippage_perc`` and a percentage ``CommInfoBase``. The trades' pnl is
backtrader's own (``Trade.pnlcomm``) and the equity its broker value.

Where backtrader cannot express the spec's meaning as is, this module says how it bridges:

- Standard deviation (``stddev``, ``bbands``, ``zscore``): backtrader's ``StandardDeviation``
  computes ``sqrt(|mean(x**2) - mean(x)**2|)``, which loses digits to cancellation and is not
  0 on a flat window; the spec means the population standard deviation, so a small
  backtrader indicator here computes it in two passes with ``math.fsum`` (0 on a flat window,
  where ``zscore`` is then undefined). ``donchian`` is ``Highest``/``Lowest`` of high and low.
- RSI uses ``safediv=True`` (backtrader's ``RSI_Safe`` values: 100 with no down moves, 50
  with no moves at all); the plain ``RSI`` raises ``ZeroDivisionError`` on flat stretches.
- Orders never fail for lack of cash (the contract): ``set_checksubmit(False)`` stops the
  check at submission, and the commission scheme's ``leverage`` is set so high that the check
  at execution never fires either. ``leverage`` only scales the cash set aside for a long; a
  stock-like position's value and pnl are unchanged by it.
- Backtrader's limit sell that fills on a gap at the open passes the limit price, not
  ``max(low, limit)``, as the floor of its slippage, so a slipped take profit can fill below the
  bar's low. :class:`_Broker` fixes that one case so that no fill leaves the bar's range.
- Target-volatility sizing is computed in the strategy (no backtrader sizer expresses it).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from foanalytics.domain.backtest import BacktestResult, make_result, trades_frame
from foanalytics.domain.errors import BacktestError, InvalidInputError
from foanalytics.domain.market import index_ns
from foanalytics.domain.strategy import (
    AllOf,
    AnyOf,
    Atr,
    BBands,
    Between,
    Compare,
    Condition,
    Direction,
    Donchian,
    Ema,
    FixedUnits,
    FractionOfEquity,
    Highest,
    Lowest,
    Macd,
    Momentum,
    Not,
    Operand,
    Roc,
    Rsi,
    Sma,
    StdDev,
    StrategySpec,
    Wma,
    ZScore,
    check_lookback,
)

try:
    import backtrader as bt
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the backtrader engine needs backtrader: pip install 'foanalytics[backtrader]'"
    ) from exc

#: Leverage of the commission scheme: large enough that no order fails its cash check.
_NO_CASH_CHECK = 1e12
_PRICES = ("open", "high", "low", "close", "volume")


class BacktraderBacktestEngine:
    """Backtest specs with backtrader (the reference the native engine is held to).

    Examples
    --------
    >>> from foanalytics.domain.templates import sma_crossover
    >>> close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 300)))
    >>> bars = pd.DataFrame(
    ...     {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
    ...     index=pd.date_range("2024-01-01", periods=300, tz="UTC", name="timestamp"))
    >>> result = BacktraderBacktestEngine().run(sma_crossover(10, 50), bars, 252)
    >>> result.engine, len(result.trades) > 0
    ('backtrader', True)
    """

    name = "backtrader"

    def run(
        self, spec: StrategySpec, bars: pd.DataFrame, periods_per_year: float
    ) -> BacktestResult:
        """Backtest ``spec`` over ``bars`` (the :class:`BacktestEngine` contract)."""
        if not isinstance(bars, pd.DataFrame) or not isinstance(bars.index, pd.DatetimeIndex):
            raise InvalidInputError("bars must be a DataFrame with a DatetimeIndex")
        missing = [c for c in _PRICES if c not in bars.columns]
        if missing:
            raise InvalidInputError(f"bars lack the column(s) {', '.join(missing)}")
        try:
            ppy = float(periods_per_year)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"periods_per_year must be a number, got {periods_per_year!r}"
            ) from None
        if not math.isfinite(ppy) or ppy <= 0:
            raise InvalidInputError(f"periods_per_year must be > 0, got {periods_per_year!r}")
        check_lookback(spec, len(bars))

        columns = {c: np.ascontiguousarray(bars[c], dtype=np.float64) for c in _PRICES}
        index = pd.DatetimeIndex(bars.index)
        # backtrader keeps naive datetimes; bars are identified by position, never by time.
        naive = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
        times = naive.to_pydatetime()
        book = _Book(spec=spec, n=len(bars), periods_per_year=ppy)

        cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True, tradehistory=False)
        broker = _Broker()
        broker.setcash(spec.initial_cash)
        broker.set_checksubmit(False)
        broker.setcommission(
            commission=spec.costs.commission,
            commtype=bt.CommInfoBase.COMM_PERC,
            stocklike=True,
            percabs=True,
            leverage=_NO_CASH_CHECK,
        )
        slippage = spec.costs.slippage_bps / 10_000.0
        broker.set_slippage_perc(
            slippage, slip_open=True, slip_limit=True, slip_match=True, slip_out=False
        )
        cerebro.setbroker(broker)
        cerebro.adddata(_ArrayFeed(columns=columns, times=times))
        cerebro.addstrategy(_SpecStrategy, book=book)
        try:
            cerebro.run(maxcpus=1)
        except (ZeroDivisionError, ValueError, IndexError) as exc:
            raise BacktestError(f"backtrader failed on {spec.name!r}: {exc!r}") from exc

        ns = index_ns(index)
        rows = book.trades
        entry = np.array([r.entry_bar for r in rows], dtype=np.int64)
        exit_ = np.array([r.exit_bar for r in rows], dtype=np.int64)
        trades = trades_frame(
            entry_time=ns[entry],
            exit_time=ns[exit_],
            entry_price=np.array([r.entry_price for r in rows], dtype=np.float64),
            exit_price=np.array([r.exit_price for r in rows], dtype=np.float64),
            size=np.array([r.size for r in rows], dtype=np.float64),
            pnl=np.array([r.pnl for r in rows], dtype=np.float64),
            bars_held=exit_ - entry,
            exit_reason=[r.reason for r in rows],
        )
        return make_result(spec, self.name, index, book.equity, book.positions, trades, ppy)


@dataclass
class _Trade:
    entry_bar: int
    entry_price: float
    size: float
    exit_bar: int = -1
    exit_price: float = math.nan
    pnl: float = math.nan
    reason: str = "open"


@dataclass
class _Book:
    """What the strategy reads (the spec) and writes (equity, positions, trades)."""

    spec: StrategySpec
    n: int
    periods_per_year: float
    equity: np.ndarray = field(init=False)
    positions: np.ndarray = field(init=False)
    trades: list[_Trade] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.equity = np.full(self.n, np.nan)
        self.positions = np.full(self.n, np.nan)


class _ArrayFeed(bt.feed.DataBase):  # type: ignore[misc]
    """A data feed over float arrays (one bar per ``_load``)."""

    params = (("columns", None), ("times", None))

    def start(self) -> None:
        super().start()
        self._row = -1

    def _load(self) -> bool:
        self._row += 1
        if self._row >= len(self.p.times):
            return False
        lines = self.lines
        lines.datetime[0] = bt.date2num(self.p.times[self._row])
        for name in _PRICES:
            getattr(lines, name)[0] = self.p.columns[name][self._row]
        lines.openinterest[0] = 0.0
        return True


class _Broker(bt.brokers.BackBroker):  # type: ignore[misc]
    """backtrader's default broker with the gap fill of a sell limit kept inside the bar.

    ``BackBroker`` slips a sell limit that fills at the open down to at most the limit price,
    which can be below the bar's low; here the floor is ``max(low, limit)``, as its buy side
    already caps at ``min(high, limit)``.
    """

    def _try_exec_limit(
        self, order: Any, popen: float, phigh: float, plow: float, plimit: float
    ) -> None:
        if not order.isbuy() and plimit <= popen:
            floor = plow if plow >= plimit else plimit
            price = self._slip_down(floor, popen, doslip=self.p.slip_open, lim=True)
            self._execute(order, ago=0, price=price)
            return
        super()._try_exec_limit(order, popen, phigh, plow, plimit)


class _PopulationStdDev(bt.Indicator):  # type: ignore[misc]
    """Population standard deviation over ``period`` bars, two-pass with ``math.fsum``."""

    lines: Any = ("stddev",)
    params: Any = (("period", 20),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # backtrader's metaclass has taken the data and the params out of the arguments.
        self.addminperiod(self.p.period)

    @staticmethod
    def _std(window: Any) -> float:
        values = list(window)
        if any(math.isnan(v) for v in values):
            return math.nan
        if min(values) == max(values):
            return 0.0
        mean = math.fsum(values) / len(values)
        return math.sqrt(math.fsum((v - mean) * (v - mean) for v in values) / len(values))

    def next(self) -> None:
        self.lines.stddev[0] = self._std(self.data.get(size=self.p.period))

    def once(self, start: int, end: int) -> None:
        src, dst, period = self.data.array, self.lines.stddev.array, self.p.period
        for i in range(start, end):
            dst[i] = self._std(src[i - period + 1 : i + 1])


class _ZScore(bt.Indicator):  # type: ignore[misc]
    """``(x - SMA) / population std`` over ``period`` bars; NaN where the std is 0."""

    lines: Any = ("zscore",)
    params: Any = (("period", 20),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._mean = bt.ind.SMA(self.data, period=self.p.period)
        self._std = _PopulationStdDev(self.data, period=self.p.period)

    def next(self) -> None:
        std = self._std[0]
        self.lines.zscore[0] = (self.data[0] - self._mean[0]) / std if std else math.nan

    def once(self, start: int, end: int) -> None:
        src, mean, std = self.data.array, self._mean.array, self._std.array
        dst = self.lines.zscore.array
        for i in range(start, end):
            dst[i] = (src[i] - mean[i]) / std[i] if std[i] else math.nan


def _indicator_lines(spec: StrategySpec, data: Any) -> dict[str, Any]:
    """Build backtrader lines for every indicator output, keyed as rules refer to them."""
    out: dict[str, Any] = {name: getattr(data, name) for name in _PRICES}
    for ind in spec.indicators:
        lines: dict[str | None, Any]
        if isinstance(ind, Atr):
            lines = {None: bt.ind.ATR(data, period=ind.window)}
        elif isinstance(ind, Donchian):
            upper = bt.ind.Highest(data.high, period=ind.window)
            lower = bt.ind.Lowest(data.low, period=ind.window)
            lines = {"upper": upper, "middle": (upper + lower) / 2.0, "lower": lower}
        elif isinstance(ind, Macd):
            macd = bt.ind.MACDHisto(
                getattr(data, ind.source),
                period_me1=ind.fast,
                period_me2=ind.slow,
                period_signal=ind.signal,
            )
            lines = {"macd": macd.lines.macd, "signal": macd.lines.signal, "hist": macd.lines.histo}
        elif isinstance(ind, BBands):
            source = getattr(data, ind.source)
            middle = bt.ind.SMA(source, period=ind.window)
            band = _PopulationStdDev(source, period=ind.window) * ind.k
            lines = {"upper": middle + band, "middle": middle, "lower": middle - band}
        else:
            lines = {None: _single(ind, getattr(data, ind.source))}
        for output, line in lines.items():
            key = ind.name if output is None else f"{ind.name}.{output}"
            out[key] = line(-ind.offset) if ind.offset else line
    return out


def _single(ind: Any, source: Any) -> Any:
    w = ind.window
    if isinstance(ind, Sma):
        return bt.ind.SMA(source, period=w)
    if isinstance(ind, Ema):
        return bt.ind.EMA(source, period=w)
    if isinstance(ind, Wma):
        return bt.ind.WMA(source, period=w)
    if isinstance(ind, Rsi):
        return bt.ind.RSI(source, period=w, safediv=True)
    if isinstance(ind, Roc):
        return bt.ind.ROC(source, period=w)
    if isinstance(ind, Momentum):
        return bt.ind.Momentum(source, period=w)
    if isinstance(ind, StdDev):
        return _PopulationStdDev(source, period=w)
    if isinstance(ind, ZScore):
        return _ZScore(source, period=w)
    if isinstance(ind, Highest):
        return bt.ind.Highest(source, period=w)
    if isinstance(ind, Lowest):
        return bt.ind.Lowest(source, period=w)
    raise InvalidInputError(f"the backtrader engine has no indicator {ind.kind!r}")


class _SpecStrategy(bt.Strategy):  # type: ignore[misc]
    """Reads the rules on each close and trades them with market, stop and limit orders."""

    params = (("book", None),)

    def __init__(self) -> None:
        self.book: _Book = self.p.book
        self.spec = self.book.spec
        self.operands = _indicator_lines(self.spec, self.data)
        self.working: list[Any] = []  # stop orders of the open position
        self.open_trade: _Trade | None = None
        self.closing_reason = "signal"
        self.closing_price = math.nan

    # -- rules --------------------------------------------------------------------------------

    def _value(self, operand: Operand, ago: int) -> float:
        if isinstance(operand, str):
            return float(self.operands[operand][ago])
        return float(operand)

    def _holds(self, cond: Condition, bar: int) -> tuple[bool, bool]:
        """Return whether ``cond`` holds on this bar and whether it is defined."""
        if isinstance(cond, Compare):
            a, b = self._value(cond.left, 0), self._value(cond.right, 0)
            defined = not (math.isnan(a) or math.isnan(b))
            if cond.op == "gt":
                return defined and a > b, defined
            if cond.op == "lt":
                return defined and a < b, defined
            if bar == 0:
                return False, False
            a1, b1 = self._value(cond.left, -1), self._value(cond.right, -1)
            defined = defined and not (math.isnan(a1) or math.isnan(b1))
            if cond.op == "cross_above":
                return defined and a1 <= b1 and a > b, defined
            return defined and a1 >= b1 and a < b, defined
        if isinstance(cond, Between):
            v = self._value(cond.value, 0)
            lo, hi = self._value(cond.lower, 0), self._value(cond.upper, 0)
            defined = not (math.isnan(v) or math.isnan(lo) or math.isnan(hi))
            return defined and lo < v < hi, defined
        if isinstance(cond, Not):
            held, defined = self._holds(cond.condition, bar)
            return defined and not held, defined
        parts = [self._holds(c, bar) for c in cond.conditions]
        defined = all(d for _, d in parts)
        if isinstance(cond, AllOf):
            return all(h for h, _ in parts), defined
        assert isinstance(cond, AnyOf)
        return any(h for h, _ in parts), defined

    # -- sizing -------------------------------------------------------------------------------

    def _size(self, bar: int, equity: float) -> float:
        sizing = self.spec.sizing
        close = self.data.close[0]
        if isinstance(sizing, FractionOfEquity):
            size = sizing.fraction * equity / close
        elif isinstance(sizing, FixedUnits):
            size = sizing.units
        else:
            if bar < sizing.window:
                return 0.0
            closes = list(self.data.close.get(size=sizing.window + 1))
            returns = [closes[k] / closes[k - 1] - 1.0 for k in range(1, len(closes))]
            vol = statistics.pstdev(returns) * math.sqrt(self.book.periods_per_year)
            leverage = sizing.max_leverage
            if vol > 0 and sizing.target / vol < leverage:
                leverage = sizing.target / vol
            size = leverage * equity / close
        if self.spec.integer_units:
            size = math.floor(size)
        return size if size > 0 and math.isfinite(size) else 0.0

    # -- bar by bar ---------------------------------------------------------------------------

    def prenext(self) -> None:
        self._step()

    def next(self) -> None:
        self._step()

    def _step(self) -> None:
        bar = len(self) - 1
        equity = self.broker.getvalue()
        pos = self.position.size
        self.book.equity[bar] = equity
        self.book.positions[bar] = pos
        entry, _ = self._holds(self.spec.entry, bar)
        exit_ = self._holds(self.spec.exit, bar)[0] if self.spec.exit is not None else False
        direction = self.spec.direction
        target = None  # +1 long, -1 short, 0 flat
        if direction is Direction.LONG:
            if pos == 0 and entry:
                target = 1
            elif pos > 0 and exit_:
                target = 0
        elif direction is Direction.SHORT:
            if pos == 0 and entry:
                target = -1
            elif pos < 0 and exit_:
                target = 0
        elif pos > 0:
            target = -1 if exit_ else None
        elif pos < 0:
            target = 1 if entry else None
        elif entry:
            target = 1
        elif exit_:
            target = -1
        if target is None:
            return
        size = self._size(bar, equity) if target else 0.0
        if target and size == 0 and pos == 0:
            return
        for order in self.working:
            self.cancel(order)
        self.working = []
        if target > 0:
            self.buy(size=abs(pos) + size).addinfo(reason="signal")
        elif target < 0:
            self.sell(size=abs(pos) + size).addinfo(reason="signal")
        elif pos > 0:
            self.sell(size=pos).addinfo(reason="signal")
        else:
            self.buy(size=-pos).addinfo(reason="signal")

    # -- fills and trades ---------------------------------------------------------------------

    def notify_order(self, order: Any) -> None:
        if order.status != order.Completed:
            return
        self.closing_reason = order.info.reason
        self.closing_price = order.executed.price
        if order.info.reason != "signal":
            self.working = []  # the other stops were cancelled with it (OCO)
            return
        pos = self.position.size
        if pos == 0:
            return
        self._place_stops(pos, order.executed.price)

    def _place_stops(self, pos: float, fill: float) -> None:
        spec = self.spec
        close = self.data.close[0]
        units = abs(pos)
        place = self.sell if pos > 0 else self.buy
        sign = 1.0 if pos > 0 else -1.0
        orders: list[Any] = []

        def add(reason: str, **kwargs: Any) -> None:
            oco = orders[0] if orders else None
            order = place(size=units, oco=oco, **kwargs)
            order.addinfo(reason=reason)
            orders.append(order)

        if spec.stop_loss:
            add("stop_loss", exectype=bt.Order.Stop, price=fill * (1.0 - sign * spec.stop_loss))
        if spec.trailing_stop:
            ref = (fill if fill >= close else close) if pos > 0 else min(fill, close)
            add(
                "trailing_stop",
                exectype=bt.Order.StopTrail,
                price=ref,
                trailpercent=spec.trailing_stop,
            )
        if spec.take_profit:
            take = fill * (1.0 + sign * spec.take_profit)
            add("take_profit", exectype=bt.Order.Limit, price=take)
        self.working = orders

    def notify_trade(self, trade: Any) -> None:
        bar = len(self) - 1
        if trade.isclosed:
            assert self.open_trade is not None
            done = self.open_trade
            done.exit_bar = bar
            done.exit_price = self.closing_price
            done.pnl = trade.pnlcomm
            done.reason = self.closing_reason
            self.book.trades.append(done)
            self.open_trade = None
        elif trade.justopened:
            self.open_trade = _Trade(entry_bar=bar, entry_price=trade.price, size=trade.size)
            self.open_comm = trade.commission

    def stop(self) -> None:
        if self.open_trade is not None:
            last = self.book.n - 1
            close = self.data.close[0]
            done = self.open_trade
            done.exit_bar = last
            done.exit_price = close
            done.pnl = done.size * (close - done.entry_price) - self.open_comm
            self.book.trades.append(done)
            self.open_trade = None
