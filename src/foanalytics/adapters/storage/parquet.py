"""``ParquetBarStore``: bar series as Parquet files on any ``pyarrow.fs`` file system.

Layout, one directory per series::

    ROOT/EXCHANGE/SYMBOL(percent-encoded)/TIMEFRAME/
        _manifest.json          the partitions that make up the series now
        2024-01.<id>.parquet    one file per partition (month, year or all, by timeframe)

A write puts each changed partition in a new, uniquely named file, then switches the manifest
in one atomic step (rename on a local disk, a single PUT on object stores), then removes the files
the manifest no longer names. Readers follow the manifest, so they see the series before or
after a write and never half of it; a writer killed at any point leaves the old manifest and
its files intact (the orphans it wrote are removed by the next write). An upsert rewrites only
the partitions it touches: one new day of minute bars rewrites one month.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from foanalytics.adapters.storage.upsert import merge_bars, missing_key
from foanalytics.domain.errors import DataUnavailableError, InvalidInputError
from foanalytics.domain.market import (
    BAR_COLUMNS,
    INDEX_NAME,
    SeriesKey,
    Timeframe,
    empty_bars,
    index_from_ns,
    index_ns,
    to_utc,
    validate_bars,
)
from foanalytics.ports.storage import Coverage

MANIFEST = "_manifest.json"
_LOCK = ".lock"
_FORMAT_VERSION = 1
_READ_ATTEMPTS = 5

# Bars sit on a minute grid, so microseconds hold every valid timestamp exactly and keep the
# files readable by Spark and Trino, which do not read nanosecond timestamps.
SCHEMA = pa.schema(
    [pa.field(INDEX_NAME, pa.timestamp("us", tz="UTC"), nullable=False)]
    + [pa.field(c, pa.float64(), nullable=False) for c in BAR_COLUMNS]
)

# How _put encodes columns. Timestamps: deltas of a regular grid pack to almost nothing.
# Floats: byte-stream-split, no dictionary (bar values rarely repeat exactly). Only the timestamp
# needs statistics (row-group pruning). docs/benchmarks.md, "Storage (issue 2)", has the
# measurements behind these and the codec default.
_PARQUET_OPTIONS: dict[str, Any] = {
    "use_dictionary": False,
    "write_statistics": [INDEX_NAME],
    "column_encoding": {
        INDEX_NAME: "DELTA_BINARY_PACKED",
        **dict.fromkeys(BAR_COLUMNS, "BYTE_STREAM_SPLIT"),
    },
}

# Bytes _put buffers before a system call when it writes a local file.
_WRITE_BUFFER = 1 << 20

# Partition span by timeframe: about 10k to 50k rows a file for intraday series.
_MONTHLY = {Timeframe.M1, Timeframe.M5}
_YEARLY = {Timeframe.M15, Timeframe.M30, Timeframe.H1}


class ParquetStoreConfig(BaseModel):
    """Settings of a :class:`ParquetBarStore`.

    ``root`` is a local directory, or ``bucket/prefix`` on the file system passed to the store.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    root: str
    compression: str = "lz4"
    compression_level: int | None = None
    row_group_size: int = Field(default=16_384, gt=0)
    max_workers: int = Field(default=2, ge=1)


@dataclass(frozen=True, slots=True)
class _Partition:
    file: str
    rows: int
    start: int  # epoch ns of the first bar
    end: int  # epoch ns of the last bar


