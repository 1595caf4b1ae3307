"""Tearsheets: a :class:`RiskReport` as one self-contained HTML page, charts embedded as PNG.

The page works offline: styles are inline, charts are ``data:`` URIs drawn by matplotlib's Agg
renderer (figures are built directly, never through ``pyplot``, so no global state is touched)
and nothing refers to an external address. It holds the headline metrics, the equity curve
against the benchmark, the underwater (drawdown) chart, monthly returns as a heatmap, yearly
returns, rolling Sharpe ratio, volatility and beta, the return distribution with its VaR lines,
the VaR / CVaR table, the deepest drawdowns and, for a backtest, the trade list.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics import __version__
from foanalytics.domain.errors import FoAnalyticsError, InvalidInputError
from foanalytics.domain.risk import PERCENT_METRICS, RiskReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The charts of a tearsheet, in page order (also the PNG file names).
CHARTS: tuple[str, ...] = (
    "equity",
    "underwater",
    "monthly_returns",
    "yearly_returns",
    "rolling",
    "distribution",
)
#: The sections of the page, in order (``trades`` only for a backtest), as HTML ids.
SECTIONS: tuple[str, ...] = (
    "metrics",
    "equity",
    "underwater",
    "monthly_returns",
    "yearly_returns",
    "rolling",
    "distribution",
    "var",
    "drawdowns",
    "trades",
)

_TITLES = {
    "metrics": "Headline metrics",
    "equity": "Equity curve",
    "underwater": "Underwater (drawdown from the running peak)",
    "monthly_returns": "Monthly returns",
    "yearly_returns": "Yearly returns",
    "rolling": "Rolling Sharpe ratio and volatility",
    "distribution": "Return distribution and value at risk",
    "var": "Value at risk and conditional value at risk",
    "drawdowns": "Deepest drawdowns",
    "trades": "Trades",
}
_LABELS = {
    "total_return": "Total return",
    "cagr": "CAGR",
    "annual_mean": "Annual mean return",
    "annual_volatility": "Annual volatility",
    "skew": "Skew",
    "kurtosis": "Kurtosis (excess)",
    "best": "Best period",
    "worst": "Worst period",
    "hit_rate": "Hit rate",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "calmar": "Calmar ratio",
    "omega": "Omega ratio",
    "sterling": "Sterling ratio",
    "burke": "Burke ratio",
    "ulcer_index": "Ulcer index",
    "martin": "Martin ratio",
    "tail_ratio": "Tail ratio",
    "gain_to_pain": "Gain to pain",
    "common_sense_ratio": "Common sense ratio",
    "max_drawdown": "Max drawdown",
    "average_drawdown": "Average drawdown",
    "average_drawdown_duration": "Average drawdown length (periods)",
    "alpha": "Alpha (annual)",
    "beta": "Beta",
    "correlation": "Correlation",
    "tracking_error": "Tracking error",
    "information_ratio": "Information ratio",
    "up_capture": "Up capture",
    "down_capture": "Down capture",
}
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Returns", ("total_return", "cagr", "annual_mean", "best", "worst", "hit_rate")),
    (
        "Risk",
        (
            "annual_volatility",
            "skew",
            "kurtosis",
            "max_drawdown",
            "average_drawdown",
            "average_drawdown_duration",
            "ulcer_index",
        ),
    ),
    (
        "Risk-adjusted",
        (
            "sharpe",
            "sortino",
            "calmar",
            "omega",
            "sterling",
            "burke",
            "martin",
            "tail_ratio",
            "gain_to_pain",
            "common_sense_ratio",
        ),
    ),
    (
        "Against the benchmark",
        (
            "alpha",
            "beta",
            "correlation",
            "tracking_error",
            "information_ratio",
            "up_capture",
            "down_capture",
        ),
    ),
)
_HEADLINE = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown")
_METHOD_LABELS = {
    "historical": "Historical",
    "parametric": "Parametric (normal)",
    "cornish_fisher": "Cornish-Fisher",
    "monte_carlo": "Monte Carlo",
}
_MAX_TRADES = 1000
_BLUE, _GREY, _RED = "#1f5fa8", "#8a8f98", "#c0392b"
_METHOD_COLORS = {
    "historical": "#c0392b",
    "parametric": "#1f5fa8",
    "cornish_fisher": "#8e44ad",
    "monte_carlo": "#d68910",
}


class Tearsheet(BaseModel):
    """The files a tearsheet was written to."""

    model_config = ConfigDict(frozen=True)

    html: Path
    charts: tuple[Path, ...] = ()


def write_tearsheet(
    report: RiskReport,
    out: str | Path,
    *,
    png_dir: str | Path | None = None,
    column: str | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> Tearsheet:
    """Write the tearsheet of ``report`` to the HTML file ``out`` (and its charts as PNGs).

    Parameters
    ----------
    report
        What to show.
    out
        The HTML file to write; its folder is created.
    png_dir
        When given, each chart is also written there as ``<name>.png`` (names: :data:`CHARTS`).
    column
        The asset the single-series charts and tables show (the first by default); the
        metrics table and the equity curve show every asset.
    title
        The page title (the report's name by default).
    dpi
        Resolution of the charts.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from foanalytics import Settings, build
    >>> from foanalytics.domain.market import SeriesKey
    >>> services = build(Settings(storage={"backend": "memory"}))
    >>> key = SeriesKey.parse("synthetic/BTC/USD/1d")
    >>> _ = services.market_data.ingest("synthetic", key, "2022-01-01", "2024-01-01")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sheet = write_tearsheet(services.risk.report(key), folder / "btc.html", dpi=40)
    >>> sheet.html.read_text().count("data:image/png;base64,")
    6
    """
    charts = render_charts(report, column, dpi=dpi)
    page = tearsheet_html(report, charts, column=column, title=title)
    target = Path(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
        written: list[Path] = []
        if png_dir is not None:
            folder = Path(png_dir)
            folder.mkdir(parents=True, exist_ok=True)
            for name, image in charts.items():
                path = folder / f"{name}.png"
                path.write_bytes(image)
                written.append(path)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the tearsheet to {exc.filename or target}: {exc.strerror}"
        ) from None
    return Tearsheet(html=target, charts=tuple(written))


def render_charts(
    report: RiskReport, column: str | None = None, *, dpi: int = 110
) -> dict[str, bytes]:
    """Draw the charts of :data:`CHARTS` for one asset of ``report``; PNG bytes by name.

    Examples
    --------
    >>> from foanalytics import Settings, build
    >>> days = pd.date_range("2023-01-02", periods=300, freq="B", tz="UTC")
    >>> returns = pd.Series(np.sin(np.arange(300) / 3) / 100, index=days, name="wave")
    >>> report = build(Settings(storage={"backend": "memory"})).risk.report(returns)
    >>> charts = render_charts(report, dpi=30)
    >>> list(charts) == list(CHARTS), charts["equity"][1:4]
    (True, b'PNG')
    """
    name = _column(report, column)
    figure_class = _figure_class()
    drawers: dict[str, Callable[[Figure, RiskReport, str], None]] = {
        "equity": _equity,
        "underwater": _underwater,
        "monthly_returns": _monthly,
        "yearly_returns": _yearly,
        "rolling": _rolling,
        "distribution": _distribution,
    }
    images = {}
    for chart, draw in drawers.items():
        figure = figure_class(figsize=(11.0, _height(chart, report, name)), dpi=dpi)
        figure.set_layout_engine("constrained")
        draw(figure, report, name)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        images[chart] = buffer.getvalue()
    return images


def tearsheet_html(
    report: RiskReport,
    charts: Mapping[str, bytes],
    *,
    column: str | None = None,
    title: str | None = None,
) -> str:
    """Return the tearsheet page: ``charts`` (PNG bytes by name) embedded as ``data:`` URIs.

    Examples
    --------
    >>> from foanalytics import Settings, build
    >>> days = pd.date_range("2023-01-02", periods=300, freq="B", tz="UTC")
    >>> returns = pd.Series(np.sin(np.arange(300) / 3) / 100, index=days, name="wave")
    >>> report = build(Settings(storage={"backend": "memory"})).risk.report(returns)
    >>> page = tearsheet_html(report, {}, title="A wave")
    >>> page.startswith("<!DOCTYPE html>"), '<section id="var">' in page
    (True, True)
    """
    name = _column(report, column)
    heading = title or report.name
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(heading)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<header><h1>{_e(heading)}</h1><p class='sub'>{_subtitle(report)}</p>",
        _nav(report),
        "</header>",
        _cards(report, name),
        _section("metrics", _metrics_table(report)),
    ]
    for chart in CHARTS:
        image = charts.get(chart)
        if image is None:
            continue
        data = base64.b64encode(image).decode("ascii")
        alt = _e(_TITLES[chart])
        body = f'<img src="data:image/png;base64,{data}" alt="{alt}">'
        parts.append(_section(chart, body, _chart_note(chart, report, name)))
    parts.append(_section("var", _var_table(report, name)))
    parts.append(_section("drawdowns", _drawdown_table(report, name)))
    if report.trades is not None:
        parts.append(_section("trades", _trades_table(report.trades)))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"<footer>foanalytics {_e(__version__)} &middot; written {stamp}</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


# -- page parts --------------------------------------------------------------------------------

_CSS = """
:root{--ink:#1d2330;--muted:#5f6b7a;--line:#e3e7ee;--bg:#f6f8fb;--pos:#1e8449;--neg:#c0392b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:17px;margin:0 0 10px}
.sub{color:var(--muted);margin:0 0 10px}
nav a{color:var(--muted);margin-right:14px;font-size:13px;text-decoration:none}
nav a:hover{color:var(--ink);text-decoration:underline}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 18px;
margin:16px 0}
section img{width:100%;height:auto;display:block}
.note{color:var(--muted);font-size:12.5px;margin:8px 0 0}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:600;margin-top:2px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{color:var(--muted);font-weight:600;border-bottom:2px solid var(--line)}
tbody tr:nth-child(even){background:#fafbfd}
caption{text-align:left;font-weight:600;padding:4px 0 6px;color:var(--ink)}
.groups{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:10px 32px;
align-items:start}
thead th{white-space:normal;overflow-wrap:break-word;vertical-align:bottom}
.stack table{margin-bottom:14px;table-layout:fixed}
.stack th:first-child{width:26%}
.neg{color:var(--neg)}
.pos{color:var(--pos)}
.scroll{max-height:560px;overflow:auto}
.scroll thead th{position:sticky;top:0;background:#fff}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
@media (max-width:900px){.cards{grid-template-columns:repeat(3,1fr)}
.groups{grid-template-columns:1fr}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _subtitle(report: RiskReport) -> str:
    first, last = report.start, report.end
    bits = [
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}",
        f"{len(report.returns):,} periods",
        f"{report.periods_per_year:g} periods a year",
        f"benchmark: {report.benchmark}" if report.benchmark else "no benchmark",
        f"rolling window: {report.window} periods",
    ]
    if report.risk_free:
        bits.append(f"risk-free rate {report.risk_free:.2%} a year")
    return _e(" · ".join(bits))


def _nav(report: RiskReport) -> str:
    names = [s for s in SECTIONS if s != "trades" or report.trades is not None]
    links = "".join(f'<a href="#{s}">{_e(_TITLES[s].split(" (")[0])}</a>' for s in names)
    return f"<nav>{links}</nav>"


def _section(name: str, body: str, note: str = "") -> str:
    extra = f"<p class='note'>{note}</p>" if note else ""
    return f'<section id="{name}"><h2>{_e(_TITLES[name])}</h2>{body}{extra}</section>'


def _cards(report: RiskReport, column: str) -> str:
    cells = []
    for metric in _HEADLINE:
        if metric not in report.metrics.index:
            continue
        value = report.metrics.at[metric, column]
        cells.append(
            f"<div class='card'><div class='k'>{_e(_LABELS.get(metric, metric))}</div>"
            f"<div class='v{_sign_class(metric, value)}'>{_e(_format(metric, value))}</div></div>"
        )
    caption = (
        f"<p class='sub'>Headline figures of {_e(column)}</p>" if len(report.columns) > 1 else ""
    )
    return f"{caption}<div class='cards'>{''.join(cells)}</div>"


def _sign_class(metric: str, value: Any) -> str:
    if metric not in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown"):
        return ""
    if not isinstance(value, int | float | np.floating) or not math.isfinite(float(value)):
        return ""
    return " neg" if value < 0 else ""


def _format(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return "\u2013"
    number = float(value)
    if metric in PERCENT_METRICS:
        return f"{number:.2%}"
    if metric == "average_drawdown_duration":
        return f"{number:,.1f}"
    return f"{number:,.2f}"


def _metrics_table(report: RiskReport) -> str:
    headers = [*report.columns]
    bench = report.benchmark_metrics
    if bench is not None:
        headers.append(f"{report.benchmark} (benchmark)")
    head = "".join(f"<th>{_e(h)}</th>" for h in ["", *headers])
    known = [m for _, names in _GROUPS for m in names]
    others = tuple(str(m) for m in report.metrics.index if str(m) not in known)
    tables = []
    for group, names in (*_GROUPS, ("Other", others)):
        rows = []
        for metric in names:
            if metric not in report.metrics.index:
                continue
            values = [report.metrics.at[metric, c] for c in report.columns]
            if bench is not None:
                values.append(bench.get(metric, math.nan))
            cells = "".join(f"<td>{_e(_format(metric, v))}</td>" for v in values)
            rows.append(f"<tr><td>{_e(_LABELS.get(metric, metric))}</td>{cells}</tr>")
        if rows:
            tables.append(
                f"<table><caption>{_e(group)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>"
            )
    # Side by side while the tables are narrow; one under the other for many assets.
    layout = "groups" if sum(len(h) + 6 for h in headers) <= 48 else "stack"
    return f"<div class='{layout}'>{''.join(tables)}</div>"


def _var_table(report: RiskReport, column: str) -> str:
    levels = report.confidence
    head = ["method"]
    head += [f"VaR {c:.1%}".replace(".0%", "%") for c in levels]
    head += [f"CVaR {c:.1%}".replace(".0%", "%") for c in levels]
    rows = []
    methods = list(dict.fromkeys(m for m, _ in report.var.index))
    for method in methods:
        values = [report.var.at[(method, c), column] for c in levels]
        values += [report.cvar.at[(method, c), column] for c in levels]
        cells = "".join(f"<td>{_e(_format('best', v))}</td>" for v in values)
        rows.append(f"<tr><td>{_e(_METHOD_LABELS.get(method, method))}</td>{cells}</tr>")
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    note = (
        f"<p class='note'>Returns of one period of {_e(column)}; a loss is negative. CVaR is "
        "the mean return beyond the VaR.</p>"
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _formatter(values: pd.Series, kind: str) -> Callable[[Any], str]:
    """Return one formatter for a whole column, so its rows line up alike."""
    stamps = [v for v in values if isinstance(v, pd.Timestamp)]
    daily = all(v.hour == 0 and v.minute == 0 and v.second == 0 for v in stamps)
    numbers = np.asarray(
        [float(v) for v in values if isinstance(v, float | np.floating) and np.isfinite(v)]
    )
    # Six significant figures of a typical value: 2 decimals for 1,500, 5 for 1.07.
    typical = float(np.median(np.abs(numbers))) if len(numbers) else 1.0
    decimals = int(np.clip(5 - math.floor(math.log10(typical)) if typical > 0 else 2, 2, 8))

    def cell(value: Any) -> str:
        if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return "<td>&ndash;</td>"
        if isinstance(value, pd.Timestamp):
            return f"<td>{value:%Y-%m-%d}</td>" if daily else f"<td>{value:%Y-%m-%d %H:%M}</td>"
        if isinstance(value, bool | np.bool_):
            return f"<td>{'yes' if value else 'no'}</td>"
        if isinstance(value, int | np.integer):
            return f"<td>{int(value):,}</td>"
        if isinstance(value, float | np.floating):
            number = float(value)
            css = " class='neg'" if number < 0 and kind in ("percent", "money") else ""
            if kind == "percent":
                return f"<td{css}>{number:.2%}</td>"
            if kind == "money":
                return f"<td{css}>{number:,.2f}</td>"
            return f"<td>{number:,.{decimals}f}</td>"
        return f"<td>{_e(value)}</td>"

    return cell


def _frame_table(frame: pd.DataFrame, kinds: Mapping[str, str]) -> str:
    head = "".join(f"<th>{_e(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    cells = {c: _formatter(frame[c], kinds.get(str(c), "")) for c in frame.columns}
    rows = []
    for record in frame.to_dict("records"):
        rows.append(f"<tr>{''.join(cells[c](record[c]) for c in frame.columns)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _drawdown_table(report: RiskReport, column: str) -> str:
    table = report.drawdowns[column]
    if table.empty:
        return "<p>No drawdown: the series never fell below a previous peak.</p>"
    kinds = {c: "percent" for c in table.columns if c in ("depth", "drawdown")}
    note = (
        "<p class='note'>Lengths count periods; a drawdown not recovered by the end has no "
        "recovery date.</p>"
    )
    return _frame_table(table, kinds) + note


def _trades_table(trades: pd.DataFrame) -> str:
    if trades.empty:
        return "<p>The backtest made no trade.</p>"
    shown = trades.head(_MAX_TRADES)
    kinds = {"pnl": "money", "return": "percent", "size": "number"}
    note = ""
    if len(trades) > _MAX_TRADES:
        note = f"<p class='note'>The first {_MAX_TRADES:,} of {len(trades):,} trades.</p>"
    closed = trades[trades["exit_reason"] != "open"] if "exit_reason" in trades else trades
    summary = ""
    if len(closed):
        wins = float((closed["pnl"] > 0).mean())
        summary = (
            f"<p class='note'>{len(trades):,} trades ({len(closed):,} closed); "
            f"{wins:.1%} of the closed ones won; total pnl {closed['pnl'].sum():,.2f}.</p>"
        )
    return f"<div class='scroll'>{_frame_table(shown, kinds)}</div>{note}{summary}"


def _chart_note(chart: str, report: RiskReport, column: str) -> str:
    if chart == "equity":
        return "Growth of 1 invested at the start, each asset over its own history."
    if chart == "monthly_returns":
        return f"Compounded monthly returns of {_e(column)}."
    if chart == "rolling":
        days = report.window / report.periods_per_year * 365.25
        beta = "; the last panel is the beta to the benchmark" if "beta" in report.rolling else ""
        return (
            f"Windows of {report.window:,} periods (about {days:,.0f} days), plotted at each "
            f"window's last period{beta}."
        )
    if chart == "distribution":
        return "Vertical lines: VaR of each method; dashed and dotted lines are the levels."
    return ""


# -- charts ------------------------------------------------------------------------------------


def _figure_class() -> type[Figure]:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise FoAnalyticsError(
            "tearsheets need matplotlib: pip install 'foanalytics[report]'"
        ) from None
    return Figure


def _column(report: RiskReport, column: str | None) -> str:
    if column is None:
        return report.columns[0]
    if column not in report.columns:
        raise InvalidInputError(
            f"the report has no column {column!r}; it has {', '.join(report.columns)}"
        )
    return column


def _height(chart: str, report: RiskReport, column: str) -> float:
    if chart == "monthly_returns":
        years = len(_monthly_matrix(report.returns[column].dropna()).index)
        return max(1.8, 0.34 * years + 1.1)
    if chart == "rolling":
        return 2.3 * len([m for m in ("sharpe", "volatility", "beta") if m in report.rolling])
    if chart == "underwater":
        return 3.0
    return 3.8


def _x(index: pd.Index) -> Any:
    stamps = pd.DatetimeIndex(index)
    return (stamps.tz_convert(None) if stamps.tz is not None else stamps).to_numpy()


def _percent_axis(ax: Axes, axis: str = "y", decimals: int | None = None) -> None:
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


def _style(ax: Axes) -> None:
    ax.grid(True, color="#e6e9ef", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)


def _growth(returns: pd.Series) -> pd.Series:
    clean = returns.dropna()
    return (1.0 + clean).cumprod()


def _equity(figure: Figure, report: RiskReport, column: str) -> None:
    ax = figure.subplots()
    curves: list[pd.Series] = []
    palette = [_BLUE, "#d68910", "#1e8449", "#8e44ad", "#c0392b", "#17a2b8", "#6d4c41"]
    for i, name in enumerate(report.columns):
        growth = _growth(report.returns[name])
        curves.append(growth)
        width = 1.6 if name == column else 1.0
        ax.plot(
            _x(growth.index),
            growth.to_numpy(),
            label=name,
            linewidth=width,
            color=palette[i % len(palette)],
        )
    if report.benchmark_returns is not None:
        growth = _growth(report.benchmark_returns)
        curves.append(growth)
        ax.plot(
            _x(growth.index),
            growth.to_numpy(),
            color=_GREY,
            linewidth=1.2,
            label=f"{report.benchmark} (benchmark)",
        )
    low = min(float(c.min()) for c in curves)
    high = max(float(c.max()) for c in curves)
    if low > 0 and high / low > 12:
        ax.set_yscale("log")
    ax.axhline(1.0, color="#555", linewidth=0.7)
    ax.set_ylabel("growth of 1" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    _legend_above(ax, len(curves))
    _style(ax)


def _legend_above(ax: Axes, entries: int) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=9,
        frameon=False,
        ncol=min(4, entries),
        borderaxespad=0.2,
    )


def _underwater(figure: Figure, report: RiskReport, column: str) -> None:
    ax = figure.subplots()
    series = report.underwater[column].dropna()
    x = _x(series.index)
    ax.fill_between(x, series.to_numpy(), 0.0, color=_RED, alpha=0.35, linewidth=0)
    ax.plot(x, series.to_numpy(), color=_RED, linewidth=0.8)
    if len(series) and float(series.min()) < 0:
        at = int(np.argmin(series.to_numpy()))
        depth = float(series.iloc[at])
        ax.plot(x[at : at + 1], [depth], marker="o", markersize=4, color="#7b241c")
        ax.set_title(
            f"deepest: {depth:.1%} on {series.index[at]:%Y-%m-%d}",
            loc="left",
            fontsize=9,
            color="#7b241c",
        )
    ax.set_ylabel("drawdown")
    ax.set_ylim(top=0.0)
    _percent_axis(ax, decimals=0)
    _style(ax)


def _monthly_matrix(returns: pd.Series) -> pd.DataFrame:
    if returns.empty:
        return pd.DataFrame(columns=range(1, 13), dtype=float)
    index = pd.DatetimeIndex(returns.index)
    growth = (1.0 + returns).groupby([index.year, index.month]).prod() - 1.0
    matrix = growth.unstack()
    return matrix.reindex(columns=range(1, 13))


def _monthly(figure: Figure, report: RiskReport, column: str) -> None:
    ax = figure.subplots()
    matrix = _monthly_matrix(report.returns[column].dropna())
    values = matrix.to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    limit = float(np.quantile(np.abs(finite), 0.95)) if len(finite) else 0.1
    limit = limit or 0.01
    ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            strong = abs(value) > 0.7 * limit
            ax.text(
                col,
                row,
                f"{value:.1%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if strong else "#1d2330",
            )
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    ax.set_xticks(range(12), months)
    ax.set_yticks(range(len(matrix.index)), [str(y) for y in matrix.index])
    ax.tick_params(labelsize=9, length=0)
    ax.xaxis.tick_top()
    for side in ax.spines.values():
        side.set_visible(False)


def _yearly_returns(returns: pd.Series) -> pd.Series:
    index = pd.DatetimeIndex(returns.index)
    return (1.0 + returns).groupby(index.year).prod() - 1.0


def _yearly(figure: Figure, report: RiskReport, column: str) -> None:
    ax = figure.subplots()
    ours = _yearly_returns(report.returns[column].dropna())
    years = np.arange(len(ours))
    series = [(column, ours, _BLUE)]
    if report.benchmark_returns is not None:
        theirs = _yearly_returns(report.benchmark_returns).reindex(ours.index)
        series.append((f"{report.benchmark} (benchmark)", theirs, _GREY))
    width = 0.8 / len(series)
    for i, (label, values, color) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        bars = ax.bar(years + offset, values.to_numpy(), width, color=color, label=label)
        for bar, value in zip(bars, values.to_numpy(), strict=True):
            if np.isfinite(value):
                ax.annotate(
                    f"{value:.0%}",
                    (bar.get_x() + bar.get_width() / 2, value),
                    xytext=(0, 3 if value >= 0 else -11),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                    color="#1d2330" if i == 0 else "#5f6b7a",
                )
    ax.axhline(0.0, color="#555", linewidth=0.7)
    ax.set_xticks(years, [str(y) for y in ours.index])
    _percent_axis(ax, decimals=0)
    ax.margins(y=0.15)
    if len(series) > 1:
        _legend_above(ax, len(series))
    _style(ax)


def _rolling(figure: Figure, report: RiskReport, column: str) -> None:
    shown = [m for m in ("sharpe", "volatility", "beta") if m in report.rolling]
    axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    labels = {"sharpe": "Sharpe ratio", "volatility": "volatility (annual)", "beta": "beta"}
    for ax, metric in zip(axes, shown, strict=True):
        series = report.rolling[metric][column].dropna()
        color = {"sharpe": _BLUE, "volatility": "#d68910", "beta": "#8e44ad"}[metric]
        if len(series):
            ax.plot(_x(series.index), series.to_numpy(), color=color, linewidth=1.1)
        else:
            ax.text(
                0.5,
                0.5,
                "series shorter than the window",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="#5f6b7a",
            )
        reference = {"sharpe": 0.0, "beta": 1.0}.get(metric)
        if reference is not None:
            ax.axhline(reference, color="#555", linewidth=0.7)
        if metric == "volatility":
            _percent_axis(ax, decimals=0)
        ax.set_ylabel(labels[metric], fontsize=9)
        _style(ax)


def _distribution(figure: Figure, report: RiskReport, column: str) -> None:
    ax = figure.subplots()
    returns = report.returns[column].dropna().to_numpy(dtype=np.float64)
    flat = int(np.count_nonzero(returns == 0.0))
    if flat > 0.2 * len(returns) and flat < len(returns):
        # A strategy out of the market has many zero returns: one bar would dwarf the rest.
        returns = returns[returns != 0.0]
        ax.set_title(
            f"{flat:,} periods with a zero return (out of the market) are left out of the "
            "histogram; the VaR figures count them",
            loc="left",
            fontsize=9,
            color="#5f6b7a",
        )
    # Clip the view (not the data) to the central 99.8%: one crash would squash the histogram.
    lo, hi = np.quantile(returns, [0.001, 0.999])
    var_values = report.var[column].to_numpy(dtype=np.float64)
    lo = min(float(lo), float(np.nanmin(var_values)) if np.isfinite(var_values).any() else lo)
    bins = int(np.clip(np.sqrt(len(returns)) * 2, 20, 120))
    ax.hist(returns, bins=bins, range=(lo, hi), color="#aab7c8", edgecolor="white", linewidth=0.4)
    styles = ["--", ":", "-.", (0, (1, 1))]
    for (method, level), value in zip(report.levels, var_values, strict=True):
        if not np.isfinite(value):
            continue
        style = styles[report.confidence.index(level) % len(styles)]
        ax.axvline(
            value,
            color=_METHOD_COLORS.get(method, "#333"),
            linestyle=style,
            linewidth=1.3,
            label=f"{_METHOD_LABELS.get(method, method)} {level:.0%}: {value:.2%}",
        )
    ax.axvline(0.0, color="#555", linewidth=0.7)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("return per period")
    ax.set_ylabel("periods")
    _percent_axis(ax, "x")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _style(ax)
