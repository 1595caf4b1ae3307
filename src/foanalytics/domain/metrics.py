"""Performance and risk metrics: pure numpy functions shared by every engine and report.

Two families live here.

**Equity helpers** (``returns_from_equity``, ``annual_return``, ``annual_volatility``,
``sharpe_ratio``, ``sortino_ratio``, ``drawdown``, ``max_drawdown``, ``max_drawdown_duration``)
take one equity curve or one 1-D return series and feed :func:`performance_stats`, the
statistics of every backtest engine. Their ``risk_free``/``required`` are per period.

**The returns-matrix API** (:func:`risk_metrics`, :func:`var_table`, :func:`cvar_table`,
:func:`underwater`, :func:`drawdown_table`, :func:`rolling` and one function per metric)
measures a returns matrix ``r`` of shape ``(T,)`` or ``(T, N)`` in one call. Its conventions:

- **Returns** are simple returns, one row per period, one column per series. A per-metric
  function returns a float for a 1-D input and an ``(N,)`` array for a 2-D one; the aggregate
  functions always return ``(N,)`` (or ``(T, N)``) arrays, ``N = 1`` for a 1-D input.
- **Missing values.** A column's figures use its own *valid span*: leading NaNs (an asset
  listed late) and trailing NaNs (delisted) are dropped, never filled with zeros, so each
  column is measured exactly as if it were passed alone without them. A NaN *between* two
  returns of a column is a gap the caller must fill or drop first: an
  :class:`InvalidInputError` naming the column and the row. A column with no return at all
  (empty input, all NaN) gets NaN for every figure.
- **Rejected input** (:class:`InvalidInputError` naming the first bad row and its column): a
  return below -100% (``-inf`` included) or ``+inf``, a benchmark whose length differs from the
  returns' (aligning by index is the caller's job), or a missing/invalid benchmark value on a row
  where a column has a return, a confidence outside (0, 1), ``periods_per_year <= 0``, a rate
  at or below -100%.
- **Rates.** ``risk_free`` and ``omega_threshold`` are *annual* rates, converted per period as
  ``(1 + rate) ** (1 / periods_per_year) - 1`` (quantstats' conversion; empyrical takes a
  per-period rate: pass it the converted figure to compare).
- **Annualisation** by ``periods_per_year`` (see :func:`foanalytics.domain.calendars.
  periods_per_year`): sample standard deviations (ddof = 1) times ``sqrt(ppy)``, means times
  ``ppy``, compound growth to the power ``ppy / T``.
- **Drawdowns** are measured from the running peak of wealth with the starting capital (1)
  included, as empyrical does: a fall on the first bar is a drawdown. They are fractions <= 0
  (``max_drawdown`` -0.25 is a 25% fall). An *episode* runs from the first bar under the peak
  to the last one before wealth is back at it (or to the last bar if it never is); its depth
  is its deepest drawdown and its duration the number of bars under water.
- **Undefined figures are NaN, never inf**: a ratio whose denominator is zero (a constant
  series has zero volatility, so its Sharpe and Sortino ratios are NaN; Sortino is also NaN
  without a return below the risk-free rate; Calmar without a drawdown; Omega without a
  return below the threshold; ...) and a figure needing more returns than a column has (two for
  a standard deviation, three for skew, four for kurtosis).

Definitions, and the reference each one matches (empyrical-reloaded first, quantstats where
empyrical has none; tested digit for digit against both on real series):

======================== ==============================================================
total_return             ``prod(1 + r) - 1`` (empyrical ``cum_returns_final``)
cagr                     ``prod(1 + r) ** (ppy / T) - 1`` (empyrical ``annual_return``)
annual_mean              ``mean(r) * ppy``
annual_volatility        ``std(r, ddof=1) * sqrt(ppy)`` (empyrical)
skew, kurtosis           bias-corrected sample skewness G1 and *excess* kurtosis G2, the
                         pandas ``Series.skew()/.kurt()`` convention (quantstats), equal to
                         ``scipy.stats.skew/kurtosis(bias=False)``
best, worst, hit_rate    max, min; ``hit_rate`` = share of positive returns among the
                         non-zero ones (quantstats ``win_rate``: flat bars do not count)
sharpe                   ``mean(r - rf) / std(r - rf) * sqrt(ppy)`` (empyrical)
sortino                  ``mean(r - rf) * ppy / (sqrt(mean(min(r - rf, 0) ** 2)) *
                         sqrt(ppy))`` (empyrical; the target is the risk-free rate)
calmar                   ``cagr / |max_drawdown|`` (empyrical)
omega                    ``sum((r - rf - thr)+) / sum((r - rf - thr)-)`` (empyrical
                         ``omega_ratio`` with ``required_return = omega_threshold``)
information_ratio        ``mean(r - b) / std(r - b) * sqrt(ppy)``: empyrical
                         ``excess_sharpe`` and quantstats ``information_ratio`` give the
                         per-period figure; it is annualised here, like the Sharpe ratio, so
                         that it equals annualised active return over ``tracking_error``
sterling, burke          ``(cagr - rf) / |mean episode depth|`` and
                         ``(cagr - rf) / sqrt(sum of squared episode depths)`` over every
                         drawdown episode (Bacon's definitions with all episodes; neither
                         reference library has them)
ulcer_index              ``sqrt(sum(drawdown ** 2) / (T - 1))`` (quantstats)
martin                   ``(cagr - rf) / ulcer_index``, Martin's ulcer performance index.
                         quantstats ``ulcer_performance_index`` divides the *total* return
                         minus ``rf``; Martin (and PerformanceAnalytics) use the annualised
                         return, which compares series of different lengths
tail_ratio               ``|p95| / |p5|``, linear-interpolated percentiles (empyrical)
gain_to_pain             ``sum(r) / |sum(r < 0)|`` over the series' own periods (quantstats
                         ``gain_to_pain_ratio`` first sums intraday returns by day)
common_sense_ratio       ``profit factor * tail_ratio``, profit factor
                         ``sum(r >= 0) / |sum(r < 0)|`` (quantstats)
max_drawdown             deepest drawdown, <= 0 (empyrical)
average_drawdown         mean depth of the drawdown episodes (quantstats' "Avg. Drawdown"),
                         0 when never under water
average_drawdown_duration  mean number of bars under water per episode (quantstats' "Avg.
                         Drawdown Days" counts calendar days)
alpha, beta              empyrical ``alpha_beta``: ``beta = cov(r, b) / var(b)``,
                         ``alpha = (1 + mean(r - rf - beta (b - rf))) ** ppy - 1``
                         (quantstats' alpha is arithmetic and ignores ``rf``)
correlation              Pearson correlation with the benchmark
tracking_error           ``std(r - b, ddof=1) * sqrt(ppy)``
up_capture, down_capture ``cagr(r[b > 0]) / cagr(b[b > 0])``, likewise ``b < 0`` (empyrical)
======================== ==============================================================

**VaR and CVaR** (:func:`var_table`, :func:`cvar_table`) keep empyrical's sign: they are
*returns*, so a loss is negative (a 95% VaR of -0.031 means a 3.1% loss is exceeded on 5% of
the periods) and ``CVaR <= VaR``. ``q = 1 - confidence``:

- ``historical``: VaR is the ``q`` percentile, linearly interpolated (empyrical
  ``value_at_risk``); CVaR the mean of the ``int((T - 1) q) + 1`` lowest returns (empyrical
  ``conditional_value_at_risk``; quantstats averages the returns at or below the VaR, which
  differs by one observation at most).
- ``parametric`` (normal): ``mu + sigma z_q`` and ``mu - sigma phi(z_q) / q`` with the sample
  mean and ``std(ddof=1)`` (quantstats ``value_at_risk``/``cvar(method="parametric")``).
- ``cornish_fisher``: the quantile ``z_q`` is replaced by its Cornish-Fisher expansion in the
  skew ``S`` and excess kurtosis ``K`` above, ``z + (z^2 - 1) S/6 + (z^3 - 3z) K/24 -
  (2z^3 - 5z) S^2/36``; CVaR is the mean of that expansion over the normal tail below
  ``z_q``: ``mu - sigma phi(z_q)/q [1 + S z/6 + K (z^2 - 1)/24 - S^2 (2 z^2 - 1)/36]``.
  PerformanceAnalytics' "modified" VaR uses the biased moment estimators; these use the
  bias-corrected ones reported as ``skew`` and ``kurtosis``. The expansion is an
  approximation: with a large excess kurtosis (above about 6) it is not monotone and its 95%
  VaR can come out *smaller* than the normal one.
- ``monte_carlo``: a seeded bootstrap. ``simulations`` uniforms ``u`` are drawn once with
  ``numpy.random.default_rng(seed)`` and shared by every column; a column of ``T`` returns
  draws its ``floor(u T)``-th smallest return for each, and the historical estimators are
  applied to the draws. A column's figures therefore depend only on its own returns, the seed
  and the number of simulations, not on the other columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from foanalytics.domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def returns_from_equity(equity: FloatArray, initial: float) -> FloatArray:
    """Return per-bar simple returns of an equity curve that started at ``initial``.

    Examples
    --------
    >>> returns_from_equity(np.array([110.0, 99.0]), 100.0).round(4).tolist()
    [0.1, -0.1]
    """
    values = np.r_[float(initial), np.asarray(equity, dtype=np.float64)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(values[1:] / values[:-1] - 1.0, dtype=np.float64)


def annual_return(returns: FloatArray, periods_per_year: float) -> float:
    """Return the compound annual growth rate (empyrical ``annual_return``)."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) == 0:
        return math.nan
    growth = float(np.prod(1.0 + r))
    years = len(r) / periods_per_year
    return float(growth ** (1.0 / years) - 1.0) if growth > 0 else -1.0