class ParquetBarStore:
    """A :class:`BarStore` over Parquet files; the embedded default on a local disk.

    Pass ``filesystem`` (any ``pyarrow.fs.FileSystem``, e.g. ``S3FileSystem``) to keep the
    series elsewhere; the local file system is the default.

    Examples
    --------
    >>> import tempfile
    >>> store = ParquetBarStore(ParquetStoreConfig(root=tempfile.mkdtemp()))
    >>> key = SeriesKey.parse("test/BTC/USDT/1h")
    >>> bars = pd.DataFrame({"open": [1.0, 2.0], "high": [2.0, 2.5], "low": [0.5, 1.5],
    ...     "close": [2.0, 2.5], "volume": [3.0, 4.0]},
    ...     index=pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC"))
    >>> store.write(key, bars)
    2
    >>> store.read(key, start="2024-01-01 01:00")["close"].tolist()
    [2.5]
    >>> [str(k) for k in store.keys()]
    ['test/BTC/USDT/1h']
    """

    def __init__(
        self, config: ParquetStoreConfig, filesystem: pafs.FileSystem | None = None
    ) -> None:
        self._config = config
        self._local = filesystem is None or isinstance(filesystem, pafs.LocalFileSystem)
        self._fs = filesystem if filesystem is not None else pafs.LocalFileSystem()
        self._root = (
            os.path.abspath(os.path.expanduser(config.root))
            if self._local
            else config.root.rstrip("/")
        )

    # -- the port ------------------------------------------------------------------------------

    def write(self, key: SeriesKey, bars: pd.DataFrame) -> int:
        """Upsert ``bars`` into ``key``; see :class:`foanalytics.ports.storage.BarStore`."""
        new = validate_bars(bars, key.timeframe).bars
        if new.empty:
            return 0
        directory = self._series_dir(key)
        with self._guard(), self._locked(directory):
            manifest = self._load_manifest(directory) or {}
            ns = index_ns(pd.DatetimeIndex(new.index))
            codes, bounds = _partition_bounds(ns, key.timeframe)
            jobs = [
                (_partition_label(int(code), key.timeframe), new.iloc[lo:hi])
                for code, lo, hi in zip(codes, bounds[:-1], bounds[1:], strict=True)
                if hi > lo
            ]
            written = self._map(
                lambda job: self._upsert(directory, manifest.get(job[0]), *job), jobs
            )
            changed = {label: part for label, part in written if part is not None}
            if changed:
                self._commit(directory, {**manifest, **changed})
        return len(new)

    def read(self, key: SeriesKey, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Return the bars of ``key`` in ``[start, end)``."""
        lo = None if start is None else to_utc(start).value
        hi = None if end is None else to_utc(end).value
        directory = self._series_dir(key)
        with self._guard():
            for attempt in range(_READ_ATTEMPTS):
                manifest = self._load_manifest(directory)
                if manifest is None:
                    raise missing_key(key)
                parts = [
                    p
                    for _, p in sorted(manifest.items())
                    if (lo is None or p.end >= lo) and (hi is None or p.start < hi)
                ]
                try:
                    tables = [self._read_part(directory, p, lo, hi) for p in parts]
                except FileNotFoundError:
                    # A writer switched the manifest and removed this file since we read it.
                    if attempt == _READ_ATTEMPTS - 1:
                        raise
                    continue
                return _to_bars(tables, lo, hi)
        raise AssertionError("unreachable")

    def keys(self) -> list[SeriesKey]:
        """Return the stored keys, sorted."""
        with self._guard():
            selector = pafs.FileSelector(self._root, recursive=True, allow_not_found=True)
            infos = self._fs.get_file_info(selector)
        keys = []
        for info in infos:
            if info.base_name != MANIFEST:
                continue
            parts = info.path[len(self._root) :].strip("/").split("/")
            if len(parts) != 4:
                continue
            exchange, symbol, token, _ = parts
            with contextlib.suppress(ValueError):
                keys.append(
                    SeriesKey(
                        exchange=exchange,
                        symbol=unquote(symbol),
                        timeframe=Timeframe.from_path_token(token),
                    )
                )
        return sorted(keys, key=SeriesKey.sort_key)

    def delete(self, key: SeriesKey, start: Any = None, end: Any = None) -> int:
        """Delete the bars of ``key`` in ``[start, end)``; return the count removed."""
        lo = None if start is None else to_utc(start).value
        hi = None if end is None else to_utc(end).value
        directory = self._series_dir(key)
        with self._guard(), self._locked(directory):
            manifest = self._load_manifest(directory)
            if manifest is None:
                raise missing_key(key)
            removed = 0
            kept: dict[str, _Partition] = {}
            for label, part in manifest.items():
                if (lo is not None and part.end < lo) or (hi is not None and part.start >= hi):
                    kept[label] = part
                    continue
                bars = self._read_bars(directory, part)
                ns = index_ns(pd.DatetimeIndex(bars.index))
                doomed = np.ones(len(ns), dtype=bool)
                if lo is not None:
                    doomed &= ns >= lo
                if hi is not None:
                    doomed &= ns < hi
                removed += int(doomed.sum())
                if doomed.all():
                    continue
                kept[label] = (
                    part if not doomed.any() else self._put(directory, label, bars[~doomed])
                )
            if removed:
                self._commit(directory, kept)
            return removed

    def coverage(self, key: SeriesKey) -> Coverage:
        """Return rows and first/last timestamps of ``key``, from the manifest alone."""
        with self._guard():
            manifest = self._load_manifest(self._series_dir(key))
        if manifest is None:
            raise missing_key(key)
        parts = list(manifest.values())
        return Coverage(
            key=key,
            rows=sum(p.rows for p in parts),
            start=pd.Timestamp(min(p.start for p in parts), tz="UTC"),
            end=pd.Timestamp(max(p.end for p in parts), tz="UTC"),
        )

    # -- partitions ----------------------------------------------------------------------------

    def _upsert(
        self, directory: str, old: _Partition | None, label: str, new: pd.DataFrame
    ) -> tuple[str, _Partition | None]:
        if old is None:
            return label, self._put(directory, label, new)
        current = self._read_bars(directory, old)
        merged = merge_bars(current, new)
        if len(merged) == len(current) and _same_bars(merged, current):
            return label, None  # an idempotent re-write: nothing changes, nothing is written
        return label, self._put(directory, label, merged)

    def _put(self, directory: str, label: str, bars: pd.DataFrame) -> _Partition:
        ns = index_ns(pd.DatetimeIndex(bars.index))
        arrays = [pa.array(ns // 1000, type=pa.int64()).cast(SCHEMA.field(INDEX_NAME).type)]
        arrays += [pa.array(bars[c].to_numpy(), type=pa.float64()) for c in BAR_COLUMNS]
        table = pa.Table.from_arrays(arrays, schema=SCHEMA)
        name = f"{label}.{uuid.uuid4().hex[:12]}.parquet"
        # A local file stream is unbuffered: buffer it, so pages go to the disk in a few large
        # writes rather than one system call per page (object stores buffer on their own).
        buffer_size = _WRITE_BUFFER if self._local else None
        with self._fs.open_output_stream(f"{directory}/{name}", buffer_size=buffer_size) as sink:
            pq.write_table(
                table,
                sink,
                row_group_size=self._config.row_group_size,
                compression=self._config.compression,
                compression_level=self._config.compression_level,
                **_PARQUET_OPTIONS,
            )
        return _Partition(file=name, rows=len(ns), start=int(ns[0]), end=int(ns[-1]))

    def _read_part(
        self, directory: str, part: _Partition, lo: int | None, hi: int | None
    ) -> pa.Table:
        path = f"{directory}/{part.file}"
        whole = (lo is None or part.start >= lo) and (hi is None or part.end < hi)
        # A partition is a few row groups of six columns: handing those to Arrow's thread pool
        # costs more than it saves (the caller's threads parallelise across partitions).
        with self._fs.open_input_file(path) as source:
            reader = pq.ParquetFile(source)
            if whole:
                return reader.read(use_threads=False)
            groups = _row_groups_in(reader.metadata, lo, hi)
            if not groups:
                return SCHEMA.empty_table()
            return reader.read_row_groups(groups, use_threads=False)

    def _read_bars(self, directory: str, part: _Partition) -> pd.DataFrame:
        return _to_bars([self._read_part(directory, part, None, None)], None, None)

    # -- manifest, locks, errors ---------------------------------------------------------------

    def _series_dir(self, key: SeriesKey) -> str:
        symbol = _symbol_dir(key.symbol)
        return "/".join([self._root, key.exchange, symbol, key.timeframe.path_token])

    def _load_manifest(self, directory: str) -> dict[str, _Partition] | None:
        try:
            with self._fs.open_input_stream(f"{directory}/{MANIFEST}") as source:
                document = json.loads(source.read())
        except FileNotFoundError:
            return None
        if document.get("version") != _FORMAT_VERSION:
            raise InvalidInputError(
                f"{directory}/{MANIFEST} has format version {document.get('version')!r}; "
                f"this foanalytics reads version {_FORMAT_VERSION}"
            )
        return {label: _Partition(**fields) for label, fields in document["partitions"].items()}

    def _commit(self, directory: str, manifest: dict[str, _Partition]) -> None:
        target = f"{directory}/{MANIFEST}"
        if not manifest:
            self._fs.delete_file(target)
            self._clean(directory, set())
            # A local series keeps its directory and lock file: removing them while writers wait
            # on the lock would let the next writer lock a new file and run beside them.
            if not self._local:
                with contextlib.suppress(OSError):
                    self._fs.delete_dir(directory)
            return
        document = {
            "version": _FORMAT_VERSION,
            "partitions": {
                label: {"file": p.file, "rows": p.rows, "start": p.start, "end": p.end}
                for label, p in sorted(manifest.items())
            },
        }
        # Compact separators keep json on its C encoder (indent falls back to pure Python, a
        # third of a small upsert's time on a 10-year series).
        payload = json.dumps(document, separators=(",", ":")).encode()
        if self._local:
            temporary = f"{directory}/.{MANIFEST}.{uuid.uuid4().hex[:12]}.tmp"
            with self._fs.open_output_stream(temporary) as sink:
                sink.write(payload)
            self._fs.move(temporary, target)  # rename(2): atomic on POSIX
        else:
            with self._fs.open_output_stream(target) as sink:  # one PUT: atomic on S3
                sink.write(payload)
        self._clean(directory, {p.file for p in manifest.values()})

    def _clean(self, directory: str, live: set[str]) -> None:
        # Removes replaced partitions and the orphans of writers killed mid-write. Only writers
        # holding the series lock get here, so an unreferenced file is never another's work.
        selector = pafs.FileSelector(directory, allow_not_found=True)
        for info in self._fs.get_file_info(selector):
            name = info.base_name
            if name in live or name in (MANIFEST, _LOCK) or info.type != pafs.FileType.File:
                continue
            with contextlib.suppress(FileNotFoundError):
                self._fs.delete_file(info.path)

    @contextlib.contextmanager
    def _locked(self, directory: str) -> Iterator[None]:
        """Serialise writers of one series (an advisory file lock on a local disk).

        Object stores have no locks: there, one writer per series at a time is the caller's
        to ensure.
        """
        self._fs.create_dir(directory, recursive=True)
        if not self._local:
            yield
            return
        with open(os.path.join(directory, _LOCK), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, InvalidInputError):
            raise
        except OSError as exc:
            raise DataUnavailableError(f"parquet store at {self._root!r}: {exc}") from exc

    def _map(self, func: Any, jobs: list[Any]) -> list[Any]:
        if len(jobs) < 2 or self._config.max_workers < 2:
            return [func(job) for job in jobs]
        with ThreadPoolExecutor(min(self._config.max_workers, len(jobs))) as pool:
            return list(pool.map(func, jobs))


def _partition_codes(ns: np.ndarray, timeframe: Timeframe) -> np.ndarray:
    """Return each bar's partition number: months or years since 1970, or 0 for one."""
    if timeframe in _MONTHLY:
        return ns.astype("datetime64[ns]").astype("datetime64[M]").view(np.int64)
    if timeframe in _YEARLY:
        return ns.astype("datetime64[ns]").astype("datetime64[Y]").view(np.int64)
    return np.zeros(len(ns), dtype=np.int64)


def _partition_bounds(ns: np.ndarray, timeframe: Timeframe) -> tuple[np.ndarray, np.ndarray]:
    """Split sorted bars by partition: every code from the first bar's to the last bar's.

    Partition ``codes[i]`` holds rows ``bounds[i]:bounds[i + 1]`` (empty for a code with no
    bars). Only the two ends go through the calendar; the cuts are binary searches, which is
    far cheaper than a calendar conversion of every timestamp of a long series.
    """
    first, last = _partition_codes(ns[[0, -1]], timeframe)
    codes = np.arange(first, last + 1, dtype=np.int64)
    unit = "M" if timeframe in _MONTHLY else "Y"
    starts = codes[1:].astype(f"datetime64[{unit}]").astype("datetime64[ns]").view(np.int64)
    bounds = np.concatenate([[0], np.searchsorted(ns, starts, side="left"), [len(ns)]])
    return codes, bounds


def _partition_label(code: int, timeframe: Timeframe) -> str:
    if timeframe in _MONTHLY:
        return str(np.datetime64(code, "M"))
    if timeframe in _YEARLY:
        return str(np.datetime64(code, "Y"))
    return "all"


def _row_groups_in(metadata: pq.FileMetaData, lo: int | None, hi: int | None) -> list[int]:
    groups = []
    for i in range(metadata.num_row_groups):
        stats = metadata.row_group(i).column(0).statistics
        # The raw statistics are the stored microseconds (SCHEMA); no datetime objects needed.
        first, last = stats.min_raw * 1000, stats.max_raw * 1000
        if (lo is None or last >= lo) and (hi is None or first < hi):
            groups.append(i)
    return groups


def _to_bars(tables: list[pa.Table], lo: int | None, hi: int | None) -> pd.DataFrame:
    if not tables:
        return empty_bars()
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    if table.num_rows == 0:
        return empty_bars()
    ns = table.column(INDEX_NAME).cast(pa.int64()).to_numpy() * 1000
    first = 0 if lo is None else int(np.searchsorted(ns, lo, side="left"))
    last = len(ns) if hi is None else int(np.searchsorted(ns, hi, side="left"))
    if last <= first:
        return empty_bars()
    # Copy each Arrow chunk once, straight into the frame's single float64 block (the layout
    # bars_from_arrays produces), instead of concatenating chunks and then stacking columns.
    block = np.empty((len(BAR_COLUMNS), last - first), dtype=np.float64)
    for row, name in zip(block, BAR_COLUMNS, strict=True):
        at = 0
        for chunk in table.column(name).slice(first, last - first).chunks:
            row[at : at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            at += len(chunk)
    return pd.DataFrame(
        block.T, index=index_from_ns(ns[first:last]), columns=list(BAR_COLUMNS), copy=False
    )


def _same_bars(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if not np.array_equal(index_ns(pd.DatetimeIndex(a.index)), index_ns(pd.DatetimeIndex(b.index))):
        return False
    # Compare bits, not values: -0.0 == 0.0, yet a write of -0.0 over 0.0 must be stored.
    return all(
        np.array_equal(
            a[c].to_numpy(dtype=np.float64).view(np.uint64),
            b[c].to_numpy(dtype=np.float64).view(np.uint64),
        )
        for c in BAR_COLUMNS
    )


def _symbol_dir(symbol: str) -> str:
    """Name the directory of a symbol: percent-encoded, and never ``.``, ``..`` or hidden."""
    name = quote(symbol, safe="")
    return "%2E" + name[1:] if name.startswith(".") else name
