"""The risk service on real data, its figures checked against empyrical, and its bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import empyrical
import numpy as np
import pandas as pd
import pytest

from foanalytics import Settings, build
from foanalytics.bootstrap import Services, file_source
from foanalytics.domain.errors import InvalidInputError, NotFoundError
from foanalytics.domain.market import SeriesKey
from foanalytics.domain.risk import VAR_METHODS, RiskReport

METHODS = set(VAR_METHODS)


@pytest.fixture(scope="module")
def services() -> Services:
    return build(Settings(data_dir="/nonexistent", storage={"backend": "memory"}))


def _closes(shared_data: Path, name: str, column: str) -> pd.Series:
    frame = pd.read_csv(shared_data / name, index_col=0, parse_dates=True)
    return frame[column]


@pytest.fixture(scope="module")
def goog(shared_data: Path) -> pd.Series:
    """GOOG daily close-to-close returns, read with pandas alone (naive dates)."""
    return _closes(shared_data, "stocks_daily/GOOG.csv", "Close").pct_change().dropna()


@pytest.fixture(scope="module")
def spy(shared_data: Path) -> pd.Series:
    return _closes(shared_data, "panel/spy_prices.csv", "SPY").pct_change().dropna()


@pytest.fixture(scope="module")
def aligned(goog: pd.Series, spy: pd.Series) -> tuple[pd.Series, pd.Series]:
    ours, theirs = goog.align(spy, join="inner")
    return ours, theirs


@pytest.fixture(scope="module")
def report(services: Services, goog: pd.Series, spy: pd.Series) -> RiskReport:
    return services.risk.report(goog.rename("GOOG"), benchmark=spy.rename("SPY"))


def _figure(report: RiskReport, metric: str, column: str = "GOOG") -> float:
    return float(report.metrics.at[metric, column])


def test_the_report_covers_the_intersection_with_the_benchmark(report, aligned) -> None:
    ours, _ = aligned
    assert len(report.returns) == len(ours) == 2147
    assert report.returns.index[0] == pd.Timestamp(ours.index[0], tz="UTC")
    assert report.returns.index[-1] == pd.Timestamp(ours.index[-1], tz="UTC")
    assert report.columns == ("GOOG",)
    assert report.benchmark == "SPY"
    assert report.periods_per_year == 252.0  # daily, no weekend bar: the weekday calendar
    assert report.confidence == (0.95, 0.99)
    assert report.trades is None


def test_metrics_match_empyrical(report: RiskReport, aligned) -> None:
    r, b = aligned
    expected = {
        "total_return": empyrical.cum_returns_final(r),
        "cagr": empyrical.annual_return(r, annualization=252),
        "annual_volatility": empyrical.annual_volatility(r, annualization=252),
        "sharpe": empyrical.sharpe_ratio(r, annualization=252),
        "sortino": empyrical.sortino_ratio(r, annualization=252),
        "calmar": empyrical.calmar_ratio(r, annualization=252),
        "omega": empyrical.omega_ratio(r, annualization=252),
        "tail_ratio": empyrical.tail_ratio(r),
        "max_drawdown": empyrical.max_drawdown(r),
        "alpha": empyrical.alpha(r, b, annualization=252),
        "beta": empyrical.beta(r, b),
        "up_capture": empyrical.up_capture(r, b),
        "down_capture": empyrical.down_capture(r, b),
        "best": r.max(),
        "worst": r.min(),
        "correlation": np.corrcoef(r, b)[0, 1],
    }
    for name, value in expected.items():
        assert _figure(report, name) == pytest.approx(float(value), rel=1e-9), name
    # Sanity of the real numbers themselves (GOOG 2004-2013 against SPY).
    assert _figure(report, "beta") == pytest.approx(0.8957, abs=1e-4)
    assert _figure(report, "max_drawdown") == pytest.approx(-0.6529, abs=1e-4)


def test_the_benchmark_has_its_own_metrics(report: RiskReport, aligned) -> None:
    _, b = aligned
    assert report.benchmark_metrics is not None
    assert report.benchmark_metrics["sharpe"] == pytest.approx(
        empyrical.sharpe_ratio(b, annualization=252), rel=1e-9
    )
    assert "beta" not in report.benchmark_metrics.index


def test_historical_var_and_cvar_match_empyrical(report: RiskReport, aligned) -> None:
    r, _ = aligned
    for level in (0.95, 0.99):
        var = report.var.at[("historical", level), "GOOG"]
        cvar = report.cvar.at[("historical", level), "GOOG"]
        assert var == pytest.approx(empyrical.value_at_risk(r, cutoff=1 - level), rel=1e-9)
        assert cvar == pytest.approx(
            empyrical.conditional_value_at_risk(r, cutoff=1 - level), rel=1e-9
        )


def test_every_var_method_at_every_level_is_a_plausible_loss(report: RiskReport, aligned) -> None:
    r, _ = aligned
    assert {m for m, _ in report.var.index} == METHODS
    assert {c for _, c in report.var.index} == {0.95, 0.99}
    mean, std = r.mean(), r.std(ddof=1)
    for method in METHODS:
        var95 = report.var.at[(method, 0.95), "GOOG"]
        var99 = report.var.at[(method, 0.99), "GOOG"]
        assert var99 < var95 < 0, method
        for level in (0.95, 0.99):
            var = report.var.at[(method, level), "GOOG"]
            cvar = report.cvar.at[(method, level), "GOOG"]
            assert cvar < var, (method, level)
            # Within a factor of two of the normal quantile: the same order of magnitude.
            normal = mean + NormalDist().inv_cdf(1 - level) * std
            assert 0.5 * normal > var > 2.0 * normal, (method, level)
    # Parametric VaR is the normal quantile of the sample mean and deviation.
    assert report.var.at[("parametric", 0.99), "GOOG"] == pytest.approx(
        mean + NormalDist().inv_cdf(0.01) * std, rel=1e-6
    )


def test_monte_carlo_var_is_reproducible_by_seed(services: Services, goog: pd.Series) -> None:
    first = services.risk.report(goog, seed=7)
    again = services.risk.report(goog, seed=7)
    other = services.risk.report(goog, seed=8)
    pd.testing.assert_frame_equal(first.var, again.var)
    mc = ("monte_carlo", 0.99)
    assert first.var.loc[mc].iloc[0] != other.var.loc[mc].iloc[0]
    assert first.var.loc[mc].iloc[0] == pytest.approx(other.var.loc[mc].iloc[0], rel=0.1)


def test_underwater_and_the_drawdown_table(report: RiskReport, aligned) -> None:
    r, _ = aligned
    wealth = (1 + r).cumprod()
    expected = wealth / np.maximum(wealth.cummax(), 1.0) - 1.0
    np.testing.assert_allclose(
        report.underwater["GOOG"].to_numpy(), expected.to_numpy(), atol=1e-12
    )
    table = report.drawdowns["GOOG"]
    assert 1 <= len(table) <= 5
    deepest = table.iloc[0]
    assert deepest["depth"] == pytest.approx(empyrical.max_drawdown(r), rel=1e-9)
    assert pd.Timestamp(deepest["trough"]) == pd.Timestamp(expected.idxmin(), tz="UTC")
    assert pd.Timestamp(deepest["peak"]) == pd.Timestamp(
        wealth.loc[: expected.idxmin()].idxmax(), tz="UTC"
    )
    depths = table["depth"].to_numpy()
    assert (np.diff(depths) >= 0).all()  # deepest first


def test_rolling_series_match_empyrical(report: RiskReport, aligned) -> None:
    r, b = aligned
    window = report.window
    assert window == 126  # half a year of daily periods
    assert set(report.rolling) == {"volatility", "sharpe", "drawdown", "beta"}
    vol = report.rolling["volatility"]["GOOG"]
    sharpe = report.rolling["sharpe"]["GOOG"]
    beta = report.rolling["beta"]["GOOG"]
    assert len(vol) == len(r) - window + 1
    assert vol.index[0] == pd.Timestamp(r.index[window - 1], tz="UTC")
    expected_vol = empyrical.roll_annual_volatility(r, window, annualization=252)
    expected_sharpe = empyrical.roll_sharpe_ratio(r, window, annualization=252)
    expected_beta = empyrical.roll_beta(r, b, window)
    np.testing.assert_allclose(vol.to_numpy(), np.asarray(expected_vol), rtol=1e-8)
    np.testing.assert_allclose(sharpe.to_numpy(), np.asarray(expected_sharpe), rtol=1e-8)
    np.testing.assert_allclose(beta.to_numpy(), np.asarray(expected_beta), rtol=1e-8)


def test_a_frame_is_measured_column_by_column(services: Services, shared_data: Path) -> None:
    prices = pd.read_csv(shared_data / "panel/stock_prices.csv", index_col=0, parse_dates=True)
    panel = prices[["AAPL", "GOOG", "FB"]]  # FB and GOOG listed later: leading NaNs
    report = services.risk.report(services.risk.returns(panel, prices=True))
    assert report.columns == ("AAPL", "GOOG", "FB")
    for column in report.columns:
        own = panel[column].dropna().pct_change().dropna()
        assert report.metrics.at["sharpe", column] == pytest.approx(
            empyrical.sharpe_ratio(own, annualization=252), rel=1e-9
        )
        assert report.metrics.at["max_drawdown", column] == pytest.approx(
            empyrical.max_drawdown(own), rel=1e-9
        )
        assert report.var.at[("historical", 0.95), column] == pytest.approx(
            empyrical.value_at_risk(own, cutoff=0.05), rel=1e-9
        )
    as_dict = report.to_dict()
    assert set(as_dict) == {"AAPL", "GOOG", "FB"}
    assert set(as_dict["FB"]) == {"metrics", "var", "cvar", "drawdowns"}


def test_a_backtest_is_measured_from_its_equity_curve(services: Services, shared_data) -> None:
    raw = pd.read_csv(shared_data / "stocks_daily/GOOG.csv", index_col=0, parse_dates=True)
    bars = raw.rename(columns=str.lower).tz_localize("UTC")
    result = services.backtesting.run("sma_crossover", bars, params={"fast": 10, "slow": 30})
    report = services.risk.report(result)
    name = result.spec.name
    assert report.columns == (name,)
    assert report.periods_per_year == result.stats.periods_per_year == 252.0
    pd.testing.assert_frame_equal(report.trades, result.trades)
    equity = result.equity
    returns = pd.concat([pd.Series([result.spec.initial_cash]), equity.reset_index(drop=True)])
    returns = returns.pct_change().dropna()
    assert report.metrics.at["sharpe", name] == pytest.approx(
        empyrical.sharpe_ratio(returns, annualization=252), rel=1e-9
    )
    assert report.metrics.at["sharpe", name] == pytest.approx(result.stats.sharpe, rel=1e-9)
    assert report.metrics.at["max_drawdown", name] == pytest.approx(
        result.stats.max_drawdown, rel=1e-9
    )


def test_a_stored_key_uses_its_closes(services: Services, shared_data: Path, goog) -> None:
    key = SeriesKey.parse("nasdaq/GOOG/1d")
    source, keys = file_source(shared_data / "stocks_daily/GOOG.csv", key=key)
    services.market_data.ingest_all(source, keys)
    report = services.risk.report(key, benchmark=None)
    assert report.columns == ("nasdaq/GOOG/1d",)
    assert report.metrics.at["sharpe", "nasdaq/GOOG/1d"] == pytest.approx(
        empyrical.sharpe_ratio(goog, annualization=252), rel=1e-9
    )
    by_key = services.risk.report(goog, benchmark=key)  # a key as the benchmark
    assert by_key.metrics.at["beta", by_key.columns[0]] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("path", "column", "calendar", "expected"),
    [
        # Hourly FX has Sunday-evening bars, so "auto" reads it as 24/7: 365 x 24.
        ("fx/EURUSD.csv", "Close", "auto", 8760.0),
        ("fx/EURUSD.csv", "Close", "fx", 6048.0),  # 252 sessions of 24 hours
        ("crypto/BTCUSD.csv", "Close", "auto", 12.0),  # month-end dates
        ("panel/spy_prices.csv", "SPY", "auto", 252.0),
    ],
)
def test_periods_per_year_come_from_the_spacing_and_calendar(
    services, shared_data, path, column, calendar, expected
):
    returns = _closes(shared_data, path, column).pct_change().dropna()
    assert services.risk.report(returns, calendar=calendar).periods_per_year == expected
    assert services.risk.report(returns, periods_per_year=365).periods_per_year == 365.0


def test_to_dict_is_strict_json_and_to_frame_holds_everything(services: Services) -> None:
    # Rising every day: no drawdown, so Calmar-like ratios are undefined (null, never NaN).
    index = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    rising = pd.Series(np.linspace(0.001, 0.01, 60), index=index, name="up")
    report = services.risk.report(rising, confidence=0.9)
    payload = report.to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert set(payload) == {"metrics", "var", "cvar", "drawdowns"}
    assert set(payload["var"]) == METHODS
    assert set(payload["var"]["historical"]) == {"0.9"}
    assert payload["metrics"]["max_drawdown"] == 0.0
    assert payload["metrics"]["calmar"] is None
    assert "NaN" not in text
    assert "Infinity" not in text
    frame = report.to_frame()
    assert "sharpe" in frame.index
    assert "cvar_monte_carlo_0.9" in frame.index
    assert list(frame.columns) == ["up"]


def _index(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D", tz="UTC")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: pd.Series([], dtype=float, index=_index(0)), "empty"),
        (lambda: pd.DataFrame({"a": [0.01, 0.02, -0.01], "b": [np.nan] * 3}, index=_index(3)),
         "'b' of the returns holds no values (all NaN)"),
        (lambda: pd.Series([0.001] * 10, index=_index(10), name="flat"), "is constant"),
        (lambda: pd.Series([0.01, -1.5, 0.02], index=_index(3), name="x"), "below -100%"),
        (lambda: pd.Series([0.01, np.inf, 0.02], index=_index(3), name="x"), "infinite"),
        (lambda: pd.Series([0.01, np.nan, 0.02, 0.01], index=_index(4), name="x"),
         "missing value at 2024-01-02"),
        (lambda: pd.Series([0.01, 0.02, 0.03]), "DatetimeIndex"),
        (lambda: pd.Series(["a", "b"], index=_index(2), name="x"), "non-number"),
        (lambda: pd.Series([0.01], index=_index(1), name="x"), "at least 2"),
        (lambda: pd.Series([0.01, 0.02], index=_index(2)[::-1], name="x"), "increasing time"),
        (lambda: [0.01, 0.02], "must be a Series"),
    ],
)  # fmt: skip
def test_bad_returns_are_typed_errors(services: Services, make, words: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        services.risk.report(make())
    assert words in str(caught.value)


def test_bad_prices_are_typed_errors(services: Services) -> None:
    negative = pd.DataFrame({"p": [10.0, -1.0, 11.0]}, index=_index(3))
    with pytest.raises(InvalidInputError, match="must be positive"):
        services.risk.returns(negative, prices=True)
    words = pd.DataFrame({"p": ["10", "ten", "11"]}, index=_index(3))
    with pytest.raises(InvalidInputError, match="non-number"):
        services.risk.returns(words, prices=True)
    with pytest.raises(InvalidInputError, match="no column 'NOPE'"):
        services.risk.returns(negative, prices=True, columns=["NOPE"])
    with pytest.raises(InvalidInputError, match="constant"):
        services.risk.returns(pd.DataFrame({"p": [5.0] * 5}, index=_index(5)), prices=True)


def test_bad_benchmarks_and_options(services: Services, goog: pd.Series) -> None:
    later = pd.Series(np.linspace(-0.01, 0.01, 50), index=_index(50, "2020-01-01"), name="x")
    with pytest.raises(InvalidInputError, match="share no timestamp"):
        services.risk.report(goog, benchmark=later)
    with pytest.raises(InvalidInputError, match="one series"):
        services.risk.report(goog, benchmark=pd.DataFrame({"a": later, "b": later}))
    with pytest.raises(NotFoundError, match="not in the store"):
        services.risk.report(goog, benchmark=SeriesKey.parse("nowhere/X/1d"))
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(InvalidInputError, match=r"inside \(0, 1\)"):
            services.risk.report(goog, confidence=(0.95, level))
    with pytest.raises(InvalidInputError, match="window"):
        services.risk.report(goog, window=1)
    with pytest.raises(InvalidInputError, match="periods_per_year"):
        services.risk.report(goog, periods_per_year=0)
    with pytest.raises(InvalidInputError, match="unknown calendar 'moon'"):
        services.risk.report(goog, calendar="moon")


def test_naive_and_zoned_indexes_align(services: Services, aligned) -> None:
    r, b = aligned
    zoned = b.tz_localize("UTC").rename("SPY")
    report = services.risk.report(r.rename("GOOG"), benchmark=zoned)
    assert len(report.returns) == len(r)
    assert not math.isnan(report.metrics.at["beta", "GOOG"])
