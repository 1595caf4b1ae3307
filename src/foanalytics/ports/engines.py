"""Backtest engines: the ``BacktestEngine`` port."""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from foanalytics.domain.backtest import BacktestResult
from foanalytics.domain.strategy import StrategySpec


class BacktestEngine(Protocol):
    """Runs a :class:`StrategySpec` over bars and returns a :class:`BacktestResult`.

    Contract, kept by every engine (``tests/contract/test_engines.py`` proves they agree trade
    for trade):

    - ``bars`` are valid bars (the convention of :mod:`foanalytics.domain.market`); the engine
      does not re-validate them. Fewer bars than ``spec.lookback() + 2`` raise
      :class:`InvalidInputError` naming the window that exceeds the data.
    - Signals are computed on the close of bar t; market orders fill at the open of bar t+1.
      A signal on the last bar is not traded. Orders are never refused for lack of cash.
      Sizing uses the equity and close of bar t; ``integer_units`` floors the size; a size
      that is not positive opens nothing (a ``both`` reversal then only closes).
    - No pyramiding: an entry while in the position is ignored. ``both``: long + exit reverses
      to short, short + entry reverses to long, flat: entry goes long, else exit goes short;
      a reversal is one order (old size plus new size) at one price.
    - Fills: with ``s = slippage_bps / 1e4`` a market buy fills at ``min(open * (1 + s),
      high)``, a sell at ``max(open * (1 - s), low)``. Commission is ``commission * |units| *
      price`` on every fill. Slippage never moves a fill outside the bar's high-low range.
    - Stops are fractions of the entry fill price, set when the entry fills, and work from the
      bar *after* the entry bar (backtrader learns the fill only once that bar has closed).
      A stop (loss or trailing) that the bar opens through fills at the open, slipped; one
      the bar's range reaches fills at the stop, slipped, never outside the range. A take
      profit is a limit: at the limit itself inside the range, at the slipped open on a gap
      (never worse than the limit, never outside the range). They are checked in the order
      stop loss, trailing stop, take profit; the first that triggers fills and cancels the
      others, so a bar spanning both the stop and the take profit exits at the stop. The
      trailing stop starts from the better of the fill price and the entry bar's close and
      ratchets on closes (``close * (1 -/+ trail)``) after each bar it survives. A signal
      exit or a reversal cancels the working stops at the signal bar.
    - Equity is cash plus the position marked at each close. A trade's pnl is net of both
      fills' commissions. A position still open at the end stays open: it is marked to the
      last close and listed as a trade with ``exit_reason == "open"`` (pnl net of the entry
      commission only).
    - ``periods_per_year`` annualises the statistics and the target-volatility sizing.
    """

    name: str

    def run(
        self, spec: StrategySpec, bars: pd.DataFrame, periods_per_year: float
    ) -> BacktestResult:
        """Backtest ``spec`` over ``bars``."""
        ...
