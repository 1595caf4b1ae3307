"""The risk use case: measure returns, a stored series or a backtest, against a benchmark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from foanalytics.domain import metrics
from foanalytics.domain.backtest import BacktestResult
from foanalytics.domain.calendars import (
    Calendar,
    parse_calendar,
    periods_per_year,
    resolve_calendar,
)
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import SeriesKey, infer_timeframe, to_utc
from foanalytics.domain.risk import (
    ROLLING_METRICS,
    VAR_METHODS,
    RiskReport,
    as_frame,
    check_confidence,
    check_returns,
    returns_from_prices,
    select_columns,
)
from foanalytics.services.market_data import MarketDataService

#: What can be measured: returns (a Series or one column per asset), a backtest, a stored key.
ReturnsLike = pd.Series | pd.DataFrame | BacktestResult | SeriesKey
#: A benchmark: its returns, or a stored key (its close-to-close returns).
BenchmarkLike = pd.Series | pd.DataFrame | SeriesKey


class RiskService:
    """Risk reports of return series, stored series and backtests.

    Examples
    --------
    >>> from foanalytics import Settings, build
    >>> services = build(Settings(storage={"backend": "memory"}))
    >>> key = SeriesKey.parse("synthetic/BTC/USD/1d")
    >>> _ = services.market_data.ingest("synthetic", key, "2022-01-01", "2024-01-01")
    >>> report = services.risk.report(key, confidence=(0.95, 0.99))
    >>> report.periods_per_year, report.columns
    (365.0, ('synthetic/BTC/USD/1d',))
    >>> bool(report.metrics.loc["max_drawdown"].iloc[0] < 0)
    True
    >>> sorted(report.to_dict())
    ['cvar', 'drawdowns', 'metrics', 'var']
    """

    def __init__(self, market_data: MarketDataService) -> None:
        self._market = market_data

    def returns(
        self,
        source: SeriesKey | pd.Series | pd.DataFrame,
        start: Any = None,
        end: Any = None,
        *,
        prices: bool = False,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return checked simple returns, one column per asset, on a UTC DatetimeIndex.

        ``source`` is a stored key (its close-to-close returns, the column named after the
        key), or a Series / wide frame of returns, or of prices when ``prices`` is true.
        ``columns`` keeps only those columns; ``start`` and ``end`` bound the timestamps
        (``[start, end)``). Bad input raises :class:`InvalidInputError` naming the column.
        """
        if isinstance(source, SeriesKey):
            bars = self._market.bars(source, start, end)
            if bars.empty:
                raise InvalidInputError(f"series {source} holds no bars in the range asked")
            frame = as_frame(bars["close"].rename(str(source)), "prices")
            return check_returns(returns_from_prices(frame, f"closes of {source}"))
        what = "prices" if prices else "returns"
        frame = as_frame(source, what)
        if columns:
            frame = select_columns(frame, columns, what)
        if start is not None or end is not None:
            frame = _between(frame, start, end)
        if prices:
            frame = returns_from_prices(frame)
        return check_returns(frame)

    def report(
        self,
        returns: ReturnsLike,
        benchmark: BenchmarkLike | None = None,
        confidence: float | Iterable[float] = (0.95, 0.99),
        periods_per_year: float | None = None,
        risk_free: float = 0.0,
        *,
        calendar: Calendar | str = Calendar.AUTO,
        window: int | None = None,
        top: int = 5,
        omega_threshold: float = 0.0,
        seed: int = 0,
        simulations: int = 10_000,
        name: str | None = None,
    ) -> RiskReport:
        """Measure the risk of ``returns`` (each column on its own history).

        Parameters
        ----------
        returns
            Simple returns (a Series, or a frame with one column per asset), a
            :class:`BacktestResult` (the returns of its equity curve; its trades go in the
            report) or a stored :class:`SeriesKey` (its close-to-close returns).
        benchmark
            Returns of a benchmark, or a stored key. Both sides are cut to the timestamps they
            share; none in common is an :class:`InvalidInputError`.
        confidence
            VaR / CVaR confidence levels, each inside (0, 1).
        periods_per_year
            Annualisation; by default a backtest's own, else inferred from the index spacing
            and ``calendar`` (252 for weekday daily data, 365 for 24/7 daily data, ...).
        calendar
            When the market trades, for ``periods_per_year``: ``auto`` reads a series with
            any weekend bar as ``24/7``, else ``weekdays``; say ``fx`` or ``nyse`` for those.
        risk_free
            The annual risk-free rate of the Sharpe-like ratios and alpha (converted per
            period as ``(1 + rate) ** (1 / periods_per_year) - 1``).
        window
            Periods in each rolling window; by default half a year of periods, or a quarter of
            the series when that is shorter.
        top
            How many drawdowns each drawdown table lists.
        omega_threshold
            The annual return separating gains from losses in the Omega ratio.
        seed, simulations
            The Monte Carlo VaR's random seed and number of draws.
        name
            What the report is about (by default the strategy, key or column name).
        """
        levels = check_confidence(confidence)
        trades: pd.DataFrame | None = None
        if isinstance(returns, BacktestResult):
            equity_returns = returns.to_frame()["returns"].rename(returns.spec.name)
            frame = check_returns(as_frame(equity_returns, "returns"))
            trades = returns.trades
            if periods_per_year is None:
                periods_per_year = returns.stats.periods_per_year
        elif isinstance(returns, SeriesKey | pd.Series | pd.DataFrame):
            frame = self.returns(returns)
        else:
            raise InvalidInputError(
                "returns must be a Series, a DataFrame, a BacktestResult or a SeriesKey, "
                f"got {type(returns).__name__}"
            )
        bench: pd.Series | None = None
        if benchmark is not None:
            frame, bench = self._align(frame, self._benchmark(benchmark))
        per_year = _periods_per_year(frame.index, periods_per_year, calendar)
        if not isinstance(top, int) or top < 1:
            raise InvalidInputError(f"top={top!r} must be a positive whole number")
        size = _window(window, per_year, len(frame))
        return _measure(
            frame,
            bench,
            levels,
            per_year,
            float(risk_free),
            size,
            top=top,
            omega_threshold=omega_threshold,
            seed=seed,
            simulations=simulations,
            name=name or ", ".join(map(str, frame.columns)),
            trades=trades,
        )

    def _benchmark(self, benchmark: BenchmarkLike) -> pd.Series:
        if not isinstance(benchmark, SeriesKey | pd.Series | pd.DataFrame):
            raise InvalidInputError(
                "the benchmark must be a Series, a one-column DataFrame or a SeriesKey, "
                f"got {type(benchmark).__name__}"
            )
        if isinstance(benchmark, pd.DataFrame) and benchmark.shape[1] != 1:
            raise InvalidInputError(
                f"the benchmark must be one series; it has {benchmark.shape[1]} columns "
                f"({', '.join(map(str, benchmark.columns))})"
            )
        frame = self.returns(benchmark)
        return frame.iloc[:, 0].dropna()

    @staticmethod
    def _align(frame: pd.DataFrame, bench: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
        common = frame.index.intersection(bench.index)
        if len(common) == 0:
            raise InvalidInputError(
                f"the returns ({_range(frame.index)}) and the benchmark {bench.name!r} "
                f"({_range(bench.index)}) share no timestamp; give them overlapping dates "
                "on the same clock (both daily dates, say)"
            )
        aligned = frame.loc[common]
        aligned = aligned.loc[aligned.notna().any(axis=1)]
        if len(aligned) == 0:
            raise InvalidInputError(
                f"the returns hold no value on the {len(common)} timestamps they share with "
                f"the benchmark {bench.name!r}"
            )
        try:
            checked = check_returns(aligned, "returns aligned on the benchmark")
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"{exc} (only {len(aligned)} timestamps are shared with the benchmark "
                f"{bench.name!r}: {_range(aligned.index)})"
            ) from None
        return checked, bench.loc[checked.index]


