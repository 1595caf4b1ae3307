"""The tearsheet: every section, images embedded, nothing fetched from elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from foanalytics import Settings, build
from foanalytics.bootstrap import Services
from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.risk import RiskReport
from foanalytics.reports.tearsheet import (
    CHARTS,
    SECTIONS,
    render_charts,
    tearsheet_html,
    write_tearsheet,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def services() -> Services:
    return build(Settings(data_dir="/nonexistent", storage={"backend": "memory"}))


def _closes(shared_data: Path, name: str, column: str) -> pd.Series:
    return pd.read_csv(shared_data / name, index_col=0, parse_dates=True)[column]


@pytest.fixture(scope="module")
def backtest_report(services: Services, shared_data: Path) -> RiskReport:
    raw = pd.read_csv(shared_data / "stocks_daily/GOOG.csv", index_col=0, parse_dates=True)
    bars = raw.rename(columns=str.lower).tz_localize("UTC")
    result = services.backtesting.run("sma_crossover", bars, params={"fast": 10, "slow": 30})
    spy = _closes(shared_data, "panel/spy_prices.csv", "SPY").pct_change().dropna()
    return services.risk.report(result, benchmark=spy.rename("SPY"))


class _Page(HTMLParser):
    """Collect what a browser would fetch or follow: every src, href and CSS url()."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.sources: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self.trade_rows = 0
        self._in_trades = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if values.get("id"):
            self.ids.append(str(values["id"]))
            self._in_trades = values["id"] == "trades"
        if "src" in values:
            self.sources.append(str(values["src"]))
        if "href" in values:
            self.links.append(str(values["href"]))
        if tag == "tr" and self._in_trades:
            self.trade_rows += 1


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_a_backtest_page_holds_every_section_with_embedded_charts(
    backtest_report: RiskReport, tmp_path: Path
) -> None:
    sheet = write_tearsheet(backtest_report, tmp_path / "sheet.html", png_dir=tmp_path / "png")
    page = sheet.html.read_text(encoding="utf-8")
    parsed = _parse(page)
    assert [i for i in parsed.ids if i in SECTIONS] == list(SECTIONS)
    assert len(parsed.sources) == len(CHARTS)
    assert all(s.startswith("data:image/png;base64,") for s in parsed.sources)
    assert all(link.startswith("#") for link in parsed.links)
    # Nothing to fetch: no script, stylesheet link, frame, font or URL anywhere.
    assert not {"script", "link", "iframe", "object", "embed"} & set(parsed.tags)
    assert not re.search(r"https?://|url\(|@import|@font-face", page)
    trades = backtest_report.trades
    assert trades is not None
    assert parsed.trade_rows == len(trades) + 1  # and the header row
    assert [p.name for p in sheet.charts] == [f"{name}.png" for name in CHARTS]
    assert all(p.read_bytes().startswith(PNG) for p in sheet.charts)


def test_the_headline_numbers_are_the_reports(backtest_report: RiskReport) -> None:
    page = tearsheet_html(backtest_report, {})
    column = backtest_report.columns[0]
    sharpe = backtest_report.metrics.at["sharpe", column]
    depth = backtest_report.metrics.at["max_drawdown", column]
    var = backtest_report.var.at[("historical", 0.95), column]
    assert f"{sharpe:,.2f}" in page
    assert f"{depth:.2%}" in page
    assert f"{var:.2%}" in page
    assert "SPY (benchmark)" in page
    assert "data:image" not in page  # no charts were given


def test_charts_are_png_at_the_asked_resolution(services: Services, shared_data: Path) -> None:
    returns = _closes(shared_data, "crypto/BTCUSD.csv", "Close").pct_change().dropna()
    report = services.risk.report(returns.rename("BTC"))  # monthly: 12 periods a year
    charts = render_charts(report, dpi=50)
    assert list(charts) == list(CHARTS)
    for image in charts.values():
        assert image.startswith(PNG)
        width = int.from_bytes(image[16:20], "big")
        assert width == 550  # 11 inches at 50 dpi


def test_a_panel_page_shows_every_asset_and_one_chosen(services, shared_data, tmp_path):
    prices = pd.read_csv(shared_data / "panel/stock_prices.csv", index_col=0, parse_dates=True)
    report = services.risk.report(services.risk.returns(prices[["AAPL", "FB"]], prices=True))
    page = write_tearsheet(report, tmp_path / "p.html", column="FB", dpi=40).html.read_text()
    assert "<th>AAPL</th>" in page
    assert "<th>FB</th>" in page
    assert "Compounded monthly returns of FB" in page
    with pytest.raises(InvalidInputError, match="no column 'GOOG'"):
        write_tearsheet(report, tmp_path / "q.html", column="GOOG")


def test_names_are_escaped(services: Services, shared_data: Path) -> None:
    returns = _closes(shared_data, "panel/spy_prices.csv", "SPY").pct_change().dropna()
    report = services.risk.report(returns.rename("<b>SPY</b>"))
    page = tearsheet_html(report, {}, title="<script>alert(1)</script>")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<b>SPY</b>" not in page


def test_an_unwritable_target_is_a_typed_error(backtest_report, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(InvalidInputError, match="cannot write the tearsheet"):
        write_tearsheet(backtest_report, blocker / "sheet.html", dpi=30)