def annual_volatility(returns: FloatArray, periods_per_year: float) -> float:
    """Return the annualised sample standard deviation (ddof = 1) of the returns."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe_ratio(returns: FloatArray, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Return the annualised Sharpe ratio; ``risk_free`` is per period.

    Examples
    --------
    >>> round(sharpe_ratio(np.array([0.01, -0.005, 0.02, 0.0]), 252), 6)
    8.949008
    """
    r = np.asarray(returns, dtype=np.float64) - risk_free
    if len(r) < 2:
        return math.nan
    std = np.std(r, ddof=1)
    if std == 0:
        return math.nan
    return float(np.mean(r) / std * math.sqrt(periods_per_year))


def sortino_ratio(returns: FloatArray, periods_per_year: float, required: float = 0.0) -> float:
    """Return the annualised Sortino ratio against a per-period ``required`` return."""
    r = np.asarray(returns, dtype=np.float64) - required
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(periods_per_year)
    if downside == 0:
        return math.nan
    return float(np.mean(r) * periods_per_year / downside)


def drawdown(equity: FloatArray, initial: float) -> FloatArray:
    """Return the drawdown at each bar: value over the running peak (start included), minus 1."""
    values = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(np.r_[float(initial), values])[1:]
    return np.asarray(values / peak - 1.0, dtype=np.float64)


def max_drawdown(equity: FloatArray, initial: float) -> float:
    """Return the deepest drawdown, a non-positive fraction."""
    dd = drawdown(equity, initial)
    return float(min(dd.min(), 0.0)) if len(dd) else 0.0


def max_drawdown_duration(equity: FloatArray, initial: float) -> int:
    """Return the longest run of bars spent below a previous peak."""
    under = drawdown(equity, initial) < 0
    if not under.any():
        return 0
    # Lengths of runs of True: positions where a run ends minus where it starts.
    edges = np.diff(np.r_[0, under.astype(np.int8), 0])
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


class PerformanceStats(BaseModel):
    """The headline statistics of a backtest (``None`` where a figure is undefined)."""

    model_config = ConfigDict(frozen=True)

    total_return: float
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration: int
    calmar: float | None
    trades: int
    win_rate: float | None
    profit_factor: float | None
    avg_trade: float | None
    best_trade: float | None
    worst_trade: float | None
    exposure: float
    avg_bars_held: float | None
    final_equity: float
    periods_per_year: float

    @field_validator("*", mode="before")
    @classmethod
    def _finite_or_none(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value


def performance_stats(
    equity: FloatArray,
    initial: float,
    positions: FloatArray,
    trades: pd.DataFrame,
    periods_per_year: float,
) -> PerformanceStats:
    """Compute :class:`PerformanceStats` from an equity curve, positions and closed trades.

    Trade statistics use closed trades (``exit_reason != "open"``) and their ``return``
    column; ``profit_factor`` is gross profit over gross loss of their pnl.
    """
    values = np.asarray(equity, dtype=np.float64)
    r = returns_from_equity(values, initial)
    cagr = annual_return(r, periods_per_year)
    mdd = max_drawdown(values, initial)
    closed = trades[trades["exit_reason"] != "open"] if len(trades) else trades
    trade_returns = closed["return"].to_numpy(dtype=np.float64) if len(closed) else np.empty(0)
    pnl = closed["pnl"].to_numpy(dtype=np.float64) if len(closed) else np.empty(0)
    gains, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    held = closed["bars_held"].to_numpy(dtype=np.float64) if len(closed) else np.empty(0)
    n = len(trade_returns)
    return PerformanceStats(
        total_return=float(values[-1] / initial - 1.0) if len(values) else 0.0,
        cagr=cagr,
        annual_volatility=annual_volatility(r, periods_per_year),
        sharpe=sharpe_ratio(r, periods_per_year),
        sortino=sortino_ratio(r, periods_per_year),
        max_drawdown=mdd,
        max_drawdown_duration=max_drawdown_duration(values, initial),
        calmar=cagr / abs(mdd) if mdd < 0 else math.nan,
        trades=n,
        win_rate=float((trade_returns > 0).mean()) if n else math.nan,
        profit_factor=float(gains / losses) if losses > 0 else math.nan,
        avg_trade=float(trade_returns.mean()) if n else math.nan,
        best_trade=float(trade_returns.max()) if n else math.nan,
        worst_trade=float(trade_returns.min()) if n else math.nan,
        exposure=float((np.asarray(positions) != 0).mean()) if len(values) else 0.0,
        avg_bars_held=float(held.mean()) if n else math.nan,
        final_equity=float(values[-1]) if len(values) else float(initial),
        periods_per_year=float(periods_per_year),
    )


# --------------------------------------------------------------------------------------------
# The returns-matrix API. Kernels: foanalytics.domain.metrics_nb, imported on first use so that
# importing this module (every backtest does) never pays numba's import time.
# --------------------------------------------------------------------------------------------

#: Keys of :func:`risk_metrics`, in order; ``RELATIVE_METRICS`` follow when a benchmark is given.
RISK_METRICS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "annual_mean",
    "annual_volatility",
    "skew",
    "kurtosis",
    "best",
    "worst",
    "hit_rate",
    "sharpe",
    "sortino",
    "calmar",
    "omega",
    "sterling",
    "burke",
    "ulcer_index",
    "martin",
    "tail_ratio",
    "gain_to_pain",
    "common_sense_ratio",
    "max_drawdown",
    "average_drawdown",
    "average_drawdown_duration",
)
RELATIVE_METRICS: tuple[str, ...] = (
    "alpha",
    "beta",
    "correlation",
    "tracking_error",
    "information_ratio",
    "up_capture",
    "down_capture",
)
#: Methods of :func:`var_table` and :func:`cvar_table`.
VAR_METHODS: tuple[str, ...] = ("historical", "parametric", "cornish_fisher", "monte_carlo")
#: Metrics of :func:`rolling`.
ROLLING_METRICS: tuple[str, ...] = ("volatility", "sharpe", "beta", "drawdown")

