"""The returns-matrix risk metrics against empyrical-reloaded and quantstats on real series.

Every reference figure is computed in the same run by the reference library itself, on each
series' own valid span, and compared to 1e-9 relative. Where a definition differs on purpose
(see the module docstring of :mod:`foanalytics.domain.metrics`), the test states the relation
and checks that instead (the risk-free rate converted per period, the annualised information
ratio, Martin's ratio on the annualised return).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foanalytics.domain import metrics
from foanalytics.domain.errors import InvalidInputError

ep = pytest.importorskip("empyrical")
qs = pytest.importorskip("quantstats")
scipy_integrate = pytest.importorskip("scipy.integrate")
scipy_stats = pytest.importorskip("scipy.stats")

RTOL = 1e-9
RF = 0.03  # annual
THRESHOLD = 0.05  # annual, for Omega
DAILY = 252.0
FIVE_MINUTES = 365.0 * 288.0


def close(actual: object, expected: object, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


def per_period(rate: float, ppy: float) -> float:
    return (1.0 + rate) ** (1.0 / ppy) - 1.0


@pytest.fixture(autouse=True)
def _quiet() -> None:
    # quantstats and empyrical warn on their own deprecations; the figures are what we test.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)


# --------------------------------------------------------------------------- real data


def _closes(path: Path) -> pd.Series:
    return pd.read_csv(path, index_col=0, parse_dates=True)["Close"]


@pytest.fixture(scope="module")
def daily(shared_data: Path) -> dict[str, pd.Series]:
    stocks = shared_data / "stocks_daily"
    return {
        "NVDA": _closes(stocks / "nvda-1999-2014.txt").pct_change().dropna(),
        "ORCL": _closes(stocks / "orcl-1995-2014.txt").pct_change().dropna(),
    }


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> pd.Series:
    bars = pd.read_csv(shared_data / "crypto" / "ETH_BTC-5m.csv", index_col=0, parse_dates=True)
    return bars["close"].pct_change().dropna()


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> tuple[pd.DataFrame, pd.Series]:
    """The 20-stock panel's returns (leading NaNs for late listings) and SPY's, same dates."""
    prices = pd.read_csv(shared_data / "panel" / "stock_prices.csv", index_col=0, parse_dates=True)
    spy = pd.read_csv(shared_data / "panel" / "spy_prices.csv", index_col=0, parse_dates=True)
    dates = prices.index.intersection(spy.index)
    returns = prices.loc[dates].pct_change(fill_method=None).iloc[1:]
    bench = spy.loc[dates, "SPY"].pct_change().iloc[1:]
    assert returns.isna().any().sum() > 5
    assert not bench.isna().any()
    return returns, bench


def span(column: pd.Series) -> pd.Series:
    """A column's valid span: its leading NaNs dropped."""
    return column.loc[column.first_valid_index() :]


# --------------------------------------------------------------------------- references


def reference(r: pd.Series, ppy: float) -> dict[str, float]:
    """Every figure of ``risk_metrics`` (no benchmark) from the reference libraries."""
    x = r.to_numpy()
    rf = per_period(RF, ppy)
    cagr = ep.annual_return(x, annualization=ppy)
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(r))
    depths = details["max drawdown"].to_numpy() / 100.0
    ulcer = qs.stats.ulcer_index(r)
    # quantstats counts calendar days; on a calendar-day index its "days" are bars.
    by_day = pd.Series(x, index=pd.date_range("2000-01-01", periods=len(x), freq="D"))
    days = qs.stats.drawdown_details(qs.stats.to_drawdown_series(by_day))["days"]
    return {
        "total_return": ep.cum_returns_final(x),
        "cagr": cagr,
        "annual_mean": np.mean(x) * ppy,
        "annual_volatility": ep.annual_volatility(x, annualization=ppy),
        "skew": qs.stats.skew(r),
        "kurtosis": qs.stats.kurtosis(r),
        "best": qs.stats.best(r),
        "worst": qs.stats.worst(r),
        "hit_rate": qs.stats.win_rate(r),
        # empyrical takes per-period rates; quantstats converts annual ones like we do.
        "sharpe": ep.sharpe_ratio(x, risk_free=rf, annualization=ppy),
        "sortino": ep.sortino_ratio(x, required_return=rf, annualization=ppy),
        "calmar": ep.calmar_ratio(x, annualization=ppy),
        "omega": ep.omega_ratio(x, risk_free=rf, required_return=THRESHOLD, annualization=ppy),
        "sterling": (cagr - RF) / abs(depths.mean()),
        "burke": (cagr - RF) / math.sqrt(float((depths**2).sum())),
        "ulcer_index": ulcer,
        "martin": (cagr - RF) / ulcer,
        "tail_ratio": ep.tail_ratio(x),
        # quantstats sums by calendar day first: identity on daily data, given the bar here.
        "gain_to_pain": qs.stats.gain_to_pain_ratio(r, resolution="D" if ppy == DAILY else "5min"),
        "common_sense_ratio": qs.stats.common_sense_ratio(r),
        "max_drawdown": ep.max_drawdown(x),
        "average_drawdown": depths.mean(),
        "average_drawdown_duration": days.mean(),
    }


