"""Performance and risk metrics: pure numpy functions shared by every engine and report.

Definitions follow empyrical, so figures compare digit for digit: simple returns, sample
standard deviation (ddof = 1), annualisation by ``periods_per_year``, Sortino's downside
deviation as the root mean square of the below-target returns, drawdowns measured from the
running peak including the starting capital.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

FloatArray = npt.NDArray[np.float64]


def returns_from_equity(equity: FloatArray, initial: float) -> FloatArray:
    """Return per-bar simple returns of an equity curve that started at ``initial``.

    Examples
    --------
    >>> returns_from_equity(np.array([110.0, 99.0]), 100.0).round(4).tolist()
    [0.1, -0.1]
    """
    values = np.r_[float(initial), np.asarray(equity, dtype=np.float64)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(values[1:] / values[:-1] - 1.0, dtype=np.float64)


def annual_return(returns: FloatArray, periods_per_year: float) -> float:
    """Return the compound annual growth rate (empyrical ``annual_return``)."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) == 0:
        return math.nan
    growth = float(np.prod(1.0 + r))
    years = len(r) / periods_per_year
    return float(growth ** (1.0 / years) - 1.0) if growth > 0 else -1.0


def annual_volatility(returns: FloatArray, periods_per_year: float) -> float:
    """Return the annualised sample standard deviation (ddof = 1) of the returns."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe_ratio(returns: FloatArray, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Return the annualised Sharpe ratio; ``risk_free`` is per period.

    Examples
    --------
    >>> round(sharpe_ratio(np.array([0.01, -0.005, 0.02, 0.0]), 252), 6)
    8.949008
    """
    r = np.asarray(returns, dtype=np.float64) - risk_free
    if len(r) < 2:
        return math.nan
    std = np.std(r, ddof=1)
    if std == 0:
        return math.nan
    return float(np.mean(r) / std * math.sqrt(periods_per_year))


def sortino_ratio(returns: FloatArray, periods_per_year: float, required: float = 0.0) -> float:
    """Return the annualised Sortino ratio against a per-period ``required`` return."""
    r = np.asarray(returns, dtype=np.float64) - required
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(periods_per_year)
    if downside == 0:
        return math.nan
    return float(np.mean(r) * periods_per_year / downside)


def drawdown(equity: FloatArray, initial: float) -> FloatArray:
    """Return the drawdown at each bar: value over the running peak (start included), minus 1."""
    values = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(np.r_[float(initial), values])[1:]
    return np.asarray(values / peak - 1.0, dtype=np.float64)


def max_drawdown(equity: FloatArray, initial: float) -> float:
    """Return the deepest drawdown, a non-positive fraction."""
    dd = drawdown(equity, initial)
    return float(min(dd.min(), 0.0)) if len(dd) else 0.0


def max_drawdown_duration(equity: FloatArray, initial: float) -> int:
    """Return the longest run of bars spent below a previous peak."""
    under = drawdown(equity, initial) < 0
    if not under.any():
        return 0
    # Lengths of runs of True: positions where a run ends minus where it starts.
    edges = np.diff(np.r_[0, under.astype(np.int8), 0])
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


class PerformanceStats(BaseModel):
    """The headline statistics of a backtest (``None`` where a figure is undefined)."""

    model_config = ConfigDict(frozen=True)

    total_return: float
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration: int
    calmar: float | None
    trades: int
    win_rate: float | None
    profit_factor: float | None
    avg_trade: float | None
    best_trade: float | None
    worst_trade: float | None
    exposure: float
    avg_bars_held: float | None
    final_equity: float
    periods_per_year: float

    @field_validator("*", mode="before")
    @classmethod
    def _finite_or_none(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value


def performance_stats(
    equity: FloatArray,
    initial: float,
    positions: FloatArray,
    trades: pd.DataFrame,
    periods_per_year: float,
) -> PerformanceStats:
    """Compute :class:`PerformanceStats` from an equity curve, positions and closed trades.

    Trade statistics use closed trades (``exit_reason != "open"``) and their ``return``
    column; ``profit_factor`` is gross profit over gross loss of their pnl.
    """
    values = np.asarray(equity, dtype=np.float64)
    r = returns_from_equity(values, initial)
    cagr = annual_return(r, periods_per_year)
    mdd = max_drawdown(values, initial)
    closed = trades[trades["exit_reason"] != "open"] if len(trades) else trades
    trade_returns = closed["return"].to_numpy(dtype=np.float64) if len(closed) else np.empty(0)
    pnl = closed["pnl"].to_numpy(dtype=np.float64) if len(closed) else np.empty(0)
    gains, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    held = closed["bars_held"].to_numpy(dtype=np.float64) if len(closed) else np.empty(0)
    n = len(trade_returns)
    return PerformanceStats(
        total_return=float(values[-1] / initial - 1.0) if len(values) else 0.0,
        cagr=cagr,
        annual_volatility=annual_volatility(r, periods_per_year),
        sharpe=sharpe_ratio(r, periods_per_year),
        sortino=sortino_ratio(r, periods_per_year),
        max_drawdown=mdd,
        max_drawdown_duration=max_drawdown_duration(values, initial),
        calmar=cagr / abs(mdd) if mdd < 0 else math.nan,
        trades=n,
        win_rate=float((trade_returns > 0).mean()) if n else math.nan,
        profit_factor=float(gains / losses) if losses > 0 else math.nan,
        avg_trade=float(trade_returns.mean()) if n else math.nan,
        best_trade=float(trade_returns.max()) if n else math.nan,
        worst_trade=float(trade_returns.min()) if n else math.nan,
        exposure=float((np.asarray(positions) != 0).mean()) if len(values) else 0.0,
        avg_bars_held=float(held.mean()) if n else math.nan,
        final_equity=float(values[-1]) if len(values) else float(initial),
        periods_per_year=float(periods_per_year),
    )
