"""The market-data use cases: ingest, query, find and fill gaps, summarise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from foanalytics.domain.calendars import (
    Calendar,
    parse_calendar,
    periods_per_year,
    resolve_calendar,
)
from foanalytics.domain.errors import InvalidInputError, NotFoundError
from foanalytics.domain.gaps import find_gaps
from foanalytics.domain.market import (
    SeriesKey,
    Timeframe,
    empty_bars,
    index_ns,
    resample_bars,
    to_utc,
)
from foanalytics.domain.series import CompletenessReport, GapReport, IngestReport, SeriesStats
from foanalytics.ports.market_data import MarketDataSource, ProgressCallback
from foanalytics.ports.storage import BarStore, Coverage


class MarketDataService:
    """Market data in, validated, stored, queried, with gaps found and filled.

    Sources are given by name (``"synthetic"``, ``"ccxt"``) from the ``sources`` it was built
    with, or passed directly as any :class:`MarketDataSource`.

    Examples
    --------
    >>> from foanalytics import Settings, build
    >>> services = build(Settings(storage={"backend": "memory"}))
    >>> key = SeriesKey.parse("synthetic/ETH/USD/1h")
    >>> services.market_data.ingest("synthetic", key, "2024-01-01", "2024-01-03").rows
    48
    >>> len(services.market_data.bars(key, timeframe="4h"))
    12
    >>> services.market_data.gaps(key).missing_bars
    0
    """

    def __init__(self, store: BarStore, sources: Mapping[str, MarketDataSource]) -> None:
        self._store = store
        self._sources = sources

    @property
    def source_names(self) -> list[str]:
        """Return the names of the configured sources."""
        return sorted(self._sources)

    def source(self, source: str | MarketDataSource) -> MarketDataSource:
        """Resolve a source name to the configured source (objects pass through)."""
        if not isinstance(source, str):
            return source
        try:
            return self._sources[source]
        except KeyError:
            raise InvalidInputError(
                f"unknown source {source!r}; configured: {', '.join(self.source_names)}"
            ) from None

    def ingest(
        self,
        source: str | MarketDataSource,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Fetch ``key`` over ``[start, end)`` from ``source`` and upsert it into the store.

        The bars are validated before anything is written; bad bars store nothing.
        """
        return self.ingest_all(source, [key], start, end, progress)[0]

    def ingest_all(
        self,
        source: str | MarketDataSource,
        keys: list[SeriesKey],
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> list[IngestReport]:
        """Fetch every key first, then store them: one bad series stores none of them."""
        provider = self.source(source)
        fetched = [(key, provider.fetch(key, start, end, progress)) for key in keys]
        name = provider.info().name
        reports = []
        for key, bars in fetched:
            rows = self._store.write(key, bars)
            first, last = (bars.index[0], bars.index[-1]) if rows else (None, None)
            reports.append(IngestReport(key=key, source=name, rows=rows, start=first, end=last))
        return reports

    def list(self) -> list[Coverage]:
        """Return the coverage of every stored series, sorted by key."""
        return [self._store.coverage(key) for key in self._store.keys()]

    def bars(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        timeframe: Timeframe | str | None = None,
    ) -> pd.DataFrame:
        """Return the stored bars of ``key`` in ``[start, end)``, resampled to ``timeframe``.

        Resampled bars are those whose open time is in ``[start, end)``, each aggregated from
        all of its source bars: a 4h bar opening before ``start`` is left out, one opening
        before ``end`` is kept whole, never cut at the bounds.
        """
        target = _timeframe(timeframe) if timeframe is not None else key.timeframe
        if target is key.timeframe:
            return self._store.read(key, start, end)
        if not key.timeframe.divides(target):
            raise InvalidInputError(
                f"cannot resample {key} to {target.value}: ask for a coarser timeframe that is "
                f"a whole number of {key.timeframe.value} bars"
            )
        lo = None if start is None else _ceil(target, to_utc(start))
        hi = None if end is None else _ceil(target, to_utc(end))
        coarse = resample_bars(self._store.read(key, lo, hi), key.timeframe, target)
        return coarse if len(coarse) else empty_bars()

    def gaps(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        calendar: Calendar | str = Calendar.AUTO,
    ) -> GapReport:
        """Report the bars ``calendar`` expects in ``[start, end)`` that the store lacks.

        The range defaults to the stored series' first bar up to and including its last.
        ``auto`` picks ``weekdays`` for a series with no weekend bar, else ``24/7``.
        """
        coverage = self._store.coverage(key)
        lo = coverage.start if start is None else to_utc(start)
        hi = _after(key.timeframe, coverage.end) if end is None else to_utc(end)
        index = pd.DatetimeIndex(self._store.read(key, lo, hi).index)
        resolved = resolve_calendar(parse_calendar(calendar), index)
        gaps = find_gaps(index, key.timeframe, lo, hi, resolved)
        return GapReport(key=key, calendar=resolved, start=lo, end=hi, gaps=tuple(gaps))

    def ensure_complete(
        self,
        key: SeriesKey,
        start: Any,
        end: Any,
        source: str | MarketDataSource,
        calendar: Calendar | str = Calendar.AUTO,
        progress: ProgressCallback | None = None,
    ) -> CompletenessReport:
        """Fetch only the missing bars of ``[start, end)`` from ``source``, store them, report.

        A series not stored yet is fetched whole. What the source cannot provide either (an
        exchange outage, a holiday the calendar does not know) stays in ``gaps_after``.
        """
        provider = self.source(source)
        lo, hi = to_utc(start), to_utc(end)
        before = self._gaps_or_all(key, lo, hi, parse_calendar(calendar))
        fetched = 0
        for gap in before.gaps:
            fetched += self._store.write(key, provider.fetch(key, gap.start, gap.end, progress))
        after = self._gaps_or_all(key, lo, hi, before.calendar)
        return CompletenessReport(
            key=key,
            source=provider.info().name,
            fetched_rows=fetched,
            gaps_before=before,
            gaps_after=after,
        )

    def stats(self, key: SeriesKey, calendar: Calendar | str = Calendar.AUTO) -> SeriesStats:
        """Summarise a stored series: coverage, gaps and close-to-close return statistics."""
        bars = self._store.read(key)
        if bars.empty:
            raise NotFoundError(f"series {key} holds no bars")
        report = self.gaps(key, calendar=calendar)
        close = bars["close"].to_numpy()
        returns = close[1:] / close[:-1] - 1.0
        per_year = periods_per_year(key.timeframe, report.calendar)
        many = len(returns) > 1
        return SeriesStats(
            key=key,
            rows=len(bars),
            start=bars.index[0],
            end=bars.index[-1],
            calendar=report.calendar,
            gaps=len(report.gaps),
            missing_bars=report.missing_bars,
            periods_per_year=per_year,
            first_close=float(close[0]),
            last_close=float(close[-1]),
            total_return=float(close[-1] / close[0] - 1.0),
            mean_return=float(returns.mean()) if len(returns) else 0.0,
            volatility=float(returns.std(ddof=1) * np.sqrt(per_year)) if many else None,
            best_return=float(returns.max()) if len(returns) else None,
            worst_return=float(returns.min()) if len(returns) else None,
        )

    def delete(self, key: SeriesKey, start: Any = None, end: Any = None) -> int:
        """Delete the stored bars of ``key`` in ``[start, end)``; return how many went."""
        return self._store.delete(key, start, end)

    def _gaps_or_all(
        self, key: SeriesKey, lo: pd.Timestamp, hi: pd.Timestamp, calendar: Calendar
    ) -> GapReport:
        try:
            return self.gaps(key, lo, hi, calendar)
        except NotFoundError:
            resolved = Calendar.ALWAYS if calendar is Calendar.AUTO else calendar
            gaps = find_gaps(pd.DatetimeIndex([], tz="UTC"), key.timeframe, lo, hi, resolved)
            return GapReport(key=key, calendar=resolved, start=lo, end=hi, gaps=tuple(gaps))


def _timeframe(value: Timeframe | str) -> Timeframe:
    try:
        return Timeframe(value)
    except ValueError:
        choices = ", ".join(t.value for t in Timeframe)
        raise InvalidInputError(f"unknown timeframe {value!r}; use one of {choices}") from None


def _ceil(timeframe: Timeframe, stamp: pd.Timestamp) -> pd.Timestamp:
    ns = np.array([stamp.value], dtype=np.int64)
    floor = timeframe.floor(ns)
    value = floor if floor[0] == ns[0] else timeframe.shift(floor)
    return pd.Timestamp(int(value[0]), tz="UTC")


def _after(timeframe: Timeframe, stamp: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(int(timeframe.shift(index_ns(pd.DatetimeIndex([stamp])))[0]), tz="UTC")
