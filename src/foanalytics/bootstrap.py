"""The composition root: the one module that picks adapters and builds the services.

``build()`` reads :class:`Settings` from the environment; an embedding service passes its own
settings and, by keyword, its own adapters for any port (``bar_store=...``, ``sources=...``).
Adapters are imported only when chosen, so an unused vendor SDK is never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from foanalytics.config import Settings
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import SeriesKey, Timeframe
from foanalytics.ports.engines import BacktestEngine
from foanalytics.ports.market_data import MarketDataSource
from foanalytics.ports.storage import BarStore
from foanalytics.services.backtesting import BacktestService
from foanalytics.services.market_data import MarketDataService
from foanalytics.services.risk import RiskService

T = TypeVar("T")


def _parquet_store(settings: Settings) -> BarStore:
    from foanalytics.adapters.storage.parquet import ParquetBarStore, ParquetStoreConfig

    config = ParquetStoreConfig(
        root=str(settings.bars_dir), compression=settings.storage.compression
    )
    return ParquetBarStore(config)


def _memory_store(settings: Settings) -> BarStore:
    from foanalytics.adapters.storage.memory import MemoryBarStore

    return MemoryBarStore()


def _synthetic_source(settings: Settings) -> MarketDataSource:
    from foanalytics.adapters.market_data.synthetic import (
        SyntheticMarketDataSource,
        SyntheticSourceConfig,
    )

    return SyntheticMarketDataSource(SyntheticSourceConfig(**settings.synthetic.model_dump()))


def _ccxt_source(settings: Settings) -> MarketDataSource:
    from foanalytics.adapters.market_data.ccxt import CcxtMarketDataSource, CcxtSourceConfig

    return CcxtMarketDataSource(CcxtSourceConfig(**settings.ccxt.model_dump()))


def _native_engine(settings: Settings) -> BacktestEngine:
    from foanalytics.adapters.engines.native import NativeBacktestEngine

    return NativeBacktestEngine()


def _backtrader_engine(settings: Settings) -> BacktestEngine:
    from foanalytics.adapters.engines.backtrader import BacktraderBacktestEngine

    return BacktraderBacktestEngine()


STORES: dict[str, Callable[[Settings], BarStore]] = {
    "parquet": _parquet_store,
    "memory": _memory_store,
}
SOURCES: dict[str, Callable[[Settings], MarketDataSource]] = {
    "synthetic": _synthetic_source,
    "ccxt": _ccxt_source,
}
ENGINES: dict[str, Callable[[Settings], BacktestEngine]] = {
    "native": _native_engine,
    "backtrader": _backtrader_engine,
}


class _Lazy(Mapping[str, T]):
    """Adapters by name, each built on first use (ccxt and backtrader are heavy imports)."""

    def __init__(
        self,
        factories: Mapping[str, Callable[[Settings], T]],
        settings: Settings,
        given: Mapping[str, T] | None = None,
    ) -> None:
        self._factories = factories
        self._settings = settings
        self._built: dict[str, T] = dict(given or {})
        self._names = sorted(set(factories) | set(self._built))

    def __getitem__(self, name: str) -> T:
        if name not in self._built:
            if name not in self._factories:
                raise KeyError(name)
            self._built[name] = self._factories[name](self._settings)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class Services:
    """The ready services and the adapters behind them."""

    settings: Settings
    bar_store: BarStore
    sources: Mapping[str, MarketDataSource]
    engines: Mapping[str, BacktestEngine]
    market_data: MarketDataService
    backtesting: BacktestService
    risk: RiskService


def build(settings: Settings | None = None, **overrides: Any) -> Services:
    """Build the services from ``settings`` (read from the environment when ``None``).

    Keyword overrides replace an adapter: ``bar_store`` (a :class:`BarStore`), ``sources``
    and ``engines`` (mappings of extra or replacement adapters by name). No global state is
    touched.

    Examples
    --------
    >>> from foanalytics.adapters.storage.memory import MemoryBarStore
    >>> services = build(Settings(data_dir="/tmp/unused"), bar_store=MemoryBarStore())
    >>> services.market_data.source_names
    ['ccxt', 'synthetic']
    """
    unknown = set(overrides) - {"bar_store", "sources", "engines"}
    if unknown:
        raise InvalidInputError(
            f"build() got unknown override(s) {sorted(unknown)}; use bar_store, sources or engines"
        )
    settings = settings if settings is not None else Settings()
    bar_store = overrides.get("bar_store") or STORES[settings.storage.backend](settings)
    sources: Mapping[str, MarketDataSource] = _Lazy(SOURCES, settings, overrides.get("sources"))
    engines: Mapping[str, BacktestEngine] = _Lazy(ENGINES, settings, overrides.get("engines"))
    market_data = MarketDataService(bar_store, sources)
    return Services(
        settings=settings,
        bar_store=bar_store,
        sources=sources,
        engines=engines,
        market_data=market_data,
        backtesting=BacktestService(market_data, engines),
        risk=RiskService(market_data),
    )


def file_source(
    path: str | Path,
    *,
    key: SeriesKey | None = None,
    key_template: str | None = None,
    **options: Any,
) -> tuple[MarketDataSource, list[SeriesKey]]:
    """Open a bars file (``key``) or a price panel (``key_template`` with ``{column}``).

    ``options`` are the fields of
    :class:`foanalytics.adapters.market_data.files.FileSourceConfig` (``columns``, ``tz``,
    ``date_format``, ``dayfirst``, ``label``, ``close_only``, ``repair``). Returns the source
    and the keys it serves.
    """
    from foanalytics.adapters.market_data.files import FileMarketDataSource, FileSourceConfig

    try:
        config = FileSourceConfig(**options)
    except ValueError as exc:
        raise InvalidInputError(f"invalid file options: {exc}") from None
    if (key is None) == (key_template is None):
        raise InvalidInputError("give exactly one of key and key_template")
    if key_template is not None:
        source = FileMarketDataSource.panel(path, key_template, config)
        return source, source.keys
    assert key is not None
    return FileMarketDataSource({key: path}, config), [key]


def read_bars(path: str | Path, timeframe: str | None = None, **options: Any) -> pd.DataFrame:
    """Read validated bars straight from a file, the timeframe inferred when not given.

    ``options`` are those of :func:`file_source`; columns other than the bars' are ignored.
    """
    from foanalytics.adapters.market_data.files import FileSourceConfig, read_bars_file

    try:
        config = FileSourceConfig(**options)
        tf = Timeframe(timeframe) if timeframe else None
    except ValueError as exc:
        raise InvalidInputError(f"invalid file options: {exc}") from None
    return read_bars_file(path, tf, config)


def read_panel(path: str | Path, column: str | None = None, **options: Any) -> pd.DataFrame:
    r"""Read a file of dated values: one column per asset, or the close of a bars file.

    The timestamp column and the dates are read as by :func:`read_bars` (``options`` are
    ``columns={"timestamp": ...}``, ``tz``, ``date_format``, ``dayfirst``). ``column`` keeps
    one column; otherwise a bars file (open, high, low, close) gives its close, named after
    the file, and any other file every column but the timestamp. Values are returned as read;
    :meth:`foanalytics.services.risk.RiskService.returns` checks them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "panel.csv"
    >>> _ = path.write_text("date,AAA,BBB\n01/31/2024,10,5\n02/01/2024,11,6\n")
    >>> read_panel(path).columns.tolist(), str(read_panel(path).index[1].date())
    (['AAA', 'BBB'], '2024-02-01')
    """
    # The files adapter's readers: one parser of file types and dates for bars and panels.
    from foanalytics.adapters.market_data.files import (
        FileSourceConfig,
        _map_columns,
        _parse_timestamps,
        _read_table,
    )

    try:
        config = FileSourceConfig(**options)
    except ValueError as exc:
        raise InvalidInputError(f"invalid file options: {exc}") from None
    file = Path(path)
    raw = _read_table(file)
    mapping = _map_columns(raw, config, file, strict=False)
    stamp = mapping["timestamp"]
    others = [str(c) for c in raw.columns if str(c) != stamp]
    if column is not None:
        if column not in others:
            raise InvalidInputError(
                f"{file.name}: no column {column!r}; it has {', '.join(others) or 'none'}"
            )
        chosen = {column: column}
    elif {"open", "high", "low", "close"} <= set(mapping):
        chosen = {mapping["close"]: file.name.split(".")[0]}
    else:
        chosen = {c: c for c in others}
    if not chosen:
        raise InvalidInputError(f"{file.name}: the file has dates but no value column")
    frame = raw[list(chosen)].rename(columns=chosen)
    frame.index = _parse_timestamps(raw[stamp], config, file)
    return frame
