"""``CcxtMarketDataSource``: bars from crypto exchanges through ccxt's unified OHLCV API.

A series key maps onto ccxt one to one: ``exchange`` is the ccxt exchange id (``binance``),
``symbol`` the ccxt unified symbol (``BTC/USDT``) and the timeframe's value is ccxt's timeframe
string (both use ``1m 5m 15m 30m 1h 4h 1d 1w 1M``).

A fetch checks what the exchange offers before asking it for anything (``has['fetchOHLCV']``, the
timeframe, then the symbol once the markets are loaded), pages through ``fetch_ohlcv`` by
``since``/``limit`` from the start of the range to its end, retries network errors only, and
passes the result through :func:`~foanalytics.domain.market.validate_bars`. Every ccxt error
leaves as a foanalytics error.

The pure parts (the request of each page, the normalisation of ccxt's rows into a frame, the
bars a page contributes) are module functions, tested without a network. ccxt is imported on
first use, so importing this module needs no ccxt and does no I/O.
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib
import inspect
import json
import logging
import math
import numbers
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from foanalytics.domain.errors import (
    InvalidBarsError,
    InvalidInputError,
    NotFoundError,
    ProviderError,
)
from foanalytics.domain.market import (
    BAR_COLUMNS,
    SeriesKey,
    Timeframe,
    bars_from_arrays,
    empty_bars,
    index_ns,
    to_utc,
    validate_bars,
)
from foanalytics.ports.market_data import ProgressCallback, SourceInfo

logger = logging.getLogger(__name__)

_NS_PER_MS = 1_000_000
_ROW_FIELDS = ("timestamp", *BAR_COLUMNS)
# Constructor settings the config owns through its own fields.
_OWNED_SETTINGS = {"timeout": "timeout_ms", "enableRateLimit": "enable_rate_limit"}

_T = TypeVar("_T")


class CcxtSourceConfig(BaseModel):
    """Settings of a :class:`CcxtMarketDataSource`.

    Attributes
    ----------
    timeout_ms
        HTTP timeout of each request, in milliseconds (ccxt's ``timeout``).
    page_limit
        Bars asked for per request (ccxt's ``limit``); exchanges cap it (Binance at 1000).
    max_retries
        Attempts per request, the first included, when it fails with a network error
        (``ccxt.NetworkError``: timeouts, 429 / 418 rate limiting, 5xx, exchange unavailable).
        Other errors are never retried.
    retry_wait_max_s
        Cap of the exponential backoff (full jitter, 1 s, 2 s, 4 s, ... scale) between attempts.
    enable_rate_limit
        ccxt's ``enableRateLimit``: space requests by the exchange's declared rate limit.
    options
        Extra settings for the ccxt exchange constructor, deep-merged over the ones above,
        such as ``{"rateLimit": 200, "options": {"defaultType": "spot"}}`` or ``urls``. They
        apply to the exchanges the source creates, not to injected instances.

    Examples
    --------
    >>> CcxtSourceConfig(page_limit=500).page_limit
    500
    >>> CcxtSourceConfig(options={"timeout": 5})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for CcxtSourceConfig
    ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_ms: int = Field(default=10_000, gt=0)
    page_limit: int = Field(default=1000, gt=0)
    max_retries: int = Field(default=5, ge=1)
    retry_wait_max_s: float = Field(default=30, ge=0)
    enable_rate_limit: bool = True
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        for setting, field in _OWNED_SETTINGS.items():
            if setting in value:
                raise ValueError(f"set {setting!r} through the {field!r} field, not in options")
        return value


class OhlcvRequest(NamedTuple):
    """The arguments of one ``fetch_ohlcv`` page: ``since`` (epoch ms) and ``limit`` (bars)."""

    since: int
    limit: int


def first_since(timeframe: Timeframe, start: pd.Timestamp | None) -> int:
    """Return the ``since`` (epoch ms) of the first page: the first bar open at or after ``start``.

    ``None`` (everything the exchange has) asks from the epoch, which exchanges answer with
    their oldest bars; so does any start before it.

    Examples
    --------
    >>> first_since(Timeframe.H1, pd.Timestamp("2024-01-01 10:30Z"))
    1704106800000
    >>> pd.Timestamp(1704106800000, unit="ms", tz="UTC")
    Timestamp('2024-01-01 11:00:00+0000', tz='UTC')
    >>> first_since(Timeframe.D1, None)
    0
    """
    if start is None:
        return 0
    ns = np.array([to_utc(start).value], dtype=np.int64)
    opened = timeframe.floor(ns)
    if opened[0] < ns[0]:
        opened = timeframe.shift(opened)
    return max(0, -(-int(opened[0]) // _NS_PER_MS))


def next_since(timeframe: Timeframe, last_ms: int) -> int:
    """Return the ``since`` of the page after one whose newest bar opened at ``last_ms``.

    Examples
    --------
    >>> next_since(Timeframe.H1, 1704067200000) - 1704067200000
    3600000
    >>> pd.Timestamp(next_since(Timeframe.MN1, 1706745600000), unit="ms")  # Feb -> Mar 2024
    Timestamp('2024-03-01 00:00:00')
    """
    shifted = timeframe.shift(np.array([last_ms * _NS_PER_MS], dtype=np.int64))
    return int(shifted[0]) // _NS_PER_MS


def end_ms(end: pd.Timestamp | None) -> int | None:
    """Return the exclusive end of a range in epoch ms (rounded up), or ``None``."""
    if end is None:
        return None
    return -(-to_utc(end).value // _NS_PER_MS)


def expected_bars(timeframe: Timeframe, since_ms: int, until_ms: int) -> int:
    """Return how many bars of ``timeframe`` open in ``[since_ms, until_ms)``.

    ``since_ms`` is on the timeframe's grid (as :func:`first_since` and :func:`next_since`
    return it); an exchange with gaps in its history sends fewer.

    Examples
    --------
    >>> expected_bars(Timeframe.H1, 0, 10 * 3_600_000 + 1)
    11
    >>> expected_bars(Timeframe.MN1, 1704067200000, 1735689600000)  # 2024
    12
    """
    if until_ms <= since_ms:
        return 0
    step = timeframe.nanos
    if step is None:
        grid = timeframe.grid(
            pd.Timestamp(since_ms, unit="ms", tz="UTC"), pd.Timestamp(until_ms, unit="ms", tz="UTC")
        )
        return len(grid)
    step_ms = step // _NS_PER_MS
    return -(-(until_ms - since_ms) // step_ms)


def ohlcv_request(
    timeframe: Timeframe, since_ms: int, until_ms: int | None, page_limit: int
) -> OhlcvRequest:
    """Build the request of the page that starts at ``since_ms``.

    The limit is ``page_limit``, or fewer when fewer bars are left before ``until_ms``, so the
    last page asks for no bar past the end of the range.

    Examples
    --------
    >>> ohlcv_request(Timeframe.H1, 0, None, 1000)
    OhlcvRequest(since=0, limit=1000)
    >>> ohlcv_request(Timeframe.H1, 0, 5 * 3_600_000, 1000)
    OhlcvRequest(since=0, limit=5)
    """
    if page_limit <= 0:
        raise InvalidInputError(f"page_limit must be positive, got {page_limit}")
    limit = page_limit
    if until_ms is not None:
        limit = max(1, min(page_limit, expected_bars(timeframe, since_ms, until_ms)))
    return OhlcvRequest(since=since_ms, limit=limit)


def ohlcv_frame(rows: Any) -> pd.DataFrame:
    """Turn ccxt's OHLCV rows into a bars frame, unvalidated, in the order received.

    ccxt returns ``[[timestamp_ms, open, high, low, close, volume], ...]``. A row of another
    shape, a timestamp that is not a whole number of milliseconds, or a value that is not a
    number (ccxt turns what it cannot parse into ``None``) raises :class:`InvalidInputError`
    naming the row; price and volume rules are left to
    :func:`~foanalytics.domain.market.validate_bars`.

    Examples
    --------
    >>> ohlcv_frame([[1704067200000, 1.0, 2.0, 0.5, 1.5, 10]])
                               open  high  low  close  volume
    timestamp
    2024-01-01 00:00:00+00:00   1.0   2.0  0.5    1.5    10.0
    >>> ohlcv_frame([[1704067200000, 1.0, None, 0.5, 1.5, 10]])
    Traceback (most recent call last):
    ...
    foanalytics.domain.errors.InvalidInputError: OHLCV row 0 ...: 'high' is None, not a number
    """
    if not isinstance(rows, list | tuple):
        raise InvalidInputError(
            "OHLCV rows must be a list of [timestamp_ms, open, high, low, close, volume] rows, "
            f"got {type(rows).__name__}: {_short(rows)}"
        )
    count = len(rows)
    stamps = np.empty(count, dtype=np.int64)
    values = np.empty((len(BAR_COLUMNS), count), dtype=np.float64)
    for i, row in enumerate(rows):
        if not isinstance(row, list | tuple) or len(row) != len(_ROW_FIELDS):
            raise InvalidInputError(
                f"OHLCV row {i} is {_short(row)}; expected "
                "[timestamp_ms, open, high, low, close, volume]"
            )
        stamp = row[0]
        if not _is_number(stamp) or not math.isfinite(stamp) or int(stamp) != stamp:
            raise InvalidInputError(
                f"OHLCV row {i} {_short(row)}: the timestamp {stamp!r} is not a whole number of "
                "epoch milliseconds"
            )
        stamps[i] = int(stamp) * _NS_PER_MS
        for j, name in enumerate(BAR_COLUMNS, start=1):
            value = row[j]
            if not _is_number(value):
                raise InvalidInputError(
                    f"OHLCV row {i} {_short(row)}: {name!r} is {value!r}, not a number"
                )
            values[j - 1, i] = float(value)
    return bars_from_arrays(stamps, dict(zip(BAR_COLUMNS, values, strict=True)))


def bars_in_window(page: pd.DataFrame, since_ms: int, until_ms: int | None) -> pd.DataFrame:
    """Keep the bars of a page that open in ``[since_ms, until_ms)``.

    Pages are asked for from ``since_ms`` on, so the bars this drops are the ones an exchange
    sent again (overlapping pages) or past the end of the range.

    Examples
    --------
    >>> page = ohlcv_frame([[t * 60_000, 1.0, 1.0, 1.0, 1.0, 1.0] for t in range(4)])
    >>> list(bars_in_window(page, 60_000, 180_000).index.minute)
    [1, 2]
    """
    ns = index_ns(pd.DatetimeIndex(page.index))
    keep = ns >= since_ms * _NS_PER_MS
    if until_ms is not None:
        keep &= ns < until_ms * _NS_PER_MS
    return page.iloc[np.flatnonzero(keep)]


def unreadable_body(body: Any) -> str | None:
    """Say what is wrong with a response body that ccxt read as "no candles", if anything.

    ccxt drops OHLCV rows it cannot read (no timestamp) and reads a body that is not JSON as an
    empty list, so a malformed page looks like the end of the history. ``body`` is the
    exchange's ``last_http_response`` (ccxt records it by default). A non-empty JSON list or a
    body that is not JSON at all cannot be "no candles"; other shapes (an exchange's JSON
    object wrapper) are left alone, as they are what an empty answer looks like on many
    exchanges.

    Examples
    --------
    >>> unreadable_body("[]") is None, unreadable_body('{"result": []}') is None
    (True, True)
    >>> unreadable_body("[1, 2, 3]")
    'rows ccxt could not read: [1, 2, 3]'
    >>> unreadable_body("<html>Bad gateway</html>")
    "a body that is not JSON: '<html>Bad gateway</html>'"
    """
    if not isinstance(body, str):
        return None
    text = body.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return f"a body that is not JSON: {_short(text)}"
    if isinstance(parsed, list) and parsed:
        return f"rows ccxt could not read: {_clip(text)}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _short(value: Any) -> str:
    return _clip(repr(value))


def _clip(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _import_ccxt() -> ModuleType:
    try:
        return importlib.import_module("ccxt")
    except ImportError as exc:
        raise ImportError(
            "CcxtMarketDataSource needs the ccxt package: pip install 'foanalytics[ccxt]'"
        ) from exc


class CcxtMarketDataSource:
    """A :class:`~foanalytics.ports.market_data.MarketDataSource` over ccxt's sync exchanges.

    Parameters
    ----------
    config
        Timeouts, page size, retries and extra ccxt constructor settings.
    exchanges
        ccxt exchange instances to use, by exchange id, for a service that configures its own
        (keys, proxies, sandbox URLs). Other ids get an instance created on first use from
        ``config`` and kept for the life of the source.

    Notes
    -----
    ``fetch`` raises :class:`InvalidInputError` for an exchange id ccxt does not know, an
    exchange without OHLCV candles or a timeframe it does not offer; :class:`NotFoundError`
    for a symbol it does not list; :class:`ProviderError` (provider ``ccxt:<exchange id>``)
    when the exchange fails or sends malformed or invalid bars, after up to
    ``config.max_retries`` attempts for network errors.

    Examples
    --------
    >>> source = CcxtMarketDataSource(CcxtSourceConfig(page_limit=500))
    >>> source.info().name, len(source.info().timeframes)
    ('ccxt', 9)
    """

    def __init__(
        self, config: CcxtSourceConfig, exchanges: Mapping[str, Any] | None = None
    ) -> None:
        self._config = config
        self._exchanges: dict[str, Any] = dict(exchanges or {})
        for exchange_id, exchange in self._exchanges.items():
            if inspect.iscoroutinefunction(getattr(exchange, "fetch_ohlcv", None)):
                raise InvalidInputError(
                    f"exchange {exchange_id!r} is an async ccxt instance; pass a sync one "
                    "(ccxt.<id>, not ccxt.async_support.<id>)"
                )
        self._lock = threading.Lock()

    def info(self) -> SourceInfo:
        """Describe the source: every timeframe, each exchange serving the subset it offers."""
        return SourceInfo(name="ccxt", timeframes=tuple(Timeframe))

    def exchange(self, exchange_id: str) -> Any:
        """Return the ccxt exchange instance used for ``exchange_id``, creating it if needed.

        Raises
        ------
        InvalidInputError
            If ``exchange_id`` was not injected and is not a ccxt exchange id.
        """
        with self._lock:
            exchange = self._exchanges.get(exchange_id)
            if exchange is None:
                exchange = self._create(exchange_id)
                self._exchanges[exchange_id] = exchange
            return exchange

    def fetch(
        self,
        key: SeriesKey,
        start: Any = None,
        end: Any = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Return the bars of ``key`` in ``[start, end)``, paging through the exchange's history.

        Parameters
        ----------
        key
            ``exchange`` is the ccxt id, ``symbol`` the unified symbol (``BTC/USDT``).
        start, end
            Timestamp-likes (naive ones are UTC); ``None`` means from the exchange's oldest
            bar / up to its newest, which may still be forming.
        progress
            Called after each page with the bars fetched so far and the bars expected in all
            (``None`` unless both bounds are given).

        Returns
        -------
        pandas.DataFrame
            Validated bars, sorted, UTC; empty when the exchange has none in the range.
        """
        start_ts = None if start is None else to_utc(start)
        end_ts = None if end is None else to_utc(end)
        provider = f"ccxt:{key.exchange}"
        exchange = self.exchange(key.exchange)
        self._check_capabilities(exchange, key)
        self._call(provider, f"loading the {key.exchange} markets", exchange.load_markets)
        self._check_symbol(exchange, key)

        timeframe = key.timeframe
        since = first_since(timeframe, start_ts)
        until = end_ms(end_ts)
        expected = (
            expected_bars(timeframe, since, until)
            if start_ts is not None and until is not None
            else None
        )
        pages: list[pd.DataFrame] = []
        fetched = 0
        while until is None or since < until:
            request = ohlcv_request(timeframe, since, until, self._config.page_limit)
            rows = self._call(
                provider,
                f"fetching {key} bars since {pd.Timestamp(request.since, unit='ms', tz='UTC')}",
                functools.partial(
                    exchange.fetch_ohlcv,
                    key.symbol,
                    timeframe.value,
                    since=request.since,
                    limit=request.limit,
                ),
                symbol=key.symbol,
            )
            try:
                page = ohlcv_frame(rows)
            except InvalidInputError as exc:
                raise ProviderError(
                    provider, f"the exchange sent malformed {key} candles: {exc}"
                ) from exc
            if page.empty:
                problem = unreadable_body(getattr(exchange, "last_http_response", None))
                if problem is not None:
                    raise ProviderError(
                        provider, f"the exchange answered {key} with {problem}, not candles"
                    )
            # Checked page by page, so an exchange sending bad bars fails the fetch at once.
            fresh = self._validated(key, provider, bars_in_window(page, since, until))
            fetched += len(fresh)
            if progress is not None:
                progress(fetched, expected)
            if fresh.empty:
                # An empty page is the end of the history; a page of bars already seen (or past
                # the end) means the exchange ignores `since`, and asking again would loop.
                break
            pages.append(fresh)
            newest_ms = int(index_ns(pd.DatetimeIndex(fresh.index))[-1]) // _NS_PER_MS
            following = next_since(timeframe, newest_ms)
            if following <= since:  # cannot happen with grid bars; never loop on it anyway
                break
            since = following
        if not pages:
            return empty_bars()
        # Each page holds only bars after the previous one's, so the pages join sorted and
        # unique; the final check keeps the port's promise whatever the pages were.
        return self._validated(key, provider, pd.concat(pages) if len(pages) > 1 else pages[0])

    def _create(self, exchange_id: str) -> Any:
        ccxt = _import_ccxt()
        if exchange_id not in ccxt.exchanges:
            close = difflib.get_close_matches(exchange_id.lower(), ccxt.exchanges, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InvalidInputError(
                f"exchange {exchange_id!r} is not a ccxt exchange id{hint}; use a lower-case id "
                "from ccxt.exchanges such as 'binance' or 'kraken'"
            )
        settings: dict[str, Any] = {
            "timeout": self._config.timeout_ms,
            "enableRateLimit": self._config.enable_rate_limit,
        }
        # ccxt merges these over its own description; copy so it never shares (and mutates)
        # the lists and dicts held by the frozen config.
        settings.update(copy.deepcopy(self._config.options))
        return getattr(ccxt, exchange_id)(settings)

    def _check_capabilities(self, exchange: Any, key: SeriesKey) -> None:
        has = getattr(exchange, "has", None) or {}
        if not has.get("fetchOHLCV"):
            raise InvalidInputError(
                f"exchange {key.exchange!r} does not offer OHLCV candles through ccxt "
                f"(has['fetchOHLCV'] is {has.get('fetchOHLCV')!r}); pick another exchange"
            )
        offered = getattr(exchange, "timeframes", None) or {}
        if key.timeframe.value not in offered:
            usable = [t.value for t in Timeframe if t.value in offered]
            listed = ", ".join(usable) if usable else "none of the foanalytics timeframes"
            others = sorted(set(offered) - set(usable))
            extra = f" (ccxt also lists {', '.join(others)})" if others else ""
            raise InvalidInputError(
                f"timeframe {key.timeframe.value!r} is not offered by {key.exchange!r} through "
                f"ccxt; it offers {listed}{extra}: fetch one of those and resample"
            )

    def _check_symbol(self, exchange: Any, key: SeriesKey) -> None:
        markets = getattr(exchange, "markets", None) or {}
        if key.symbol not in markets:
            close = difflib.get_close_matches(key.symbol, list(markets), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise NotFoundError(
                f"symbol {key.symbol!r} is not listed on {key.exchange!r} (ccxt unified symbols "
                f"look like 'BTC/USDT'){hint}"
            )

    def _call(
        self, provider: str, what: str, call: Callable[[], _T], *, symbol: str | None = None
    ) -> _T:
        ccxt = _import_ccxt()
        attempts = self._config.max_retries
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=1, max=self._config.retry_wait_max_s),
            retry=retry_if_exception_type(ccxt.NetworkError),
            before_sleep=before_sleep_log(logger, logging.WARNING),
            reraise=True,
        )
        try:
            return retrying(call)
        except ccxt.NetworkError as exc:
            raise ProviderError(
                provider,
                f"{what} failed after {attempts} attempts with network errors, the last "
                f"{type(exc).__name__}: {exc}",
            ) from exc
        except ccxt.BadSymbol as exc:
            if symbol is None:
                raise ProviderError(provider, f"{what} failed: BadSymbol: {exc}") from exc
            raise NotFoundError(f"symbol {symbol!r} is not served by {provider} ({exc})") from exc
        except ccxt.BaseError as exc:
            raise ProviderError(provider, f"{what} failed: {type(exc).__name__}: {exc}") from exc
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            # ccxt parses the body as it reads it: a body of an unexpected shape surfaces as a
            # plain Python error from inside ccxt, which is still the exchange's fault.
            raise ProviderError(
                provider,
                f"{what}: ccxt could not parse the exchange's response "
                f"({type(exc).__name__}: {exc})",
            ) from exc

    def _validated(self, key: SeriesKey, provider: str, frame: pd.DataFrame) -> pd.DataFrame:
        try:
            bars, repairs = validate_bars(frame, key.timeframe, repair=True)
        except InvalidBarsError as exc:
            raise ProviderError(provider, f"the exchange sent invalid {key} bars: {exc}") from exc
        if repairs.changed:
            logger.info(
                "%s: repaired %s bars (sorted: %s, exact duplicates dropped: %d)",
                provider,
                key,
                repairs.sorted,
                repairs.duplicates_dropped,
            )
        return bars