def check_against_reference(ours: dict[str, np.ndarray], j: int, r: pd.Series, ppy: float) -> None:
    for name, expected in reference(r, ppy).items():
        try:
            close(ours[name][j], expected)
        except AssertionError as exc:
            raise AssertionError(f"{name} of {r.name}: {exc}") from None


# --------------------------------------------------------------------------- the figures


@pytest.mark.parametrize("name", ["NVDA", "ORCL"])
def test_daily_stock_matches_empyrical_and_quantstats(daily, name) -> None:
    r = daily[name].rename(name)
    ours = metrics.risk_metrics(r, DAILY, risk_free=RF, omega_threshold=THRESHOLD)
    assert list(ours) == list(metrics.RISK_METRICS)
    assert all(v.shape == (1,) and v.dtype == np.float64 for v in ours.values())
    check_against_reference(ours, 0, r, DAILY)
    # quantstats takes annual rates too: no conversion needed.
    close(ours["sharpe"][0], qs.stats.sharpe(r, rf=RF, periods=int(DAILY)))
    close(ours["sortino"][0], qs.stats.sortino(r, rf=RF, periods=int(DAILY)))
    close(ours["annual_volatility"][0], qs.stats.volatility(r, periods=int(DAILY)))


def test_five_minute_crypto_matches_references(eth) -> None:
    r = eth.rename("ETH_BTC")
    ours = metrics.risk_metrics(r.to_numpy(), FIVE_MINUTES, risk_free=RF, omega_threshold=THRESHOLD)
    check_against_reference(ours, 0, r, FIVE_MINUTES)


def test_panel_with_late_listings_column_by_column(panel) -> None:
    returns, bench = panel
    ours = metrics.risk_metrics(returns, DAILY, bench, risk_free=RF, omega_threshold=THRESHOLD)
    assert list(ours) == list(metrics.RISK_METRICS + metrics.RELATIVE_METRICS)
    rf = per_period(RF, DAILY)
    for j, column in enumerate(returns.columns):
        r = span(returns[column]).rename(column)
        b = bench.loc[r.index].to_numpy()
        x = r.to_numpy()
        check_against_reference(ours, j, r, DAILY)
        alpha, beta = ep.alpha_beta_aligned(x, b, risk_free=rf, annualization=DAILY)
        close(ours["alpha"][j], alpha)
        close(ours["beta"][j], beta)
        close(ours["correlation"][j], np.corrcoef(x, b)[0, 1])
        close(ours["tracking_error"][j], np.std(x - b, ddof=1) * math.sqrt(DAILY))
        # Both references give the per-period figure; ours is annualised like Sharpe.
        close(ours["information_ratio"][j], ep.excess_sharpe(x, b) * math.sqrt(DAILY))
        close(
            ours["information_ratio"][j],
            qs.stats.information_ratio(r, bench.loc[r.index]) * math.sqrt(DAILY),
        )
        close(ours["up_capture"][j], ep.up_capture(x, b, period="daily"))
        close(ours["down_capture"][j], ep.down_capture(x, b, period="daily"))


