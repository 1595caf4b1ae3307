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
      Sizing uses the equity and close of bar t. Stops and take-profits are checked against the
      range of each bar after the entry fill, the entry bar included; a gap through a stop fills
      at the open. Commission and slippage apply on every fill; slippage never moves a fill
      outside the bar's high-low range.
    - A position still open at the end stays open: it is marked to the last close and listed
      as a trade with ``exit_reason == "open"``.
    - ``periods_per_year`` annualises the statistics.
    """

    name: str

    def run(
        self, spec: StrategySpec, bars: pd.DataFrame, periods_per_year: float
    ) -> BacktestResult:
        """Backtest ``spec`` over ``bars``."""
        ...
