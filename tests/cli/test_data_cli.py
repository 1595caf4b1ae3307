"""The ``foanalytics data`` commands: every real data file imports, JSON shapes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from foanalytics.cli import app

# Every market-data file of ../shared/data, with the key and flags it needs.
REAL_FILES = [
    ("stocks_daily/nvda-1999-2014.txt", "nasdaq/NVDA/1d", [], 4012),
    ("stocks_daily/orcl-1995-2014.txt", "nasdaq/ORCL/1d", [], 5036),
    ("stocks_daily/yhoo-1996-2015.txt", "nasdaq/YHOO/1d", [], 4965),
    ("stocks_daily/GOOG.csv", "nasdaq/GOOG/1d", [], 2148),
    ("fx/EURUSD.csv", "oanda/EUR/USD/1h", [], 5000),
    ("crypto/BTCUSD.csv", "bitstamp/BTC/USD/1M", ["--label", "end"], 156),
    ("crypto/ETH_BTC-5m.feather", "bittrex/ETH/BTC/5m", [], 5760),
    ("crypto/ETH_BTC-5m.csv", "bittrex-csv/ETH/BTC/5m", [], 5760),
    ("crypto/LTC_BTC-5m.feather", "bittrex/LTC/BTC/5m", [], 5760),
    ("crypto/LTC_BTC-5m.csv", "bittrex-csv/LTC/BTC/5m", [], 5760),
    ("crypto/ADA_BTC-5m.feather", "bittrex/ADA/BTC/5m", [], 5720),
    ("crypto/ADA_BTC-5m.csv", "bittrex-csv/ADA/BTC/5m", [], 5720),
    ("crypto/XRP_ETH-5m.feather", "unknown/XRP/ETH/5m", [], 706),
    ("crypto/XRP_ETH-5m.csv", "unknown-csv/XRP/ETH/5m", [], 706),
    ("crypto/XRP_ETH-1m.feather", "unknown/XRP/ETH/1m", [], 2469),
    ("crypto/XRP_ETH-1m.csv", "unknown-csv/XRP/ETH/1m", [], 2469),
    ("panel/spy_prices.csv", "arca/SPY/1d", ["--close-only"], 6765),
]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FOANALYTICS_DATA_DIR", str(tmp_path / "store"))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def _json(out: str):
    return json.loads(out)


@pytest.mark.parametrize(("name", "key", "flags", "rows"), REAL_FILES)
def test_every_real_file_imports(cli, shared_data: Path, name, key, flags, rows) -> None:
    code, out, err = cli("data", "import", str(shared_data / name), "--key", key, *flags, "--json")
    assert code == 0, err
    report = _json(out)
    assert report["key"] == key
    assert report["rows"] == rows
    code, out, _ = cli("data", "show", key, "--json")
    bars = _json(out)["bars"]
    assert len(bars) == rows
    assert set(bars[0]) == {"timestamp", "open", "high", "low", "close", "volume"}


def test_the_price_panel_imports_one_series_per_column(cli, shared_data: Path) -> None:
    path = shared_data / "panel" / "stock_prices.csv"
    code, out, err = cli(
        "data", "import", str(path), "--key", "yahoo/{column}/1d", "--close-only", "--json"
    )
    assert code == 0, err
    reports = {r["key"]: r for r in _json(out)}
    assert len(reports) == 20
    # Late listings keep only their own history (leading NaNs dropped, never filled).
    assert reports["yahoo/FB/1d"]["start"] == "2012-05-18T00:00:00+00:00"
    assert reports["yahoo/AAPL/1d"]["rows"] == 7126
    raw = pd.read_csv(path, index_col=0, parse_dates=True)
    code, out, _ = cli("data", "show", "yahoo/GE/1d", "--json")
    closes = [b["close"] for b in _json(out)["bars"]]
    assert closes == raw["GE"].tolist()


def test_list_show_gaps_stats_json_contracts(cli, shared_data: Path) -> None:
    cli("data", "import", str(shared_data / "stocks_daily/GOOG.csv"), "--key", "nasdaq/GOOG/1d")
    code, out, _ = cli("data", "list", "--json")
    assert code == 0
    assert _json(out) == [
        {
            "key": "nasdaq/GOOG/1d",
            "rows": 2148,
            "start": "2004-08-19T00:00:00+00:00",
            "end": "2013-03-01T00:00:00+00:00",
        }
    ]
    code, out, _ = cli("data", "gaps", "nasdaq/GOOG/1d", "--calendar", "weekdays", "--json")
    gaps = _json(out)
    assert {"key", "missing", "count"} <= set(gaps)
    assert gaps["key"] == "nasdaq/GOOG/1d"
    # Independent check: weekdays between first and last bar that have no bar.
    raw = pd.read_csv(shared_data / "stocks_daily/GOOG.csv", index_col=0, parse_dates=True)
    weekdays = pd.bdate_range(raw.index[0], raw.index[-1])
    assert gaps["count"] == len(weekdays.difference(raw.index))
    code, out, _ = cli(
        "data", "show", "nasdaq/GOOG/1d", "--start", "2010-01-04", "--end", "2010-01-06", "--json"
    )
    shown = _json(out)["bars"]
    assert [b["timestamp"] for b in shown] == [
        "2010-01-04T00:00:00+00:00",
        "2010-01-05T00:00:00+00:00",
    ]
    assert shown[0]["close"] == raw.loc["2010-01-04", "Close"]
    code, out, _ = cli("data", "stats", "nasdaq/GOOG/1d", "--json")
    stats = _json(out)
    assert stats["rows"] == 2148
    assert stats["calendar"] == "weekdays"


def test_fetch_synthetic_then_ensure(cli) -> None:
    key = "synthetic/BTC/USD/1h"
    code, out, err = cli(
        "data",
        "fetch",
        key,
        "--source",
        "synthetic",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-03",
        "--json",
    )
    assert code == 0, err
    assert _json(out)["rows"] == 48
    cli("data", "delete", key, "--start", "2024-01-02", "--end", "2024-01-02 03:00")
    code, out, _ = cli("data", "gaps", key, "--calendar", "24/7", "--json")
    assert _json(out)["missing"] == [["2024-01-02T00:00:00+00:00", "2024-01-02T03:00:00+00:00"]]
    code, out, _ = cli(
        "data",
        "ensure",
        key,
        "--source",
        "synthetic",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-03",
        "--calendar",
        "24/7",
        "--json",
    )
    assert _json(out)["fetched_rows"] == 3
    assert _json(out)["count"] == 0


def _bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02,10,11,9,10.5,100\n"
        "2024-01-03,10,10.2,9,10.5,100\n"  # high below close
    )
    return path


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["data", "import", "{bad}", "--key", "x/ABC/1d"], 2, "column 'high': 1 row"),
        (["data", "import", "{bad}", "--key", "x/ABC"], 2, "EXCHANGE/SYMBOL/TIMEFRAME"),
        (["data", "import", "{bad}", "--key", "x/ABC/1w"], 2, "off the 1w grid"),
        (["data", "import", "{missing}", "--key", "x/ABC/1d"], 3, "no such file"),
        (["data", "import", "{bad}", "--key", "x/ABC/1d", "--map", "close"], 2, "--map"),
        (["data", "import", "{bad}", "--key", "x/ABC/1d", "--label", "middle"], 2, "label"),
        (["data", "import", "{bad}", "--key", "x/{column}/1d"], 2, "--close-only"),
        (["data", "show", "x/ABC/1d"], 3, "not in the store"),
        (["data", "gaps", "x/ABC/1d", "--json"], 3, "not in the store"),
        (
            [
                "data",
                "fetch",
                "x/ABC/1d",
                "--source",
                "nope",
                "--start",
                "2024-01-01",
                "--end",
                "2024-01-02",
            ],
            2,
            "unknown source",
        ),
    ],
)
def test_bad_input_exits_non_zero_and_stores_nothing(cli, tmp_path: Path, args, code, words):
    bad = str(_bad_csv(tmp_path))
    args = [a.replace("{bad}", bad).replace("{missing}", str(tmp_path / "none.csv")) for a in args]
    exit_code, out, err = cli(*args)
    assert exit_code == code, (out, err)
    assert words in " ".join(err.split())
    assert cli("data", "list", "--json")[1].strip() == "[]"