def test_a_column_is_measured_as_if_alone(panel) -> None:
    returns, bench = panel
    together = metrics.risk_metrics(returns.to_numpy(), DAILY, bench.to_numpy(), risk_free=RF)
    for j in (0, 2, 3):  # GOOG, FB and BABA listed late
        column = returns.iloc[:, j]
        rows = column.notna().to_numpy()
        alone = metrics.risk_metrics(
            column.to_numpy()[rows], DAILY, bench.to_numpy()[rows], risk_free=RF
        )
        for name, values in together.items():
            close(values[j], alone[name][0], rtol=1e-12)


def test_per_metric_functions_are_floats_for_a_series_and_arrays_for_a_matrix(daily, panel) -> None:
    r = daily["NVDA"].to_numpy()
    returns, bench = panel
    figures = metrics.risk_metrics(r, DAILY, risk_free=RF)
    singles = {
        "total_return": metrics.total_return(r),
        "cagr": metrics.cagr(r, DAILY),
        "annual_mean": metrics.annual_mean(r, DAILY),
        "annual_volatility": metrics.volatility(r, DAILY),
        "skew": metrics.skew(r),
        "kurtosis": metrics.kurtosis(r),
        "best": metrics.best(r),
        "worst": metrics.worst(r),
        "hit_rate": metrics.hit_rate(r),
        "sharpe": metrics.sharpe(r, DAILY, RF),
        "sortino": metrics.sortino(r, DAILY, RF),
        "calmar": metrics.calmar(r, DAILY),
        "omega": metrics.omega(r, DAILY, 0.0, RF),
        "sterling": metrics.sterling(r, DAILY, RF),
        "burke": metrics.burke(r, DAILY, RF),
        "ulcer_index": metrics.ulcer_index(r),
        "martin": metrics.martin(r, DAILY, RF),
        "tail_ratio": metrics.tail_ratio(r),
        "gain_to_pain": metrics.gain_to_pain(r),
        "common_sense_ratio": metrics.common_sense_ratio(r),
        "max_drawdown": metrics.max_drawdown_of_returns(r),
        "average_drawdown": metrics.average_drawdown(r),
        "average_drawdown_duration": metrics.average_drawdown_duration(r),
    }
    assert set(singles) == set(metrics.RISK_METRICS)
    for name, value in singles.items():
        assert isinstance(value, float), name
        close(value, figures[name][0], rtol=1e-15)
    matrix = metrics.sharpe(returns, DAILY)
    assert isinstance(matrix, np.ndarray)
    assert matrix.shape == (returns.shape[1],)
    relative = metrics.risk_metrics(returns, DAILY, bench)
    alpha, beta = metrics.alpha_beta(returns, bench, DAILY)
    close(alpha, relative["alpha"])
    close(beta, relative["beta"])
    for name, function in (
        ("tracking_error", metrics.tracking_error),
        ("information_ratio", metrics.information_ratio),
        ("up_capture", metrics.up_capture),
        ("down_capture", metrics.down_capture),
    ):
        close(function(returns, bench, DAILY), relative[name])
    close(metrics.correlation(returns, bench), relative["correlation"])


# --------------------------------------------------------------------------- VaR and CVaR

LEVELS = (0.9, 0.95, 0.975, 0.99, 0.999)


def test_historical_var_and_cvar_match_empyrical(daily, panel, eth) -> None:
    returns, _ = panel
    series = [daily["NVDA"], daily["ORCL"], eth] + [span(returns[c]) for c in returns.columns]
    for frame in (returns, *[s.to_numpy() for s in series[:3]]):
        var = metrics.var_table(frame, LEVELS, "historical")
        cvar = metrics.cvar_table(frame, LEVELS, "historical")
        columns = [span(returns[c]) for c in returns.columns] if frame is returns else [None]
        for j, col in enumerate(columns):
            x = (col if col is not None else pd.Series(frame)).to_numpy()
            for level in LEVELS:
                close(var[level][j], ep.value_at_risk(x, 1.0 - level))
                close(cvar[level][j], ep.conditional_value_at_risk(x, 1.0 - level))
                assert cvar[level][j] <= var[level][j]


def test_parametric_var_and_cvar_match_quantstats(daily, panel) -> None:
    returns, _ = panel
    var = metrics.var_table(returns, LEVELS, "parametric")
    cvar = metrics.cvar_table(returns, LEVELS, "parametric")
    for j, column in enumerate(returns.columns):
        r = span(returns[column])
        for level in LEVELS:
            close(var[level][j], qs.stats.value_at_risk(r, confidence=level))
            close(cvar[level][j], qs.stats.cvar(r, confidence=level, method="parametric"))
    r = daily["ORCL"]
    close(metrics.value_at_risk(r, 0.95, "parametric"), qs.stats.var(r, confidence=0.95))