_MOMENT_METRICS = frozenset(
    {"annual_volatility", "skew", "kurtosis", "sharpe"} | set(RELATIVE_METRICS)
)
_TAIL_METRICS = frozenset({"tail_ratio", "common_sense_ratio"})
# The figures that need the scan's counts of signs and its drawdown episodes.
_DETAIL_METRICS = frozenset(
    {
        "hit_rate",
        "sterling",
        "burke",
        "ulcer_index",
        "martin",
        "average_drawdown",
        "average_drawdown_duration",
    }
)
_TAIL_Q = 0.05  # tail_ratio: the 95th over the 5th percentile
_NORMAL = NormalDist()
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)


@dataclass(frozen=True)
class _Matrix:
    """A validated-shape returns matrix and the labels its error messages use."""

    values: FloatArray  # (T, N), C-contiguous float64
    one_d: bool
    rows: pd.Index | None
    columns: pd.Index | None

    def row_name(self, row: int) -> str:
        label = "" if self.rows is None else f" ({self.rows[row]})"
        return f"row {row}{label}"

    def column_name(self, column: int) -> str:
        if self.one_d:
            return "the series"
        label = column if self.columns is None else self.columns[column]
        return f"column {label!r}"


def _matrix(returns: npt.ArrayLike) -> _Matrix:
    rows = columns = None
    if isinstance(returns, pd.DataFrame):
        rows, columns = returns.index, returns.columns
    elif isinstance(returns, pd.Series):
        rows = returns.index
    try:
        values = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"returns must be numbers: {exc}") from None
    if values.ndim not in (1, 2):
        raise InvalidInputError(f"returns must be 1-D (T,) or 2-D (T, N), got shape {values.shape}")
    one_d = values.ndim == 1
    matrix = np.ascontiguousarray(values[:, None] if one_d else values)
    return _Matrix(matrix, one_d, rows, columns)


def _benchmark(benchmark: npt.ArrayLike | None, n_rows: int) -> FloatArray | None:
    if benchmark is None:
        return None
    try:
        values = np.asarray(benchmark, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"the benchmark must be numbers: {exc}") from None
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise InvalidInputError(
            f"the benchmark must be one series, (T,) or (T, 1); got shape {values.shape}"
        )
    if len(values) != n_rows:
        raise InvalidInputError(
            f"the benchmark has {len(values)} rows and the returns {n_rows}; align them on "
            "the same timestamps first"
        )
    return np.ascontiguousarray(values)


def _periods(periods_per_year: float) -> float:
    ppy = float(periods_per_year)
    if not (math.isfinite(ppy) and ppy > 0.0):
        raise InvalidInputError(
            f"periods_per_year must be a positive number (252 for daily equities), got "
            f"{periods_per_year!r}"
        )
    return ppy


def _per_period(rate: float, ppy: float, name: str) -> float:
    value = float(rate)
    if not (math.isfinite(value) and value > -1.0):
        raise InvalidInputError(f"{name} is an annual rate above -100%, got {rate!r}")
    return float((1.0 + value) ** (1.0 / ppy) - 1.0)


def _scan(
    m: _Matrix, bench: FloatArray, rf: float, threshold: float, full: bool, detail: bool = True
) -> tuple[FloatArray, BoolArray]:
    """Run the first scan and raise the first rule broken, at the earliest row.

    Returns the scan table and the rows holding a NaN.
    """
    from foanalytics.domain import metrics_nb as nb

    table, dirty = nb.scan_nb(m.values, bench, rf, threshold, full, detail)
    bad = table[nb.S_BAD_ROW]
    if bool((bad >= 0).any()):
        j = int(np.argmin(np.where(bad >= 0, bad, np.inf)))
        row, value = int(bad[j]), float(m.values[int(bad[j]), j])
        gap = int(table[nb.S_GAP, j])
        if -1.0 <= value <= np.finfo(np.float64).max and 0 <= gap < row:
            raise InvalidInputError(
                f"{m.column_name(j)} is missing at {m.row_name(gap)}, inside its history "
                f"(it has returns before and at {m.row_name(row)}): only leading NaNs (a late "
                "listing) and trailing NaNs are dropped; fill or drop the gap first"
            )
        where = f"{m.column_name(j)} at {m.row_name(row)}"
        raise InvalidInputError(
            f"{where} has the return {value!r}: a simple return must be finite and at least "
            "-1 (-100%, a total loss); are these prices or percentages?"
        )
    bad_b = table[nb.S_B_BAD_ROW]
    if bench.size and bool((bad_b >= 0).any()):
        j = int(np.argmin(np.where(bad_b >= 0, bad_b, np.inf)))
        row = int(bad_b[j])
        raise InvalidInputError(
            f"the benchmark is {float(bench[row])!r} at {m.row_name(row)}, where "
            f"{m.column_name(j)} has a return: it must be a finite return of at least -1 on "
            "every such row"
        )
    return table, dirty


def _ratio(num: FloatArray, den: FloatArray, ok: npt.NDArray[np.bool_]) -> FloatArray:
    """Return ``num / den`` where ``ok``, NaN elsewhere, without warnings."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _lerp(a: FloatArray, b: FloatArray, t: FloatArray) -> FloatArray:
    # numpy's own linear interpolation for percentiles (exact at both ends).
    with np.errstate(invalid="ignore"):  # an empty column's padding (inf) gives NaN
        diff = b - a
        return np.where(t >= 0.5, b - diff * (1.0 - t), a + diff * t)


class _Tails:
    """The lowest (``low``) and highest (``high``, negated) returns of each column, sorted.

    ``low[j, i]`` is the i-th smallest return of column j for ``i < need_low[j]`` and
    ``-high[j, i]`` the i-th largest for ``i < need_high[j]``.
    """

    def __init__(self, low: FloatArray, high: FloatArray) -> None:
        self.low = low
        self.high = high

    def smallest(self, rank: IntArray) -> FloatArray:
        """Return the ``rank``-th smallest value of each column (rank < need_low)."""
        return _take(self.low, rank)

    def largest(self, rank: IntArray) -> FloatArray:
        """Return the ``rank``-th largest value of each column (rank < need_high)."""
        return -_take(self.high, rank)


def _take(table: FloatArray, rank: IntArray) -> FloatArray:
    if table.shape[1] == 0:
        return np.full(len(rank), np.nan)
    rank = np.clip(rank, 0, table.shape[1] - 1)
    return np.take_along_axis(table, rank[:, None], axis=1)[:, 0]


def _need_quantile(n: FloatArray, q: float, upper: bool = False) -> IntArray:
    """Return how many of the lowest (``upper``: highest) returns the ``q`` percentile reads."""
    lo = np.floor((n - 1.0) * q)
    need = n - lo if upper else np.minimum(lo + 2.0, n)
    return np.where(n > 0, need, 0.0).astype(np.int64)


def _quantile(tails: _Tails, n: FloatArray, q: float, upper: bool = False) -> FloatArray:
    """Return the linear ``q`` percentile of each column (numpy's default method)."""
    h = (n - 1.0) * q
    lo = np.floor(h)
    frac = h - lo
    nn = np.maximum(n, 1.0).astype(np.int64)
    k = np.clip(lo, 0, None).astype(np.int64)
    k1 = np.minimum(k + 1, nn - 1)
    if upper:  # ranks counted from the top: the k-th smallest is the (n-1-k)-th largest
        a, b = tails.largest(nn - 1 - k), tails.largest(nn - 1 - k1)
    else:
        a, b = tails.smallest(k), tails.smallest(k1)
    return np.where(n > 0, _lerp(a, b, frac), np.nan)


def _collect(
    m: _Matrix,
    table: FloatArray,
    dirty: BoolArray,
    bench: FloatArray,
    need_low: IntArray,
    need_high: IntArray,
    do_moments: bool,
) -> tuple[FloatArray, _Tails]:
    """Run the second scan: central moments, benchmark co-moments and the two tails.

    The tails are found without sorting whole columns: returns beyond a threshold (set from a
    normal fit, loose enough to hold the needed count for fat tails) are collected in one pass
    and only those are sorted. A column whose collection came out too small or overflowed
    its buffer is sorted in full instead, so the result is exact either way.
    """
    from foanalytics.domain import metrics_nb as nb

    n = table[nb.S_COUNT]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, table[nb.S_SUM] / n, 0.0)
        mean_b = np.where(n > 0, table[nb.S_B_SUM] / n, 0.0)
        scale = table[nb.S_ABS] / n * _SQRT_HALF_PI
    low_thr, low_buf = _threshold(m, n, mean, scale, need_low, upper=False)
    high_thr, high_buf = _threshold(m, n, mean, scale, need_high, upper=True)
    moments: FloatArray = nb.moments_nb(
        m.values, dirty, bench, mean, mean_b, low_thr, high_thr, low_buf, high_buf, do_moments
    )
    low = _sorted_tail(m, table, low_buf, moments[nb.M_LOW_COUNT], need_low, upper=False)
    high = _sorted_tail(m, table, high_buf, moments[nb.M_HIGH_COUNT], need_high, upper=True)
    return moments, _Tails(low, high)


