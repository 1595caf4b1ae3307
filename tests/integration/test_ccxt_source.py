"""``CcxtMarketDataSource``: the real ccxt ``binance`` client against a local fake Binance.

The server (:mod:`.fake_exchange`) holds deterministic bars and answers ``exchangeInfo`` and
``klines`` as Binance spot does; it logs every request and can be scripted to fail, so the tests
check the exact bars returned, how the adapter paged, what it retried and what it did not.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from foanalytics.adapters.market_data.ccxt import (
    CcxtMarketDataSource,
    CcxtSourceConfig,
    OhlcvRequest,
    bars_in_window,
    expected_bars,
    first_since,
    next_since,
    ohlcv_frame,
    ohlcv_request,
)
from foanalytics.domain.errors import (
    InvalidBarsError,
    InvalidInputError,
    NotFoundError,
    ProviderError,
)
from foanalytics.domain.market import SeriesKey, Timeframe, to_utc, validate_bars
from foanalytics.ports.market_data import MarketDataSource

from .fake_exchange import (
    EXCHANGE_INFO,
    KLINES,
    Bar,
    FakeBinance,
    Fault,
    generate_bars,
    market,
    serve,
)

if os.environ.get("CI") == "true":
    import ccxt  # an optional extra, but CI installs it: never skip there
else:
    ccxt = pytest.importorskip("ccxt")

HOURLY = generate_bars("2024-01-01", "1h", 2300, seed=1)
MONTHLY = generate_bars("2021-01-01", "1M", 30, seed=3)
PAGE = 250  # bars per request: 2300 hourly bars take 10 pages
BTC_1H = SeriesKey(exchange="binance", symbol="BTC/USDT", timeframe=Timeframe.H1)
BTC_1M = SeriesKey(exchange="binance", symbol="BTC/USDT", timeframe=Timeframe.MN1)
HOUR_MS = 3_600_000
TOO_MANY = '{"code":-1003,"msg":"Too much request weight used; current limit is 6000."}'


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBinance]:
    exchange = FakeBinance(
        markets=[
            market("BTCUSDT", "BTC", "USDT"),
            market("ETHUSDT", "ETH", "USDT"),
            market("XRPUSDT", "XRP", "USDT"),  # listed, but klines answers -1121 (delisted)
        ],
        klines={("BTCUSDT", "1h"): HOURLY, ("BTCUSDT", "1M"): MONTHLY, ("ETHUSDT", "1h"): []},
    )
    yield from serve(exchange)


@pytest.fixture
def fake(server: FakeBinance) -> Iterator[FakeBinance]:
    server.reset()
    yield server
    server.reset()


def make_config(fake: FakeBinance, **changes: Any) -> CcxtSourceConfig:
    settings: dict[str, Any] = {
        "timeout_ms": 400,
        "page_limit": PAGE,
        "max_retries": 3,
        "retry_wait_max_s": 0.02,
        "options": fake.ccxt_settings(rate_limit_ms=1),
    }
    settings.update(changes)
    return CcxtSourceConfig(**settings)


@pytest.fixture
def source(fake: FakeBinance) -> CcxtMarketDataSource:
    return CcxtMarketDataSource(make_config(fake))


def frame_of(bars: list[Bar], start: Any = None, end: Any = None) -> pd.DataFrame:
    """The bars the server holds in ``[start, end)``, as the frame the adapter must return."""
    lo = -math.inf if start is None else to_utc(start).value // 1_000_000
    hi = math.inf if end is None else to_utc(end).value // 1_000_000
    chosen = [b for b in bars if lo <= b.time < hi]
    raw = pd.DataFrame(
        [b[1:] for b in chosen],
        columns=["open", "high", "low", "close", "volume"],
        index=pd.to_datetime([b.time for b in chosen], unit="ms", utc=True).rename("timestamp"),
        dtype=float,
    )
    return validate_bars(raw, None).bars


def kline_body(rows: list[list[Any]]) -> str:
    return json.dumps([[*row, row[0] + HOUR_MS - 1, "0", 1, "0", "0", "0"] for row in rows])


def start_times(fake: FakeBinance) -> list[int]:
    return [int(r.params["startTime"]) for r in fake.logged(KLINES)]


# --------------------------------------------------------------------------- happy paths
def test_source_satisfies_the_port(source: CcxtMarketDataSource) -> None:
    port: MarketDataSource = source
    info = port.info()
    assert info.name == "ccxt"
    assert set(info.timeframes) == set(Timeframe)


def test_fetch_returns_exactly_the_exchange_bars_of_a_half_open_range(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    start, end = pd.Timestamp("2024-01-03 05:00Z"), pd.Timestamp("2024-02-20 17:00Z")
    bars = source.fetch(BTC_1H, start, end)

    want = frame_of(HOURLY, start, end)
    assert len(want) == (end - start) / pd.Timedelta("1h") == 1164
    pd.testing.assert_frame_equal(bars, want, check_exact=True)
    assert bars.index[0] == start
    assert bars.index[-1] == end - pd.Timedelta("1h")  # end excluded
    assert str(bars.index.tz) == "UTC"

    # Paged explicitly: each page starts one bar after the previous page's last bar, and the
    # last page asks for what is left of the range, never beyond it.
    klines = fake.logged(KLINES)
    assert len(klines) == math.ceil(1164 / PAGE) == 5
    starts = start_times(fake)
    assert starts == [start.value // 1_000_000 + i * PAGE * HOUR_MS for i in range(5)]
    assert [int(r.params["limit"]) for r in klines] == [PAGE] * 4 + [1164 - 4 * PAGE]
    assert {r.params["symbol"] for r in klines} == {"BTCUSDT"}
    assert {r.params["interval"] for r in klines} == {"1h"}
    assert len(fake.logged(EXCHANGE_INFO)) == 1


def test_fetch_with_no_bounds_returns_the_whole_history(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    calls: list[tuple[int, int | None]] = []
    bars = source.fetch(BTC_1H, progress=lambda done, total: calls.append((done, total)))

    pd.testing.assert_frame_equal(bars, frame_of(HOURLY), check_exact=True)
    assert len(bars) == 2300
    # From the epoch, 10 pages with bars, then one empty page that ends the history.
    starts = start_times(fake)
    assert starts[0] == 0
    assert starts[1:] == [HOURLY[0].time + i * PAGE * HOUR_MS for i in range(1, 10)] + [
        HOURLY[-1].time + HOUR_MS
    ]
    assert calls == [(min(2300, PAGE * i), None) for i in range(1, 11)] + [(2300, None)]


def test_off_grid_bounds_select_the_bars_that_open_inside_them(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    bars = source.fetch(BTC_1H, "2024-01-01 10:30", "2024-01-01 20:30")
    assert list(bars.index.hour) == list(range(11, 21))
    pd.testing.assert_frame_equal(
        bars, frame_of(HOURLY, "2024-01-01 11:00Z", "2024-01-01 21:00Z"), check_exact=True
    )
    assert start_times(fake) == [pd.Timestamp("2024-01-01 11:00Z").value // 1_000_000]


def test_progress_reports_each_page_against_the_expected_total(
    source: CcxtMarketDataSource,
) -> None:
    calls: list[tuple[int, int | None]] = []
    start, end = HOURLY[100].time, HOURLY[700].time
    source.fetch(
        BTC_1H,
        pd.Timestamp(start, unit="ms", tz="UTC"),
        pd.Timestamp(end, unit="ms", tz="UTC"),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(250, 600), (500, 600), (600, 600)]


def test_monthly_bars_page_by_calendar_month(fake: FakeBinance) -> None:
    source = CcxtMarketDataSource(make_config(fake, page_limit=7))
    bars = source.fetch(BTC_1M, "2021-01-01", "2023-07-01")

    pd.testing.assert_frame_equal(bars, frame_of(MONTHLY), check_exact=True)
    assert len(bars) == 30
    # Page starts are month starts 7 months apart (months differ in length).
    assert [pd.Timestamp(t, unit="ms").strftime("%Y-%m-%d") for t in start_times(fake)] == [
        "2021-01-01",
        "2021-08-01",
        "2022-03-01",
        "2022-10-01",
        "2023-05-01",
    ]
    assert [int(r.params["limit"]) for r in fake.logged(KLINES)] == [7, 7, 7, 7, 2]


def test_a_range_with_no_bars_gives_an_empty_valid_frame(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    after = pd.Timestamp(HOURLY[-1].time, unit="ms", tz="UTC") + pd.Timedelta(days=1)
    bars = source.fetch(BTC_1H, after, after + pd.Timedelta(days=10))
    assert bars.empty
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    validate_bars(bars, Timeframe.H1)
    assert len(fake.logged(KLINES)) == 1

    empty_market = SeriesKey(exchange="binance", symbol="ETH/USDT", timeframe=Timeframe.H1)
    assert source.fetch(empty_market).empty

    # An empty range asks the exchange for no bars at all.
    fake.reset()
    assert source.fetch(BTC_1H, "2024-01-05", "2024-01-05").empty
    assert fake.logged(KLINES) == []


def test_duplicate_rows_in_a_page_are_dropped(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    rows = [
        [b.time, str(b.open), str(b.high), str(b.low), str(b.close), str(b.volume)]
        for b in HOURLY[:5]
    ]
    # The first page repeats two bars exactly (ccxt keeps them: it sorts, it does not dedupe).
    fake.fail_next(KLINES, Fault(body=kline_body(rows + rows[2:4])))
    bars = source.fetch(BTC_1H, "2024-01-01", "2024-01-01 10:00")
    pd.testing.assert_frame_equal(bars, frame_of(HOURLY[:10]), check_exact=True)
    assert start_times(fake) == [HOURLY[0].time, HOURLY[5].time]


# --------------------------------------------------------------------------- retries
def test_a_429_is_retried_once_and_the_fetch_completes(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    ok = Fault(passthrough=True)
    fake.fail_next(KLINES, ok, ok, Fault(status=429, body=TOO_MANY))
    start, end = "2024-01-02", "2024-02-15"
    bars = source.fetch(BTC_1H, start, end)

    pd.testing.assert_frame_equal(bars, frame_of(HOURLY, start, end), check_exact=True)
    klines = fake.logged(KLINES)
    assert [r.status for r in klines] == [200, 200, 429, 200, 200, 200]
    assert klines[2].params == klines[3].params  # the same page asked again
    assert len(klines) == math.ceil(len(bars) / PAGE) + 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=503, body=""),
        Fault(status=502, body="<html>bad gateway</html>", content_type="text/html"),
        Fault(delay_s=1.0, passthrough=True),  # longer than timeout_ms: ccxt.RequestTimeout
    ],
    ids=["503", "502-html", "timeout"],
)
def test_server_errors_and_timeouts_are_retried(
    source: CcxtMarketDataSource, fake: FakeBinance, fault: Fault
) -> None:
    fake.fail_next(KLINES, Fault(passthrough=True), fault)
    bars = source.fetch(BTC_1H, "2024-01-01", "2024-01-30")

    pd.testing.assert_frame_equal(bars, frame_of(HOURLY, "2024-01-01", "2024-01-30"))
    starts = start_times(fake)
    assert len(starts) == math.ceil(29 * 24 / PAGE) + 1
    assert starts[1] == starts[2]


def test_network_errors_give_a_provider_error_after_max_retries(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    fake.fail_next(KLINES, *[Fault(status=503, body="")] * 4)
    with pytest.raises(ProviderError, match="after 3 attempts") as caught:
        source.fetch(BTC_1H, "2024-01-01", "2024-01-30")

    assert caught.value.provider == "ccxt:binance"
    assert isinstance(caught.value.__cause__, ccxt.ExchangeNotAvailable)
    assert len(fake.logged(KLINES)) == 3  # max_retries attempts, then gave up
    assert fake.pending_faults(KLINES) == 1


def test_market_loading_is_retried_too(source: CcxtMarketDataSource, fake: FakeBinance) -> None:
    fake.fail_next(EXCHANGE_INFO, Fault(status=429, body=TOO_MANY))
    assert len(source.fetch(BTC_1H, "2024-01-01", "2024-01-02")) == 24
    assert [r.status for r in fake.logged(EXCHANGE_INFO)] == [429, 200]


# --------------------------------------------------------------------------- failures
def _row(bar: Bar) -> list[Any]:
    return [bar.time, str(bar.open), str(bar.high), str(bar.low), str(bar.close), "1.0"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (kline_body([[HOURLY[0].time, "abc", "1", "1", "1", "1"]]), None, "'open' is None"),
        (json.dumps([[HOURLY[0].time, "100.0", "101.0"]]), None, "'low' is None"),
        ("[1, 2, 3]", None, "could not read"),
        ("<html><body>Service moved</body></html>", "text/html", "not JSON"),
        ("", None, "not JSON"),
    ],
    ids=["non-numeric", "short-rows", "not-rows", "html", "empty-body"],
)
def test_malformed_responses_are_provider_errors_without_retry(
    source: CcxtMarketDataSource,
    fake: FakeBinance,
    body: str,
    content_type: str | None,
    expected: str,
) -> None:
    fault = Fault(body=body, content_type=content_type or "application/json")
    fake.fail_next(KLINES, fault, Fault(passthrough=True))
    with pytest.raises(ProviderError, match=expected) as caught:
        source.fetch(BTC_1H, "2024-01-01", "2024-01-02")
    assert caught.value.provider == "ccxt:binance"
    assert "BTC/USDT" in str(caught.value)
    assert len(fake.logged(KLINES)) == 1
    assert fake.pending_faults(KLINES) == 1


@pytest.mark.parametrize(
    ("rows", "column"),
    [
        ([[HOURLY[0].time, "100", "99", "98", "100.5", "1"]], "high"),  # high below the body
        ([[HOURLY[0].time + 1_800_000, "100", "101", "99", "100", "1"]], "timestamp"),  # 00:30
        ([_row(HOURLY[0]), [HOURLY[0].time, "1", "2", "0.5", "1.5", "1"]], "timestamp"),
    ],
    ids=["high-below-body", "off-grid", "conflicting-duplicate"],
)
def test_invalid_bars_from_the_exchange_are_provider_errors(
    source: CcxtMarketDataSource, fake: FakeBinance, rows: list[list[Any]], column: str
) -> None:
    fake.fail_next(KLINES, Fault(body=kline_body(rows)))
    with pytest.raises(ProviderError, match="sent invalid") as caught:
        source.fetch(BTC_1H, "2024-01-01", "2024-01-02")
    cause = caught.value.__cause__
    assert isinstance(cause, InvalidBarsError)
    assert cause.column == column
    assert f"column {column!r}" in str(caught.value)
    assert len(fake.logged(KLINES)) == 1


def test_exchange_errors_are_not_retried(source: CcxtMarketDataSource, fake: FakeBinance) -> None:
    body = '{"code":-1100,"msg":"Illegal characters found in parameter \'symbol\'."}'
    fake.fail_next(KLINES, Fault(status=400, body=body), Fault(passthrough=True))
    with pytest.raises(ProviderError, match="BadRequest") as caught:
        source.fetch(BTC_1H, "2024-01-01", "2024-01-02")
    assert caught.value.provider == "ccxt:binance"
    assert isinstance(caught.value.__cause__, ccxt.BadRequest)
    assert len(fake.logged(KLINES)) == 1


def test_an_unknown_symbol_is_not_found(source: CcxtMarketDataSource, fake: FakeBinance) -> None:
    key = SeriesKey(exchange="binance", symbol="DOGE/USDT", timeframe=Timeframe.H1)
    with pytest.raises(NotFoundError, match="'DOGE/USDT'"):
        source.fetch(key)
    assert fake.logged(KLINES) == []

    with pytest.raises(NotFoundError, match="did you mean BTC/USDT"):
        source.fetch(SeriesKey(exchange="binance", symbol="BTC/USDTT", timeframe=Timeframe.H1))


def test_a_symbol_the_exchange_rejects_is_not_found(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    key = SeriesKey(exchange="binance", symbol="XRP/USDT", timeframe=Timeframe.H1)
    with pytest.raises(NotFoundError, match="'XRP/USDT'") as caught:
        source.fetch(key, "2024-01-01", "2024-01-02")
    assert isinstance(caught.value.__cause__, ccxt.BadSymbol)
    assert [r.status for r in fake.logged(KLINES)] == [400]


def test_an_unsupported_timeframe_is_invalid_input(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    exchange = source.exchange("binance")
    exchange.timeframes = {k: v for k, v in exchange.timeframes.items() if k != "4h"}
    key = SeriesKey(exchange="binance", symbol="BTC/USDT", timeframe=Timeframe.H4)
    with pytest.raises(InvalidInputError, match="'4h'") as caught:
        source.fetch(key)
    message = str(caught.value)
    assert "1m, 5m, 15m, 30m, 1h, 1d, 1w, 1M" in message
    assert fake.requests == []  # refused before any request


def test_an_exchange_without_ohlcv_is_invalid_input(
    source: CcxtMarketDataSource, fake: FakeBinance
) -> None:
    exchange = source.exchange("binance")
    exchange.has = {**exchange.has, "fetchOHLCV": False}
    with pytest.raises(InvalidInputError, match=r"'binance'.*fetchOHLCV"):
        source.fetch(BTC_1H)
    assert fake.requests == []


def test_an_unknown_exchange_id_is_invalid_input(source: CcxtMarketDataSource) -> None:
    key = SeriesKey(exchange="binanse", symbol="BTC/USDT", timeframe=Timeframe.H1)
    with pytest.raises(InvalidInputError, match=r"'binanse'.*did you mean binance"):
        source.fetch(key)


# --------------------------------------------------------------------------- wiring
def test_created_exchanges_get_the_config_and_are_reused(fake: FakeBinance) -> None:
    source = CcxtMarketDataSource(make_config(fake, timeout_ms=1234, enable_rate_limit=False))
    exchange = source.exchange("binance")
    assert isinstance(exchange, ccxt.binance)
    assert exchange.timeout == 1234
    assert exchange.enableRateLimit is False
    assert exchange.urls["api"]["public"] == f"{fake.url}/api/v3"
    assert source.exchange("binance") is exchange


def test_an_injected_exchange_is_used(fake: FakeBinance) -> None:
    mine = ccxt.binance({**fake.ccxt_settings(), "timeout": 2000})
    source = CcxtMarketDataSource(CcxtSourceConfig(page_limit=PAGE), exchanges={"binance": mine})
    assert source.exchange("binance") is mine
    bars = source.fetch(BTC_1H, "2024-01-01", "2024-01-03")
    pd.testing.assert_frame_equal(bars, frame_of(HOURLY, "2024-01-01", "2024-01-03"))
    assert "BTC/USDT" in mine.markets
    assert mine.timeout == 2000  # left as the embedding service configured it


def test_an_async_exchange_is_refused() -> None:
    class AsyncExchange:
        async def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> list[list[Any]]:
            return []

    with pytest.raises(InvalidInputError, match="async"):
        CcxtMarketDataSource(CcxtSourceConfig(), exchanges={"binance": AsyncExchange()})


def test_the_rate_limit_spaces_requests(fake: FakeBinance) -> None:
    def span(enable: bool) -> float:
        fake.reset()
        options = fake.ccxt_settings(rate_limit_ms=250)
        config = make_config(fake, page_limit=50, enable_rate_limit=enable, options=options)
        source = CcxtMarketDataSource(config)
        source.fetch(BTC_1H, "2024-01-01", "2024-01-11")  # 240 bars: 5 pages
        arrivals = [r.at for r in fake.logged(KLINES)]
        assert len(arrivals) == 5
        return arrivals[-1] - arrivals[0]

    # ccxt spaces requests by rateLimit x the endpoint's declared cost (a weight, 0.4 for klines).
    spacing = 0.250 * ccxt.binance().api["public"]["get"]["klines"]["cost"]
    assert span(True) >= 0.9 * 4 * spacing
    assert span(False) < 0.5 * 4 * spacing


def test_config_is_frozen_and_strict() -> None:
    config = CcxtSourceConfig()
    assert (config.timeout_ms, config.page_limit, config.max_retries) == (10_000, 1000, 5)
    assert (config.retry_wait_max_s, config.enable_rate_limit, config.options) == (30, True, {})
    with pytest.raises(ValidationError):
        CcxtSourceConfig(page_size=10)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="timeout_ms"):
        CcxtSourceConfig(options={"timeout": 1})
    with pytest.raises(ValidationError):
        CcxtSourceConfig(page_limit=0)
    with pytest.raises(ValidationError):
        config.page_limit = 5  # type: ignore[misc]


# --------------------------------------------------------------------------- pure parts
def test_first_since_is_the_first_bar_open_at_or_after_start() -> None:
    assert first_since(Timeframe.H1, pd.Timestamp("2024-01-01 10:00Z")) == 1704103200000
    assert first_since(Timeframe.H1, pd.Timestamp("2024-01-01 10:00:00.001Z")) == 1704106800000
    # Weekly bars open on Mondays; 2024-01-03 is a Wednesday.
    monday = pd.Timestamp(first_since(Timeframe.W1, to_utc("2024-01-03")), unit="ms")
    assert monday == pd.Timestamp("2024-01-08")
    assert first_since(Timeframe.D1, None) == 0
    assert first_since(Timeframe.D1, pd.Timestamp("1969-06-01")) == 0


def test_requests_never_ask_past_the_end() -> None:
    assert ohlcv_request(Timeframe.H1, 0, None, 500) == OhlcvRequest(0, 500)
    assert ohlcv_request(Timeframe.H1, 0, 3 * HOUR_MS, 500) == OhlcvRequest(0, 3)
    assert ohlcv_request(Timeframe.H1, 0, 3 * HOUR_MS + 1, 500) == OhlcvRequest(0, 4)
    assert ohlcv_request(Timeframe.H1, 0, 10_000 * HOUR_MS, 500) == OhlcvRequest(0, 500)
    with pytest.raises(InvalidInputError):
        ohlcv_request(Timeframe.H1, 0, None, 0)
    jan = pd.Timestamp("2024-01-01").value // 1_000_000
    assert next_since(Timeframe.MN1, jan) == pd.Timestamp("2024-02-01").value // 1_000_000
    assert expected_bars(Timeframe.D1, jan, jan) == 0


def test_ohlcv_frame_normalises_rows_and_names_bad_ones() -> None:
    frame = ohlcv_frame([[HOUR_MS, 1, 2.5, 0.5, 2, 7], (0, 1.0, 1.0, 1.0, 1.0, 0.0)])
    assert list(frame.index) == [
        pd.Timestamp(HOUR_MS, unit="ms", tz="UTC"),
        pd.Timestamp(0, tz="UTC"),
    ]
    assert frame.dtypes.eq(np.float64).all()
    assert frame["high"].tolist() == [2.5, 1.0]
    assert ohlcv_frame([]).empty

    with pytest.raises(InvalidInputError, match="got dict"):
        ohlcv_frame({"rows": []})


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"timestamp": 0}], "row 0"),
        ([[0, 1, 1, 1, 1, 1], [0, 1, 1]], "row 1"),
        ([[0, 1, 1, 1, True, 1]], "'close' is True"),
        ([[0, 1, 1, 1, 1, "1"]], "'volume' is '1'"),
        ([[1.5, 1, 1, 1, 1, 1]], "timestamp 1.5"),
        ([[None, 1, 1, 1, 1, 1]], "timestamp None"),
    ],
    ids=["not-a-list", "short", "bool", "string", "fractional-ms", "no-timestamp"],
)
def test_ohlcv_frame_rejects_malformed_rows(rows: list[Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ohlcv_frame(rows)


def test_bars_in_window_drops_overlap_and_bars_past_the_end() -> None:
    page = ohlcv_frame([[t * HOUR_MS, 1.0, 1.0, 1.0, 1.0, 1.0] for t in (3, 1, 2, 4, 5)])
    kept = bars_in_window(page, 2 * HOUR_MS, 5 * HOUR_MS)
    assert [ts.hour for ts in kept.index] == [3, 2, 4]
    assert len(bars_in_window(page, 2 * HOUR_MS, None)) == 4