def test_cornish_fisher_is_the_expansion_and_its_tail_mean(daily) -> None:
    x = daily["ORCL"].to_numpy()
    s, k = float(metrics.skew(x)), float(metrics.kurtosis(x))
    mu, sigma = x.mean(), x.std(ddof=1)

    def expansion(z: float) -> float:
        return z + (z * z - 1) * s / 6 - (2 * z**3 - 5 * z) * s * s / 36 + (z**3 - 3 * z) * k / 24

    var = metrics.var_table(x, LEVELS, "cornish_fisher")
    cvar = metrics.cvar_table(x, LEVELS, "cornish_fisher")
    for level in LEVELS:
        q = 1.0 - level
        z = float(scipy_stats.norm.ppf(q))
        close(var[level][0], mu + sigma * expansion(z))
        # CVaR: the mean of the expansion over the normal tail below z (numerical integral).
        tail, _ = scipy_integrate.quad(lambda u: expansion(u) * scipy_stats.norm.pdf(u), -np.inf, z)
        close(cvar[level][0], mu + sigma * tail / q, rtol=1e-8)


def test_cornish_fisher_without_skew_or_kurtosis_is_the_normal() -> None:
    # A symmetric sample with a normal's kurtosis is hard to build; check the algebra instead:
    # a two-point symmetric series has S = 0, so only K moves the quantile.
    x = np.tile([-0.01, 0.01], 50)
    k = float(metrics.kurtosis(x))
    var = metrics.var_table(x, 0.95, "cornish_fisher")[0.95][0]
    z = -1.6448536269514722
    close(var, x.mean() + x.std(ddof=1) * (z + (z**3 - 3 * z) * k / 24), rtol=1e-12)


def test_monte_carlo_is_a_seeded_bootstrap_of_the_sorted_returns(daily, panel) -> None:
    returns, _ = panel
    simulations = 5_000
    var = metrics.var_table(returns, LEVELS, "monte_carlo", seed=7, simulations=simulations)
    cvar = metrics.cvar_table(returns, LEVELS, "monte_carlo", seed=7, simulations=simulations)
    u = np.random.default_rng(7).random(simulations)
    for j, column in enumerate(returns.columns[:6]):
        x = np.sort(span(returns[column]).to_numpy())
        draws = x[np.floor(u * len(x)).astype(int)]
        for level in LEVELS:
            close(var[level][j], ep.value_at_risk(draws, 1.0 - level))
            close(cvar[level][j], ep.conditional_value_at_risk(draws, 1.0 - level))
    again = metrics.var_table(returns, LEVELS, "monte_carlo", seed=7, simulations=simulations)
    assert all(np.array_equal(again[k], var[k]) for k in LEVELS)
    other = metrics.var_table(returns, LEVELS, "monte_carlo", seed=8, simulations=simulations)
    assert not np.array_equal(other[0.95], var[0.95])
    # One column alone gets the same figures as inside the panel.
    alone = metrics.var_table(span(returns.iloc[:, 2]), LEVELS, "monte_carlo", 7, simulations)
    close(alone[0.99][0], var[0.99][2], rtol=0)
    # The bootstrap converges to the historical figure.
    x = daily["NVDA"].to_numpy()
    big = metrics.var_table(x, 0.95, "monte_carlo", simulations=200_000)[0.95][0]
    close(big, ep.value_at_risk(x, 0.05), rtol=0.05)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    rows=st.integers(1, 400),
    cols=st.integers(1, 5),
    shape=st.sampled_from(["normal", "t", "ties", "skewed", "constant"]),
)
def test_historical_tails_equal_a_full_sort(data, rows, cols, shape) -> None:
    """The tails are collected beyond a normal-fit threshold; fat tails, ties, tiny or
    constant columns must still give the exact order statistics (the fallback sorts)."""
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if shape == "normal":
        r = rng.normal(0.001, 0.02, (rows, cols))
    elif shape == "t":
        r = 0.01 * rng.standard_t(2, (rows, cols))
    elif shape == "ties":
        r = rng.choice([-0.02, 0.0, 0.0, 0.01], (rows, cols))
    elif shape == "skewed":
        r = rng.lognormal(-4, 1, (rows, cols)) - 0.02
    else:
        r = np.full((rows, cols), 0.003)
    r = np.clip(r, -0.99, None)
    late = data.draw(st.lists(st.integers(0, rows - 1), min_size=cols, max_size=cols))
    for j, start in enumerate(late):
        r[:start, j] = np.nan
    levels = (0.5, 0.9, 0.95, 0.99)
    var = metrics.var_table(r, levels, "historical")
    cvar = metrics.cvar_table(r, levels, "historical")
    tail = metrics.risk_metrics(r, DAILY)["tail_ratio"]
    for j in range(cols):
        x = r[~np.isnan(r[:, j]), j]
        for level in levels:
            close(var[level][j], np.percentile(x, 100 * (1 - level)), rtol=1e-12, atol=1e-15)
            close(
                cvar[level][j], ep.conditional_value_at_risk(x, 1 - level), rtol=1e-12, atol=1e-15
            )
        lo, hi = np.percentile(x, 5), np.percentile(x, 95)
        expected = abs(hi) / abs(lo) if lo != 0 else np.nan
        close(tail[j], expected, rtol=1e-12)