def _threshold(
    m: _Matrix,
    n: FloatArray,
    mean: FloatArray,
    scale: FloatArray,
    need: IntArray,
    upper: bool,
) -> tuple[FloatArray, FloatArray]:
    """Return the collection threshold of each column and an empty buffer for the tail."""
    n_rows, n_cols = m.values.shape
    everything = -np.inf if upper else np.inf  # a threshold that collects every return
    if not bool((need > 0).any()):
        return np.full(n_cols, -everything), np.empty((n_cols, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, need / n, 0.0)
        # The normal share with a margin of three binomial deviations: enough for fat tails
        # too, whose quantiles sit nearer the mean than a normal's of the same scale (the
        # scale comes from the mean absolute return). A share of one collects everything.
        level = np.where(
            need > 0, np.minimum(1.1 * share + 3.0 * np.sqrt(need) / n + 2.0 / n, 1.0), 0.0
        )
    reach = np.full(n_cols, np.inf)
    for value in np.unique(level):
        if 0.0 < value < 1.0:
            reach[level == value] = _NORMAL.inv_cdf(float(value))
    with np.errstate(invalid="ignore"):
        threshold = mean - reach * scale if upper else mean + reach * scale
    threshold = np.where(np.isnan(threshold), everything, threshold)
    threshold = np.where(need > 0, threshold, -everything)
    # Room for the expected count and four of its binomial deviations, plus a spill slot.
    expected = float(np.max(np.where(need > 0, level * n, 0.0)))
    slots = int(min(n_rows, math.ceil(expected + 4.0 * math.sqrt(expected)) + 8))
    return threshold, np.full((n_cols, slots + 1), np.inf)


def _sorted_tail(
    m: _Matrix,
    table: FloatArray,
    buffer: FloatArray,
    count: FloatArray,
    need: IntArray,
    upper: bool,
) -> FloatArray:
    """Return the ``need[j]`` lowest collected values of each column, sorted (padded by inf)."""
    from foanalytics.domain import metrics_nb as nb

    width = int(need.max(initial=0))
    if width == 0:
        return np.empty((len(need), 0))
    slots = buffer.shape[1] - 1  # the last column is the kernel's spill slot
    used = int(min(slots, count.max(initial=0)))
    if used < width:  # no column holds ``width`` values: pad them all
        out = np.full((len(need), width), np.inf)
        out[:, :used] = np.sort(buffer[:, :used], axis=1)
    else:
        # In place: select the lowest ``width`` of each row, then sort only those.
        out = buffer[:, :used]
        if used > width:
            out.partition(width - 1, axis=1)
        out = out[:, :width]
        out.sort(axis=1)
    # A column whose collection missed some of its needed values, or overflowed: sort it all.
    redo = np.flatnonzero((need > 0) & ((count < need) | (count > slots)))
    for j in redo:
        first, last = int(table[nb.S_FIRST, j]), int(table[nb.S_LAST, j])
        column = np.sort(m.values[first : last + 1, j])
        column = -column[::-1] if upper else column
        out[j, : need[j]] = column[: need[j]]
    return out


def _figures(
    m: _Matrix,
    bench: FloatArray | None,
    ppy: float,
    risk_free: float,
    omega_threshold: float,
    wanted: Iterable[str],
) -> dict[str, FloatArray]:
    """Compute the named figures of every column; the engine behind every public function."""
    from foanalytics.domain import metrics_nb as nb

    wanted = tuple(wanted)
    rf_year = float(risk_free)
    rf = _per_period(risk_free, ppy, "risk_free")
    threshold = _per_period(omega_threshold, ppy, "omega_threshold")
    # empyrical subtracts the risk-free rate and then the threshold from each return.
    has_b = bench is not None
    bench = np.empty(0) if bench is None else bench
    s, dirty = _scan(m, bench, rf, threshold, True, bool(_DETAIL_METRICS.intersection(wanted)))
    n = s[nb.S_COUNT]
    n_cols = len(n)
    some, two = n >= 1, n >= 2
    want_moments = bool(_MOMENT_METRICS.intersection(wanted))
    want_tails = bool(_TAIL_METRICS.intersection(wanted))
    none = np.zeros(n_cols, dtype=np.int64)
    need_low = _need_quantile(n, _TAIL_Q) if want_tails else none
    need_high = _need_quantile(n, 1.0 - _TAIL_Q, upper=True) if want_tails else none
    if want_moments or want_tails:
        mo, tails = _collect(m, s, dirty, bench, need_low, need_high, True)
    else:
        empty = np.empty((n_cols, 0))
        mo, tails = np.zeros((nb.N_MOMENTS, n_cols)), _Tails(empty, empty)

    out: dict[str, FloatArray] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(some, s[nb.S_SUM] / n, np.nan)
        wealth = s[nb.S_WEALTH]
        years = n / ppy
        cagr = np.where(some, wealth ** (1.0 / years) - 1.0, np.nan)
        flat = s[nb.S_MAX] == s[nb.S_MIN]  # zero dispersion, whatever rounding says
        m2 = mo[nb.M_M2]
        std = np.where(two, np.where(flat, 0.0, np.sqrt(m2 / (n - 1.0))), np.nan)
        mdd = np.where(some, s[nb.S_MDD], np.nan)
        episodes = s[nb.S_EPISODES]
        has_dd = some & (episodes > 0)
        avg_dd = np.where(some, _ratio(s[nb.S_DEPTH_SUM], episodes, has_dd), np.nan)
        avg_dd = np.where(some & ~has_dd, 0.0, avg_dd)
        ulcer = np.where(two, np.sqrt(s[nb.S_ULCER] / (n - 1.0)), np.nan)
        excess_cagr = cagr - rf_year
        # The sums of the gains and of the losses follow from the sums of r and |r|.
        gain = 0.5 * (s[nb.S_SUM] + s[nb.S_ABS])
        loss = 0.5 * (s[nb.S_ABS] - s[nb.S_SUM])
        out["total_return"] = np.where(some, wealth - 1.0, np.nan)
        out["cagr"] = cagr
        out["annual_mean"] = mean * ppy
        out["annual_volatility"] = std * math.sqrt(ppy)
        ok3 = (n >= 3) & ~flat
        out["skew"] = _ratio(n * np.sqrt(n - 1.0) / (n - 2.0) * mo[nb.M_M3], m2**1.5, ok3)
        ok4 = (n >= 4) & ~flat
        k_scale = n * (n + 1.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0))
        k_shift = 3.0 * (n - 1.0) ** 2 / ((n - 2.0) * (n - 3.0))
        out["kurtosis"] = _ratio(k_scale * mo[nb.M_M4], m2**2, ok4) - k_shift
        out["best"] = np.where(some, s[nb.S_MAX], np.nan)
        out["worst"] = np.where(some, s[nb.S_MIN], np.nan)
        out["hit_rate"] = _ratio(s[nb.S_POS], s[nb.S_NONZERO], s[nb.S_NONZERO] > 0)
        out["sharpe"] = _ratio((mean - rf) * math.sqrt(ppy), std, two & ~flat)
        downside = np.sqrt(s[nb.S_DOWNSIDE] / n) * math.sqrt(ppy)
        out["sortino"] = _ratio((mean - rf) * ppy, downside, two & ~flat & (downside > 0))
        out["calmar"] = _ratio(cagr, np.abs(mdd), some & (mdd < 0))
        # sum(r - c) = up - down, where c = rf + threshold per period.
        omega_down = s[nb.S_OMEGA_UP] - (s[nb.S_SUM] - n * rf - n * threshold)
        out["omega"] = _ratio(s[nb.S_OMEGA_UP], omega_down, two & (omega_down > 0))
        out["sterling"] = _ratio(excess_cagr, np.abs(avg_dd), has_dd)
        out["burke"] = _ratio(excess_cagr, np.sqrt(s[nb.S_DEPTH_SQ]), has_dd)
        out["ulcer_index"] = ulcer
        out["martin"] = _ratio(excess_cagr, ulcer, two & (ulcer > 0))
        if want_tails:
            p95 = _quantile(tails, n, 1.0 - _TAIL_Q, upper=True)
            p5 = _quantile(tails, n, _TAIL_Q)
            tail = _ratio(np.abs(p95), np.abs(p5), some & (p5 != 0))
        else:
            tail = np.full(n_cols, np.nan)
        out["tail_ratio"] = tail
        out["gain_to_pain"] = _ratio(s[nb.S_SUM], loss, some & (loss > 0))
        out["common_sense_ratio"] = _ratio(gain, loss, some & (loss > 0)) * tail
        out["max_drawdown"] = mdd
        out["average_drawdown"] = avg_dd
        under = _ratio(s[nb.S_UNDER], episodes, has_dd)
        out["average_drawdown_duration"] = np.where(some & ~has_dd, 0.0, under)
        if has_b:
            mean_b = np.where(some, s[nb.S_B_SUM] / n, np.nan)
            b2 = mo[nb.M_B2]
            beta = _ratio(mo[nb.M_COV], b2, two & (b2 / n >= 1.0e-30))
            out["alpha"] = (1.0 + (mean - rf) - beta * (mean_b - rf)) ** ppy - 1.0
            out["beta"] = beta
            out["correlation"] = _ratio(mo[nb.M_COV], np.sqrt(m2 * b2), two & (m2 > 0) & (b2 > 0))
            a_flat = s[nb.S_ACTIVE_MAX] == s[nb.S_ACTIVE_MIN]
            active_sd = np.where(a_flat, 0.0, np.sqrt(mo[nb.M_A2] / (n - 1.0)))
            out["tracking_error"] = np.where(two, active_sd * math.sqrt(ppy), np.nan)
            active = (mean - mean_b) * math.sqrt(ppy)
            out["information_ratio"] = _ratio(active, active_sd, two & (active_sd > 0))
            for side, w_slot, b_slot, n_slot in (
                ("up", nb.S_UP_W, nb.S_UP_B, nb.S_UP_N),
                ("down", nb.S_DOWN_W, nb.S_DOWN_B, nb.S_DOWN_N),
            ):
                count = s[n_slot]
                span = count / ppy
                mine = s[w_slot] ** (1.0 / span) - 1.0
                theirs = s[b_slot] ** (1.0 / span) - 1.0
                out[f"{side}_capture"] = _ratio(mine, theirs, (count > 0) & (theirs != 0))
    return {name: np.asarray(out[name], dtype=np.float64) for name in wanted}


