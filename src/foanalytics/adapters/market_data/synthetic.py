"""``SyntheticMarketDataSource``: seeded, realistic OHLCV for demos, tests and benchmarks.

Closes follow a geometric Brownian motion. The daily path of a symbol is fixed by the seed and
the symbol; intraday bars fill each day with a Brownian bridge between that day's open and
close, seeded by the day. So a bar's values depend only on (seed, symbol, timeframe, time), never
on the range asked for: fetching a gap later gives exactly the bars a full fetch would have, and
the daily bars of a symbol agree with its intraday bars at day ends.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import (
    SeriesKey,
    Timeframe,
    bars_from_arrays,
    empty_bars,
    resample_bars,
    to_utc,
    validate_bars,
)
from foanalytics.ports.market_data import ProgressCallback, SourceInfo

_DAY_NS = 86_400_000_000_000
_LAST_DAY = 47_482  # 2099-12-31: the path is generated once per symbol up to here
_DAYS_PER_YEAR = 365.0
_ANCHOR_DAY = 18_262  # 2020-01-01


class SyntheticSourceConfig(BaseModel):
    """Parameters of the simulated market (annualised, 24/7 like crypto)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    annual_volatility: float = Field(default=0.6, gt=0, le=5)
    annual_drift: float = Field(default=0.05, ge=-2, le=2)