# --------------------------------------------------------------------------- drawdowns


def test_underwater_and_max_drawdown_match_empyrical(panel) -> None:
    returns, _ = panel
    water = metrics.underwater(returns)
    assert water.shape == returns.shape
    figures = metrics.risk_metrics(returns, DAILY)
    for j, column in enumerate(returns.columns):
        valid = returns[column].notna().to_numpy()
        x = returns[column].to_numpy()[valid]
        assert np.isnan(water[~valid, j]).all()
        close(water[valid, j], ep.stats.drawdown_series(x), atol=1e-15)
        close(figures["max_drawdown"][j], ep.max_drawdown(x))
    one = metrics.underwater(returns.iloc[:, 0].to_numpy())
    assert one.shape == (len(returns), 1)


@pytest.mark.parametrize("name", ["NVDA", "ORCL"])
def test_drawdown_table_matches_quantstats_episodes(daily, name) -> None:
    r = daily[name]
    # A calendar-day index makes quantstats' day counts bar counts.
    r = pd.Series(r.to_numpy(), index=pd.date_range("1990-01-01", periods=len(r), freq="D"))
    table = metrics.drawdown_table(r, r.index, top=5)
    assert list(table.columns) == list(metrics._TABLE_COLUMNS)
    theirs = qs.stats.drawdown_details(qs.stats.to_drawdown_series(r))
    theirs = theirs.sort_values("max drawdown", kind="stable").head(5).reset_index(drop=True)
    close(table["depth"], theirs["max drawdown"] / 100.0)
    assert (table["trough"].dt.strftime("%Y-%m-%d") == theirs["valley"]).all()
    start = table["peak"].map(
        lambda p: r.index[r.index.get_loc(p) + 1] if p is not pd.NaT else r.index[0]
    )
    assert (pd.DatetimeIndex(start).strftime("%Y-%m-%d") == theirs["start"]).all()
    assert (table["length"] == theirs["days"]).all()
    for _, row in table.iterrows():
        if row["recovered"]:
            last_under = r.index[r.index.get_loc(row["recovery"]) - 1]
            assert last_under.strftime("%Y-%m-%d") in set(theirs["end"])
            assert row["days_to_recover"] == row["bars_to_recover"]  # one bar a day
        else:
            assert row["recovery"] is pd.NaT
            assert np.isnan(row["bars_to_recover"])
    assert table["depth"].is_monotonic_increasing