def _one(values: FloatArray, m: _Matrix) -> float | FloatArray:
    return float(values[0]) if m.one_d else values


def _metric(
    name: str,
    returns: npt.ArrayLike,
    periods_per_year: float,
    benchmark: npt.ArrayLike | None = None,
    risk_free: float = 0.0,
    omega_threshold: float = 0.0,
) -> float | FloatArray:
    m = _matrix(returns)
    bench = _benchmark(benchmark, m.values.shape[0])
    ppy = _periods(periods_per_year)
    values = _figures(m, bench, ppy, risk_free, omega_threshold, (name,))[name]
    return _one(values, m)


def risk_metrics(
    returns: npt.ArrayLike,
    periods_per_year: float,
    benchmark: npt.ArrayLike | None = None,
    risk_free: float = 0.0,
    omega_threshold: float = 0.0,
    *,
    metrics: Iterable[str] | None = None,
) -> dict[str, FloatArray]:
    """Return every scalar risk and performance figure of each column of ``returns``.

    Parameters
    ----------
    returns
        Simple returns, ``(T,)`` or ``(T, N)`` (numpy, a Series or a DataFrame).
    periods_per_year
        Periods a year holds (252 for daily equities, 365 for daily crypto).
    benchmark
        Benchmark returns ``(T,)`` on the same rows; adds :data:`RELATIVE_METRICS`.
    risk_free, omega_threshold
        Annual rates, converted per period as ``(1 + rate) ** (1 / ppy) - 1``.
    metrics
        Only these names (faster when the tail figures are not needed); default all.

    Returns
    -------
    dict
        One ``(N,)`` float64 array per name of :data:`RISK_METRICS` (and
        :data:`RELATIVE_METRICS`), ``N = 1`` for a 1-D input. The definitions are in the
        module docstring.

    Examples
    --------
    >>> r = np.array([[0.01, 0.02], [-0.02, 0.01], [0.015, -0.01], [0.005, 0.0]])
    >>> figures = risk_metrics(r, 252)
    >>> figures["total_return"].round(6).tolist(), figures["max_drawdown"].round(4).tolist()
    ([0.00967, 0.019898], [-0.02, -0.01])
    """
    m = _matrix(returns)
    bench = _benchmark(benchmark, m.values.shape[0])
    ppy = _periods(periods_per_year)
    names = RISK_METRICS + (RELATIVE_METRICS if bench is not None else ())
    if metrics is not None:
        chosen = tuple(metrics)
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            hint = " (they need a benchmark)" if set(unknown) <= set(RELATIVE_METRICS) else ""
            raise InvalidInputError(f"unknown metrics {unknown}{hint}; choose from {names}")
        names = chosen
    return _figures(m, bench, ppy, risk_free, omega_threshold, names)


def _confidences(confidences: float | Iterable[float]) -> tuple[float, ...]:
    values: list[Any] = [confidences] if np.ndim(confidences) == 0 else list(confidences)  # type: ignore[arg-type]
    checked = []
    for value in values:
        try:
            level = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"confidence {value!r} is not a number") from None
        if not 0.0 < level < 1.0:
            raise InvalidInputError(
                f"confidence {value!r} must be inside (0, 1), e.g. 0.95 for a 95% VaR"
            )
        checked.append(level)
    return tuple(checked)


