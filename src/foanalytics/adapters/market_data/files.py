"""``FileMarketDataSource``: bars from CSV, Parquet and Feather files.

Reads the common layouts as they come: backtrader / Yahoo (``Date,Open,High,Low,Close,Adj
Close,Volume``), backtesting.py (an unnamed date index), freqtrade (``date,open,...`` with
tz-aware UTC), exchange dumps with epoch-millisecond timestamps, and close-only price panels.
Columns are found by name, case and spacing ignored, unless mapped explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.errors import InvalidBarsError, InvalidInputError, NotFoundError
from foanalytics.domain.market import (
    BAR_COLUMNS,
    INDEX_NAME,
    SeriesKey,
    Timeframe,
    index_from_ns,
    index_ns,
    infer_timeframe,
    slice_bars,
    validate_bars,
)
from foanalytics.ports.market_data import ProgressCallback, SourceInfo

_CSV = {".csv", ".txt", ".tsv"}
_PARQUET = {".parquet", ".pq"}
_FEATHER = {".feather", ".arrow", ".ipc"}

# Normalised header names (lower case, no spaces, dashes or underscores) for each column.
_ALIASES: dict[str, tuple[str, ...]] = {
    INDEX_NAME: ("timestamp", "date", "datetime", "time", "opentime", "unnamed0", "index", ""),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "last", "price"),
    "volume": ("volume", "vol", "v", "tickvolume", "basevolume"),
}
# Epoch numbers by magnitude: seconds ~1e9, milliseconds ~1e12, microseconds ~1e15.
_EpochUnit = Literal["s", "ms", "us", "ns"]
_EPOCH_UNITS: tuple[tuple[float, _EpochUnit], ...] = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


class FileSourceConfig(BaseModel):
    """How to read a bars file.

    Attributes
    ----------
    columns
        Explicit mapping from a bars column (``timestamp``, ``open``, ...) to the file's header;
        anything not mapped is found by name.
    tz
        Time zone of timestamps written without one (default UTC); zoned ones are converted.
    date_format
        A ``strftime`` format for the timestamps when pandas cannot infer it; ``dayfirst``
        reads ambiguous ``01/02/2024`` as 1 February.
    label
        ``start`` when timestamps are bar open times (the convention), ``end`` when they label
        the end of the bar's period (month-end dates of monthly data, close times of intraday
        bars): each is then moved to the open of the bar it closes.
    close_only
        Read a file of closes (a price panel column) as flat bars: open, high and low equal
        the close, volume 0 unless the file has one; leading empty rows (an asset not yet
        listed) are dropped. Never implied: without it, a file with no open column is an error.
    repair
        Sort rows and drop exact duplicates before validating (see ``validate_bars``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: dict[str, str] = {}
    tz: str = "UTC"
    date_format: str | None = None
    dayfirst: bool = False
    label: Literal["start", "end"] = "start"
    close_only: bool = False
    repair: bool = False


class FileMarketDataSource:
    r"""A :class:`MarketDataSource` serving each series key from a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "abc.csv"
    >>> _ = path.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
    ...                     "2024-01-02,10,11,9,10.5,10.4,1000\n"
    ...                     "2024-01-03,10.5,12,10,11,10.9,900\n")
    >>> key = SeriesKey.parse("nasdaq/ABC/1d")
    >>> FileMarketDataSource({key: path}).fetch(key)["close"].tolist()
    [10.5, 11.0]
    """

    def __init__(
        self,
        files: Mapping[SeriesKey, str | Path],
        config: FileSourceConfig | None = None,
        configs: Mapping[SeriesKey, FileSourceConfig] | None = None,
    ) -> None:
        self._files = {key: Path(path) for key, path in files.items()}
        self._config = config or FileSourceConfig()
        self._configs = dict(configs or {})

    @classmethod
    def panel(
        cls, path: str | Path, key_template: str, config: FileSourceConfig | None = None
    ) -> FileMarketDataSource:
        r"""Serve every price column of a panel file (one column per asset) as flat bars.

        ``key_template`` holds ``{column}``, replaced by each column's name; the panel is read
        with ``close_only``. ``source.keys`` lists the series.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "panel.csv"
        >>> _ = path.write_text("date,AAA,BBB\n2024-01-02,,5\n2024-01-03,10,6\n")
        >>> source = FileMarketDataSource.panel(path, "yahoo/{column}/1d")
        >>> [(str(k), len(source.fetch(k))) for k in source.keys]
        [('yahoo/AAA/1d', 1), ('yahoo/BBB/1d', 2)]
        """
        if "{column}" not in key_template:
            raise InvalidInputError(f"panel key template {key_template!r} needs '{{column}}'")
        base = (config or FileSourceConfig()).model_copy(update={"close_only": True})
        raw = _read_table(Path(path))
        stamp = _map_columns(
            raw,
            base.model_copy(
                update={
                    "close_only": False,
                    "columns": {k: v for k, v in base.columns.items() if k == INDEX_NAME},
                }
            ),
            Path(path),
            strict=False,
        )
        files: dict[SeriesKey, str | Path] = {}
        configs: dict[SeriesKey, FileSourceConfig] = {}
        for column in raw.columns:
            if str(column) == stamp[INDEX_NAME]:
                continue
            key = SeriesKey.parse(key_template.replace("{column}", str(column)))
            files[key] = path
            configs[key] = base.model_copy(
                update={"columns": {**base.columns, "close": str(column)}}
            )
        return cls(files, base, configs)

    @property
    def keys(self) -> list[SeriesKey]:
        """The series this source serves."""
        return list(self._files)

    def info(self) -> SourceInfo:
        """Describe the source: the timeframes of the files it holds."""
        timeframes = sorted({k.timeframe for k in self._files}, key=lambda t: t.nominal_nanos)
        return SourceInfo(name="files", timeframes=tuple(timeframes))

    def fetch(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Read the file of ``key`` and return its bars in ``[start, end)``."""
        path = self._files.get(key)
        if path is None:
            raise NotFoundError(f"no file is registered for series {key}")
        bars = read_bars_file(path, key.timeframe, self._configs.get(key, self._config))
        bars = slice_bars(bars, start, end)
        if progress is not None:
            progress(len(bars), len(bars))
        return bars


def read_bars_file(
    path: str | Path, timeframe: Timeframe | None, config: FileSourceConfig | None = None
) -> pd.DataFrame:
    """Read one file into validated bars of ``timeframe`` (inferred from the spacing if None).

    Raises :class:`NotFoundError` for a missing file and :class:`InvalidInputError` (or its
    :class:`InvalidBarsError`) for an unreadable file, unknown columns or bad bars.
    """
    config = config or FileSourceConfig()
    path = Path(path)
    raw = _read_table(path)
    mapping = _map_columns(raw, config, path)
    stamps = _parse_timestamps(raw[mapping[INDEX_NAME]], config, path)
    frame = pd.DataFrame(index=stamps)
    if config.close_only:
        close = pd.to_numeric(raw[mapping["close"]], errors="coerce").to_numpy(dtype=np.float64)
        listed = np.flatnonzero(~np.isnan(close))
        first = int(listed[0]) if len(listed) else len(close)
        frame = frame.iloc[first:]
        close = close[first:]
        for column in ("open", "high", "low", "close"):
            frame[column] = close
        volume = mapping.get("volume")
        frame["volume"] = raw[volume].to_numpy()[first:] if volume else 0.0
    else:
        for column in BAR_COLUMNS:
            frame[column] = raw[mapping[column]].to_numpy()
    if timeframe is None:
        timeframe = infer_timeframe(pd.DatetimeIndex(frame.index))
    if config.label == "end":
        frame.index = _end_labels_to_open(pd.DatetimeIndex(frame.index), timeframe)
    try:
        return validate_bars(frame, timeframe, repair=config.repair).bars
    except InvalidInputError as exc:
        hint = ""
        if getattr(exc, "rule", "") == "off_grid" and config.label == "start":
            hint = " (if the file labels bars by their period end, read it with label='end')"
        raise type(exc)(f"{path.name}: {exc}{hint}", **_error_fields(exc)) from None


def _error_fields(exc: InvalidInputError) -> dict[str, Any]:
    if isinstance(exc, InvalidBarsError):
        return {
            "column": exc.column,
            "rule": exc.rule,
            "timestamps": exc.timestamps,
            "count": exc.count,
        }
    return {}


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    suffix = (
        suffixes[-2]
        if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz")
        else (suffixes[-1] if suffixes else "")
    )
    try:
        if suffix in _CSV:
            frame = pd.read_csv(path, sep=None if suffix == ".tsv" else ",", engine="c")
        elif suffix in _PARQUET:
            frame = pd.read_parquet(path)
        elif suffix in _FEATHER:
            frame = pd.read_feather(path)
        else:
            raise InvalidInputError(
                f"{path.name}: unknown file type {suffix or '(none)'}; use CSV (.csv, .txt), "
                "Parquet (.parquet) or Feather (.feather)"
            )
    except InvalidInputError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"{path.name}: cannot read it as {suffix} ({exc})") from None
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index()
    if frame.empty:
        raise InvalidInputError(f"{path.name}: the file has no rows")
    return frame


def _normal(name: object) -> str:
    return re.sub(r"[\s_\-:]+", "", str(name)).lower()


def _map_columns(
    raw: pd.DataFrame, config: FileSourceConfig, path: Path, *, strict: bool = True
) -> dict[str, str]:
    unknown = set(config.columns) - {INDEX_NAME, *BAR_COLUMNS}
    if unknown:
        raise InvalidInputError(
            f"{path.name}: column mapping names {sorted(unknown)}, which are not bars columns "
            f"({INDEX_NAME}, {', '.join(BAR_COLUMNS)})"
        )
    headers = {_normal(c): str(c) for c in raw.columns}
    mapping: dict[str, str] = {}
    for column, aliases in _ALIASES.items():
        if column in config.columns:
            if config.columns[column] not in raw.columns:
                raise InvalidInputError(
                    f"{path.name}: no column {config.columns[column]!r} for {column}; "
                    f"the file has {', '.join(map(str, raw.columns))}"
                )
            mapping[column] = config.columns[column]
            continue
        found = next((headers[a] for a in aliases if a in headers), None)
        if found is not None:
            mapping[column] = found
    if INDEX_NAME not in mapping:
        mapping[INDEX_NAME] = str(raw.columns[0])  # the usual unnamed first column
    others = [str(c) for c in raw.columns if str(c) != mapping[INDEX_NAME]]
    if config.close_only and "close" not in mapping and len(others) == 1:
        mapping["close"] = others[0]  # a one-asset price file: its one column is the close
    needed = ("close",) if config.close_only else BAR_COLUMNS
    if not strict:
        return mapping
    missing = [c for c in needed if c not in mapping]
    if missing:
        if config.close_only:
            hint = "name the column that holds the closes, e.g. columns={'close': 'SPY'}"
        elif "open" not in mapping:
            hint = "map them explicitly, or read a file of closes with close_only=True"
        else:
            hint = "map them explicitly"
        raise InvalidInputError(
            f"{path.name}: cannot find column(s) {', '.join(missing)} among "
            f"{', '.join(map(str, raw.columns))}; {hint}"
        )
    return mapping


def _parse_timestamps(values: pd.Series, config: FileSourceConfig, path: Path) -> pd.DatetimeIndex:
    try:
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
            magnitude = float(np.nanmax(np.abs(values.to_numpy(dtype=np.float64))))
            unit: _EpochUnit = next((u for limit, u in _EPOCH_UNITS if magnitude < limit), "ns")
            exact = values.to_numpy(
                dtype=np.int64 if pd.api.types.is_integer_dtype(values.dtype) else np.float64
            )
            stamps = pd.DatetimeIndex(pd.to_datetime(exact, unit=unit, utc=True))
        else:
            parsed = pd.to_datetime(values, format=config.date_format, dayfirst=config.dayfirst)
            if parsed.dtype == object:  # mixed UTC offsets: only a conversion to UTC unifies them
                parsed = pd.to_datetime(values, format=config.date_format, utc=True)
            stamps = pd.DatetimeIndex(parsed)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(
            f"{path.name}: column {values.name!r} does not hold dates ({exc}); "
            "name the timestamp column or give a date format"
        ) from None
    if stamps.hasnans:
        bad = int(np.asarray(stamps.isna()).sum())
        raise InvalidInputError(f"{path.name}: {bad} rows of {values.name!r} are not dates")
    if stamps.tz is None:
        try:
            stamps = stamps.tz_localize(config.tz, ambiguous="raise", nonexistent="raise")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{path.name}: cannot place timestamps in time zone {config.tz!r}: {exc}"
            ) from None
    return stamps.tz_convert("UTC").rename(INDEX_NAME)


def _end_labels_to_open(index: pd.DatetimeIndex, timeframe: Timeframe) -> pd.DatetimeIndex:
    # A bar labelled by its end belongs to the period just before the label: an hourly bar
    # stamped 10:00 opened at 09:00, a monthly bar stamped 2024-01-31 opened on 2024-01-01.
    return index_from_ns(timeframe.floor(index_ns(index) - 1))
