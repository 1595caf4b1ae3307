"""Risk reports: the risk metrics, VaR, CVaR, drawdowns and rolling series of return series.

:class:`RiskReport` is the value :class:`foanalytics.services.risk.RiskService` returns. This
module also holds the checks that turn loose input (prices or returns, a Series or a wide
frame) into the clean returns frame the metrics expect, each failure a typed error that names
the column and says how to fix it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.market import INDEX_NAME

#: The VaR / CVaR estimators of a report, in order.
VAR_METHODS: tuple[str, ...] = ("historical", "parametric", "cornish_fisher", "monte_carlo")
#: The metrics that are fractions of capital (returns, rates, drawdowns): shown as percentages.
PERCENT_METRICS: frozenset[str] = frozenset(
    {
        "total_return",
        "cagr",
        "annual_mean",
        "annual_volatility",
        "best",
        "worst",
        "hit_rate",
        "ulcer_index",
        "max_drawdown",
        "average_drawdown",
        "alpha",
        "tracking_error",
    }
)
#: The rolling series of a report (``beta`` only with a benchmark), in order.
ROLLING_METRICS: tuple[str, ...] = ("volatility", "sharpe", "drawdown", "beta")


class RiskReport(BaseModel):
    """The risk of one or more return series, each column measured on its own history.

    Attributes
    ----------
    name
        What was measured: a strategy, a series key, a file or column name.
    columns
        The assets (one per returns column), in order.
    periods_per_year
        Used to annualise (inferred from the index spacing and calendar unless given).
    risk_free
        The annual risk-free rate used by the Sharpe-like ratios.
    confidence
        The VaR / CVaR confidence levels, ascending.
    window
        Periods in each rolling window.
    benchmark
        The benchmark's name, ``None`` without one.
    returns
        The simple returns measured (after alignment on the benchmark), one column per asset;
        NaN before an asset's first or after its last return.
    benchmark_returns
        The benchmark's returns on the same index, or ``None``.
    metrics
        One row per metric (the names of :func:`foanalytics.domain.metrics.risk_metrics`),
        one column per asset.
    benchmark_metrics
        The benchmark's own metrics (without the relative ones), or ``None``.
    var, cvar
        Value at risk and conditional value at risk as returns (a loss is negative): rows
        indexed by ``(method, confidence)`` for every method of :data:`VAR_METHODS`.
    drawdowns
        The deepest drawdowns of each asset (``peak``, ``trough``, ``recovery``, ``depth``,
        ``length``, ...), deepest first.
    underwater
        The drawdown from the running peak at every period, one column per asset.
    rolling
        For each of :data:`ROLLING_METRICS` (``beta`` only with a benchmark), a frame indexed
        by the windows' last timestamps, one column per asset.
    trades
        The trades of the backtest measured, ``None`` when the returns did not come from one.

    Examples
    --------
    >>> from foanalytics import Settings, build
    >>> days = pd.date_range("2024-01-01", periods=250, freq="D", tz="UTC")
    >>> returns = pd.Series(np.sin(np.arange(250)) / 100, index=days, name="wave")
    >>> report = build(Settings(storage={"backend": "memory"})).risk.report(returns)
    >>> report.columns, report.periods_per_year, report.levels[:2]
    (('wave',), 365.0, [('historical', 0.95), ('historical', 0.99)])
    >>> report.to_dict()["var"]["historical"]["0.95"] < 0
    True
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    columns: tuple[str, ...]
    periods_per_year: float
    risk_free: float
    confidence: tuple[float, ...]
    window: int
    benchmark: str | None
    returns: pd.DataFrame
    benchmark_returns: pd.Series | None
    metrics: pd.DataFrame
    benchmark_metrics: pd.Series | None
    var: pd.DataFrame
    cvar: pd.DataFrame
    drawdowns: dict[str, pd.DataFrame]
    underwater: pd.DataFrame
    rolling: dict[str, pd.DataFrame]
    trades: pd.DataFrame | None = None

    @property
    def start(self) -> pd.Timestamp:
        """The first timestamp measured."""
        return pd.Timestamp(self.returns.index[0])

    @property
    def end(self) -> pd.Timestamp:
        """The last timestamp measured."""
        return pd.Timestamp(self.returns.index[-1])

    @property
    def levels(self) -> list[tuple[str, float]]:
        """The ``(method, confidence)`` pairs indexing :attr:`var` and :attr:`cvar`, in order."""
        return _levels(self.var)

    def column_dict(self, column: str) -> dict[str, Any]:
        """Return one asset's figures: ``{"metrics", "var", "cvar", "drawdowns"}``, JSON-ready.

        ``var`` and ``cvar`` map each method to ``{"0.95": value, ...}``; ``drawdowns`` is a
        list of records with ISO-8601 timestamps. Non-finite numbers become ``None``.
        """
        if column not in self.columns:
            raise InvalidInputError(
                f"the report has no column {column!r}; it has {', '.join(self.columns)}"
            )
        metrics = {str(name): _json_value(v) for name, v in self.metrics[column].items()}
        return {
            "metrics": metrics,
            "var": _table_dict(self.var, column),
            "cvar": _table_dict(self.cvar, column),
            "drawdowns": [
                {str(k): _json_value(v) for k, v in row.items()}
                for row in self.drawdowns[column].to_dict("records")
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: one asset's :meth:`column_dict`, or one per asset by name.

        A report of one column gives ``{"metrics", "var", "cvar", "drawdowns"}``; a report of
        several gives ``{column: {"metrics", "var", "cvar", "drawdowns"}, ...}``.
        """
        if len(self.columns) == 1:
            return self.column_dict(self.columns[0])
        return {column: self.column_dict(column) for column in self.columns}

    def to_frame(self) -> pd.DataFrame:
        """Return every figure as one table: a row per metric then per ``var_``/``cvar_`` level.

        VaR rows are named like ``var_historical_0.95``; columns are the assets.
        """
        rows = [self.metrics]
        for prefix, table in (("var", self.var), ("cvar", self.cvar)):
            named = table.copy()
            named.index = pd.Index(
                [f"{prefix}_{method}_{conf:g}" for method, conf in table.index], name="metric"
            )
            rows.append(named)
        return pd.concat(rows)


def _json_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timedelta):
        return value.isoformat()
    return value


def _levels(table: pd.DataFrame) -> list[tuple[str, float]]:
    pairs: list[tuple[Any, Any]] = table.index.to_list()
    return [(str(method), float(conf)) for method, conf in pairs]


def _table_dict(table: pd.DataFrame, column: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    values = table[column].to_numpy(dtype=np.float64)
    for (method, conf), value in zip(_levels(table), values, strict=True):
        result.setdefault(method, {})[f"{conf:g}"] = _json_value(value)
    return result


def check_confidence(levels: float | Iterable[float]) -> tuple[float, ...]:
    """Return the confidence levels sorted and deduplicated; each must be inside (0, 1).

    Examples
    --------
    >>> check_confidence([0.99, 0.95, 0.99])
    (0.95, 0.99)
    """
    values = [levels] if isinstance(levels, int | float) else list(levels)
    if not values:
        raise InvalidInputError("give at least one confidence level, e.g. 0.95")
    checked = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"confidence {value!r} is not a number") from None
        if not 0.0 < number < 1.0:
            raise InvalidInputError(
                f"confidence {value!r} must be inside (0, 1), e.g. 0.95 for 95%"
            )
        checked.append(number)
    return tuple(sorted(set(checked)))


def as_frame(values: pd.Series | pd.DataFrame, what: str) -> pd.DataFrame:
    """Return ``values`` as a float64 frame on a UTC DatetimeIndex (naive times read as UTC).

    Columns get string names (a Series its name, else ``what``); rows must be strictly
    increasing in time; every value must be numeric or missing.

    Examples
    --------
    >>> naive = pd.Series([0.01, -0.02], index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    >>> as_frame(naive, "returns").index.tz, list(as_frame(naive, "returns").columns)
    (datetime.timezone.utc, ['returns'])
    """
    if isinstance(values, pd.Series):
        frame = values.to_frame(name=str(values.name) if values.name is not None else what)
    elif isinstance(values, pd.DataFrame):
        frame = values.copy()
    else:
        raise InvalidInputError(
            f"{what} must be a pandas Series or DataFrame, got {type(values).__name__}"
        )
    if frame.shape[1] == 0:
        raise InvalidInputError(f"the {what} have no columns")
    if len(frame) == 0:
        raise InvalidInputError(f"the {what} are empty: there is nothing to measure")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InvalidInputError(
            f"the {what} need a DatetimeIndex (got {type(frame.index).__name__}); "
            "index them by their timestamps"
        )
    index = frame.index
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    frame.index = index.rename(INDEX_NAME)
    frame.columns = pd.Index([str(c) for c in frame.columns])
    if frame.columns.has_duplicates:
        dup = frame.columns[frame.columns.duplicated()][0]
        raise InvalidInputError(f"the {what} have two columns named {dup!r}")
    if not index.is_monotonic_increasing or index.has_duplicates:
        position = int(np.flatnonzero(np.diff(index.asi8) <= 0)[0]) + 1
        raise InvalidInputError(
            f"the {what} are not in strictly increasing time order at {index[position]}; "
            "sort them and drop duplicate timestamps"
        )
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for name in frame.columns:
        column = frame[name]
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if bool(bad.any()):
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInputError(
                f"column {name!r} of the {what} holds a non-number ({column.iloc[at]!r} at "
                f"{frame.index[at]}); is this a file of {what}?"
            )
        columns[name] = np.asarray(numbers, dtype=np.float64)
    return pd.DataFrame(columns, index=frame.index)


def returns_from_prices(prices: pd.DataFrame, what: str = "prices") -> pd.DataFrame:
    """Return the simple returns of a wide price frame, each column over its own history.

    Leading and trailing missing prices (an asset listed late or delisted) are allowed; a
    gap inside a history, a non-finite or non-positive price is an
    :class:`InvalidInputError` naming the column and the first bad timestamp. The first row
    (no previous price) is dropped.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> returns = returns_from_prices(pd.DataFrame({"A": [100.0, 110.0, 99.0]}, index=idx))
    >>> returns["A"].round(4).tolist(), str(returns.index[0].date())
    ([0.1, -0.1], '2024-01-02')
    """
    for name in prices.columns:
        values = prices[name].to_numpy(dtype=np.float64)
        _check_span(values, prices.index, str(name), what)
        bad = np.isfinite(values) & (values <= 0)
        bad |= np.isinf(values)
        if bool(bad.any()):
            at = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"column {name!r} holds a price of {values[at]!r} at {prices.index[at]}; "
                f"{what} must be positive and finite (if the file holds returns, say so)"
            )
    returns = prices / prices.shift(1) - 1.0
    return returns.iloc[1:]


def check_returns(returns: pd.DataFrame, what: str = "returns") -> pd.DataFrame:
    """Check a frame from :func:`as_frame` holds usable simple returns; return it unchanged.

    Every column needs two returns or more inside one unbroken span, finite values not below
    -100%, and some variation (a constant series has no risk to measure).

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> check_returns(pd.DataFrame({"x": [0.01, -1.5, 0.02]}, index=idx))
    Traceback (most recent call last):
    ...
    foanalytics.domain.errors.InvalidInputError: column 'x' of the returns holds -1.5 ... -100% ...
    """
    for name in returns.columns:
        values = returns[name].to_numpy(dtype=np.float64)
        lo, hi = _check_span(values, returns.index, str(name), what)
        span = values[lo:hi]
        if np.isinf(span).any():
            at = lo + int(np.flatnonzero(np.isinf(span))[0])
            raise InvalidInputError(
                f"column {name!r} of the {what} is infinite at {returns.index[at]}"
            )
        if (span < -1.0).any():
            at = lo + int(np.flatnonzero(span < -1.0)[0])
            raise InvalidInputError(
                f"column {name!r} of the {what} holds {span[at - lo]:.6g} at "
                f"{returns.index[at]}: a simple return below -100% is impossible (are these "
                "log returns, percentages or prices?)"
            )
        if hi - lo < 2:
            raise InvalidInputError(
                f"column {name!r} of the {what} has {hi - lo} value(s); at least 2 are needed"
            )
        if float(np.max(span)) == float(np.min(span)):
            raise InvalidInputError(
                f"column {name!r} of the {what} is constant ({span[0]:.6g} every period): "
                "there is no risk to measure"
            )
    return returns


def _check_span(
    values: npt.NDArray[np.float64], index: pd.Index, name: str, what: str
) -> tuple[int, int]:
    present = np.flatnonzero(~np.isnan(values))
    if len(present) == 0:
        raise InvalidInputError(f"column {name!r} of the {what} holds no values (all NaN)")
    lo, hi = int(present[0]), int(present[-1]) + 1
    if hi - lo != len(present):
        at = lo + int(np.flatnonzero(np.isnan(values[lo:hi]))[0])
        raise InvalidInputError(
            f"column {name!r} of the {what} has a missing value at {index[at]} inside its "
            f"history ({hi - lo - len(present)} in all); fill or drop those rows first"
        )
    return lo, hi


def select_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """Return ``frame`` restricted to ``columns``; an unknown name lists the available ones."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"no column {missing[0]!r} in the {what}; columns: {', '.join(map(str, frame.columns))}"
        )
    return frame[list(columns)]
