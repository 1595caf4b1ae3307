"""The backtesting use cases: run a strategy, compare several, sweep a template's parameters."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from foanalytics.domain.backtest import BacktestResult
from foanalytics.domain.calendars import (
    Calendar,
    parse_calendar,
    periods_per_year,
    resolve_calendar,
)
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import (
    SeriesKey,
    Timeframe,
    infer_timeframe,
    slice_bars,
    validate_bars,
)
from foanalytics.domain.metrics import PerformanceStats
from foanalytics.domain.strategy import StrategySpec
from foanalytics.domain.templates import TEMPLATES, Template, build_template
from foanalytics.ports.engines import BacktestEngine
from foanalytics.services.market_data import MarketDataService

#: A strategy: a spec, or a template name with its parameters.
StrategyLike = StrategySpec | str
#: Where bars come from: a stored series, or a bars frame (validated here).
BarsLike = SeriesKey | pd.DataFrame
SweepProgress = Callable[[int, int], None]


class BacktestService:
    """Backtest strategy specs on stored series or given bars, with any configured engine.

    Examples
    --------
    >>> from foanalytics import Settings, build
    >>> services = build(Settings(storage={"backend": "memory"}))
    >>> key = SeriesKey.parse("synthetic/BTC/USD/1h")
    >>> _ = services.market_data.ingest("synthetic", key, "2024-01-01", "2024-03-01")
    >>> result = services.backtesting.run("sma_crossover", key, params={"fast": 10, "slow": 30})
    >>> result.engine, result.stats.trades > 0
    ('native', True)
    """

    def __init__(
        self,
        market_data: MarketDataService,
        engines: Mapping[str, BacktestEngine],
        default_engine: str = "native",
    ) -> None:
        self._market = market_data
        self._engines = engines
        self._default = default_engine

    def strategies(self) -> list[Template]:
        """Return the strategy templates, with their parameters and defaults."""
        return [TEMPLATES[name] for name in sorted(TEMPLATES)]

    def engine(self, name: str | None = None) -> BacktestEngine:
        """Return the engine called ``name`` (the default when ``None``)."""
        name = name or self._default
        try:
            return self._engines[name]
        except KeyError:
            choices = ", ".join(sorted(self._engines))
            raise InvalidInputError(f"unknown engine {name!r}; engines: {choices}") from None

    def load(
        self,
        source: BarsLike,
        start: Any = None,
        end: Any = None,
        timeframe: Timeframe | str | None = None,
    ) -> tuple[pd.DataFrame, Timeframe]:
        """Return validated bars and their timeframe from a stored key or a frame."""
        if isinstance(source, SeriesKey):
            bars = self._market.bars(source, start, end, timeframe)
            target = Timeframe(timeframe) if timeframe else source.timeframe
            return bars, target
        if not isinstance(source, pd.DataFrame):
            raise InvalidInputError(
                f"bars must be a SeriesKey or a DataFrame, got {type(source).__name__}"
            )
        tf = Timeframe(timeframe) if timeframe else infer_timeframe(pd.DatetimeIndex(source.index))
        bars = validate_bars(source, tf).bars
        if start is not None or end is not None:
            bars = slice_bars(bars, start, end)
        return bars, tf

    def run(
        self,
        strategy: StrategyLike,
        source: BarsLike,
        start: Any = None,
        end: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        engine: str | None = None,
        timeframe: Timeframe | str | None = None,
        calendar: Calendar | str = Calendar.AUTO,
        periods: float | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> BacktestResult:
        """Backtest one strategy.

        ``strategy`` is a spec or a template name (built with ``params``); ``overrides``
        replaces spec fields (``initial_cash``, ``costs``, ``stop_loss``, ...). ``periods``
        overrides the periods per year, otherwise taken from the timeframe and ``calendar``.
        """
        spec = self.spec(strategy, params, overrides)
        bars, tf = self.load(source, start, end, timeframe)
        per_year = periods or _periods(tf, calendar, bars)
        return self.engine(engine).run(spec, bars, per_year)

    def spec(
        self,
        strategy: StrategyLike,
        params: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> StrategySpec:
        """Resolve a strategy: a spec as is, or a template built from ``params``."""
        if isinstance(strategy, StrategySpec):
            if params:
                raise InvalidInputError("params apply to templates, not to a ready spec")
            spec = strategy
        elif isinstance(strategy, str):
            spec = build_template(strategy, params)
        else:
            raise InvalidInputError(
                f"strategy must be a StrategySpec or a template name, got {type(strategy).__name__}"
            )
        if overrides:
            data = spec.model_dump()
            for field, value in overrides.items():
                if field not in StrategySpec.model_fields:
                    raise InvalidInputError(f"{field!r} is not a strategy spec field")
                if isinstance(value, Mapping) and isinstance(data.get(field), dict):
                    data[field] = {**data[field], **value}
                else:
                    data[field] = value
            spec = StrategySpec.parse(data)
        return spec

    def compare(
        self,
        strategies: Sequence[StrategyLike],
        source: BarsLike,
        start: Any = None,
        end: Any = None,
        **options: Any,
    ) -> pd.DataFrame:
        """Run several strategies on the same bars; one row of stats per strategy."""
        rows = {}
        for strategy in strategies:
            result = self.run(strategy, source, start, end, **options)
            rows[result.spec.name] = result.stats.model_dump()
        return pd.DataFrame.from_dict(rows, orient="index")

    def sweep(
        self,
        template: str,
        grid: Mapping[str, Sequence[Any]],
        source: BarsLike,
        start: Any = None,
        end: Any = None,
        *,
        metric: str = "sharpe",
        progress: SweepProgress | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """Run every combination of ``grid`` for a template; rows sorted by ``metric``, best first.

        Combinations the template rejects (say fast >= slow for a crossover) are skipped. The
        bars are loaded once.
        """
        if metric not in PerformanceStats.model_fields:
            raise InvalidInputError(
                f"unknown metric {metric!r}; use one of {', '.join(PerformanceStats.model_fields)}"
            )
        if not grid:
            raise InvalidInputError("the sweep grid is empty")
        names = list(grid)
        combos = list(itertools.product(*(grid[n] for n in names)))
        bars, tf = self.load(source, start, end, options.pop("timeframe", None))
        calendar = options.pop("calendar", Calendar.AUTO)
        per_year = options.pop("periods", None) or _periods(tf, calendar, bars)
        engine = self.engine(options.pop("engine", None))
        overrides = options.pop("overrides", None)
        if options:
            raise InvalidInputError(f"unknown sweep option(s): {', '.join(sorted(options))}")
        rows = []
        for done, values in enumerate(combos, start=1):
            params = dict(zip(names, values, strict=True))
            try:
                spec = self.spec(template, params, overrides)
            except InvalidInputError:
                if progress is not None:
                    progress(done, len(combos))
                continue
            result = engine.run(spec, bars, per_year)
            rows.append({**params, **result.stats.model_dump()})
            if progress is not None:
                progress(done, len(combos))
        if not rows:
            raise InvalidInputError(f"no combination of the grid is a valid {template}")
        frame = pd.DataFrame(rows)
        return frame.sort_values(metric, ascending=False, na_position="last").reset_index(drop=True)


def _periods(timeframe: Timeframe, calendar: Calendar | str, bars: pd.DataFrame) -> float:
    resolved = resolve_calendar(parse_calendar(calendar), pd.DatetimeIndex(bars.index))
    return periods_per_year(timeframe, resolved)
