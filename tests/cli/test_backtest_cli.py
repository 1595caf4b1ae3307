"""The ``foanalytics backtest``, ``sweep`` and ``strategies`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from foanalytics.adapters.engines.backtrader import BacktraderBacktestEngine
from foanalytics.cli import app
from foanalytics.domain.strategy import StrategySpec
from foanalytics.domain.templates import bollinger, sma_crossover


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FOANALYTICS_DATA_DIR", str(tmp_path / "store"))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return run


def _goog(shared_data: Path) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "stocks_daily/GOOG.csv", index_col=0, parse_dates=True)
    return raw.rename(columns=str.lower).tz_localize("UTC")


def test_strategies_json(cli) -> None:
    code, out, _ = cli("strategies", "--json")
    assert code == 0
    listed = {t["name"]: t for t in json.loads(out)}
    assert set(listed) == {
        "sma_crossover",
        "rsi_mean_reversion",
        "bollinger",
        "momentum",
        "donchian_breakout",
    }
    fast = listed["sma_crossover"]["params"][0]
    assert fast == {"name": "fast", "type": "int", "default": 10, "description": "fast SMA window",
                    "minimum": 1}  # fmt: skip


def test_backtest_a_file_matches_backtrader(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "backtest", "--file", str(shared_data / "stocks_daily/GOOG.csv"),
        "--strategy", "sma_crossover", "--param", "fast=10", "--param", "slow=30",
        "--commission", "0.001", "--cash", "50000", "--json",
    )  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload) == {"strategy", "engine", "stats", "trades", "final_equity"}
    assert payload["strategy"] == "sma_crossover(10,30)"
    assert payload["engine"] == "native"
    assert {"sharpe", "max_drawdown", "cagr", "win_rate", "exposure"} <= set(payload["stats"])
    trade = payload["trades"][0]
    assert {"entry_time", "exit_time", "entry_price", "exit_price", "size", "pnl", "return"} <= set(
        trade
    )
    # The same strategy through backtrader, run here independently of the CLI.
    data = sma_crossover(10, 30).model_dump()
    data.update(initial_cash=50_000.0, costs={"commission": 0.001})
    spec = StrategySpec.parse(data)
    reference = BacktraderBacktestEngine().run(spec, _goog(shared_data), 252.0)
    assert len(payload["trades"]) == len(reference.trades)
    assert [t["entry_time"] for t in payload["trades"]] == [
        t.isoformat() for t in reference.trades["entry_time"]
    ]
    assert payload["final_equity"] == pytest.approx(reference.final_equity, rel=1e-6)


def test_backtest_a_stored_key_and_a_spec_file(cli, shared_data: Path, tmp_path: Path) -> None:
    cli("data", "import", str(shared_data / "stocks_daily/GOOG.csv"), "--key", "nasdaq/GOOG/1d")
    code, out, err = cli("backtest", "--key", "nasdaq/GOOG/1d", "--strategy", "bollinger", "--json")
    assert code == 0, err
    by_key = json.loads(out)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(bollinger().to_json())
    code, out, err = cli("backtest", "--key", "nasdaq/GOOG/1d", "--spec", str(spec_file), "--json")
    assert code == 0, err
    assert json.loads(out) == by_key
    code, out, err = cli(
        "backtest", "--key", "nasdaq/GOOG/1d", "--strategy", "bollinger", "--engine",
        "backtrader", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["final_equity"] == pytest.approx(by_key["final_equity"], rel=1e-6)


def test_sweep_json(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "sweep", "--file", str(shared_data / "stocks_daily/GOOG.csv"), "--strategy",
        "sma_crossover", "--grid", "fast=5:15:5", "--grid", "slow=10,30", "--metric",
        "total_return", "--json",
    )  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    pairs = sorted((r["fast"], r["slow"]) for r in payload["results"])
    assert pairs == [(5, 10), (5, 30), (10, 30), (15, 30)]
    returns = [r["total_return"] for r in payload["results"]]
    assert returns == sorted(returns, reverse=True)


def _short_file(tmp_path: Path) -> Path:
    path = tmp_path / "short.csv"
    rows = [f"2024-01-{d:02d},10,11,9,10.5,100" for d in range(1, 11)]
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["backtest", "--file", "{goog}", "--strategy", "nope"], 2, "unknown strategy template"),
        (["backtest", "--file", "{goog}", "--strategy", "sma_crossover", "--param", "fast=ten"],
         2, "fast='ten' must be a number"),
        (["backtest", "--file", "{goog}", "--strategy", "sma_crossover", "--param", "fast"],
         2, "NAME=VALUE"),
        (["backtest", "--file", "{goog}", "--strategy", "sma_crossover", "--cash", "0"],
         2, "initial_cash"),
        (["backtest", "--file", "{short}", "--strategy", "sma_crossover"], 2, "sma_slow"),
        (["backtest", "--file", "{goog}", "--key", "a/B/1d", "--strategy", "momentum"],
         2, "exactly one of --key and --file"),
        (["backtest", "--file", "{goog}", "--spec", "{badspec}"], 2, "invalid strategy spec"),
        (["backtest", "--file", "{goog}", "--spec", "{nospec}"], 3, "cannot read spec file"),
        (["backtest", "--key", "a/B/1d", "--strategy", "momentum"], 3, "not in the store"),
        (["sweep", "--file", "{goog}", "--strategy", "sma_crossover", "--grid", "fast=5:1:1"],
         2, "STOP >= START"),
    ],
)  # fmt: skip
def test_bad_input_exits_non_zero(cli, shared_data: Path, tmp_path: Path, args, code, words):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "entry": {"op": "gt", "left": "nope", "right": 1}}')
    paths = {
        "{goog}": str(shared_data / "stocks_daily/GOOG.csv"),
        "{short}": str(_short_file(tmp_path)),
        "{badspec}": str(bad),
        "{nospec}": str(tmp_path / "missing.json"),
    }
    exit_code, out, err = cli(*[paths.get(a, a) for a in args])
    assert exit_code == code, (out, err)
    assert words in " ".join(err.split())


def test_warmup_compiles_and_caches_the_kernels(cli) -> None:
    code, out, err = cli("warmup")
    assert code == 0, err
    assert "cached" in out