def test_drawdown_table_details() -> None:
    r = np.array([np.nan, -0.1, 0.2, -0.5, 0.1, 1.0, -0.1])
    days = pd.date_range("2024-01-01", periods=len(r), freq="D", tz="UTC")
    table = metrics.drawdown_table(r, days, top=10)
    assert len(table) == 3
    first = table.iloc[0]  # the deepest: the -50% from the 2024-01-03 peak
    assert first["peak"] == days[2]
    assert first["trough"] == days[3]
    assert first["recovery"] == days[5]
    close(first["depth"], -0.5)
    assert first["length"] == 2
    assert first["bars_to_recover"] == 2
    assert first["days_to_recover"] == 2
    # The two -10% episodes tie up to rounding; find them by their troughs.
    from_start = table[table["trough"] == days[1]].iloc[0]
    assert from_start["peak"] is pd.NaT  # a fall on the first bar: from the starting capital
    assert from_start["recovery"] == days[2]
    assert from_start["length"] == 1
    last = table[table["trough"] == days[6]].iloc[0]
    assert last["peak"] == days[5]
    assert not last["recovered"]
    assert last["recovery"] is pd.NaT
    assert last["length"] == 1
    assert len(metrics.drawdown_table(r, days, top=1)) == 1
    positions = metrics.drawdown_table(pd.Series(r), None, top=1)
    assert positions["trough"].tolist() == [3]
    assert positions["peak"].tolist() == [2]
    empty = metrics.drawdown_table(np.array([0.01, 0.02]), None)
    assert empty.empty
    assert list(empty.columns) == list(metrics._TABLE_COLUMNS)


# --------------------------------------------------------------------------- rolling


def test_rolling_matches_empyrical_roll_functions(panel) -> None:
    returns, bench = panel
    x = span(returns["FB"])
    b = bench.loc[x.index].to_numpy()
    x = x.to_numpy()
    window = 63
    cases = {
        "volatility": ep.roll_annual_volatility(x, window, annualization=DAILY),
        "sharpe": ep.roll_sharpe_ratio(x, window, annualization=DAILY),
        "beta": ep.roll_beta(x, b, window),
        "drawdown": ep.roll_max_drawdown(x, window),
    }
    for metric, expected in cases.items():
        values, ends = metrics.rolling(x, metric, window, benchmark=b if metric == "beta" else None)
        assert values.shape == (len(x) - window + 1, 1)
        assert ends[0] == window - 1
        assert ends[-1] == len(x) - 1
        close(values[:, 0], expected)
        stepped, stepped_ends = metrics.rolling(x, metric, window, step=5, benchmark=b)
        close(stepped[:, 0], values[::5, 0], rtol=0)
        assert (stepped_ends == ends[::5]).all()


def test_rolling_over_late_listings_is_nan_until_a_full_window(panel) -> None:
    returns, bench = panel
    values, ends = metrics.rolling(returns, "sharpe", 21, step=21, periods_per_year=DAILY)
    assert values.shape == (len(ends), returns.shape[1])
    first = returns.notna().to_numpy().argmax(axis=0)
    starts = ends - 20
    assert np.array_equal(np.isnan(values), starts[:, None] < first[None, :])
    betas, _ = metrics.rolling(returns, "beta", 21, step=21, benchmark=bench)
    assert np.isfinite(betas[-1]).all()


def test_rolling_rejects_bad_arguments() -> None:
    r = np.zeros(10)
    for kwargs in ({"window": 0}, {"window": 3, "step": 0}, {"window": 2.5}):
        with pytest.raises(InvalidInputError):
            metrics.rolling(r, "volatility", **kwargs)
    with pytest.raises(InvalidInputError, match="unknown rolling metric"):
        metrics.rolling(r, "sortino", 3)
    with pytest.raises(InvalidInputError, match="needs a benchmark"):
        metrics.rolling(r, "beta", 3)
    values, ends = metrics.rolling(r, "volatility", 20)
    assert values.shape == (0, 1)
    assert ends.shape == (0,)
    flat, _ = metrics.rolling(np.full(10, 0.01), "volatility", 5)
    assert (flat == 0).all()
    flat, _ = metrics.rolling(np.full(10, 0.01), "sharpe", 5)
    assert np.isnan(flat).all()


# --------------------------------------------------------------------------- bad input