def _tail_tables(
    returns: npt.ArrayLike,
    confidences: float | Iterable[float],
    method: str,
    seed: int,
    simulations: int,
    shortfall: bool,
) -> dict[float, FloatArray]:
    from foanalytics.domain import metrics_nb as nb

    if method not in VAR_METHODS:
        raise InvalidInputError(
            f"unknown VaR method {method!r}; use one of {', '.join(VAR_METHODS)}"
        )
    levels = _confidences(confidences)
    if method == "monte_carlo" and (int(simulations) != simulations or simulations < 1):
        raise InvalidInputError(f"simulations must be a positive integer, got {simulations!r}")
    m = _matrix(returns)
    n_cols = m.values.shape[1]
    qs = [1.0 - level for level in levels]
    if method in ("parametric", "cornish_fisher"):
        s, dirty = _scan(m, np.empty(0), 0.0, 0.0, full=True)
        return _normal_tables(m, s, dirty, levels, qs, method, shortfall)
    if method == "historical":

        def need_of(n: FloatArray) -> IntArray:
            per_level = _need_shortfall if shortfall else _need_quantile
            need = np.zeros(n_cols, dtype=np.int64)
            for q in qs:
                need = np.maximum(need, per_level(n, q))
            return need

    else:  # Monte Carlo: sorted uniforms, so the draws come out sorted (floor(u n) grows)
        draws = np.sort(np.random.default_rng(seed).random(int(simulations)))
        size = len(draws)
        # The last draw each level reads: the upper neighbour of the VaR's interpolation, or
        # the last of the draws CVaR averages.
        reads = [
            int((size - 1) * q) if shortfall else min(math.floor((size - 1) * q) + 1, size - 1)
            for q in qs
        ]
        top = draws[max(reads)] if reads else 0.0

        def need_of(n: FloatArray) -> IntArray:
            return np.where(n > 0, np.minimum(np.floor(top * n) + 1.0, n), 0.0).astype(np.int64)

    # Two passes: the scan's exact counts and moments place the tail threshold of the second.
    s, dirty = _scan(m, np.empty(0), 0.0, 0.0, full=False)
    n = s[nb.S_COUNT]
    none = np.zeros(n_cols, dtype=np.int64)
    _, tails = _collect(m, s, dirty, np.empty(0), need_of(n), none, False)

    out: dict[float, FloatArray] = {}
    for level, q in zip(levels, qs, strict=True):
        if method == "historical":
            out[level] = _shortfall(tails.low, n, q) if shortfall else _quantile(tails, n, q)
        elif shortfall:
            k = int((size - 1) * q)
            ranks = np.floor(draws[None, : k + 1] * n[:, None]).astype(np.int64)
            ranks = np.minimum(ranks, np.maximum(n[:, None] - 1, 0).astype(np.int64))
            if tails.low.shape[1] == 0:  # no column has a return
                values = np.full(n_cols, np.nan)
            else:
                values = np.take_along_axis(tails.low, ranks, axis=1).mean(axis=1)
            out[level] = np.where(n > 0, values, np.nan)
        else:
            h = (size - 1) * q
            lo = math.floor(h)
            hi = min(lo + 1, size - 1)
            nn = np.maximum(n - 1, 0).astype(np.int64)
            a = tails.smallest(np.minimum(np.floor(draws[lo] * n).astype(np.int64), nn))
            b = tails.smallest(np.minimum(np.floor(draws[hi] * n).astype(np.int64), nn))
            out[level] = np.where(n > 0, _lerp(a, b, np.full(n_cols, h - lo)), np.nan)
    return out


def _normal_tables(
    m: _Matrix,
    s: FloatArray,
    dirty: BoolArray,
    levels: tuple[float, ...],
    qs: list[float],
    method: str,
    shortfall: bool,
) -> dict[float, FloatArray]:
    """Return the parametric or Cornish-Fisher VaR (or CVaR) of each column."""
    from foanalytics.domain import metrics_nb as nb

    n = s[nb.S_COUNT]
    n_cols = len(n)
    none = np.zeros(n_cols, dtype=np.int64)
    mo, _ = _collect(m, s, dirty, np.empty(0), none, none, True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(n >= 1, s[nb.S_SUM] / n, np.nan)
        flat = s[nb.S_MAX] == s[nb.S_MIN]
        m2 = mo[nb.M_M2]
        sigma = np.where(n >= 2, np.where(flat, 0.0, np.sqrt(m2 / (n - 1.0))), np.nan)
        ok = (n >= 4) & ~flat
        skew = _ratio(n * np.sqrt(n - 1.0) / (n - 2.0) * mo[nb.M_M3], m2**1.5, ok)
        k_scale = n * (n + 1.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0))
        k_shift = 3.0 * (n - 1.0) ** 2 / ((n - 2.0) * (n - 3.0))
        kurt = _ratio(k_scale * mo[nb.M_M4], m2**2, ok) - k_shift
    out: dict[float, FloatArray] = {}
    for level, q in zip(levels, qs, strict=True):
        z = _NORMAL.inv_cdf(q)
        phi = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        if method == "parametric":
            unit = np.full(n_cols, -phi / q if shortfall else z)
        elif shortfall:
            unit = (
                -phi
                / q
                * (
                    1.0
                    + skew * z / 6.0
                    + kurt * (z * z - 1.0) / 24.0
                    - skew**2 * (2.0 * z * z - 1.0) / 36.0
                )
            )
        else:
            unit = (
                z
                + (z * z - 1.0) * skew / 6.0
                + (z**3 - 3.0 * z) * kurt / 24.0
                - (2.0 * z**3 - 5.0 * z) * skew**2 / 36.0
            )
        # Zero dispersion: every quantile and tail mean is the constant itself.
        spread = np.where(sigma == 0.0, 0.0, sigma * unit)
        out[level] = np.asarray(mu + spread, dtype=np.float64)
    return out


def _need_shortfall(n: FloatArray, q: float) -> IntArray:
    """Return how many of the lowest returns empyrical's CVaR averages."""
    return np.where(n > 0, np.floor((n - 1.0) * q) + 1.0, 0.0).astype(np.int64)


def _shortfall(low: FloatArray, n: FloatArray, q: float) -> FloatArray:
    k = _need_shortfall(n, q)
    if low.shape[1] == 0:
        return np.full(len(n), np.nan)
    taken = np.arange(low.shape[1])[None, :] < k[:, None]
    total = np.where(taken, low, 0.0).sum(axis=1)
    return _ratio(total, k.astype(np.float64), k > 0)


def var_table(
    returns: npt.ArrayLike,
    confidences: float | Iterable[float],
    method: str,
    seed: int = 0,
    simulations: int = 10_000,
) -> dict[float, FloatArray]:
    """Return the value at risk of each column at each confidence, as returns (loss < 0).

    Parameters
    ----------
    returns
        Simple returns, ``(T,)`` or ``(T, N)``.
    confidences
        One level or several, each inside (0, 1): 0.95 reads the 5% tail.
    method
        ``historical``, ``parametric``, ``cornish_fisher`` or ``monte_carlo`` (see the
        module docstring).
    seed, simulations
        The bootstrap of ``monte_carlo``: same seed, same figures.

    Returns
    -------
    dict
        ``{confidence: (N,) array}``, ``N = 1`` for a 1-D input.

    Examples
    --------
    >>> r = np.linspace(-0.05, 0.05, 101)
    >>> var_table(r, [0.95, 0.99], "historical")
    {0.95: array([-0.045]), 0.99: array([-0.049])}
    """
    return _tail_tables(returns, confidences, method, seed, simulations, shortfall=False)


def cvar_table(
    returns: npt.ArrayLike,
    confidences: float | Iterable[float],
    method: str,
    seed: int = 0,
    simulations: int = 10_000,
) -> dict[float, FloatArray]:
    """Return the conditional VaR (expected shortfall) of each column, as returns (loss < 0).

    The arguments are those of :func:`var_table`; the figure is the mean return beyond the
    VaR, so it is never above it.

    Examples
    --------
    >>> r = np.linspace(-0.05, 0.05, 101)
    >>> {k: v.round(4) for k, v in cvar_table(r, 0.95, "historical").items()}
    {0.95: array([-0.0475])}
    """
    return _tail_tables(returns, confidences, method, seed, simulations, shortfall=True)


