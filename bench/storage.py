"""Storage benchmark (issue 2): ``ParquetBarStore`` against raw pyarrow Parquet and ArcticDB.

Run it with ``make bench`` (it builds ``.venv-bench``, where ArcticDB's pins hold), or::

    .venv-bench/bin/python bench/storage.py              # 100 series x 100,000 one-minute bars
    .venv-bench/bin/python bench/storage.py --quick      # a smoke run of a few seconds
    .venv-bench/bin/python bench/storage.py --encodings  # also compare codecs and encodings

Every system gets the same synthetic OHLCV frames, generated once with a seeded numpy generator
and never timed. Timed sections are repeated; the tables show the best of ``--repeat`` runs
(single reads: the median of many), all in one process, so the ratios compare like with like.
Results also go to ``bench/results/storage.json``. Nothing here is part of the test suite and
nothing asserts a timing; the only assertions check that every system returns the same bars.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from foanalytics.adapters.storage import parquet as parquet_module
from foanalytics.adapters.storage.parquet import ParquetBarStore, ParquetStoreConfig
from foanalytics.domain.market import BAR_COLUMNS, INDEX_NAME, PRICE_COLUMNS, SeriesKey, Timeframe

MINUTES_PER_DAY = 1440
DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday
# The long series for the upsert check ends the day before this; the new day is the 30th, so it
# lands in a month that is already 29 days full: the upsert rewrites an almost complete month.
UPSERT_DAY = pd.Timestamp("2024-12-30", tz="UTC")
RESULTS = Path(__file__).resolve().parent / "results" / "storage.json"


# -- data ----------------------------------------------------------------------------------------


def synthetic_bars(
    rng: np.random.Generator, rows: int, start: pd.Timestamp, first_price: float
) -> pd.DataFrame:
    """Return ``rows`` one-minute OHLCV bars that look like an exchange's.

    Closes follow a geometric Brownian motion (60% annual volatility, no drift) rounded to a tick
    of about six significant digits, as exchange prices are; each bar opens at the previous close;
    high and low add half-normal wicks to the body; volume is lognormal, rounded to a lot of 0.001.
    """
    sigma = 0.6
    step = sigma * np.sqrt(1.0 / (365.25 * MINUTES_PER_DAY))
    tick = 10.0 ** (np.floor(np.log10(first_price)) - 5)
    log_returns = -0.5 * step**2 + step * rng.standard_normal(rows)
    path = first_price * np.exp(np.cumsum(log_returns))
    # Prices are whole ticks (int64) until the end, so high >= max(open, close) >= low holds.
    close = np.maximum(np.rint(path / tick), 1).astype(np.int64)
    open_ = np.empty_like(close)
    open_[0] = max(round(first_price / tick), 1)
    open_[1:] = close[:-1]
    wick = 0.5 * step * close
    high = np.maximum(open_, close) + np.rint(np.abs(rng.standard_normal(rows)) * wick).astype(
        np.int64
    )
    low = np.minimum(open_, close) - np.rint(np.abs(rng.standard_normal(rows)) * wick).astype(
        np.int64
    )
    low = np.maximum(low, 1)
    volume = np.round(rng.lognormal(mean=3.0, sigma=1.0, size=rows), 3)
    index = pd.date_range(start, periods=rows, freq="min", name=INDEX_NAME)
    columns = {"open": open_, "high": high, "low": low, "close": close}
    frame = {c: columns[c] * tick for c in PRICE_COLUMNS}
    return pd.DataFrame({**frame, "volume": volume}, index=index)


def make_universe(rows: int, series: int, seed: int) -> list[pd.DataFrame]:
    """Return ``series`` frames of ``rows`` bars from ``START``, first prices from 0.1 to 50k."""
    rng = np.random.default_rng(seed)
    first = np.clip(rng.lognormal(np.log(100.0), 2.0, series), 0.1, 50_000.0)
    return [synthetic_bars(rng, rows, START, float(p)) for p in first]


def week_window(rows: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the Monday-to-Monday week holding the middle of a series of ``rows`` bars."""
    middle = START + pd.Timedelta(minutes=rows // 2)
    monday = middle.normalize() - pd.Timedelta(days=middle.weekday())
    return monday, monday + pd.Timedelta(days=7)


# -- timing --------------------------------------------------------------------------------------


@dataclass
class Samples:
    """Wall-clock seconds of the repeats of one timed section."""

    seconds: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(func: Callable[[], Any], cpu: Samples | None = None) -> float:
    """Run ``func`` once and return its wall-clock seconds (a collection first, not timed).

    With ``cpu``, also record the CPU seconds of the whole process (all threads) it took:
    a figure that other work on the machine disturbs far less than the wall clock.
    """
    gc.collect()
    begin, begin_cpu = time.perf_counter(), time.process_time()
    func()
    seconds = time.perf_counter() - begin
    if cpu is not None:
        cpu.seconds.append(time.process_time() - begin_cpu)
    return seconds


def disk_usage(path: Path) -> int:
    """Return the bytes allocated on disk under ``path`` (blocks, so sparse files count true)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.stat(os.path.join(folder, name)).st_blocks * 512
    return total


# -- the systems ---------------------------------------------------------------------------------


class System(Protocol):
    """One storage system under test, driven the way a user would drive it."""

    name: str
    usage: str

    def open(self, root: Path) -> None:
        """Start an empty store in ``root`` (not timed)."""

    def write_all(self, frames: list[pd.DataFrame]) -> None:
        """Write every frame as its own series."""

    def read_range(self, i: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Return series ``i`` in ``[start, end)``."""

    def read_full(self, i: int) -> pd.DataFrame:
        """Return all of series ``i``."""


def _symbol(i: int) -> str:
    return f"S{i:03d}"


class FoStore:
    """``ParquetBarStore`` with its defaults, series written from a thread pool."""

    name = "ParquetBarStore"

    def __init__(self, workers: int, **config: Any) -> None:
        self._workers = workers
        self._config = config
        self._store: ParquetBarStore | None = None
        self.usage = (
            f"store.write(key, df) per series from a {workers}-thread pool "
            f"(the store also writes a series' partitions in parallel); store.read(key, start, end)"
        )

    @staticmethod
    def key(i: int) -> SeriesKey:
        return SeriesKey(exchange="bench", symbol=_symbol(i), timeframe=Timeframe.M1)

    @property
    def store(self) -> ParquetBarStore:
        assert self._store is not None
        return self._store

    def open(self, root: Path) -> None:
        self._store = ParquetBarStore(ParquetStoreConfig(root=str(root), **self._config))

    def write_all(self, frames: list[pd.DataFrame]) -> None:
        store = self.store
        with ThreadPoolExecutor(self._workers) as pool:
            list(pool.map(lambda i: store.write(self.key(i), frames[i]), range(len(frames))))

    def read_range(self, i: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        return self.store.read(self.key(i), start, end)

    def read_full(self, i: int) -> pd.DataFrame:
        return self.store.read(self.key(i))


class RawParquet:
    """The floor: one zstd Parquet file per series with ``pq.write_table``, read with a filter."""

    name = "raw pyarrow"

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._root = Path()
        self.usage = (
            f"pq.write_table(pa.Table.from_pandas(df), path, compression='zstd') per series from "
            f"a {workers}-thread pool; pq.read_table(path, filters=[...]).to_pandas()"
        )

    def _path(self, i: int) -> Path:
        return self._root / f"{_symbol(i)}.parquet"

    def open(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True)

    def write_all(self, frames: list[pd.DataFrame]) -> None:
        def write(i: int) -> None:
            pq.write_table(pa.Table.from_pandas(frames[i]), self._path(i), compression="zstd")

        with ThreadPoolExecutor(self._workers) as pool:
            list(pool.map(write, range(len(frames))))

    def read_range(self, i: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        window = [(INDEX_NAME, ">=", start), (INDEX_NAME, "<", end)]
        return pq.read_table(self._path(i), filters=window).to_pandas()

    def read_full(self, i: int) -> pd.DataFrame:
        return pq.read_table(self._path(i)).to_pandas()


class ArcticLmdb:
    """ArcticDB on its LMDB backend: one library, one symbol per series."""

    def __init__(self, batch: bool) -> None:
        import arcticdb

        self._adb = arcticdb
        self._batch = batch
        self._lib: Any = None
        self.name = f"ArcticDB {'batch' if batch else 'loop'}"
        how = "lib.write_batch([WritePayload(symbol, df), ...])" if batch else "a lib.write loop"
        self.usage = (
            f"{how} (ArcticDB compresses on its own C++ thread pool); "
            "lib.read(symbol, date_range=(start, end - 1ns)) (its range is closed)"
        )

    @property
    def lib(self) -> Any:
        assert self._lib is not None
        return self._lib

    def open(self, root: Path) -> None:
        self._lib = self._adb.Arctic(f"lmdb://{root}").get_library("bench", create_if_missing=True)

    def write_all(self, frames: list[pd.DataFrame]) -> None:
        if self._batch:
            payloads = [self._adb.WritePayload(_symbol(i), f) for i, f in enumerate(frames)]
            results = self.lib.write_batch(payloads)
            failed = [r for r in results if isinstance(r, self._adb.DataError)]
            if failed:
                raise RuntimeError(f"ArcticDB write_batch failed: {failed[0]}")
        else:
            for i, frame in enumerate(frames):
                self.lib.write(_symbol(i), frame)

    def read_range(self, i: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        last = end - pd.Timedelta(1, "ns")
        return self.lib.read(_symbol(i), date_range=(start, last)).data

    def read_full(self, i: int) -> pd.DataFrame:
        return self.lib.read(_symbol(i)).data


# -- the runs ------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one system measured."""

    name: str
    usage: str
    write: Samples = field(default_factory=Samples)
    write_cpu: Samples = field(default_factory=Samples)
    sync: Samples = field(default_factory=Samples)
    week: Samples = field(default_factory=Samples)
    week_rows: int = 0
    full: Samples = field(default_factory=Samples)
    disk: int = 0


class Workspace:
    """Fresh directories under one temporary root, removed at the end."""

    def __init__(self, base: str | None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="foanalytics-bench-", dir=base))
        self._count = 0

    def fresh(self, label: str) -> Path:
        self._count += 1
        return self.root / f"{self._count:03d}-{label.replace(' ', '_').replace('/', '_')}"

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def fsync_tree(path: Path) -> None:
    """Flush every file and directory under ``path`` to the disk."""
    for folder, _, files in os.walk(path):
        for name in [*files, "."]:
            handle = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)


def same_bars(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    """Fail loudly if a system returned other bars than were written (values, index, order)."""
    got_index = pd.DatetimeIndex(got.index).tz_convert("UTC").as_unit("ns")
    if not got_index.equals(pd.DatetimeIndex(want.index)):
        raise AssertionError(f"{what}: the timestamps differ from the bars written")
    for column in BAR_COLUMNS:
        if not np.array_equal(got[column].to_numpy(), want[column].to_numpy()):
            raise AssertionError(f"{what}: column {column!r} differs from the bars written")


def measure(
    systems: list[System],
    frames: list[pd.DataFrame],
    space: Workspace,
    args: argparse.Namespace,
    week: tuple[pd.Timestamp, pd.Timestamp],
) -> list[Figures]:
    """Time bulk writes, week reads and full reads of every system; check what they read back.

    The systems take turns within each repeat, so a burst of load from elsewhere on the machine
    lands on all of them rather than on one. After each write, every file is fsync-ed (timed
    apart), so no system's page-cache writeback runs into the next one's timing.
    """
    figures = [Figures(s.name, s.usage) for s in systems]
    for system in systems:  # warm-up, not timed: load the libraries and code paths
        root = space.fresh(f"warmup-{system.name}")
        system.open(root)
        system.write_all(frames[:2])
        system.read_range(0, *week)
        system.read_full(1)
        shutil.rmtree(root, ignore_errors=True)

    roots: list[Path | None] = [None] * len(systems)
    for _ in range(args.repeat):
        for j, system in enumerate(systems):
            if roots[j] is not None:
                shutil.rmtree(roots[j], ignore_errors=True)  # one store per system on disk
            root = roots[j] = space.fresh(system.name)
            system.open(root)
            write = timed(lambda s=system: s.write_all(frames), figures[j].write_cpu)
            figures[j].write.seconds.append(write)
            figures[j].sync.seconds.append(timed(lambda r=root: fsync_tree(r)))
    for figure, root in zip(figures, roots, strict=True):
        assert root is not None
        figure.disk = disk_usage(root)

    start, end = week
    for k in range(args.week_reads):
        i = k % len(frames)  # a different series each time, as a dashboard would ask
        for figure, system in zip(figures, systems, strict=True):
            begin = time.perf_counter()
            got = system.read_range(i, start, end)
            figure.week.seconds.append(time.perf_counter() - begin)
            if k < len(frames):
                want = frames[i].loc[start : end - pd.Timedelta(1, "ns")]
                same_bars(got, want, f"{system.name} week read of series {i}")
                figure.week_rows = len(want)

    def read_everything(system: System) -> None:
        for i in range(len(frames)):
            rows = len(system.read_full(i))
            if rows != len(frames[i]):
                raise AssertionError(f"{system.name} read {rows} rows of series {i}")

    for system in systems:
        same_bars(system.read_full(len(frames) - 1), frames[-1], f"{system.name} full read")
    for _ in range(args.repeat):
        for figure, system in zip(figures, systems, strict=True):
            figure.full.seconds.append(timed(lambda s=system: read_everything(s)))
    for root in roots:
        assert root is not None
        shutil.rmtree(root, ignore_errors=True)
    return figures


@dataclass
class Upsert:
    """The upsert check: one new day into a long one-minute series, against a full rewrite."""

    rows: int
    years: int
    rewrite: Samples = field(default_factory=Samples)
    cold: Samples = field(default_factory=Samples)
    warm: Samples = field(default_factory=Samples)
    arctic_rewrite: Samples = field(default_factory=Samples)
    arctic_update: Samples = field(default_factory=Samples)
    disk: int = 0
    partitions: int = 0


def measure_upsert(args: argparse.Namespace, space: Workspace) -> Upsert:
    """Build a long series once; time full writes of it into fresh stores, and one-day upserts.

    Upserts are timed twice over: right after a full write ("cold": the process's allocator
    has just handed a lot of memory back, so the upsert's arrays fault in fresh pages) and back
    to back ("warm": a process upserting the day into many series, the steady state).
    """
    import arcticdb

    first = UPSERT_DAY - pd.DateOffset(years=args.upsert_years)
    days = (UPSERT_DAY - first).days + 1
    rng = np.random.default_rng(args.seed + 1)
    whole = synthetic_bars(rng, days * MINUTES_PER_DAY, pd.Timestamp(first), 30_000.0)
    series, day = whole.iloc[:-MINUTES_PER_DAY], whole.iloc[-MINUTES_PER_DAY:]
    result = Upsert(rows=len(series), years=args.upsert_years)
    key = FoStore.key(0)

    built = space.fresh("upsert-base")
    ParquetBarStore(ParquetStoreConfig(root=str(built))).write(key, series)
    fsync_tree(built)
    result.disk = disk_usage(built)
    result.partitions = sum(1 for _ in built.rglob("*.parquet"))

    # Copies of the stored series, made (and flushed to the disk) before any timing, so no copy
    # runs into an upsert's timing; each upsert gets its own.
    copies = []
    for _ in range(args.repeat + args.upsert_repeat + 1):
        copies.append(space.fresh("upsert"))
        shutil.copytree(built, copies[-1])
    fsync_tree(space.root)

    def upsert() -> float:
        root = copies.pop()
        store = ParquetBarStore(ParquetStoreConfig(root=str(root)))
        seconds = timed(lambda: store.write(key, day))
        same_bars(store.read(key, UPSERT_DAY - DAY), whole.iloc[-2 * MINUTES_PER_DAY :], "upsert")
        if store.coverage(key).rows != len(whole):
            raise AssertionError("the upsert lost or duplicated bars")
        return seconds

    for _ in range(args.repeat):
        root = space.fresh("rewrite")
        store = ParquetBarStore(ParquetStoreConfig(root=str(root)))
        result.rewrite.seconds.append(timed(lambda s=store: s.write(key, whole)))
        result.cold.seconds.append(upsert())
        shutil.rmtree(root)
    upsert()  # warm-up, not timed
    for _ in range(args.upsert_repeat):
        result.warm.seconds.append(upsert())

    lib = arcticdb.Arctic(f"lmdb://{space.fresh('upsert-arctic')}").get_library(
        "bench", create_if_missing=True
    )
    for r in range(args.repeat):
        result.arctic_rewrite.seconds.append(timed(lambda r=r: lib.write(f"W{r}", whole)))
    for r in range(args.upsert_repeat):
        lib.write(f"U{r}", series)
        result.arctic_update.seconds.append(timed(lambda r=r: lib.update(f"U{r}", day)))
    return result


# -- the encoding comparison ---------------------------------------------------------------------

_DELTA = "DELTA_BINARY_PACKED"
_BSS = "BYTE_STREAM_SPLIT"


def write_options(floats: str) -> dict[str, Any]:
    """Return ``ParquetBarStore``'s write options with another encoding of the float columns."""
    if floats == "DICTIONARY":  # prices through a dictionary (they repeat within a month)
        return {
            "use_dictionary": list(PRICE_COLUMNS),
            "write_statistics": [INDEX_NAME],
            "column_encoding": {INDEX_NAME: _DELTA, "volume": _BSS},
        }
    return {
        "use_dictionary": False,
        "write_statistics": [INDEX_NAME],
        "column_encoding": {INDEX_NAME: _DELTA, **dict.fromkeys(BAR_COLUMNS, floats)},
    }


@dataclass(frozen=True)
class Variant:
    """One way of writing the store's files."""

    codec: str
    level: int | None = None
    floats: str = _BSS
    row_group_size: int = 16_384

    @property
    def label(self) -> str:
        codec = self.codec if self.level is None else f"{self.codec}-{self.level}"
        groups = "" if self.row_group_size == 16_384 else f", groups of {self.row_group_size}"
        return f"{codec} {self.floats}{groups}"


VARIANTS: list[Variant] = [
    *(
        Variant(codec, level, floats)
        for codec, level in [
            ("none", None),
            ("snappy", None),
            ("lz4", None),
            ("zstd", 1),
            ("zstd", 3),
        ]
        for floats in (_BSS, "PLAIN")
    ),
    Variant("zstd", 1, "DICTIONARY"),
    Variant("lz4", None, _BSS, 8_192),
    Variant("lz4", None, _BSS, 65_536),
]


class VariantStore(FoStore):
    """``ParquetBarStore`` writing with a codec and encodings other than its defaults."""

    def __init__(self, workers: int, variant: Variant) -> None:
        super().__init__(
            workers,
            compression=variant.codec,
            compression_level=variant.level,
            row_group_size=variant.row_group_size,
        )
        self.name = variant.label
        self._options = write_options(variant.floats)

    def write_all(self, frames: list[pd.DataFrame]) -> None:
        with mock.patch.object(parquet_module, "_PARQUET_OPTIONS", self._options):
            super().write_all(frames)


def default_variant() -> Variant:
    """Return the variant ``ParquetBarStore`` writes with out of the box."""
    config = ParquetStoreConfig(root=".")
    options = parquet_module._PARQUET_OPTIONS
    floats = "DICTIONARY" if options["use_dictionary"] else options["column_encoding"]["close"]
    return Variant(config.compression, config.compression_level, floats, config.row_group_size)


# -- output --------------------------------------------------------------------------------------


def _rate(rows: float, seconds: float) -> str:
    per_second = rows / seconds
    if per_second >= 1e6:
        return f"{per_second / 1e6:.1f}M/s"
    return f"{per_second / 1e3:.0f}k/s"


def _ms(samples: Samples) -> str:
    if samples.best >= 0.1:
        return f"{samples.best:.3f} s ({samples.median:.3f} s)"
    return f"{samples.best * 1e3:.1f} ms ({samples.median * 1e3:.1f} ms)"


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    line = "  ".join("-" * w for w in widths)

    def fmt(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(header), line, *map(fmt, rows)])


def environment() -> dict[str, str]:
    """Describe the machine and the library versions."""
    import arcticdb

    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for row in cpuinfo:
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "arcticdb": arcticdb.__version__,
    }


def report(
    args: argparse.Namespace, figures: list[Figures], upsert: Upsert
) -> tuple[str, list[tuple[str, bool]]]:
    """Return the figures table with ratios, and the target checks."""
    ours, raw, arctics = figures[0], figures[1], figures[2:]
    # The targets compare with ArcticDB at its best: its faster write mode, its faster reads.
    arctic_write = min(f.write.best for f in arctics)
    arctic_week = min(f.week.median for f in arctics)
    arctic_full = min(f.full.best for f in arctics)
    arctic_disk = min(f.disk for f in arctics)
    total = args.rows * args.series
    rows = [
        [f"bulk write, {total:,} rows (best of {args.repeat})"]
        + [f"{f.write.best:.3f} s" for f in figures],
        ["  rows/s"] + [_rate(total, f.write.best) for f in figures],
        ["  median"] + [f"{f.write.median:.3f} s" for f in figures],
        ["  CPU time, all threads (best)"] + [f"{f.write_cpu.best:.2f} s" for f in figures],
        ["  then fsync every file (best)"] + [f"+{f.sync.best:.3f} s" for f in figures],
        [f"week read, {ours.week_rows:,} rows (median of {args.week_reads})"]
        + [f"{f.week.median * 1e3:.2f} ms" for f in figures],
        ["  rows/s"] + [_rate(f.week_rows, f.week.median) for f in figures],
        ["  best"] + [f"{f.week.best * 1e3:.2f} ms" for f in figures],
        [f"full read, {args.series} series (best of {args.repeat})"]
        + [f"{f.full.best:.3f} s" for f in figures],
        ["  rows/s"] + [_rate(total, f.full.best) for f in figures],
        ["  median"] + [f"{f.full.median:.3f} s" for f in figures],
        ["disk"] + [_mb(f.disk) for f in figures],
        ["  bytes/row"] + [f"{f.disk / total:.1f}" for f in figures],
    ]
    write_vs_raw = ours.write.best / raw.write.best
    warm = upsert.warm.best / upsert.rewrite.best
    cold = upsert.cold.best / upsert.rewrite.best
    n_rewrite, n_warm = len(upsert.rewrite.seconds), len(upsert.warm.seconds)
    write_vs_arctic = ours.write.best / arctic_write
    week_vs_arctic = ours.week.median / arctic_week
    lines = [
        _table(["", *[f.name for f in figures]], rows),
        "",
        "ratios, ParquetBarStore / peer (ArcticDB: the better of its two rows):",
        f"  bulk write  / raw pyarrow {write_vs_raw:.2f}x  / ArcticDB {write_vs_arctic:.2f}x",
        f"  week read   / raw pyarrow {ours.week.median / raw.week.median:.2f}x  "
        f"/ ArcticDB {week_vs_arctic:.2f}x",
        f"  full read   / raw pyarrow {ours.full.best / raw.full.best:.2f}x  "
        f"/ ArcticDB {ours.full.best / arctic_full:.2f}x",
        f"  disk        / raw pyarrow {ours.disk / raw.disk:.2f}x  "
        f"/ ArcticDB {ours.disk / arctic_disk:.2f}x",
        "",
        f"upsert: one new day ({MINUTES_PER_DAY} bars on {UPSERT_DAY.date()}) into a "
        f"{upsert.years}-year one-minute series of {upsert.rows:,} bars "
        f"({upsert.partitions} monthly files, {_mb(upsert.disk)}), best (median) of n:",
        f"  ParquetBarStore  full write into a fresh store {_ms(upsert.rewrite)} (n={n_rewrite})",
        f"                   upsert, back to back        {_ms(upsert.warm)} (n={n_warm}) "
        f"= {warm:.2%} of the full write",
        f"                   upsert, right after a write {_ms(upsert.cold)} (n={n_rewrite}) "
        f"= {cold:.2%}",
        f"  ArcticDB         lib.write {_ms(upsert.arctic_rewrite)}, lib.update "
        f"{_ms(upsert.arctic_update)} = "
        f"{upsert.arctic_update.best / upsert.arctic_rewrite.best:.2%} (context, not a target)",
    ]
    checks = [
        (f"bulk write within 1.5x of raw pyarrow ({write_vs_raw:.2f}x)", write_vs_raw <= 1.5),
        (f"bulk write no slower than ArcticDB ({write_vs_arctic:.2f}x)", write_vs_arctic <= 1.0),
        (f"week read no slower than ArcticDB ({week_vs_arctic:.2f}x)", week_vs_arctic <= 1.0),
        (f"upsert of one day under 2% of a full write, back to back ({warm:.2%})", warm < 0.02),
        (f"upsert of one day under 2% of a full write, right after one ({cold:.2%})", cold < 0.02),
    ]
    return "\n".join(lines), checks


def encoding_report(figures: list[Figures], total: int) -> str:
    """Return the codec and encoding comparison as a table."""
    default = default_variant().label
    header = ["codec, floats", "write", "rows/s", "write CPU", "week read", "full read", "disk"]
    header.append("bytes/row")
    body = [
        [
            f.name + (" (default)" if f.name == default else ""),
            f"{f.write.best:.3f} s",
            _rate(total, f.write.best),
            f"{f.write_cpu.best:.2f} s",
            f"{f.week.median * 1e3:.2f} ms",
            f"{f.full.best:.3f} s",
            _mb(f.disk),
            f"{f.disk / total:.1f}",
        ]
        for f in figures
    ]
    return _table(header, body)


# -- main ----------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="bars per series")
    parser.add_argument("--series", type=int, default=100, help="number of series")
    parser.add_argument("--repeat", type=int, default=5, help="repeats of each timed section")
    parser.add_argument("--week-reads", type=int, default=200, help="single week reads timed")
    parser.add_argument("--workers", type=int, default=2, help="writer threads for Parquet")
    parser.add_argument("--upsert-years", type=int, default=10, help="length of the long series")
    parser.add_argument("--upsert-repeat", type=int, default=15, help="one-day upserts timed")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--quick", action="store_true", help="a small smoke run (a few seconds)")
    parser.add_argument("--encodings", action="store_true", help="also compare codecs/encodings")
    parser.add_argument("--dir", default=None, help="where the temporary stores go")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the figures go")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.series, args.repeat = 20_160, 8, 2
        args.week_reads, args.upsert_years, args.upsert_repeat = 16, 1, 3
    if args.rows < 7 * MINUTES_PER_DAY:
        parser.error("--rows must cover a week (10,080 one-minute bars)")
    args.upsert_repeat = max(args.upsert_repeat, args.repeat)
    return args


def _load() -> str:
    one, five, _ = os.getloadavg()
    text = f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"
    if one > 0.5:
        text += " - other work is running: expect noisy figures"
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    env = environment()
    total = args.rows * args.series
    print(
        f"storage benchmark: {args.series} series x {args.rows:,} one-minute bars = {total:,} rows"
    )
    print("machine: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    print(f"before: {_load()}")
    begin = time.perf_counter()
    frames = make_universe(args.rows, args.series, args.seed)
    week = week_window(args.rows)
    print(
        f"data: synthetic OHLCV, seed {args.seed}, made in {time.perf_counter() - begin:.1f} s "
        f"(not timed); the week read is {week[0].date()} to {week[1].date()}"
    )
    systems: list[System] = [
        FoStore(args.workers),
        RawParquet(args.workers),
        ArcticLmdb(batch=True),
        ArcticLmdb(batch=False),
    ]
    print("how each system is driven (each has an untimed warm-up; systems take turns):")
    for system in systems:
        print(f"  {system.name}: {system.usage}")
    space = Workspace(args.dir)
    try:
        figures = measure(systems, frames, space, args, week)
        upsert = measure_upsert(args, space)
        text, checks = report(args, figures, upsert)
        print(f"\n{text}\n")
        for what, ok in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {what}")
        encodings: list[Figures] = []
        if args.encodings:
            light = argparse.Namespace(**{**vars(args), "week_reads": 50})
            variants: list[System] = [VariantStore(args.workers, v) for v in VARIANTS]
            encodings = measure(variants, frames, space, light, week)
            print(
                f"\nencodings: through ParquetBarStore, same data and thread pool, write and full "
                f"read best of {light.repeat}, week read median of {light.week_reads}\n"
            )
            print(encoding_report(encodings, total))
    finally:
        space.close()
    print(f"\nafter: {_load()}")
    save(args, env, figures, upsert, checks, encodings)
    return 0


def _samples(figures: list[Figures]) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "usage": f.usage,
            "write_s": f.write.seconds,
            "write_cpu_s": f.write_cpu.seconds,
            "fsync_s": f.sync.seconds,
            "week_read_s": f.week.seconds,
            "week_rows": f.week_rows,
            "full_read_s": f.full.seconds,
            "disk_bytes": f.disk,
        }
        for f in figures
    ]


def save(
    args: argparse.Namespace,
    env: dict[str, str],
    figures: list[Figures],
    upsert: Upsert,
    checks: list[tuple[str, bool]],
    encodings: list[Figures],
) -> None:
    """Write every sample to ``--json`` for later comparison."""
    document = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "environment": env,
        "systems": _samples(figures),
        "upsert": {
            "rows": upsert.rows,
            "rewrite_s": upsert.rewrite.seconds,
            "upsert_after_write_s": upsert.cold.seconds,
            "upsert_back_to_back_s": upsert.warm.seconds,
            "arctic_write_s": upsert.arctic_rewrite.seconds,
            "arctic_update_s": upsert.arctic_update.seconds,
        },
        "checks": [{"target": what, "pass": ok} for what, ok in checks],
        "encodings": _samples(encodings),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=1))
    print(f"all samples written to {args.json}")


if __name__ == "__main__":
    sys.exit(main())