def test_empty_and_all_nan_columns_are_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = metrics.risk_metrics(np.empty(0), DAILY, benchmark=np.empty(0))
        assert set(empty) == set(metrics.RISK_METRICS + metrics.RELATIVE_METRICS)
        assert all(v.shape == (1,) and np.isnan(v).all() for v in empty.values())
        r = np.column_stack([np.full(30, np.nan), np.linspace(-0.02, 0.03, 30)])
        figures = metrics.risk_metrics(r, DAILY)
        assert all(np.isnan(v[0]) for v in figures.values())
        assert all(np.isfinite(v[1]) for v in figures.values())
        var = metrics.var_table(r, (0.95, 0.99), "monte_carlo")
        assert np.isnan(var[0.95][0])
        assert np.isfinite(var[0.95][1])
        for method in metrics.VAR_METHODS:
            assert np.isnan(metrics.cvar_table(np.empty((0, 3)), 0.95, method)[0.95]).all()
        assert metrics.underwater(np.empty((0, 2))).shape == (0, 2)
        assert metrics.drawdown_table(np.full(5, np.nan), None).empty
        assert math.isnan(metrics.sharpe([], DAILY))


def test_constant_series_has_no_sharpe_or_sortino() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figures = metrics.risk_metrics(np.full(100, 0.001), DAILY, risk_free=0.5)
        assert figures["annual_volatility"][0] == 0.0
        assert np.isnan(figures["sharpe"][0])
        assert np.isnan(figures["sortino"][0])
        assert np.isnan(figures["skew"][0])
        assert np.isnan(figures["kurtosis"][0])
        assert figures["max_drawdown"][0] == 0.0
        assert np.isnan(figures["calmar"][0])
        assert figures["average_drawdown"][0] == 0.0
        assert np.isnan(figures["sterling"][0])
        for method in metrics.VAR_METHODS:
            close(metrics.var_table(np.full(50, 0.001), 0.99, method)[0.99], [0.001], rtol=1e-12)
            close(metrics.cvar_table(np.full(50, 0.001), 0.99, method)[0.99], [0.001], rtol=1e-12)
        flat = metrics.risk_metrics(np.zeros(10), DAILY, benchmark=np.zeros(10))
        assert np.isnan(flat["beta"][0])
        assert np.isnan(flat["information_ratio"][0])
        assert np.isnan(flat["hit_rate"][0])
        assert np.isnan(flat["omega"][0])


def test_returns_below_minus_one_name_the_first_bad_row() -> None:
    r = pd.DataFrame(
        {"A": [0.01, 0.02, -1.5, 0.0], "B": [0.01, -2.0, 0.01, np.inf]},
        index=pd.date_range("2024-01-01", periods=4, freq="D"),
    )
    with pytest.raises(InvalidInputError, match=r"column 'B' at row 1 \(2024-01-02"):
        metrics.risk_metrics(r, DAILY)
    with pytest.raises(InvalidInputError, match=r"row 2.*-1.5"):
        metrics.var_table(r["A"], 0.95, "historical")
    with pytest.raises(InvalidInputError, match=r"row 2 has the return inf"):
        metrics.underwater([*r["B"].to_numpy()[[0, 2, 3]].tolist(), 0.0])
    with pytest.raises(InvalidInputError, match="row 1"):
        metrics.sharpe(np.array([0.0, -np.inf]), DAILY)
    assert metrics.max_drawdown_of_returns([0.1, -1.0, 0.5]) == -1.0  # a total loss is allowed


def test_a_gap_inside_a_history_is_rejected() -> None:
    r = np.array([[np.nan, 0.01], [0.01, 0.02], [np.nan, 0.01], [0.02, 0.0], [np.nan, np.nan]])
    with pytest.raises(InvalidInputError, match="column 0 is missing at row 2"):
        metrics.risk_metrics(r, DAILY)
    with pytest.raises(InvalidInputError, match="missing at row 2"):
        metrics.cvar_table(r[:, 0], 0.9, "historical")
    # Leading and trailing NaNs are fine.
    metrics.risk_metrics(r[[0, 1, 3, 4]], DAILY)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, float("nan"), 95])
def test_confidence_outside_zero_one_is_rejected(level) -> None:
    with pytest.raises(InvalidInputError, match="confidence"):
        metrics.var_table(np.zeros(10), [0.95, level], "historical")
    with pytest.raises(InvalidInputError, match="confidence"):
        metrics.cvar_table(np.zeros(10), level, "parametric")


