"""The ``foanalytics risk`` and ``report`` commands, and the demo's tearsheet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from foanalytics.cli import app
from foanalytics.domain.templates import bollinger
from foanalytics.reports.tearsheet import SECTIONS

METHODS = {"historical", "parametric", "cornish_fisher", "monte_carlo"}
SHAPE = {"metrics", "var", "cvar", "drawdowns"}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FOANALYTICS_DATA_DIR", str(tmp_path / "store"))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def _strict(text: str):
    def refuse(name: str):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _returns(shared_data: Path, name: str, column: str) -> pd.Series:
    frame = pd.read_csv(shared_data / name, index_col=0, parse_dates=True)
    return frame[column].pct_change().dropna()


def test_risk_of_a_file_against_a_benchmark_file(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "risk", "--file", str(shared_data / "stocks_daily/GOOG.csv"),
        "--benchmark", str(shared_data / "panel/spy_prices.csv"), "--json",
    )  # fmt: skip
    assert code == 0, err
    payload = _strict(out)
    assert set(payload) == SHAPE
    r, b = _returns(shared_data, "stocks_daily/GOOG.csv", "Close").align(
        _returns(shared_data, "panel/spy_prices.csv", "SPY"), join="inner"
    )
    metrics = payload["metrics"]
    assert metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-9)
    assert metrics["beta"] == pytest.approx(empyrical.beta(r, b), rel=1e-9)
    assert metrics["max_drawdown"] == pytest.approx(empyrical.max_drawdown(r), rel=1e-9)
    assert set(payload["var"]) == set(payload["cvar"]) == METHODS
    for method in METHODS:
        assert set(payload["var"][method]) == {"0.95", "0.99"}
    assert payload["var"]["historical"]["0.95"] == pytest.approx(
        empyrical.value_at_risk(r, cutoff=0.05), rel=1e-9
    )
    deepest = payload["drawdowns"][0]
    assert deepest["depth"] == pytest.approx(empyrical.max_drawdown(r), rel=1e-9)
    assert deepest["trough"].startswith("2008-11-")


def test_a_panel_gives_one_object_per_column(cli, shared_data: Path) -> None:
    panel = str(shared_data / "panel/stock_prices.csv")
    code, out, err = cli("risk", "--file", panel, "--confidence", "0.9", "--json")
    assert code == 0, err
    payload = _strict(out)
    prices = pd.read_csv(panel, index_col=0, parse_dates=True)
    assert list(payload) == list(prices.columns)
    for column in ("AAPL", "FB"):
        assert set(payload[column]) == SHAPE
        own = prices[column].dropna().pct_change().dropna()
        assert payload[column]["metrics"]["sharpe"] == pytest.approx(
            empyrical.sharpe_ratio(own), rel=1e-9
        )
        assert set(payload[column]["var"]["parametric"]) == {"0.9"}
    code, out, err = cli("risk", "--file", panel, "--column", "FB", "--json")
    assert code == 0, err
    single = _strict(out)
    assert set(single) == SHAPE
    assert single["metrics"]["sharpe"] == payload["FB"]["metrics"]["sharpe"]


def test_a_returns_file_with_us_dates_equals_the_prices(cli, shared_data, tmp_path) -> None:
    returns = _returns(shared_data, "stocks_daily/GOOG.csv", "Close")
    path = tmp_path / "goog_returns.csv"
    frame = pd.DataFrame({"Date": returns.index.strftime("%m/%d/%Y"), "GOOG": returns.values})
    frame.to_csv(path, index=False, float_format="%.17g")
    code, out, err = cli("risk", "--file", str(path), "--returns", "--json")
    assert code == 0, err
    from_returns = _strict(out)
    code, out, err = cli("risk", "--file", str(shared_data / "stocks_daily/GOOG.csv"), "--json")
    assert code == 0, err
    from_prices = _strict(out)
    for name in ("sharpe", "annual_volatility", "max_drawdown", "cagr"):
        assert from_returns["metrics"][name] == pytest.approx(
            from_prices["metrics"][name], rel=1e-12
        )


def test_stored_keys_as_series_and_benchmark(cli, shared_data: Path) -> None:
    goog = str(shared_data / "stocks_daily/GOOG.csv")
    spy = str(shared_data / "panel/spy_prices.csv")
    assert cli("data", "import", goog, "--key", "nasdaq/GOOG/1d")[0] == 0
    assert cli("data", "import", spy, "--key", "arca/{column}/1d", "--close-only")[0] == 0
    code, out, err = cli("risk", "--key", "nasdaq/GOOG/1d", "--benchmark", "arca/SPY/1d", "--json")
    assert code == 0, err
    by_keys = _strict(out)
    code, out, err = cli("risk", "--file", goog, "--benchmark", spy, "--json")
    assert code == 0, err
    by_files = _strict(out)
    assert by_keys["metrics"]["beta"] == pytest.approx(by_files["metrics"]["beta"], rel=1e-12)
    assert by_keys["var"]["historical"] == pytest.approx(by_files["var"]["historical"])
    code, out, err = cli("risk", "--key", "nasdaq/GOOG/1d")
    assert code == 0, err
    assert "sharpe" in out
    assert "VaR historical 0.95" in out


def test_nan_and_infinity_print_as_null(cli, tmp_path: Path) -> None:
    path = tmp_path / "rising.csv"
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    prices = 100 * np.cumprod(1 + np.linspace(0.001, 0.01, 40))
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "UP": prices}).to_csv(path, index=False)
    code, out, err = cli("risk", "--file", str(path), "--json")
    assert code == 0, err
    payload = _strict(out)  # refuses NaN / Infinity
    assert payload["metrics"]["calmar"] is None
    assert payload["drawdowns"] == []


def _files(tmp_path: Path) -> dict[str, str]:
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    days = [f"2024-01-{d:02d}" for d in range(1, 11)]

    def column(values) -> str:
        return "".join(f"{d},{v}\n" for d, v in zip(days, values, strict=True))

    return {
        "{empty}": write("empty.csv", "date,A\n"),
        "{allnan}": write("allnan.csv", "date,A,B\n" + column(f"{10 + i}," for i in range(10))),
        "{constant}": write("constant.csv", "date,A\n" + column([10] * 10)),
        "{crash}": write("crash.csv", "date,A\n" + column([0.01, 0.02, -1.5] + [0.01] * 7)),
        "{words}": write("words.csv", "date,A\n" + column(["abc"] * 10)),
        "{negative}": write("negative.csv", "date,A\n" + column(0.01 * (i - 5) for i in range(10))),
        "{later}": write(
            "later.csv", "date,B\n" + "".join(f"2030-01-{i + 1:02d},{10 + i}\n" for i in range(10))
        ),
        "{prices}": write("prices.csv", "date,A\n" + column(10 + (i % 3) for i in range(10))),
        "{nodates}": write("nodates.csv", "date,A\nfoo,1\nbar,2\n"),
    }


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--file", "{empty}"], 2, "no rows"),
        (["--file", "{allnan}"], 2, "'B' of the prices holds no values (all NaN)"),
        (["--file", "{constant}"], 2, "is constant"),
        (["--file", "{crash}", "--returns"], 2, "below -100%"),
        (["--file", "{words}"], 2, "non-number"),
        (["--file", "{negative}"], 2, "must be positive"),
        (["--file", "{nodates}"], 2, "does not hold dates"),
        (["--file", "{prices}", "--benchmark", "{later}"], 2, "share no timestamp"),
        (["--file", "{prices}", "--confidence", "1.5"], 2, "inside (0, 1)"),
        (["--file", "{prices}", "--confidence", "0"], 2, "inside (0, 1)"),
        (["--file", "{prices}", "--column", "NOPE"], 2, "no column 'NOPE'"),
        (["--file", "{prices}", "--key", "a/B/1d"], 2, "exactly one of --key and --file"),
        ([], 2, "exactly one of --key and --file"),
        (["--file", "/nonexistent/prices.csv"], 3, "no such file"),
        (["--key", "a/B/1d"], 3, "not in the store"),
        (["--file", "{prices}", "--benchmark", "nowhere.csv"], 3, "neither a file nor"),
    ],
)
def test_bad_input_exits_non_zero(cli, tmp_path: Path, args, code, words) -> None:
    files = _files(tmp_path)
    exit_code, out, err = cli("risk", *[files.get(a, a) for a in args])
    assert exit_code == code, (out, err)
    assert words in " ".join(err.split())


def _check_page(page: str, sections: list[str]) -> None:
    for section in sections:
        assert f'id="{section}"' in page, section
    assert page.count('src="data:image/png;base64,') == 6
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//|url\(|@import", text)
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in sources), sources


def test_report_of_a_backtest_writes_a_self_contained_page(cli, shared_data, tmp_path) -> None:
    out_file = tmp_path / "out" / "goog.html"
    png = tmp_path / "png"
    code, out, err = cli(
        "report", "--file", str(shared_data / "stocks_daily/GOOG.csv"),
        "--strategy", "sma_crossover", "--param", "fast=10", "--param", "slow=30",
        "--out", str(out_file), "--png", str(png), "--json",
    )  # fmt: skip
    assert code == 0, err
    payload = _strict(out)
    assert payload["html"] == str(out_file)
    page = out_file.read_text()
    _check_page(page, list(SECTIONS))
    assert "sma_crossover(10,30) on GOOG" in page
    assert "GOOG (benchmark)" in page  # buying and holding the bars is the default benchmark
    charts = sorted(Path(p).name for p in payload["charts"])
    assert charts == sorted(
        ["equity.png", "underwater.png", "monthly_returns.png", "yearly_returns.png",
         "rolling.png", "distribution.png"]
    )  # fmt: skip
    for name in charts:
        assert (png / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_of_a_key_and_of_a_spec_file(cli, shared_data: Path, tmp_path: Path) -> None:
    goog = str(shared_data / "stocks_daily/GOOG.csv")
    assert cli("data", "import", goog, "--key", "nasdaq/GOOG/1d")[0] == 0
    plain = tmp_path / "plain.html"
    code, out, err = cli(
        "report", "--key", "nasdaq/GOOG/1d", "--benchmark",
        str(shared_data / "panel/spy_prices.csv"), "--out", str(plain),
    )  # fmt: skip
    assert code == 0, err
    assert "wrote" in out
    page = plain.read_text()
    _check_page(page, [s for s in SECTIONS if s != "trades"])
    assert 'id="trades"' not in page
    assert "SPY (benchmark)" in page
    spec = tmp_path / "spec.json"
    spec.write_text(bollinger().to_json())
    traded = tmp_path / "traded.html"
    code, _, err = cli(
        "report", "--key", "nasdaq/GOOG/1d", "--backtest", str(spec), "--out", str(traded)
    )
    assert code == 0, err
    _check_page(traded.read_text(), list(SECTIONS))


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--key", "a/B/1d", "--out", "{out}"], 3, "not in the store"),
        (["--file", "{goog}", "--strategy", "nope", "--out", "{out}"], 2, "unknown strategy"),
        (["--file", "{goog}", "--param", "fast=5", "--out", "{out}"], 2, "--param needs"),
        (["--file", "{goog}", "--out", "{out}", "--confidence", "2"], 2, "inside (0, 1)"),
        (["--file", "{goog}", "--out", "{blocked}"], 2, "cannot write the tearsheet"),
    ],
)
def test_report_bad_input(cli, shared_data, tmp_path: Path, args, code, words) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    paths = {
        "{goog}": str(shared_data / "stocks_daily/GOOG.csv"),
        "{out}": str(tmp_path / "x.html"),
        "{blocked}": str(blocker / "x.html"),
    }
    exit_code, out, err = cli("report", *[paths.get(a, a) for a in args])
    assert exit_code == code, (out, err)
    assert words in " ".join(err.split())


def test_demo_ends_with_a_tearsheet(cli, tmp_path: Path) -> None:
    code, out, err = cli("demo")
    assert code == 0, err
    page = tmp_path / "store" / "reports" / "demo_tearsheet.html"
    assert "tearsheet:" in out
    assert page.is_file()
    _check_page(page.read_text(), list(SECTIONS))
