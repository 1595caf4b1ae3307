"""The ``foanalytics`` command line: the services, with tables, progress bars and JSON.

JSON output (``--json``) is a contract: scripts and later features rely on its shape. Errors
print the library's message on stderr and exit non-zero: 2 for bad input, 3 for something not
found, 4 for an unreachable backend or failing provider, 1 otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from foanalytics.bootstrap import Services, build, file_source, read_bars, read_panel
from foanalytics.config import Settings
from foanalytics.domain.backtest import BacktestResult
from foanalytics.domain.calendars import Calendar
from foanalytics.domain.errors import (
    DataUnavailableError,
    FoAnalyticsError,
    InvalidInputError,
    NotFoundError,
    ProviderError,
)
from foanalytics.domain.market import SeriesKey, Timeframe
from foanalytics.domain.risk import PERCENT_METRICS, RiskReport
from foanalytics.domain.series import IngestReport
from foanalytics.domain.strategy import StrategySpec
from foanalytics.reports.tearsheet import write_tearsheet

app = typer.Typer(
    name="foanalytics",
    help="Front-office analytics: market data, backtests, portfolios, risk.",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(help="Import, fetch, query and check bar series.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

_EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidInputError, 2),
    (NotFoundError, 3),
    (DataUnavailableError, 4),
    (ProviderError, 4),
    (FoAnalyticsError, 1),
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (a stable contract).")]
StartOpt = Annotated[str | None, typer.Option(help="First bar time, inclusive (ISO date).")]
EndOpt = Annotated[str | None, typer.Option(help="End time, exclusive (ISO date).")]
CalendarOpt = Annotated[
    Calendar, typer.Option(help="Which bars to expect: auto, 24/7, weekdays, fx, nyse.")
]


def _handled(func: F) -> F:
    """Turn the library's errors into a message on stderr and an exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FoAnalyticsError as exc:
            code = next(c for kind, c in _EXIT_CODES if isinstance(exc, kind))
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


_state: dict[str, Any] = {}


@app.callback()
def _main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="FOANALYTICS_DATA_DIR", help="Where the store lives (FOANALYTICS_DATA_DIR)."
        ),
    ] = None,
) -> None:
    _state["data_dir"] = data_dir


def _services() -> Services:
    data_dir = _state.get("data_dir")
    return build(Settings(data_dir=data_dir) if data_dir else Settings())


def _key(text: str) -> SeriesKey:
    return SeriesKey.parse(text)


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int | None], None]]:
    if not enabled:
        yield lambda done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} bars"))
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=False) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


# -- data --------------------------------------------------------------------------------------