class SyntheticMarketDataSource:
    """A :class:`MarketDataSource` that simulates any symbol on any timeframe.

    Examples
    --------
    >>> source = SyntheticMarketDataSource(SyntheticSourceConfig(seed=1))
    >>> key = SeriesKey.parse("synthetic/BTC/USD/1h")
    >>> bars = source.fetch(key, "2024-01-01", "2024-01-02")
    >>> len(bars), bool((bars["high"] >= bars[["open", "close"]].max(axis=1)).all())
    (24, True)
    >>> again = source.fetch(key, "2024-01-01 05:00", "2024-01-01 06:00")
    >>> again.equals(bars.iloc[5:6])
    True
    """

    def __init__(self, config: SyntheticSourceConfig | None = None) -> None:
        self._config = config or SyntheticSourceConfig()

    def info(self) -> SourceInfo:
        """Describe the source: every timeframe, any symbol."""
        return SourceInfo(name="synthetic", timeframes=tuple(Timeframe))

    def fetch(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Return simulated bars of ``key`` in ``[start, end)``; both bounds are required."""
        if start is None or end is None:
            raise InvalidInputError("the synthetic source needs both start and end")
        lo, hi = to_utc(start), to_utc(end)
        if lo.year < 1970 or hi > pd.Timestamp("2100-01-01", tz="UTC"):
            raise InvalidInputError(
                f"the synthetic source covers 1970-01-01 to 2100-01-01, not {lo} to {hi}"
            )
        if hi <= lo:
            return empty_bars()
        timeframe = key.timeframe
        if timeframe in (Timeframe.W1, Timeframe.MN1):
            first = timeframe.grid(lo, hi)
            if len(first) == 0:
                return empty_bars()
            daily_end = pd.Timestamp(timeframe.shift(first.asi8[-1:])[0], tz="UTC")
            daily = self._daily(key, first[0], daily_end)
            bars = resample_bars(daily, Timeframe.D1, timeframe)
        elif timeframe is Timeframe.D1:
            bars = self._daily(key, lo, hi)
        else:
            bars = self._intraday(key, lo, hi)
        bars = bars[(bars.index >= lo) & (bars.index < hi)]
        if progress is not None:
            progress(len(bars), len(bars))
        return validate_bars(bars, timeframe).bars

    # -- simulation ----------------------------------------------------------------------------

    def _path(self, symbol: str) -> _DailyPath:
        cfg = self._config
        return _daily_path(cfg.seed, symbol, cfg.annual_volatility, cfg.annual_drift)

    def _daily(self, key: SeriesKey, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
        path = self._path(key.symbol)
        first = lo.value // _DAY_NS + (lo.value % _DAY_NS > 0)
        last = -(-hi.value // _DAY_NS)  # exclusive
        days = np.arange(first, min(last, _LAST_DAY), dtype=np.int64)
        if len(days) == 0:
            return empty_bars()
        opens, closes = np.exp(path.log_price[days]), np.exp(path.log_price[days + 1])
        return bars_from_arrays(
            days * _DAY_NS,
            {
                "open": opens,
                "high": np.maximum(opens, closes) * np.exp(path.up[days]),
                "low": np.minimum(opens, closes) * np.exp(-path.down[days]),
                "close": closes,
                "volume": path.volume[days],
            },
        )

    def _intraday(self, key: SeriesKey, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
        minutes = key.timeframe.minutes
        assert minutes is not None
        per_day = 1440 // minutes
        path = self._path(key.symbol)
        sigma = self._config.annual_volatility / np.sqrt(_DAYS_PER_YEAR * per_day)
        first, last = lo.value // _DAY_NS, min(-(-hi.value // _DAY_NS), _LAST_DAY)
        symbol_id = zlib.crc32(key.symbol.encode())
        chunks: list[dict[str, npt.NDArray[np.float64]]] = []
        stamps: list[npt.NDArray[np.int64]] = []
        steps = np.arange(per_day + 1) / per_day
        for day in range(first, last):
            rng = np.random.default_rng([self._config.seed, symbol_id, day, minutes])
            walk = np.r_[0.0, np.cumsum(rng.normal(0.0, sigma, per_day))]
            start, stop = path.log_price[day], path.log_price[day + 1]
            # A Brownian bridge: the walk pinned to the day's open and close.
            log_price = start + walk - steps * walk[-1] + steps * (stop - start)
            opens, closes = np.exp(log_price[:-1]), np.exp(log_price[1:])
            excursion = np.abs(rng.normal(0.0, 0.5 * sigma, (2, per_day)))
            moved = np.abs(np.diff(log_price)) / sigma
            chunks.append(
                {
                    "open": opens,
                    "high": np.maximum(opens, closes) * np.exp(excursion[0]),
                    "low": np.minimum(opens, closes) * np.exp(-excursion[1]),
                    "close": closes,
                    "volume": path.volume[day]
                    / per_day
                    * rng.lognormal(0.0, 0.4, per_day)
                    * (1.0 + 0.5 * moved),
                }
            )
            stamps.append(day * _DAY_NS + np.arange(per_day, dtype=np.int64) * minutes * 60 * 10**9)
        if not chunks:
            return empty_bars()
        columns = {c: np.concatenate([chunk[c] for chunk in chunks]) for c in chunks[0]}
        return bars_from_arrays(np.concatenate(stamps), columns)


class _DailyPath:
    """A symbol's daily log prices from 1970 on, plus daily high/low excursions and volume."""

    def __init__(self, seed: int, symbol: str, volatility: float, drift: float) -> None:
        rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
        sigma = volatility / np.sqrt(_DAYS_PER_YEAR)
        mu = (drift - 0.5 * volatility**2) / _DAYS_PER_YEAR
        start = np.log(rng.uniform(10.0, 1000.0))
        steps = mu + sigma * rng.standard_normal(_LAST_DAY + 1)
        # The price sits at the drawn start on 2020-01-01, the era demos and tests look at.
        level = np.r_[0.0, np.cumsum(steps)]
        self.log_price = start + level - level[_ANCHOR_DAY]
        self.up = np.abs(rng.normal(0.0, 0.5 * sigma, _LAST_DAY + 1))
        self.down = np.abs(rng.normal(0.0, 0.5 * sigma, _LAST_DAY + 1))
        self.volume = rng.lognormal(np.log(1e6 / np.exp(start)), 0.3, _LAST_DAY + 1)


@lru_cache(maxsize=64)
def _daily_path(seed: int, symbol: str, volatility: float, drift: float) -> _DailyPath:
    return _DailyPath(seed, symbol, volatility, drift)
