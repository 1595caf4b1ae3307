"""Bars, timeframes and series keys: the market-data vocabulary of foanalytics.

Bars are a pandas DataFrame with a tz-aware UTC ``DatetimeIndex`` named ``timestamp`` (the bar's
open time, strictly increasing, nanosecond unit) and float64 columns ``open, high, low, close,
volume``. :func:`validate_bars` is the one gate every frame passes before it is stored or used.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from foanalytics.domain.errors import InvalidBarsError, InvalidInputError

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
INDEX_NAME = "timestamp"

_NS_PER_MINUTE = 60 * 1_000_000_000
# 1970-01-05 was a Monday: weekly bars open on Monday 00:00 UTC, as exchanges' weekly candles do.
_WEEK_ANCHOR_NS = 4 * 24 * 60 * _NS_PER_MINUTE
_SHOWN = 5

Int64Array = npt.NDArray[np.int64]


class Timeframe(StrEnum):
    """The bar interval of a series.

    Fixed intervals are anchored on the Unix epoch, weeks on Monday 00:00 UTC and months on the
    first of the month, so every timestamp has one grid it must sit on.

    Examples
    --------
    >>> Timeframe("4h").minutes
    240
    >>> Timeframe.H1.is_finer_than(Timeframe.D1)
    True
    """

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"
    W1 = "1w"
    MN1 = "1M"

    @property
    def minutes(self) -> int | None:
        """Length in minutes; ``None`` for months, which have no fixed length."""
        return _MINUTES[self]

    @property
    def nanos(self) -> int | None:
        """Length in nanoseconds; ``None`` for months."""
        minutes = _MINUTES[self]
        return None if minutes is None else minutes * _NS_PER_MINUTE

    @property
    def path_token(self) -> str:
        """A name safe on case-insensitive file systems (``1M`` and ``1m`` would collide)."""
        return "1mo" if self is Timeframe.MN1 else self.value

    @classmethod
    def from_path_token(cls, token: str) -> Timeframe:
        """Invert :attr:`path_token`."""
        return cls.MN1 if token == "1mo" else cls(token)

    @property
    def nominal_nanos(self) -> int:
        """Length in nanoseconds, a month counted as 1/12 of 365.25 days (for ordering only)."""
        return self.nanos if self.nanos is not None else int(365.25 * 24 * 60 * _NS_PER_MINUTE / 12)

    def is_finer_than(self, other: Timeframe) -> bool:
        """Return whether bars of this timeframe are shorter than ``other``'s."""
        return self.nominal_nanos < other.nominal_nanos

    def divides(self, other: Timeframe) -> bool:
        """Return whether every ``other`` bar is a whole number of bars of this timeframe.

        This is what resampling from ``self`` to ``other`` needs.

        Examples
        --------
        >>> Timeframe.H1.divides(Timeframe.H4), Timeframe.W1.divides(Timeframe.MN1)
        (True, False)
        """
        if self is other:
            return True
        if other is Timeframe.MN1:
            return self.nanos is not None and (24 * 60 * _NS_PER_MINUTE) % self.nanos == 0
        if self.nanos is None or other.nanos is None:
            return False
        return other.nanos > self.nanos and other.nanos % self.nanos == 0

    def floor(self, ns: Int64Array) -> Int64Array:
        """Floor epoch-nanosecond timestamps to the open time of the bar that holds them."""
        values = np.asarray(ns, dtype=np.int64)
        if self is Timeframe.MN1:
            months = values.astype("datetime64[ns]").astype("datetime64[M]")
            return months.astype("datetime64[ns]").view(np.int64)
        step = self.nanos
        assert step is not None
        anchor = _WEEK_ANCHOR_NS if self is Timeframe.W1 else 0
        return ((values - anchor) // step) * step + anchor

    def shift(self, ns: Int64Array, periods: int = 1) -> Int64Array:
        """Move grid timestamps forward by ``periods`` bars."""
        values = np.asarray(ns, dtype=np.int64)
        if self is Timeframe.MN1:
            months = values.astype("datetime64[ns]").astype("datetime64[M]") + periods
            return months.astype("datetime64[ns]").view(np.int64)
        assert self.nanos is not None
        return values + periods * self.nanos

    def grid(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
        """Return the grid timestamps in ``[start, end)``, UTC.

        Examples
        --------
        >>> Timeframe.H4.grid(pd.Timestamp("2024-01-01 01:00Z"), pd.Timestamp("2024-01-01 12:00Z"))
        ... # doctest: +NORMALIZE_WHITESPACE
        DatetimeIndex(['2024-01-01 04:00:00+00:00', '2024-01-01 08:00:00+00:00'],
                      dtype='datetime64[ns, UTC]', name='timestamp', freq=None)
        """
        lo, hi = to_utc(start).value, to_utc(end).value
        first = int(self.floor(np.array([lo]))[0])
        if first < lo:
            first = int(self.shift(np.array([first]))[0])
        if self is Timeframe.MN1:
            first_month = np.datetime64(first, "ns").astype("datetime64[M]")
            last_month = np.datetime64(hi, "ns").astype("datetime64[M]") + 1
            months = np.arange(first_month, last_month).astype("datetime64[ns]").view(np.int64)
            values = months[(months >= lo) & (months < hi)]
        else:
            assert self.nanos is not None
            values = np.arange(first, hi, self.nanos, dtype=np.int64)
        return index_from_ns(values)


_MINUTES: dict[Timeframe, int | None] = {
    Timeframe.M1: 1,
    Timeframe.M5: 5,
    Timeframe.M15: 15,
    Timeframe.M30: 30,
    Timeframe.H1: 60,
    Timeframe.H4: 240,
    Timeframe.D1: 1440,
    Timeframe.W1: 10080,
    Timeframe.MN1: None,
}

# Matched with ``fullmatch``: ``$`` would also accept a trailing newline.
_EXCHANGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_SYMBOL_RE = re.compile(r"[^\s/]+(/[^\s/]+)*")


class SeriesKey(BaseModel):
    """The identity of a bar series: ``(exchange, symbol, timeframe)``.

    The string form is ``EXCHANGE/SYMBOL/TIMEFRAME``. The exchange has no ``/`` and the timeframe
    is the last segment, so a symbol may itself hold ``/`` (``binance/BTC/USDT/1h``) and the form
    still parses one way only.

    Examples
    --------
    >>> key = SeriesKey.parse("binance/BTC/USDT/1h")
    >>> key.exchange, key.symbol, key.timeframe.value
    ('binance', 'BTC/USDT', '1h')
    >>> str(key)
    'binance/BTC/USDT/1h'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str
    symbol: str
    timeframe: Timeframe

    @field_validator("exchange")
    @classmethod
    def _check_exchange(cls, value: str) -> str:
        if not _EXCHANGE_RE.fullmatch(value):
            raise ValueError(
                f"exchange {value!r} must be letters, digits, '_', '.' or '-' (no '/' or spaces)"
            )
        return value

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        if not _SYMBOL_RE.fullmatch(value):
            raise ValueError(
                f"symbol {value!r} must be non-empty, without spaces, and '/' only between parts"
            )
        return value

    @classmethod
    def parse(cls, text: str) -> SeriesKey:
        """Parse ``EXCHANGE/SYMBOL/TIMEFRAME``; raise :class:`InvalidInputError` naming the text."""
        if not isinstance(text, str):
            raise InvalidInputError(f"series key must be a string, got {type(text).__name__}")
        # No strip: a key's text is its identity, so padding is rejected, not silently dropped.
        parts = text.split("/")
        if len(parts) < 3:
            raise InvalidInputError(
                f"series key {text!r} must look like EXCHANGE/SYMBOL/TIMEFRAME, "
                "e.g. binance/BTC/USDT/1h"
            )
        timeframes = ", ".join(t.value for t in Timeframe)
        try:
            timeframe = Timeframe(parts[-1])
        except ValueError:
            raise InvalidInputError(
                f"series key {text!r} ends in {parts[-1]!r}, which is not a timeframe "
                f"(one of {timeframes})"
            ) from None
        try:
            return cls(exchange=parts[0], symbol="/".join(parts[1:-1]), timeframe=timeframe)
        except ValueError as exc:
            raise InvalidInputError(f"series key {text!r}: {_first_error(exc)}") from None

    def __str__(self) -> str:
        return f"{self.exchange}/{self.symbol}/{self.timeframe.value}"

    def sort_key(self) -> tuple[str, str, int]:
        """Order keys by exchange, symbol, then bar length."""
        return (self.exchange, self.symbol, self.timeframe.nominal_nanos)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        details = errors()
        if details:
            return str(details[0].get("msg", exc))
    return str(exc)


def to_utc(value: Any) -> pd.Timestamp:
    """Convert a timestamp-like value to a UTC ``Timestamp``; naive values are read as UTC.

    Raises :class:`InvalidInputError` for values that are not timestamps.

    Examples
    --------
    >>> to_utc("2024-01-02")
    Timestamp('2024-01-02 00:00:00+0000', tz='UTC')
    """
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{value!r} is not a timestamp: {exc}") from None
    if pd.isna(stamp):
        raise InvalidInputError(f"{value!r} is not a timestamp")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def index_from_ns(values: Int64Array) -> pd.DatetimeIndex:
    """Build a bars index from epoch nanoseconds."""
    return pd.DatetimeIndex(
        np.asarray(values, dtype=np.int64).view("datetime64[ns]"), name=INDEX_NAME
    ).tz_localize("UTC")


def index_ns(index: pd.DatetimeIndex) -> Int64Array:
    """Return a UTC bars index as epoch nanoseconds (no copy when already in ns)."""
    return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)


def empty_bars() -> pd.DataFrame:
    """Return a frame with no bars and the right columns, dtypes and index."""
    return bars_from_arrays(np.empty(0, dtype=np.int64), {c: np.empty(0) for c in BAR_COLUMNS})


def bars_from_arrays(ns: Int64Array, columns: dict[str, npt.NDArray[np.float64]]) -> pd.DataFrame:
    """Assemble a bars frame from epoch nanoseconds and float64 column arrays (no validation)."""
    return pd.DataFrame(
        {c: np.asarray(columns[c], dtype=np.float64) for c in BAR_COLUMNS},
        index=index_from_ns(ns),
    )


class RepairReport(BaseModel):
    """What ``validate_bars(..., repair=True)`` changed: it sorts and drops exact duplicates."""

    model_config = ConfigDict(frozen=True)

    sorted: bool = False
    duplicates_dropped: int = 0

    @property
    def changed(self) -> bool:
        """Whether the repair changed anything."""
        return self.sorted or self.duplicates_dropped > 0


class ValidatedBars(NamedTuple):
    """The result of :func:`validate_bars`: the normalised frame and what a repair changed."""

    bars: pd.DataFrame
    repairs: RepairReport


def validate_bars(
    bars: pd.DataFrame, timeframe: Timeframe | None = None, *, repair: bool = False
) -> ValidatedBars:
    """Check a frame against the bars convention and return it normalised.

    The frame may carry its timestamps as the index or as a ``timestamp`` column, in any time
    zone (converted to UTC), with integer or float columns (converted to float64). It is
    rejected, with an :class:`InvalidBarsError` naming the column, the rule, the first offending
    timestamps and their count, when it has naive timestamps, missing or extra columns,
    non-numeric, NaN or infinite values, non-positive prices, negative volume,
    ``high < max(open, close)``, ``low > min(open, close)``, duplicate or unsorted timestamps,
    or (when ``timeframe`` is given) timestamps off the timeframe's grid.

    With ``repair=True`` it first sorts the rows and drops exact duplicates (same timestamp and
    values), and reports that in ``repairs``; it never changes a price.

    Examples
    --------
    >>> raw = pd.DataFrame(
    ...     {"open": [2.0, 1.0], "high": [2.5, 1.5], "low": [1.5, 0.5], "close": [2.0, 1.0],
    ...      "volume": [10, 20]},
    ...     index=pd.to_datetime(["2024-01-02", "2024-01-01"], utc=True))
    >>> validate_bars(raw, Timeframe.D1)
    Traceback (most recent call last):
    ...
    foanalytics.domain.errors.InvalidBarsError: column 'timestamp': 1 row out of order ...
    >>> bars, report = validate_bars(raw, Timeframe.D1, repair=True)
    >>> report.sorted, list(bars["close"])
    (True, [1.0, 2.0])
    """
    if not isinstance(bars, pd.DataFrame):
        raise InvalidInputError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    frame = bars
    if not isinstance(frame.index, pd.DatetimeIndex) and INDEX_NAME in frame.columns:
        frame = frame.set_index(INDEX_NAME)
    index = frame.index
    if len(index) == 0 and not (isinstance(index, pd.DatetimeIndex) and index.tz is not None):
        # With no rows no timestamp can be wrong: ``pd.DataFrame(columns=BAR_COLUMNS)`` is valid.
        index = pd.DatetimeIndex([], tz="UTC")
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidBarsError(
            f"column {INDEX_NAME!r}: the index must be a DatetimeIndex (or a {INDEX_NAME!r} "
            f"column), got {type(index).__name__}",
            column=INDEX_NAME,
            rule="not_datetime",
            count=len(index),
        )
    if index.tz is None:
        _fail(
            INDEX_NAME,
            "naive",
            "with no time zone (localise them first, e.g. tz_localize('UTC'))",
            np.ones(len(index), dtype=bool),
            index,
        )
    _check_columns(frame)
    index = index.tz_convert("UTC").as_unit("ns")
    missing = np.asarray(index.isna(), dtype=bool)
    if missing.any():
        # NaT is the smallest int64: left in, it would pass as sorted and on the grid.
        count = int(missing.sum())
        rows = ", ".join(str(i) for i in np.flatnonzero(missing)[:_SHOWN])
        raise InvalidBarsError(
            f"column {INDEX_NAME!r}: {count} {'row' if count == 1 else 'rows'} with no timestamp "
            f"(NaT), first at row position {rows}; drop them or fill in their open times",
            column=INDEX_NAME,
            rule="nat",
            count=count,
        )
    ns = np.asarray(index.asi8, dtype=np.int64)
    values = {c: _as_float(frame[c], ns) for c in BAR_COLUMNS}

    report = RepairReport()
    if repair:
        ns, values, report = _repair(ns, values)
    _check_order(ns)
    if timeframe is not None:
        off = timeframe.floor(ns) != ns
        if off.any():
            _fail_ns(
                INDEX_NAME,
                "off_grid",
                f"off the {timeframe.value} grid (timestamps must be bar open times)",
                off,
                ns,
            )
    _check_values(ns, values)
    return ValidatedBars(bars_from_arrays(ns, values), report)


def _check_columns(frame: pd.DataFrame) -> None:
    repeated = [str(c) for c in frame.columns[frame.columns.duplicated()]]
    if repeated:
        raise InvalidBarsError(
            f"column {repeated[0]!r} appears more than once; keep one of each bars column",
            column=repeated[0],
            rule="duplicate_column",
        )
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidBarsError(
            f"column {missing[0]!r} is missing; bars need columns {', '.join(BAR_COLUMNS)} "
            f"(got {', '.join(map(str, frame.columns)) or 'none'})",
            column=missing[0],
            rule="missing_column",
        )
    extra = [str(c) for c in frame.columns if c not in BAR_COLUMNS]
    if extra:
        raise InvalidBarsError(
            f"column {extra[0]!r} is not a bars column; select {', '.join(BAR_COLUMNS)} only",
            column=extra[0],
            rule="unexpected_column",
        )


def _as_float(column: pd.Series, ns: Int64Array) -> npt.NDArray[np.float64]:
    dtype = column.dtype
    types = pd.api.types
    if (
        types.is_numeric_dtype(dtype)
        and not types.is_bool_dtype(dtype)
        and not types.is_complex_dtype(dtype)
    ):
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    if types.is_object_dtype(dtype):
        # An object column passes when every cell is a real number (or missing, caught as NaN).
        values, bad = _object_to_float(column.to_numpy(dtype=object))
    else:
        # bool, complex, datetime, string, category...: no row holds a usable price.
        values, bad = np.full(len(column), np.nan), np.ones(len(column), dtype=bool)
    if bad.any():
        _fail_ns(str(column.name), "not_numeric", f"that are not numbers (dtype {dtype})", bad, ns)
    return values


def _object_to_float(
    cells: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    values = np.full(len(cells), np.nan)
    bad = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(cells):
        if cell is None or cell is pd.NA:
            continue
        if isinstance(cell, bool | np.bool_) or not isinstance(cell, int | float | np.number):
            bad[i] = True
            continue
        try:
            values[i] = float(cell)
        except (OverflowError, TypeError):
            bad[i] = True
    return values, bad


def _repair(
    ns: Int64Array, values: dict[str, npt.NDArray[np.float64]]
) -> tuple[Int64Array, dict[str, npt.NDArray[np.float64]], RepairReport]:
    was_sorted = bool(np.all(ns[1:] >= ns[:-1])) if len(ns) > 1 else True
    if not was_sorted:
        order = np.argsort(ns, kind="stable")
        ns = ns[order]
        values = {c: v[order] for c, v in values.items()}
    same_time = np.zeros(len(ns), dtype=bool)
    if len(ns) > 1:
        same_time[1:] = ns[1:] == ns[:-1]
    # A repeated timestamp is an exact duplicate only if every value equals the row before it
    # (after sorting, equal timestamps are adjacent; NaN never equals, so it is never dropped).
    exact = same_time.copy()
    for column in values.values():
        exact[1:] &= column[1:] == column[:-1]
    dropped = int(exact.sum())
    if dropped:
        keep = ~exact
        ns = ns[keep]
        values = {c: v[keep] for c, v in values.items()}
    return ns, values, RepairReport(sorted=not was_sorted, duplicates_dropped=dropped)


def _check_order(ns: Int64Array) -> None:
    if len(ns) < 2:
        return
    step = np.diff(ns)
    if (step == 0).any() and not (step < 0).any():
        dup = np.zeros(len(ns), dtype=bool)
        dup[1:] = step == 0
        _fail_ns(
            INDEX_NAME,
            "duplicate_timestamp",
            "with a repeated timestamp (repair=True drops exact copies)",
            dup,
            ns,
        )
    if (step <= 0).any():
        unsorted = np.zeros(len(ns), dtype=bool)
        unsorted[1:] = step < 0
        if not unsorted.any():
            unsorted[1:] = step == 0
        _fail_ns(
            INDEX_NAME,
            "unsorted",
            "out of order (sort by timestamp; repair=True sorts)",
            unsorted,
            ns,
        )


def _check_values(ns: Int64Array, values: dict[str, npt.NDArray[np.float64]]) -> None:
    for name, column in values.items():
        bad = ~np.isfinite(column)
        if bad.any():
            _fail_ns(name, "not_finite", "with NaN or infinite values", bad, ns)
    for name in PRICE_COLUMNS:
        bad = values[name] <= 0
        if bad.any():
            _fail_ns(name, "non_positive", "with zero or negative prices", bad, ns)
    bad = values["volume"] < 0
    if bad.any():
        _fail_ns("volume", "negative", "with negative volume", bad, ns)
    top = np.maximum(values["open"], values["close"])
    bad = values["high"] < top
    if bad.any():
        _fail_ns("high", "high_below_body", "with high below max(open, close)", bad, ns)
    bottom = np.minimum(values["open"], values["close"])
    bad = values["low"] > bottom
    if bad.any():
        _fail_ns("low", "low_above_body", "with low above min(open, close)", bad, ns)


def _fail_ns(
    column: str, rule: str, what: str, mask: npt.NDArray[np.bool_], ns: Int64Array
) -> None:
    _fail(column, rule, what, mask, index_from_ns(ns))


def _fail(
    column: str, rule: str, what: str, mask: npt.NDArray[np.bool_], index: pd.DatetimeIndex
) -> None:
    count = int(mask.sum())
    shown = tuple(ts.isoformat() for ts in index[np.flatnonzero(mask)[:_SHOWN]])
    noun = "row" if count == 1 else "rows"
    message = f"column {column!r}: {count} {noun} {what}, first at {', '.join(shown)}"
    raise InvalidBarsError(message, column=column, rule=rule, timestamps=shown, count=count)


def resample_bars(bars: pd.DataFrame, source: Timeframe, target: Timeframe) -> pd.DataFrame:
    """Aggregate validated bars to a coarser timeframe on the target's grid.

    Open is the first open, high the max, low the min, close the last close and volume the sum
    of the bars inside each target bar; target bars with no source bar are left out, never
    invented. A partial target bar (say the newest, still forming) is kept.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=6, freq="h", tz="UTC")
    >>> hourly = pd.DataFrame({"open": [1.0, 2, 3, 4, 5, 6], "high": [2.0, 3, 4, 5, 6, 7],
    ...     "low": [0.5, 1, 2, 3, 4, 5], "close": [2.0, 3, 4, 5, 6, 7], "volume": [1.0] * 6},
    ...     index=idx.rename("timestamp"))
    >>> resample_bars(hourly, Timeframe.H1, Timeframe.H4)[["open", "high", "close", "volume"]]
                               open  high  close  volume
    timestamp
    2024-01-01 00:00:00+00:00   1.0   5.0    5.0     4.0
    2024-01-01 04:00:00+00:00   5.0   7.0    7.0     2.0
    """
    if source is target:
        return bars
    if not source.divides(target):
        raise InvalidInputError(
            f"cannot resample {source.value} bars to {target.value}: the target must be coarser "
            f"and a whole number of {source.value} bars"
        )
    ns = index_ns(pd.DatetimeIndex(bars.index))
    if len(ns) == 0:
        return empty_bars()
    labels = target.floor(ns)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(ns)] - 1
    column = {c: bars[c].to_numpy(dtype=np.float64) for c in BAR_COLUMNS}
    return bars_from_arrays(
        labels[starts],
        {
            "open": column["open"][starts],
            "high": np.maximum.reduceat(column["high"], starts),
            "low": np.minimum.reduceat(column["low"], starts),
            "close": column["close"][ends],
            "volume": np.add.reduceat(column["volume"], starts),
        },
    )


def slice_bars(bars: pd.DataFrame, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Return the bars in ``[start, end)`` of a sorted bars frame (either bound may be ``None``)."""
    ns = index_ns(pd.DatetimeIndex(bars.index))
    lo = 0 if start is None else int(np.searchsorted(ns, to_utc(start).value, side="left"))
    hi = len(ns) if end is None else int(np.searchsorted(ns, to_utc(end).value, side="left"))
    return bars.iloc[lo : max(lo, hi)]


def infer_timeframe(index: pd.DatetimeIndex) -> Timeframe:
    """Infer the timeframe of a bar index from its most common spacing.

    Month spacing (28 to 31 days) is read as ``1M``. Raises :class:`InvalidInputError` when
    there are fewer than two bars or the spacing matches no timeframe.

    Examples
    --------
    >>> infer_timeframe(pd.date_range("2024-01-01", periods=5, freq="4h", tz="UTC")).value
    '4h'
    >>> infer_timeframe(pd.date_range("2024-01-01", periods=5, freq="MS", tz="UTC")).value
    '1M'
    """
    ns = index_ns(pd.DatetimeIndex(index))
    if len(ns) < 2:
        raise InvalidInputError("cannot infer a timeframe from fewer than two bars")
    steps, counts = np.unique(np.diff(ns), return_counts=True)
    step = int(steps[np.argmax(counts)])
    for timeframe in Timeframe:
        if timeframe.nanos == step:
            return timeframe
    day = 24 * 60 * _NS_PER_MINUTE
    if 28 * day <= step <= 31 * day:
        return Timeframe.MN1
    raise InvalidInputError(
        f"bars are spaced {pd.Timedelta(step)} apart, which is no timeframe "
        f"({', '.join(t.value for t in Timeframe)}); give the timeframe explicitly"
    )