@data_app.command("import")
@_handled
def data_import(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or Feather file.")],
    key: Annotated[
        str,
        typer.Option(
            help="EXCHANGE/SYMBOL/TIMEFRAME. With --close-only, '{column}' in it imports every "
            "column of a price panel, e.g. 'yahoo/{column}/1d'."
        ),
    ],
    column: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a bars column to a file column: --map 'close=Adj Close'."),
    ] = None,
    tz: Annotated[str, typer.Option(help="Time zone of timestamps written without one.")] = "UTC",
    date_format: Annotated[str | None, typer.Option(help="strftime format of the dates.")] = None,
    dayfirst: Annotated[bool, typer.Option(help="Read 01/02/2024 as 1 February.")] = False,
    label: Annotated[
        str, typer.Option(help="'start' (bar open times) or 'end' (period-end labels).")
    ] = "start",
    close_only: Annotated[
        bool, typer.Option(help="The file holds closes only: store flat bars (O=H=L=C).")
    ] = False,
    repair: Annotated[bool, typer.Option(help="Sort and drop exact duplicate rows.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Validate a file of bars and store it (nothing is stored if any bar is invalid)."""
    options: dict[str, Any] = {
        "columns": dict(_pair(item) for item in column or []),
        "tz": tz,
        "date_format": date_format,
        "dayfirst": dayfirst,
        "label": label,
        "close_only": close_only,
        "repair": repair,
    }
    if "{column}" in key:
        if not close_only:
            raise InvalidInputError("'{column}' in --key needs --close-only (a price panel)")
        source, keys = file_source(path, key_template=key, **options)
    else:
        source, keys = file_source(path, key=_key(key), **options)
    reports = _services().market_data.ingest_all(source, keys)
    if as_json:
        payload = [_import_row(r) for r in reports]
        _print_json(payload if len(payload) > 1 else payload[0])
        return
    for report in reports:
        out.print(f"stored {report.rows:,} bars of {report.key} ({report.start} .. {report.end})")


def _import_row(report: IngestReport) -> dict[str, Any]:
    row = report.to_dict()
    return {"key": row["key"], "rows": row["rows"], "start": row["start"], "end": row["end"]}


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip() or not value:
        raise InvalidInputError(f"--map {item!r} must look like BARS_COLUMN=FILE_COLUMN")
    return name.strip().lower(), value


@data_app.command("list")
@_handled
def data_list(as_json: JsonFlag = False) -> None:
    """List stored series with their row counts and first and last bars."""
    rows: list[dict[str, Any]] = [
        {"key": str(c.key), "rows": c.rows, "start": c.start.isoformat(), "end": c.end.isoformat()}
        for c in _services().market_data.list()
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("key", "rows", "start", "end")
    for row in rows:
        table.add_row(row["key"], f"{row['rows']:,}", row["start"], row["end"])
    out.print(table)


@data_app.command("show")
@_handled
def data_show(
    key: str,
    start: StartOpt = None,
    end: EndOpt = None,
    timeframe: Annotated[
        str | None, typer.Option(help="Resample to a coarser timeframe on read.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the bars of a series in [start, end)."""
    bars = _services().market_data.bars(_key(key), start, end, timeframe)
    if as_json:
        records = [
            {"timestamp": ts.isoformat(), **{c: float(v) for c, v in row.items()}}
            for ts, row in zip(bars.index, bars.to_dict("records"), strict=True)
        ]
        _print_json(
            {"key": key, "timeframe": timeframe or _key(key).timeframe.value, "bars": records}
        )
        return
    table = Table("timestamp", "open", "high", "low", "close", "volume")
    shown = bars if len(bars) <= 40 else pd.concat([bars.head(20), bars.tail(20)])
    for i, (ts, row) in enumerate(shown.iterrows()):
        if len(bars) > 40 and i == 20:
            table.add_row("...", "", "", "", "", "")
        table.add_row(str(ts), *(f"{v:.10g}" for v in row))
    out.print(table)
    out.print(f"{len(bars):,} bars")


@data_app.command("gaps")
@_handled
def data_gaps(
    key: str,
    start: StartOpt = None,
    end: EndOpt = None,
    calendar: CalendarOpt = Calendar.AUTO,
    as_json: JsonFlag = False,
) -> None:
    """Report missing bars: {key, missing: [[start, end), ...], count}."""
    report = _services().market_data.gaps(_key(key), start, end, calendar)
    if as_json:
        _print_json(report.to_dict())
        return
    table = Table("from", "to (exclusive)", "bars")
    for gap in report.gaps[:50]:
        table.add_row(gap.start.isoformat(), gap.end.isoformat(), str(gap.bars))
    out.print(table)
    more = f" (first 50 of {len(report.gaps)} gaps shown)" if len(report.gaps) > 50 else ""
    out.print(
        f"{report.missing_bars} missing bars in {len(report.gaps)} gaps, "
        f"calendar {report.calendar.value}{more}"
    )


@data_app.command("fetch")
@_handled
def data_fetch(
    key: str,
    source: Annotated[str, typer.Option(help="ccxt or synthetic.")],
    start: Annotated[str, typer.Option(help="First bar time, inclusive.")],
    end: Annotated[str, typer.Option(help="End time, exclusive.")],
    as_json: JsonFlag = False,
) -> None:
    """Fetch bars from a source and store them (an idempotent upsert)."""
    services = _services()
    with _progress(f"fetching {key}", not as_json) as progress:
        report = services.market_data.ingest(source, _key(key), start, end, progress)
    if as_json:
        _print_json(report.to_dict())
    else:
        out.print(f"stored {report.rows} bars of {key} from {report.source}")


@data_app.command("ensure")
@_handled
def data_ensure(
    key: str,
    source: Annotated[str, typer.Option(help="ccxt or synthetic.")],
    start: Annotated[str, typer.Option(help="First bar time, inclusive.")],
    end: Annotated[str, typer.Option(help="End time, exclusive.")],
    calendar: CalendarOpt = Calendar.AUTO,
    as_json: JsonFlag = False,
) -> None:
    """Fetch only the missing bars of [start, end) and report what is still missing."""
    services = _services()
    with _progress(f"filling {key}", not as_json) as progress:
        report = services.market_data.ensure_complete(
            _key(key), start, end, source, calendar, progress
        )
    if as_json:
        _print_json(report.to_dict())
        return
    out.print(
        f"fetched {report.fetched_rows} bars into {key}; "
        f"{report.gaps_after.missing_bars} still missing"
    )


@data_app.command("stats")
@_handled
def data_stats(key: str, calendar: CalendarOpt = Calendar.AUTO, as_json: JsonFlag = False) -> None:
    """Summarise a series: rows, first/last bar, gaps, return statistics."""
    stats = _services().market_data.stats(_key(key), calendar)
    if as_json:
        _print_json(stats.to_dict())
        return
    table = Table("field", "value")
    for name, value in stats.to_dict().items():
        table.add_row(str(name), f"{value:.6g}" if isinstance(value, float) else str(value))
    out.print(table)


@data_app.command("delete")
@_handled
def data_delete(key: str, start: StartOpt = None, end: EndOpt = None) -> None:
    """Delete the bars of a series in [start, end) (the whole series without bounds)."""
    removed = _services().market_data.delete(_key(key), start, end)
    out.print(f"deleted {removed} bars of {key}")


# -- strategies and backtests ------------------------------------------------------------------


@app.command("strategies")
@_handled
def strategies(as_json: JsonFlag = False) -> None:
    """List the strategy templates with their parameters and defaults."""
    templates = _services().backtesting.strategies()
    if as_json:
        _print_json([t.to_dict() for t in templates])
        return
    table = Table("template", "parameters (defaults)", "description")
    for template in templates:
        params = ", ".join(f"{p.name}={p.default}" for p in template.params)
        table.add_row(template.name, params, template.description)
    out.print(table)


KeyOpt = Annotated[str | None, typer.Option("--key", help="A stored series.")]
FileOpt = Annotated[
    Path | None, typer.Option("--file", help="Bars straight from a CSV/Parquet/Feather file.")
]
TimeframeOpt = Annotated[
    str | None, typer.Option(help="Timeframe of --file bars (inferred from the spacing).")
]
StrategyOpt = Annotated[str | None, typer.Option("--strategy", help="A template name.")]
SpecOpt = Annotated[Path | None, typer.Option("--spec", help="A strategy spec JSON file.")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="Template parameter: --param fast=20.")
]
EngineOpt = Annotated[str | None, typer.Option(help="native (default) or backtrader.")]
CashOpt = Annotated[float | None, typer.Option("--cash", help="Initial cash.")]
CommissionOpt = Annotated[
    float | None, typer.Option("--commission", help="Commission, a fraction of notional.")
]
SlippageOpt = Annotated[float | None, typer.Option("--slippage-bps", help="Slippage in bps.")]


def _bars_source(
    key: str | None, file: Path | None, timeframe: str | None
) -> tuple[SeriesKey | pd.DataFrame, str | None]:
    if (key is None) == (file is None):
        raise InvalidInputError("give exactly one of --key and --file")
    if key is not None:
        return _key(key), timeframe
    assert file is not None
    bars = read_bars(file, timeframe)
    return bars, timeframe


def _strategy(strategy: str | None, spec_file: Path | None) -> StrategySpec | str:
    if (strategy is None) == (spec_file is None):
        raise InvalidInputError("give exactly one of --strategy and --spec")
    if strategy is not None:
        return strategy
    assert spec_file is not None
    try:
        text = spec_file.read_text()
    except OSError as exc:
        raise NotFoundError(f"cannot read spec file {spec_file}: {exc.strerror}") from None
    return StrategySpec.from_json(text)


def _overrides(
    cash: float | None, commission: float | None, slippage: float | None
) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if cash is not None:
        overrides["initial_cash"] = cash
    costs = {
        name: value
        for name, value in (("commission", commission), ("slippage_bps", slippage))
        if value is not None
    }
    if costs:
        overrides["costs"] = costs
    return overrides


@app.command("backtest")
@_handled
def backtest(
    key: KeyOpt = None,
    file: FileOpt = None,
    timeframe: TimeframeOpt = None,
    strategy: StrategyOpt = None,
    spec: SpecOpt = None,
    param: ParamOpt = None,
    engine: EngineOpt = None,
    cash: CashOpt = None,
    commission: CommissionOpt = None,
    slippage_bps: SlippageOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Backtest a template or a spec on a stored series or a file."""
    source, tf = _bars_source(key, file, timeframe)
    chosen = _strategy(strategy, spec)
    params = dict(_param(item) for item in param or [])
    result = _services().backtesting.run(
        chosen,
        source,
        start,
        end,
        params=params or None,
        engine=engine,
        timeframe=tf,
        overrides=_overrides(cash, commission, slippage_bps),
    )
    if as_json:
        _print_json(result.to_dict())
        return
    table = Table("statistic", "value")
    for name, value in result.stats.model_dump().items():
        table.add_row(name, f"{value:.6g}" if isinstance(value, float) else str(value))
    out.print(f"{result.spec.name} on {key or file} ({result.engine} engine)")
    out.print(table)
    out.print(f"{len(result.trades)} trades, final equity {result.final_equity:,.2f}")


@app.command("sweep")
@_handled
def sweep(
    strategy: Annotated[str, typer.Option("--strategy", help="A template name.")],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid", help="A parameter's values: --grid fast=5:50:5 (inclusive) or fast=5,10,20."
        ),
    ],
    key: KeyOpt = None,
    file: FileOpt = None,
    timeframe: TimeframeOpt = None,
    metric: Annotated[str, typer.Option(help="Sort by this statistic.")] = "sharpe",
    engine: EngineOpt = None,
    cash: CashOpt = None,
    commission: CommissionOpt = None,
    slippage_bps: SlippageOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    top: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Backtest every combination of a template's parameters, best first."""
    source, tf = _bars_source(key, file, timeframe)
    values = dict(_grid(item) for item in grid)
    with _progress(f"sweeping {strategy}", not as_json) as progress:
        frame = _services().backtesting.sweep(
            strategy,
            values,
            source,
            start,
            end,
            metric=metric,
            progress=progress,
            engine=engine,
            timeframe=tf,
            overrides=_overrides(cash, commission, slippage_bps) or None,
        )
    if as_json:
        records = json.loads(frame.to_json(orient="records"))
        _print_json({"strategy": strategy, "metric": metric, "results": records})
        return
    shown = frame.head(top)
    table = Table(*map(str, shown.columns[: len(values) + 6]))
    for row in shown.itertuples(index=False):
        table.add_row(
            *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row[: len(values) + 6])
        )
    out.print(table)
    out.print(f"{len(frame)} combinations, sorted by {metric}")


def _param(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise InvalidInputError(f"--param {item!r} must look like NAME=VALUE")
    return name.strip(), value.strip()


def _grid(item: str) -> tuple[str, list[float | int | str]]:
    name, value = _param(item)
    if ":" in value:
        parts = value.split(":")
        if len(parts) != 3:
            raise InvalidInputError(f"--grid {item!r}: a range is START:STOP:STEP")
        try:
            first, last, step = (float(p) for p in parts)
        except ValueError:
            raise InvalidInputError(f"--grid {item!r}: START:STOP:STEP must be numbers") from None
        if step <= 0 or last < first:
            raise InvalidInputError(f"--grid {item!r}: need STEP > 0 and STOP >= START")
        count = math.floor((last - first) / step + 1e-9) + 1
        numbers = [first + i * step for i in range(count)]
        whole = all(float(p).is_integer() for p in parts)
        return name, [int(n) if whole else n for n in numbers]
    return name, [_number_or_text(v.strip()) for v in value.split(",") if v.strip()]


def _number_or_text(text: str) -> float | int | str:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


# -- risk and tearsheets -----------------------------------------------------------------------

BenchmarkOpt = Annotated[
    str | None,
    typer.Option(
        "--benchmark",
        metavar="KEY|PATH",
        help="A stored series (its closes) or a file of one price column (of returns with "
        "--returns); both sides are cut to the dates they share.",
    ),
]
ConfidenceOpt = Annotated[
    list[float] | None,
    typer.Option(
        "--confidence", help="A VaR/CVaR level inside (0, 1); repeat it (default 0.95 and 0.99)."
    ),
]
RiskFreeOpt = Annotated[float, typer.Option(help="Annual risk-free rate, e.g. 0.02.")]
PeriodsOpt = Annotated[
    float | None,
    typer.Option(
        "--periods-per-year", help="Annualisation (default: from the spacing and calendar)."
    ),
]


def _measured(
    services: Services,
    text: str,
    *,
    returns: bool,
    column: str | None = None,
    dayfirst: bool = False,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Return the checked returns of a stored key or a file (prices unless ``returns``)."""
    path = Path(text)
    if path.is_file():
        frame = read_panel(path, column, dayfirst=dayfirst)
        return services.risk.returns(frame, start, end, prices=not returns)
    try:
        key = _key(text)
    except InvalidInputError:
        raise NotFoundError(
            f"{text!r} is neither a file nor a series key (EXCHANGE/SYMBOL/TIMEFRAME)"
        ) from None
    if column is not None:
        raise InvalidInputError("--column picks a column of a --file; a stored key has one")
    return services.risk.returns(key, start, end)


@app.command("risk")
@_handled
def risk(
    key: Annotated[str | None, typer.Option("--key", help="A stored series (its closes).")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="CSV/Parquet/Feather of prices, a date column then one column per asset (a "
            "bars file gives its close); of returns with --returns.",
        ),
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="Measure only this column of --file.")
    ] = None,
    returns: Annotated[
        bool, typer.Option("--returns", help="The files hold simple returns, not prices.")
    ] = False,
    benchmark: BenchmarkOpt = None,
    confidence: ConfidenceOpt = None,
    periods_per_year: PeriodsOpt = None,
    calendar: CalendarOpt = Calendar.AUTO,
    risk_free: RiskFreeOpt = 0.0,
    dayfirst: Annotated[bool, typer.Option(help="Read 01/02/2024 as 1 February.")] = False,
    start: StartOpt = None,
    end: EndOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Measure risk: metrics, VaR and CVaR (four methods), drawdowns.

    --json prints {"metrics": {name: value}, "var": {"historical": {"0.95": v, "0.99": v},
    "parametric": ..., "cornish_fisher": ..., "monte_carlo": ...}, "cvar": {same shape},
    "drawdowns": [{"peak", "trough", "recovery", "depth", ...}]}; with several columns and no
    --column, one such object per column under the column's name. VaR and CVaR are returns
    (a loss is negative); NaN and infinities print as null. Dates are ISO, US month/day/year,
    or day/month/year with --dayfirst.
    """
    if (key is None) == (file is None):
        raise InvalidInputError("give exactly one of --key and --file")
    services = _services()
    if file is not None and not file.is_file():
        raise NotFoundError(f"no such file: {file}")
    source = str(file) if file is not None else str(key)
    measured = _measured(
        services, source, returns=returns, column=column, dayfirst=dayfirst, start=start, end=end
    )
    bench = None
    if benchmark is not None:
        bench = _measured(services, benchmark, returns=returns, dayfirst=dayfirst)
    report = services.risk.report(
        measured,
        bench,
        confidence=confidence or (0.95, 0.99),
        periods_per_year=periods_per_year,
        risk_free=risk_free,
        calendar=calendar,
    )
    if as_json:
        _print_json(report.to_dict())
        return
    _print_risk(report)


def _print_risk(report: RiskReport) -> None:
    def number(value: float, percent: bool) -> str:
        if not math.isfinite(value):
            return "-"
        return f"{value:.2%}" if percent else f"{value:.4g}"

    out.print(
        f"{report.name}: {report.start.date()} .. {report.end.date()}, "
        f"{len(report.returns):,} periods, {report.periods_per_year:g} a year"
        + (f", benchmark {report.benchmark}" if report.benchmark else "")
    )
    table = _number_table("metric", report.columns)
    for name, values in zip(report.metrics.index, report.metrics.to_numpy(), strict=True):
        table.add_row(str(name), *(number(float(v), name in PERCENT_METRICS) for v in values))
    out.print(table)
    table = _number_table("", report.columns)
    for label, frame in (("VaR", report.var), ("CVaR", report.cvar)):
        for (method, level), row in zip(report.levels, frame.to_numpy(), strict=True):
            table.add_row(f"{label} {method} {level:g}", *(number(float(v), True) for v in row))
    out.print(table)
    for column in report.columns[:3]:
        drawdowns = report.drawdowns[column]
        table = Table(*(str(c) for c in drawdowns.columns), title=f"drawdowns of {column}")
        for record in drawdowns.to_dict("records"):
            table.add_row(*(_cell_text(v) for v in record.values()))
        out.print(table)


def _number_table(first: str, columns: tuple[str, ...]) -> Table:
    table = Table(first)
    for column in columns:
        table.add_column(column, justify="right")
    return table


def _cell_text(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NaT:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "-"
    return str(value)


@app.command("report")
@_handled
def report(
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    key: KeyOpt = None,
    file: FileOpt = None,
    timeframe: TimeframeOpt = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Backtest this template (see strategies).")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", "--backtest", help="Backtest this strategy spec JSON file."),
    ] = None,
    param: ParamOpt = None,
    engine: EngineOpt = None,
    cash: CashOpt = None,
    commission: CommissionOpt = None,
    slippage_bps: SlippageOpt = None,
    benchmark: Annotated[
        str | None,
        typer.Option(
            "--benchmark",
            metavar="KEY|PATH",
            help="A stored series (its closes) or a file of one price column (default for a "
            "backtest: buying and holding its bars).",
        ),
    ] = None,
    confidence: ConfidenceOpt = None,
    risk_free: RiskFreeOpt = 0.0,
    png: Annotated[
        Path | None, typer.Option("--png", metavar="DIR", help="Also write the charts as PNGs.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="The page title.")] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a tearsheet: one self-contained HTML page (works offline, charts embedded).

    The bars come from --key or --file. With --strategy NAME [--param k=v ...] or
    --spec/--backtest SPEC.json they are backtested (as by `foanalytics backtest`) and the
    page shows the strategy, its trades and, unless --benchmark says otherwise, buying and
    holding the same bars as the benchmark. With neither, the page shows the series itself.
    --json prints {"html": path, "charts": a list of the PNG paths}.
    """
    services = _services()
    source, tf = _bars_source(key, file, timeframe)
    label = str(key) if key is not None else Path(str(file)).name.split(".")[0]
    if strategy is not None or spec is not None:
        result = services.backtesting.run(
            _strategy(strategy, spec),
            source,
            start,
            end,
            params=dict(_param(item) for item in param or []) or None,
            engine=engine,
            timeframe=tf,
            overrides=_overrides(cash, commission, slippage_bps),
        )
        measured: pd.DataFrame | BacktestResult = result
        heading = title or f"{result.spec.name} on {label}"
    else:
        if param:
            raise InvalidInputError("--param needs --strategy")
        measured = _bars_returns(services, source, label, start, end)
        heading = title or label
    if benchmark is not None:
        bench: pd.DataFrame | None = _measured(services, benchmark, returns=False)
    elif isinstance(measured, BacktestResult):
        bench = _bars_returns(services, source, label, start, end)
    else:
        bench = None
    report = services.risk.report(
        measured, bench, confidence=confidence or (0.95, 0.99), risk_free=risk_free
    )
    sheet = write_tearsheet(report, out_file, png_dir=png, title=heading)
    if as_json:
        _print_json({"html": str(sheet.html), "charts": [str(p) for p in sheet.charts]})
        return
    out.print(f"wrote {sheet.html}")
    if sheet.charts:
        out.print(f"wrote {len(sheet.charts)} charts to {png}")


def _bars_returns(
    services: Services,
    source: SeriesKey | pd.DataFrame,
    label: str,
    start: str | None,
    end: str | None,
) -> pd.DataFrame:
    if isinstance(source, SeriesKey):
        return services.risk.returns(source, start, end)
    closes = source["close"].rename(label)
    return services.risk.returns(closes, start, end, prices=True)


# -- demo --------------------------------------------------------------------------------------


@app.command()
@_handled
def demo() -> None:
    """Run the main job on synthetic data: ingest, find and fill gaps, resample, summarise."""
    started = time.perf_counter()
    services = _services()
    market = services.market_data
    out.rule("foanalytics demo")
    out.print(f"store: {services.settings.bars_dir}")
    keys = [
        SeriesKey(exchange="demo", symbol="BTC/USD", timeframe=Timeframe.M5),
        SeriesKey(exchange="demo", symbol="ETH/USD", timeframe=Timeframe.H1),
        SeriesKey(exchange="demo", symbol="ACME", timeframe=Timeframe.D1),
    ]
    ranges = {
        Timeframe.M5: ("2024-01-01", "2024-04-01"),
        Timeframe.H1: ("2023-01-01", "2024-04-01"),
        Timeframe.D1: ("2015-01-01", "2024-04-01"),
    }
    for key in keys:
        lo, hi = ranges[key.timeframe]
        report = market.ingest("synthetic", key, lo, hi)
        out.print(f"ingested {report.rows:>7,} bars of {key}")
    # An exchange outage: a day of 5-minute bars goes missing.
    outage = keys[0]
    removed = market.delete(outage, "2024-02-10", "2024-02-11")
    gaps = market.gaps(outage, calendar=Calendar.ALWAYS)
    out.print(f"\nsimulated outage: removed {removed} bars of {outage}")
    for gap in gaps.gaps:
        out.print(f"  gap [{gap.start.isoformat()}, {gap.end.isoformat()}): {gap.bars} bars")
    filled = market.ensure_complete(outage, *ranges[Timeframe.M5], "synthetic", Calendar.ALWAYS)
    out.print(
        f"ensure_complete fetched {filled.fetched_rows} bars; "
        f"{filled.gaps_after.missing_bars} still missing"
    )
    four_hour = market.bars(outage, "2024-03-01", "2024-03-02", timeframe=Timeframe.H4)
    out.print(f"\n{outage} resampled to 4h on 2024-03-01:")
    table = Table("timestamp", "open", "high", "low", "close", "volume")
    for ts, row in four_hour.iterrows():
        table.add_row(str(ts), *(f"{v:,.2f}" for v in row))
    out.print(table)
    table = Table("series", "rows", "first", "last", "calendar", "missing", "total return", "vol")
    for key in keys:
        stats = market.stats(key)
        table.add_row(
            str(key),
            f"{stats.rows:,}",
            stats.start.date().isoformat(),
            stats.end.date().isoformat(),
            stats.calendar.value,
            str(stats.missing_bars),
            f"{stats.total_return:+.1%}",
            f"{stats.volatility:.1%}" if stats.volatility is not None else "-",
        )
    out.print(table)
    _demo_backtest(services, keys[1])
    _demo_tearsheet(services, keys[1])
    out.print(f"demo finished in {time.perf_counter() - started:.1f} s")


def _demo_backtest(services: Services, key: SeriesKey) -> None:
    backtesting = services.backtesting
    options: dict[str, Any] = {"overrides": {"costs": {"commission": 0.001}, "stop_loss": 0.05}}
    out.print(f"\nSMA(20, 100) crossover on {key}, 0.1% commission, 5% stop loss:")
    table = Table("engine", "trades", "total return", "sharpe", "max drawdown", "final equity")
    for engine in ("native", "backtrader"):
        started = time.perf_counter()
        result = backtesting.run(
            "sma_crossover", key, params={"fast": 20, "slow": 100}, engine=engine, **options
        )
        stats = result.stats
        table.add_row(
            f"{engine} ({time.perf_counter() - started:.2f} s)",
            str(stats.trades),
            f"{stats.total_return:+.2%}",
            f"{stats.sharpe:.2f}" if stats.sharpe is not None else "-",
            f"{stats.max_drawdown:.2%}",
            f"{result.final_equity:,.2f}",
        )
    out.print(table)
    grid = {"fast": list(range(5, 55, 5)), "slow": list(range(20, 210, 10))}
    started = time.perf_counter()
    sweep = backtesting.sweep("sma_crossover", grid, key, metric="sharpe", **options)
    best = sweep.iloc[0]
    out.print(
        f"sweep of {len(sweep)} (fast, slow) pairs in {time.perf_counter() - started:.2f} s; "
        f"best by Sharpe: fast={best['fast']:g}, slow={best['slow']:g}, sharpe={best['sharpe']:.2f}"
    )


def _demo_tearsheet(services: Services, key: SeriesKey) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        out.print("\nno tearsheet: it needs matplotlib (pip install 'foanalytics[report]')")
        return
    started = time.perf_counter()
    options: dict[str, Any] = {"overrides": {"costs": {"commission": 0.001}, "stop_loss": 0.05}}
    result = services.backtesting.run(
        "sma_crossover", key, params={"fast": 20, "slow": 100}, **options
    )
    report = services.risk.report(result, benchmark=key)
    path = services.settings.data_dir / "reports" / "demo_tearsheet.html"
    sheet = write_tearsheet(report, path, title=f"{result.spec.name} on {key}")
    figures = report.metrics[report.columns[0]]
    var = report.var.to_numpy(dtype=float)[report.levels.index(("historical", 0.95)), 0]
    out.print(f"\nrisk of the native backtest against buying and holding {key}:")
    out.print(
        f"sharpe {figures['sharpe']:.2f}, sortino {figures['sortino']:.2f}, "
        f"beta {figures['beta']:.2f}, 95% VaR of one bar {var:.2%}"
    )
    out.print(f"tearsheet: {sheet.html} ({time.perf_counter() - started:.1f} s)")


@app.command()
@_handled
def warmup() -> None:
    """Compile and cache the numba kernels once, so later processes start fast.

    ``make`` runs it after installing; the first backtest or risk report in a process then
    loads the kernels from the on-disk cache instead of compiling them.
    """
    import numpy as np

    from foanalytics.domain.metrics import cvar_table, risk_metrics, rolling, var_table

    started = time.perf_counter()
    services = build(Settings(data_dir=Path("/nonexistent"), storage={"backend": "memory"}))
    key = SeriesKey.parse("warmup/X/1h")
    services.market_data.ingest("synthetic", key, "2024-01-01", "2024-02-01")
    for name in ("sma_crossover", "rsi_mean_reversion", "bollinger", "momentum"):
        services.backtesting.run(name, key, overrides={"stop_loss": 0.05, "trailing_stop": 0.1})
    returns = np.random.default_rng(0).normal(0, 0.01, (300, 3))
    risk_metrics(returns, 252.0, benchmark=returns[:, 0])
    for method in ("historical", "parametric", "cornish_fisher", "monte_carlo"):
        var_table(returns, (0.95,), method)
        cvar_table(returns, (0.95,), method)
    for metric in ("volatility", "sharpe", "beta", "drawdown"):
        rolling(returns, metric, 20, benchmark=returns[:, 0])
    out.print(f"numba kernels compiled and cached in {time.perf_counter() - started:.1f} s")


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