def value_at_risk(
    returns: npt.ArrayLike,
    confidence: float = 0.95,
    method: str = "historical",
    seed: int = 0,
    simulations: int = 10_000,
) -> float | FloatArray:
    """Return the value at risk at one ``confidence`` (see :func:`var_table`)."""
    m = _matrix(returns)
    return _one(var_table(returns, [confidence], method, seed, simulations)[confidence], m)


def conditional_value_at_risk(
    returns: npt.ArrayLike,
    confidence: float = 0.95,
    method: str = "historical",
    seed: int = 0,
    simulations: int = 10_000,
) -> float | FloatArray:
    """Return the expected shortfall at one ``confidence`` (see :func:`cvar_table`)."""
    m = _matrix(returns)
    return _one(cvar_table(returns, [confidence], method, seed, simulations)[confidence], m)


def underwater(returns: npt.ArrayLike) -> FloatArray:
    """Return the drawdown of every bar, ``(T, N)`` (``N = 1`` for a 1-D input).

    Values are <= 0, from the running peak of wealth including the starting capital; NaN
    outside a column's valid span.

    Examples
    --------
    >>> underwater(np.array([0.1, -0.5, 0.5, 0.5])).round(4).ravel().tolist()
    [0.0, -0.5, -0.25, 0.0]
    """
    from foanalytics.domain import metrics_nb as nb

    m = _matrix(returns)
    _scan(m, np.empty(0), 0.0, 0.0, full=False)
    out: FloatArray = nb.underwater_nb(m.values)
    return out


_TABLE_COLUMNS = (
    "peak",
    "trough",
    "recovery",
    "depth",
    "length",
    "bars_to_recover",
    "days_to_recover",
    "recovered",
)


def drawdown_table(
    returns_1d: npt.ArrayLike, index: pd.Index | None = None, top: int = 5
) -> pd.DataFrame:
    """Return the ``top`` deepest drawdown episodes of one return series, deepest first.

    Parameters
    ----------
    returns_1d
        Simple returns, ``(T,)`` (leading and trailing NaNs are dropped).
    index
        The ``T`` row labels (timestamps); ``None`` takes a Series' own index, else positions.
    top
        How many episodes to list (fewer if there are fewer).

    Returns
    -------
    pandas.DataFrame
        One row per episode: ``peak`` (the last bar at the high-water mark; NaT when that
        mark is the starting capital, a fall from the first bar), ``trough`` (the lowest
        bar), ``recovery`` (the first bar back at the peak, NaT if not recovered), ``depth``
        (< 0), ``length`` (bars under water), ``bars_to_recover`` and ``days_to_recover``
        (trough to recovery, in bars and in calendar days; NaN if not recovered or, for days,
        without a DatetimeIndex), ``recovered``.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=5, freq="D")
    >>> table = drawdown_table(np.array([0.1, -0.2, 0.1, 0.2, -0.1]), days, top=2)
    >>> table[["trough", "depth", "length", "recovered"]]
          trough  depth  length  recovered
    0 2024-01-02   -0.2       2       True
    1 2024-01-05   -0.1       1      False
    """
    from foanalytics.domain import metrics_nb as nb

    if int(top) != top or top < 1:
        raise InvalidInputError(f"top must be a positive integer, got {top!r}")
    if index is None and isinstance(returns_1d, pd.Series):
        index = returns_1d.index
    m = _matrix(returns_1d)
    if m.values.shape[1] != 1:
        raise InvalidInputError(
            f"drawdown_table takes one series, got shape {np.shape(returns_1d)}"
        )
    n_rows = m.values.shape[0]
    labels = pd.RangeIndex(n_rows) if index is None else pd.Index(index)
    if len(labels) != n_rows:
        raise InvalidInputError(f"the index has {len(labels)} labels for {n_rows} returns")
    s, _ = _scan(m, np.empty(0), 0.0, 0.0, full=False)
    if s[nb.S_COUNT, 0] == 0:
        return _empty_table(labels)
    first, last = int(s[nb.S_FIRST, 0]), int(s[nb.S_LAST, 0])
    peaks, troughs, recoveries, depths = nb.episodes_nb(
        np.ascontiguousarray(m.values[first : last + 1, 0])
    )
    span_end = last - first + 1
    order = np.lexsort((peaks, depths))[: int(top)]
    peaks, troughs, recoveries, depths = (
        peaks[order],
        troughs[order],
        recoveries[order],
        depths[order],
    )
    recovered = recoveries >= 0
    length = np.where(recovered, recoveries, span_end) - peaks - 1
    bars = np.where(recovered, recoveries - troughs, np.nan)
    peak_at = _labels(labels, np.where(peaks >= 0, peaks + first, -1))
    trough_at = _labels(labels, troughs + first)
    recovery_at = _labels(labels, np.where(recovered, recoveries + first, -1))
    if isinstance(labels, pd.DatetimeIndex):
        delta = pd.DatetimeIndex(recovery_at) - pd.DatetimeIndex(trough_at)
        days = np.asarray(delta / pd.Timedelta(days=1), dtype=np.float64)
    else:
        days = np.full(len(order), np.nan)
    return pd.DataFrame(
        {
            "peak": peak_at,
            "trough": trough_at,
            "recovery": recovery_at,
            "depth": depths.astype(np.float64),
            "length": length.astype(np.int64),
            "bars_to_recover": bars.astype(np.float64),
            "days_to_recover": days,
            "recovered": recovered,
        }
    )


def _labels(labels: pd.Index, positions: IntArray) -> pd.Index:
    """Return the labels at ``positions``; -1 gives NaT (NaN for a non-time index)."""
    taken = labels.take(np.maximum(positions, 0))
    missing = positions < 0
    if isinstance(taken, pd.DatetimeIndex):
        stamps = [pd.NaT if gone else stamp for stamp, gone in zip(taken, missing, strict=True)]
        return pd.DatetimeIndex(stamps, dtype=taken.dtype)
    return pd.Index(np.where(missing, np.nan, np.asarray(taken, dtype=object)))


def _empty_table(labels: pd.Index) -> pd.DataFrame:
    kind = labels[:0]
    return pd.DataFrame(
        {
            "peak": kind,
            "trough": kind,
            "recovery": kind,
            "depth": np.empty(0),
            "length": np.empty(0, dtype=np.int64),
            "bars_to_recover": np.empty(0),
            "days_to_recover": np.empty(0),
            "recovered": np.empty(0, dtype=bool),
        }
    )


