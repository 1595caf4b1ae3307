"""Stored series: list them, read bars, find gaps."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import MarketData
from foanalytics.domain.calendars import Calendar
from foanalytics.domain.market import SeriesKey

router = APIRouter(prefix="/data", tags=["data"])


class SeriesOut(BaseModel):
    key: str
    rows: int
    start: datetime
    end: datetime


class Bar(BaseModel):
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class GapsOut(BaseModel):
    key: str
    calendar: str
    missing: list[tuple[datetime, datetime]]
    count: int


@router.get("/series")
def list_series(market: MarketData) -> list[SeriesOut]:
    """List stored series with row counts and first and last bars."""
    return [SeriesOut(key=str(c.key), rows=c.rows, start=c.start, end=c.end) for c in market.list()]


@router.get("/series/{key:path}/bars")
def bars(
    key: str,
    market: MarketData,
    start: datetime | None = None,
    end: datetime | None = None,
    timeframe: str | None = None,
) -> list[Bar]:
    """Return the bars of a series in [start, end), optionally resampled."""
    frame = market.bars(SeriesKey.parse(key), start, end, timeframe)
    return [
        Bar(
            timestamp=row.Index,
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            volume=row.volume,
        )
        for row in frame.itertuples()
    ]


@router.get("/series/{key:path}/gaps")
def gaps(
    key: str,
    market: MarketData,
    start: datetime | None = None,
    end: datetime | None = None,
    calendar: Calendar = Calendar.AUTO,
) -> GapsOut:
    """Report the missing bars of a series."""
    report = market.gaps(SeriesKey.parse(key), start, end, calendar)
    return GapsOut(
        key=key,
        calendar=report.calendar.value,
        missing=[(g.start, g.end) for g in report.gaps],
        count=report.missing_bars,
    )