def test_benchmark_rules() -> None:
    r = np.full((10, 2), 0.01)
    with pytest.raises(InvalidInputError, match="benchmark has 9 rows and the returns 10"):
        metrics.risk_metrics(r, DAILY, benchmark=np.zeros(9))
    b = np.zeros(10)
    b[4] = np.nan
    with pytest.raises(InvalidInputError, match=r"benchmark is nan at row 4"):
        metrics.risk_metrics(r, DAILY, benchmark=b)
    r[:5, 0] = r[:5, 1] = np.nan  # no column has a return on row 4: the NaN is harmless
    assert np.isfinite(metrics.risk_metrics(r, DAILY, benchmark=b)["tracking_error"]).all()
    with pytest.raises(InvalidInputError, match="one series"):
        metrics.risk_metrics(r, DAILY, benchmark=np.zeros((10, 2)))
    with pytest.raises(InvalidInputError, match="benchmark"):
        metrics.rolling(r, "beta", 3, benchmark=np.zeros(3))


def test_other_bad_arguments() -> None:
    r = np.zeros(10)
    with pytest.raises(InvalidInputError, match="periods_per_year"):
        metrics.risk_metrics(r, 0)
    with pytest.raises(InvalidInputError, match="risk_free"):
        metrics.risk_metrics(r, DAILY, risk_free=-1.0)
    with pytest.raises(InvalidInputError, match="unknown VaR method"):
        metrics.var_table(r, 0.95, "garch")
    with pytest.raises(InvalidInputError, match="simulations"):
        metrics.var_table(r, 0.95, "monte_carlo", simulations=0)
    with pytest.raises(InvalidInputError, match="1-D"):
        metrics.risk_metrics(np.zeros((2, 2, 2)), DAILY)
    with pytest.raises(InvalidInputError, match="numbers"):
        metrics.risk_metrics(["a", "b"], DAILY)
    with pytest.raises(InvalidInputError, match="top"):
        metrics.drawdown_table(r, None, top=0)
    with pytest.raises(InvalidInputError, match="one series"):
        metrics.drawdown_table(np.zeros((3, 2)), None)


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=st.integers(0, 60), cols=st.integers(1, 4))
def test_any_matrix_equals_its_columns_alone(data, rows, cols) -> None:
    """Rows with NaNs take the one-row path and clean runs the block path: both must give
    each column the figures it gets alone on its valid span."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    r = rng.normal(0.0, 0.03, (rows, cols)).clip(-0.99)
    r[rng.random((rows, cols)) < 0.2] = 0.0
    b = rng.normal(0.0, 0.02, rows)
    for j in range(cols):
        lead = data.draw(st.integers(0, rows))
        trail = data.draw(st.integers(lead, rows))
        r[:lead, j] = np.nan
        r[trail:, j] = np.nan
    together = metrics.risk_metrics(r, DAILY, b, risk_free=RF, omega_threshold=THRESHOLD)
    water = metrics.underwater(r)
    for j in range(cols):
        rows_j = ~np.isnan(r[:, j])
        alone = metrics.risk_metrics(
            r[rows_j, j], DAILY, b[rows_j], risk_free=RF, omega_threshold=THRESHOLD
        )
        for name, values in together.items():
            close(values[j], alone[name][0], rtol=1e-10, atol=1e-14)
        close(water[rows_j, j], metrics.underwater(r[rows_j, j])[:, 0], rtol=1e-12)
        if rows_j.sum() > 1:
            x = r[rows_j, j]
            close(together["max_drawdown"][j], ep.max_drawdown(x), rtol=1e-12)
            close(together["total_return"][j], ep.cum_returns_final(x), rtol=1e-12, atol=1e-15)


def test_a_subset_of_metrics_gives_the_same_figures(panel) -> None:
    returns, bench = panel
    everything = metrics.risk_metrics(returns, DAILY, bench, risk_free=RF)
    for names in (("sharpe", "max_drawdown", "calmar", "alpha"), ("hit_rate",), ("omega",)):
        some = metrics.risk_metrics(returns, DAILY, bench, risk_free=RF, metrics=names)
        assert list(some) == list(names)
        for name in names:
            close(some[name], everything[name], rtol=0)
    with pytest.raises(InvalidInputError, match="need a benchmark"):
        metrics.risk_metrics(returns, DAILY, metrics=("beta",))
    with pytest.raises(InvalidInputError, match="unknown metrics"):
        metrics.risk_metrics(returns, DAILY, metrics=("sharp",))