def rolling(
    returns: npt.ArrayLike,
    metric: str,
    window: int,
    step: int = 1,
    periods_per_year: float = 252,
    benchmark: npt.ArrayLike | None = None,
    risk_free: float = 0.0,
) -> tuple[FloatArray, IntArray]:
    """Return a metric over rolling windows of each column, and the windows' end rows.

    Parameters
    ----------
    returns
        Simple returns, ``(T,)`` or ``(T, N)``.
    metric
        ``volatility`` (annualised), ``sharpe`` (annualised, ``risk_free`` annual), ``beta``
        (to ``benchmark``) or ``drawdown`` (the maximum drawdown inside the window, from the
        window's start): empyrical's ``roll_*`` functions.
    window, step
        Window length in rows; a window ends every ``step`` rows from row ``window - 1``.

    Returns
    -------
    tuple
        ``(values, ends)``: ``values`` is ``(T', N)``, ``ends`` the ``T'`` row positions
        where the windows end (inclusive). A window holding a missing return is NaN.

    Examples
    --------
    >>> values, ends = rolling(np.array([0.1, -0.1, 0.1, -0.1, 0.1]), "drawdown", 3, step=2)
    >>> values.round(2).ravel().tolist(), ends.tolist()
    ([-0.1, -0.1], [2, 4])
    """
    from foanalytics.domain import metrics_nb as nb

    if metric not in ROLLING_METRICS:
        raise InvalidInputError(
            f"unknown rolling metric {metric!r}; use one of {', '.join(ROLLING_METRICS)}"
        )
    for name, value in (("window", window), ("step", step)):
        if int(value) != value or value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    ppy = _periods(periods_per_year)
    m = _matrix(returns)
    n_rows = m.values.shape[0]
    if metric == "beta" and benchmark is None:
        raise InvalidInputError("a rolling beta needs a benchmark")
    given = _benchmark(benchmark, n_rows) if metric == "beta" else None
    bench = np.empty(0) if given is None else given
    rf = _per_period(risk_free, ppy, "risk_free")
    _scan(m, bench, 0.0, 0.0, full=False)
    kind = ROLLING_METRICS.index(metric)
    values: FloatArray = nb.rolling_nb(m.values, bench, kind, int(window), int(step), ppy, rf)
    ends = np.arange(int(window) - 1, n_rows, int(step), dtype=np.int64)[: values.shape[0]]
    return values, ends


# One function per figure, for a single number; each runs the same engine as risk_metrics.


def total_return(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the compounded total return, ``prod(1 + r) - 1``.

    Examples
    --------
    >>> round(total_return([0.1, -0.1]), 4)
    -0.01
    """
    return _metric("total_return", returns, 1.0)


def cagr(returns: npt.ArrayLike, periods_per_year: float) -> float | FloatArray:
    """Return the compound annual growth rate (empyrical ``annual_return``)."""
    return _metric("cagr", returns, periods_per_year)


def annual_mean(returns: npt.ArrayLike, periods_per_year: float) -> float | FloatArray:
    """Return the arithmetic mean return times ``periods_per_year``."""
    return _metric("annual_mean", returns, periods_per_year)


def volatility(returns: npt.ArrayLike, periods_per_year: float) -> float | FloatArray:
    """Return the annualised volatility, ``std(ddof=1) * sqrt(ppy)`` (``annual_volatility``)."""
    return _metric("annual_volatility", returns, periods_per_year)


def skew(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the bias-corrected sample skewness (pandas ``Series.skew``)."""
    return _metric("skew", returns, 1.0)


def kurtosis(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the bias-corrected sample excess kurtosis (pandas ``Series.kurt``)."""
    return _metric("kurtosis", returns, 1.0)


def best(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the best single-period return."""
    return _metric("best", returns, 1.0)


def worst(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the worst single-period return."""
    return _metric("worst", returns, 1.0)


def hit_rate(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the share of positive returns among the non-zero ones (quantstats ``win_rate``)."""
    return _metric("hit_rate", returns, 1.0)


def sharpe(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | FloatArray:
    """Return the annualised Sharpe ratio; ``risk_free`` is annual.

    Examples
    --------
    >>> round(sharpe([0.01, -0.005, 0.02, 0.0], 252), 6)
    8.949008
    """
    return _metric("sharpe", returns, periods_per_year, risk_free=risk_free)


def sortino(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | FloatArray:
    """Return the annualised Sortino ratio against the (annual) risk-free rate."""
    return _metric("sortino", returns, periods_per_year, risk_free=risk_free)


def calmar(returns: npt.ArrayLike, periods_per_year: float) -> float | FloatArray:
    """Return the Calmar ratio, CAGR over the absolute maximum drawdown."""
    return _metric("calmar", returns, periods_per_year)


def omega(
    returns: npt.ArrayLike,
    periods_per_year: float,
    threshold: float = 0.0,
    risk_free: float = 0.0,
) -> float | FloatArray:
    """Return the Omega ratio above an annual ``threshold`` (and risk-free rate)."""
    return _metric(
        "omega", returns, periods_per_year, risk_free=risk_free, omega_threshold=threshold
    )


def sterling(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | FloatArray:
    """Return the Sterling ratio, excess CAGR over the mean drawdown-episode depth."""
    return _metric("sterling", returns, periods_per_year, risk_free=risk_free)


def burke(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | FloatArray:
    """Return the Burke ratio, excess CAGR over the root sum of squared episode depths."""
    return _metric("burke", returns, periods_per_year, risk_free=risk_free)


def ulcer_index(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the ulcer index, the root mean square drawdown (quantstats, ``T - 1``)."""
    return _metric("ulcer_index", returns, 1.0)


def martin(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | FloatArray:
    """Return the Martin ratio (ulcer performance index), excess CAGR over the ulcer index."""
    return _metric("martin", returns, periods_per_year, risk_free=risk_free)


def tail_ratio(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the 95th percentile over the absolute 5th percentile (empyrical)."""
    return _metric("tail_ratio", returns, 1.0)


def gain_to_pain(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the sum of returns over the absolute sum of the losses."""
    return _metric("gain_to_pain", returns, 1.0)


def common_sense_ratio(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the profit factor times the tail ratio (quantstats)."""
    return _metric("common_sense_ratio", returns, 1.0)


def max_drawdown_of_returns(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the deepest drawdown of returns, <= 0 (:func:`max_drawdown` takes equity).

    Examples
    --------
    >>> round(max_drawdown_of_returns([0.1, -0.5, 0.5]), 4)
    -0.5
    """
    return _metric("max_drawdown", returns, 1.0)


def average_drawdown(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the mean depth of the drawdown episodes (0 if never under water)."""
    return _metric("average_drawdown", returns, 1.0)


def average_drawdown_duration(returns: npt.ArrayLike) -> float | FloatArray:
    """Return the mean number of bars under water per drawdown episode."""
    return _metric("average_drawdown_duration", returns, 1.0)


def alpha_beta(
    returns: npt.ArrayLike,
    benchmark: npt.ArrayLike,
    periods_per_year: float,
    risk_free: float = 0.0,
) -> tuple[float | FloatArray, float | FloatArray]:
    """Return the annualised alpha and the beta to ``benchmark`` (empyrical ``alpha_beta``)."""
    m = _matrix(returns)
    bench = _benchmark(benchmark, m.values.shape[0])
    figures = _figures(m, bench, _periods(periods_per_year), risk_free, 0.0, ("alpha", "beta"))
    return _one(figures["alpha"], m), _one(figures["beta"], m)


def correlation(returns: npt.ArrayLike, benchmark: npt.ArrayLike) -> float | FloatArray:
    """Return the Pearson correlation with ``benchmark``."""
    return _metric("correlation", returns, 1.0, benchmark=benchmark)


def tracking_error(
    returns: npt.ArrayLike, benchmark: npt.ArrayLike, periods_per_year: float
) -> float | FloatArray:
    """Return the annualised standard deviation of the active return ``r - b``."""
    return _metric("tracking_error", returns, periods_per_year, benchmark=benchmark)


def information_ratio(
    returns: npt.ArrayLike, benchmark: npt.ArrayLike, periods_per_year: float
) -> float | FloatArray:
    """Return the annualised information ratio (annualised active return / tracking error)."""
    return _metric("information_ratio", returns, periods_per_year, benchmark=benchmark)


def up_capture(
    returns: npt.ArrayLike, benchmark: npt.ArrayLike, periods_per_year: float
) -> float | FloatArray:
    """Return the up-market capture ratio (periods where the benchmark rose)."""
    return _metric("up_capture", returns, periods_per_year, benchmark=benchmark)


def down_capture(
    returns: npt.ArrayLike, benchmark: npt.ArrayLike, periods_per_year: float
) -> float | FloatArray:
    """Return the down-market capture ratio (periods where the benchmark fell)."""
    return _metric("down_capture", returns, periods_per_year, benchmark=benchmark)
