"""A local HTTP server that answers like Binance spot's public REST API, for ccxt tests.

It serves the two endpoints ccxt's ``binance`` needs for OHLCV with spot markets only:
``GET /api/v3/exchangeInfo`` (``load_markets``) and ``GET /api/v3/klines`` (``fetch_ohlcv``),
with Binance's paging rules (``startTime`` / ``endTime`` / ``limit``, 500 bars by default and at
most ``max_limit``, the newest bars when no ``startTime`` is given) and Binance's error bodies.
Every request is logged, and scripted faults (a status and body, or a delay longer than the
client's timeout) can be queued for the next requests to a path.

Bars are generated deterministically and kept as ``Bar`` tuples of exact floats; the server
sends prices as the shortest decimal strings that read back as the same floats, as Binance
sends decimal strings, so a client must return exactly these values.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

EXCHANGE_INFO = "/api/v3/exchangeInfo"
KLINES = "/api/v3/klines"

_INTERVAL_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


class Bar(NamedTuple):
    """One kline as the server holds it: open time in epoch ms, then exact float values."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Logged(NamedTuple):
    """One request the server answered."""

    path: str
    params: dict[str, str]
    status: int
    at: float  # time.monotonic() on arrival


@dataclass(frozen=True)
class Fault:
    """What to answer instead of the real response: a status and body, after a delay."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    delay_s: float = 0.0
    passthrough: bool = False  # after the delay, answer normally (a slow but good response)


def generate_bars(start: str, interval: str, count: int, seed: int) -> list[Bar]:
    """Return ``count`` valid bars from ``start`` (a random walk, cent prices, fixed seed).

    ``interval`` is a Binance interval (``1h``, ``1d``, ...) or ``1M`` for calendar months.
    """
    first = pd.Timestamp(start, tz="UTC")
    if interval == "1M":
        opens = pd.date_range(first, periods=count, freq="MS")
        times = [int(t.value // 1_000_000) for t in opens]
    else:
        step = _INTERVAL_MS[interval]
        base = int(first.value // 1_000_000)
        assert base % step == 0, "start must sit on the interval's grid"
        times = [base + i * step for i in range(count)]
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    bars = []
    previous = 100.0
    for i, t in enumerate(times):
        open_ = round(previous, 2)
        close = round(float(closes[i]), 2)
        high = round(max(open_, close) * (1 + float(rng.uniform(0, 0.005))) + 0.01, 2)
        low = round(min(open_, close) * (1 - float(rng.uniform(0, 0.005))) - 0.01, 2)
        volume = round(float(rng.uniform(1, 1000)), 3)
        bars.append(Bar(t, open_, high, low, close, volume))
        previous = close
    return bars


def market(symbol_id: str, base: str, quote: str) -> dict[str, Any]:
    """Return one ``exchangeInfo`` symbol entry as Binance spot sends it (the fields ccxt reads)."""
    return {
        "symbol": symbol_id,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01000000",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001000",
                "maxQty": "9000.00000000",
                "stepSize": "0.00001000",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


@dataclass
class FakeBinance:
    """Binance spot's public market-data endpoints on ``127.0.0.1``, on a free port.

    ``markets`` are ``exchangeInfo`` entries; ``klines`` maps ``(symbol id, interval)`` to the
    bars served. A market listed without klines answers ``-1121 Invalid symbol`` on ``klines``,
    as Binance does for a delisted pair.
    """

    markets: Sequence[dict[str, Any]]
    klines: dict[tuple[str, str], list[Bar]]
    max_limit: int = 1000
    requests: list[Logged] = field(default_factory=list)
    _faults: dict[str, deque[Fault]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> FakeBinance:
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def ccxt_settings(self, rate_limit_ms: int = 1) -> dict[str, Any]:
        """Constructor settings that point ccxt's ``binance`` here, spot markets only."""
        api = f"{self.url}/api/v3"
        return {
            "rateLimit": rate_limit_ms,
            "urls": {"api": {"public": api, "private": api, "v1": f"{self.url}/api/v1"}},
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchMargins": False,
                "fetchCurrencies": False,
            },
        }

    # ----------------------------------------------------------------- scripting
    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def fail_next(self, path: str, *faults: Fault) -> None:
        """Answer the next requests to ``path`` with ``faults``, one each, in order."""
        with self._lock:
            self._faults.setdefault(path, deque()).extend(faults)

    def pending_faults(self, path: str) -> int:
        with self._lock:
            return len(self._faults.get(path, ()))

    def logged(self, path: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def _log(self, path: str, params: dict[str, str], status: int) -> None:
        with self._lock:
            self.requests.append(Logged(path, params, status, time.monotonic()))

    # ----------------------------------------------------------------- endpoints
    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        """Return the status and JSON body Binance would send."""
        if path == EXCHANGE_INFO:
            return 200, {
                "timezone": "UTC",
                "serverTime": int(time.time() * 1000),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    }
                ],
                "exchangeFilters": [],
                "symbols": list(self.markets),
            }
        if path == KLINES:
            return self._klines(params)
        return 404, {"code": -1, "msg": f"unknown path {path}"}

    def _klines(self, params: dict[str, str]) -> tuple[int, Any]:
        symbol = params.get("symbol")
        interval = params.get("interval")
        if symbol is None or interval is None:
            return 400, {"code": -1102, "msg": "Mandatory parameter was not sent."}
        if interval not in {*_INTERVAL_MS, "1M"}:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        bars = self.klines.get((symbol, interval))
        if bars is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit = int(params.get("limit", 500))
        if not 1 <= limit <= self.max_limit:
            return 400, {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}
        start = params.get("startTime")
        end = params.get("endTime")
        chosen = [b for b in bars if end is None or b.time <= int(end)]
        if start is None:
            chosen = chosen[-limit:]  # no start: the newest bars
        else:
            chosen = [b for b in chosen if b.time >= int(start)][:limit]
        return 200, [_kline_row(b, interval) for b in chosen]


def _decimal(value: float) -> str:
    # repr is the shortest string that reads back as the same float.
    return repr(float(value))


def _kline_row(bar: Bar, interval: str) -> list[Any]:
    step = _INTERVAL_MS.get(interval, 0)
    close_time = bar.time + step - 1 if step else bar.time
    return [
        bar.time,
        _decimal(bar.open),
        _decimal(bar.high),
        _decimal(bar.low),
        _decimal(bar.close),
        _decimal(bar.volume),
        close_time,
        _decimal(bar.volume * bar.close),
        42,
        _decimal(bar.volume / 2),
        _decimal(bar.volume * bar.close / 2),
        "0",
    ]


def _handler_for(exchange: FakeBinance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm the client's delayed ACK
        # would hold the body back about 40 ms on every keep-alive request.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query))
            fault = exchange._take_fault(parts.path)
            if fault is not None and not fault.passthrough:
                status, payload, content_type = (
                    fault.status,
                    fault.body.encode(),
                    fault.content_type,
                )
            else:
                status, body = exchange.answer(parts.path, params)
                payload, content_type = json.dumps(body).encode(), "application/json;charset=UTF-8"
            # Logged on arrival, so a slow answer never reorders the log.
            exchange._log(parts.path, params, status)
            if fault is not None and fault.delay_s:
                time.sleep(fault.delay_s)
            self._send(status, payload, content_type)

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean; the exchange logs requests itself

    return Handler


def serve(exchange: FakeBinance) -> Iterator[FakeBinance]:
    """Run ``exchange`` for the duration of a ``yield`` fixture."""
    exchange.start()
    try:
        yield exchange
    finally:
        exchange.stop()
