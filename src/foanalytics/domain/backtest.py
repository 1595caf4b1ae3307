"""Backtest results: the equity curve, the trades, the positions and the performance stats.

Every engine returns a :class:`BacktestResult` built by :func:`make_result`, so the statistics
come from one pure function (:func:`foanalytics.domain.metrics.performance_stats`) whatever the
engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.market import INDEX_NAME
from foanalytics.domain.metrics import PerformanceStats, performance_stats, returns_from_equity
from foanalytics.domain.strategy import StrategySpec

#: Columns of ``BacktestResult.trades``, in order.
TRADE_COLUMNS: tuple[str, ...] = (
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "size",
    "pnl",
    "return",
    "bars_held",
    "exit_reason",
)

#: Why a trade closed.
EXIT_REASONS: tuple[str, ...] = ("signal", "stop_loss", "take_profit", "trailing_stop", "open")


class BacktestResult(BaseModel):
    """What a backtest produced.

    Attributes
    ----------
    equity
        Account value at each bar's close (cash plus positions marked at the close).
    trades
        One row per trade, columns :data:`TRADE_COLUMNS`: entry and exit time (the fill bars'
        open times) and fill prices, signed size (negative for shorts), pnl net of every cost,
        return (pnl over the entry notional), bars held (exit bar index minus entry bar index)
        and the exit reason (``open`` for a position still open at the end, marked at the last
        close, its pnl unrealised).
    positions
        Signed units held at each bar's close.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: StrategySpec
    engine: str
    equity: pd.Series
    trades: pd.DataFrame
    positions: pd.Series
    stats: PerformanceStats

    @property
    def final_equity(self) -> float:
        """The account value at the last close."""
        return float(self.equity.iloc[-1]) if len(self.equity) else self.spec.initial_cash

    @property
    def closed_trades(self) -> pd.DataFrame:
        """The trades that were closed (not the one still open at the end)."""
        return self.trades[self.trades["exit_reason"] != "open"]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: strategy, engine, stats, trades and final equity."""
        trades = [
            {
                name: (
                    value.isoformat()
                    if isinstance(value, pd.Timestamp)
                    else (int(value) if name == "bars_held" else value)
                )
                for name, value in row.items()
            }
            for row in self.trades.to_dict("records")
        ]
        return {
            "strategy": self.spec.name,
            "engine": self.engine,
            "stats": self.stats.model_dump(),
            "trades": trades,
            "final_equity": self.final_equity,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return equity, positions and returns by bar."""
        frame = pd.DataFrame({"equity": self.equity, "position": self.positions})
        frame["returns"] = returns_from_equity(
            self.equity.to_numpy(dtype=np.float64), self.spec.initial_cash
        )
        return frame


def empty_trades() -> pd.DataFrame:
    """Return a trades frame with no rows and the right columns and dtypes."""
    return trades_frame(
        entry_time=np.empty(0, dtype=np.int64),
        exit_time=np.empty(0, dtype=np.int64),
        entry_price=np.empty(0),
        exit_price=np.empty(0),
        size=np.empty(0),
        pnl=np.empty(0),
        bars_held=np.empty(0, dtype=np.int64),
        exit_reason=[],
    )


def trades_frame(
    *,
    entry_time: npt.NDArray[np.int64],
    exit_time: npt.NDArray[np.int64],
    entry_price: npt.NDArray[np.float64],
    exit_price: npt.NDArray[np.float64],
    size: npt.NDArray[np.float64],
    pnl: npt.NDArray[np.float64],
    bars_held: npt.NDArray[np.int64],
    exit_reason: list[str],
) -> pd.DataFrame:
    """Assemble the trades frame from arrays (times as epoch nanoseconds)."""
    notional = np.abs(np.asarray(size, dtype=np.float64) * np.asarray(entry_price))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(notional > 0, np.asarray(pnl) / notional, 0.0)
    return pd.DataFrame(
        {
            "entry_time": pd.to_datetime(np.asarray(entry_time, dtype=np.int64), utc=True),
            "exit_time": pd.to_datetime(np.asarray(exit_time, dtype=np.int64), utc=True),
            "entry_price": np.asarray(entry_price, dtype=np.float64),
            "exit_price": np.asarray(exit_price, dtype=np.float64),
            "size": np.asarray(size, dtype=np.float64),
            "pnl": np.asarray(pnl, dtype=np.float64),
            "return": returns,
            "bars_held": np.asarray(bars_held, dtype=np.int64),
            "exit_reason": pd.Series(list(exit_reason), dtype=object),
        },
        columns=list(TRADE_COLUMNS),
    )


def make_result(
    spec: StrategySpec,
    engine: str,
    index: pd.DatetimeIndex,
    equity: npt.NDArray[np.float64],
    positions: npt.NDArray[np.float64],
    trades: pd.DataFrame,
    periods_per_year: float,
) -> BacktestResult:
    """Build a :class:`BacktestResult`, computing the stats with the one shared function."""
    idx = pd.DatetimeIndex(index).rename(INDEX_NAME)
    equity_series = pd.Series(np.asarray(equity, dtype=np.float64), index=idx, name="equity")
    position_series = pd.Series(np.asarray(positions, dtype=np.float64), index=idx, name="position")
    stats = performance_stats(
        np.asarray(equity, dtype=np.float64),
        spec.initial_cash,
        np.asarray(positions, dtype=np.float64),
        trades,
        periods_per_year,
    )
    return BacktestResult(
        spec=spec,
        engine=engine,
        equity=equity_series,
        trades=trades.reset_index(drop=True),
        positions=position_series,
        stats=stats,
    )