def _between(frame: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= np.asarray(frame.index >= to_utc(start))
    if end is not None:
        keep &= np.asarray(frame.index < to_utc(end))
    return frame.loc[keep]


def _range(index: pd.Index) -> str:
    if len(index) == 0:
        return "empty"
    return f"{pd.Timestamp(index[0]).isoformat()} .. {pd.Timestamp(index[-1]).isoformat()}"


def _periods_per_year(index: pd.Index, given: float | None, calendar: Calendar | str) -> float:
    if given is not None:
        if not np.isfinite(given) or given <= 0:
            raise InvalidInputError(f"periods_per_year={given!r} must be a positive number")
        return float(given)
    chosen = parse_calendar(calendar)
    stamps = pd.DatetimeIndex(index)
    try:
        timeframe = infer_timeframe(stamps)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}; or give periods_per_year") from None
    return periods_per_year(timeframe, resolve_calendar(chosen, stamps))


def _window(window: int | None, per_year: float, rows: int) -> int:
    if window is None:
        return max(2, min(round(per_year / 2), rows // 4))
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise InvalidInputError(f"window={window!r} must be a whole number of periods >= 2")
    return int(window)


def _measure(
    frame: pd.DataFrame,
    bench: pd.Series | None,
    levels: tuple[float, ...],
    per_year: float,
    risk_free: float,
    window: int,
    *,
    top: int,
    omega_threshold: float,
    seed: int,
    simulations: int,
    name: str,
    trades: pd.DataFrame | None,
) -> RiskReport:
    # The metrics measure each column on its own span (its leading and trailing NaNs dropped),
    # so a panel of assets listed at different dates goes through in one call.
    columns = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype=np.float64)
    b = None if bench is None else bench.to_numpy(dtype=np.float64)
    figures = metrics.risk_metrics(
        values, per_year, benchmark=b, risk_free=risk_free, omega_threshold=omega_threshold
    )
    metric_frame = pd.DataFrame(
        {metric: np.asarray(v, dtype=np.float64) for metric, v in figures.items()},
        index=columns,
    ).T
    metric_frame.index.name = "metric"
    tables = []
    for table in (metrics.var_table, metrics.cvar_table):
        rows = {
            (method, float(level)): np.asarray(v, dtype=np.float64)
            for method in VAR_METHODS
            for level, v in table(values, levels, method, seed, simulations).items()
        }
        level_frame = pd.DataFrame(rows, index=columns).T
        level_frame.index = pd.MultiIndex.from_tuples(list(rows), names=["method", "confidence"])
        tables.append(level_frame)
    bench_metrics = None
    if bench is not None and b is not None:
        own = metrics.risk_metrics(
            b, per_year, risk_free=risk_free, omega_threshold=omega_threshold
        )
        bench_metrics = pd.Series(
            {k: float(np.asarray(v)[0]) for k, v in own.items()}, name=str(bench.name)
        )
    rolling = {}
    for metric in ROLLING_METRICS:
        if metric == "beta" and b is None:
            continue
        if len(frame) < window:
            rolled = np.empty((0, len(columns)))
            ends = np.empty(0, dtype=np.int64)
        else:
            rolled, ends = metrics.rolling(
                values,
                metric,
                window,
                periods_per_year=per_year,
                benchmark=b,
                risk_free=risk_free,
            )
        series = pd.DataFrame(rolled, index=frame.index[ends], columns=columns)
        rolling[metric] = series.loc[series.notna().any(axis=1)]
    return RiskReport(
        name=name,
        columns=tuple(columns),
        periods_per_year=per_year,
        risk_free=risk_free,
        confidence=levels,
        window=window,
        benchmark=None if bench is None else str(bench.name),
        returns=frame,
        benchmark_returns=bench,
        metrics=metric_frame,
        benchmark_metrics=bench_metrics,
        var=tables[0],
        cvar=tables[1],
        drawdowns={
            c: metrics.drawdown_table(values[:, j], frame.index, top=top)
            for j, c in enumerate(columns)
        },
        underwater=pd.DataFrame(metrics.underwater(values), index=frame.index, columns=columns),
        rolling=rolling,
        trades=trades,
    )
