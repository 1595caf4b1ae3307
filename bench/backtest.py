"""Backtest benchmark: ``NativeBacktestEngine`` against backtrader, backtesting.py and vectorbt.

Run it in ``.venv-bench`` (where the peers and ArcticDB's pandas<3 pin hold)::

    .venv-bench/bin/python bench/backtest.py                # 1,000,000 one-minute bars
    .venv-bench/bin/python bench/backtest.py --quick        # a smoke run (~15 s, no verdicts)
    .venv-bench/bin/python bench/backtest.py --bars 200000  # another size

The setup is the same for every system: one-minute bars of ``synthetic/BTC/USD/1m`` from
:class:`SyntheticMarketDataSource` (seed 7, from 2020-01-01), SMA(10) crossing SMA(50), long
only, signals on the close of bar t, market fills at the open of bar t+1, 0.1% commission on
every fill, all-in sizing, the position still open at the end counted as a trade. The native
engine gets the UTC bars of its contract; the peers get the same values on a naive (UTC) index,
their fastest input (vectorbt converts a tz-aware index to Python objects on every wrap).

Sections:

1. **Single backtest** on ``--bars`` bars, warm (best of ``--repeat`` after a warm-up call):
   native, vectorbt and backtesting.py on every bar; backtrader (the foanalytics adapter and a
   plain ``bt.Strategy``) on the first ``--backtrader-bars`` bars only (it runs ~5k-15k bars/s),
   its rate extrapolated. Trade counts are checked on the full series (the three fast systems)
   and on the backtrader slice (all five).
2. **Sweep**: the 174 SMA pairs (fast 5..50 step 5, slow 20..200 step 10, fast < slow) on
   ``--sweep-bars`` bars: native through ``BacktestService.sweep``, a plain loop over
   ``NativeBacktestEngine.run``, a loop that shares the indicators across pairs and calls
   ``run_signals``, and vectorbt's one-call sweep over 174 columns (with and without its
   stats). Closed trades are compared pair by pair (``PerformanceStats.trades`` counts those).
3. **Fresh process**: ``python -c`` imports the system, then backtests (or sweeps) once: with
   numba's default on-disk cache, warm from the in-process runs above, and with an empty
   ``NUMBA_CACHE_DIR`` (cold: every kernel compiles).

The all-in account pays 0.2% per round trip on ~14,000 round trips, so its equity shrinks by a
factor of about 1e-12 over the million bars; the initial cash is 1e12 so that the last orders
are still above vectorbt's size tolerance (1e-12) and a whole backtesting.py unit (with
``FractionalBacktest`` units of 1e-8). With 100,000 of cash those two stop filling orders near
the end and report fewer trades; no engine's speed depends on the cash.

Results also go to ``bench/results/backtest.json``. Nothing here is part of the test suite and
nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Peers and foanalytics are imported inside the functions that use them, so a fresh-process
# child that imports this module for its helpers pays for nothing it does not time.

FAST, SLOW = 10, 50
COMMISSION = 0.001
INITIAL_CASH = 1e12
PERIODS_PER_YEAR = 365.0 * 1440.0
SERIES = "synthetic/BTC/USD/1m"
START = "2020-01-01"
SWEEP_FAST = range(5, 55, 5)
SWEEP_SLOW = range(20, 210, 10)
PAIRS = [(f, s) for f in SWEEP_FAST for s in SWEEP_SLOW if f < s]
BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "backtest.json"

# Targets (the brief): native >= vectorbt warm, >= 500x backtrader, first call in a fresh
# process < 1 s, sweep no slower than vectorbt's.
BACKTRADER_FACTOR = 500.0
FIRST_CALL_LIMIT = 1.0


# -- data ----------------------------------------------------------------------------------------


def make_bars(n: int) -> pd.DataFrame:
    """Return ``n`` seeded one-minute bars (UTC index) from ``SyntheticMarketDataSource``."""
    from foanalytics.adapters.market_data.synthetic import SyntheticMarketDataSource
    from foanalytics.domain.market import SeriesKey

    start = pd.Timestamp(START, tz="UTC")
    bars = SyntheticMarketDataSource().fetch(
        SeriesKey.parse(SERIES), start, start + pd.Timedelta(minutes=n)
    )
    assert len(bars) == n, f"expected {n} bars, got {len(bars)}"
    return bars


def naive(bars: pd.DataFrame) -> pd.DataFrame:
    """Return ``bars`` on a naive UTC index (what the peers take fastest)."""
    index = pd.DatetimeIndex(bars.index)
    if index.tz is None:
        return bars
    out = bars.copy()
    out.index = index.tz_convert("UTC").tz_localize(None)
    return out


def save_bars(bars: pd.DataFrame, path: Path) -> None:
    columns = {c: bars[c].to_numpy() for c in bars.columns}
    np.savez(path, timestamp=pd.DatetimeIndex(bars.index).asi8, **columns)


def load_bars(path: str | Path, *, utc: bool = True) -> pd.DataFrame:
    """Load bars saved by :func:`save_bars` (UTC index, or naive with ``utc=False``)."""
    with np.load(path) as data:
        index = pd.DatetimeIndex(data["timestamp"], name="timestamp")
        columns = {k: data[k] for k in data.files if k != "timestamp"}
    if utc:
        index = index.tz_localize("UTC")
    return pd.DataFrame(columns, index=index)


# -- the systems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a backtest returned: the trade count (open position included) and final equity."""

    trades: int
    final_equity: float


def spec(fast: int = FAST, slow: int = SLOW) -> Any:
    """Return the foanalytics spec: ``sma_crossover`` with the commission and cash above."""
    from foanalytics.domain.strategy import StrategySpec
    from foanalytics.domain.templates import sma_crossover

    data = sma_crossover(fast, slow).model_dump()
    data.update(costs={"commission": COMMISSION}, initial_cash=INITIAL_CASH)
    return StrategySpec.parse(data)


def run_native(bars: pd.DataFrame) -> Outcome:
    from foanalytics.adapters.engines.native import NativeBacktestEngine

    result = NativeBacktestEngine().run(spec(), bars, PERIODS_PER_YEAR)
    return Outcome(len(result.trades), float(result.stats.final_equity))


def run_backtrader_adapter(bars: pd.DataFrame) -> Outcome:
    from foanalytics.adapters.engines.backtrader import BacktraderBacktestEngine

    result = BacktraderBacktestEngine().run(spec(), bars, PERIODS_PER_YEAR)
    return Outcome(len(result.trades), float(result.stats.final_equity))


def _backtrader_strategy() -> type:
    import backtrader as bt

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        params = (("fast", FAST), ("slow", SLOW))

        def __init__(self) -> None:
            fast = bt.ind.SMA(self.data.close, period=self.p.fast)
            slow = bt.ind.SMA(self.data.close, period=self.p.slow)
            self.cross = bt.ind.CrossOver(fast, slow)
            self.closed = 0

        def next(self) -> None:
            if not self.position:
                if self.cross[0] > 0:
                    self.buy(size=self.broker.getvalue() / self.data.close[0])
            elif self.cross[0] < 0:
                self.close()

        def notify_trade(self, trade: Any) -> None:
            if trade.isclosed:
                self.closed += 1

    return SmaCross


def run_backtrader_plain(bars: pd.DataFrame) -> Outcome:
    """Plain backtrader: ``SMA``/``CrossOver`` indicators, ``PandasData``, the default broker.

    All-in means ``value / close`` units at the signal bar. The broker would refuse a buy whose
    fill at the next open costs more than the cash, so (as in the foanalytics adapter) the
    submission check is off and the commission scheme's leverage is large enough that the
    execution check never fires; a stock-like position's value and pnl do not depend on it.
    """
    import backtrader as bt

    cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True)
    cerebro.adddata(bt.feeds.PandasData(dataname=naive(bars)))
    cerebro.addstrategy(_backtrader_strategy())
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.setcommission(
        commission=COMMISSION,
        commtype=bt.CommInfoBase.COMM_PERC,
        percabs=True,
        stocklike=True,
        leverage=1e12,
    )
    strategy = cerebro.run(maxcpus=1)[0]
    still_open = 1 if strategy.position.size else 0
    return Outcome(strategy.closed + still_open, float(cerebro.broker.getvalue()))


def _rolling_mean(values: Any, window: int) -> Any:
    return pd.Series(values).rolling(window).mean().to_numpy()


def _backtesting_strategy() -> type:
    from backtesting import Strategy

    class SmaCross(Strategy):
        fast = FAST
        slow = SLOW

        def init(self) -> None:
            self.fast_ma = self.I(_rolling_mean, self.data.Close, self.fast)
            self.slow_ma = self.I(_rolling_mean, self.data.Close, self.slow)

        def next(self) -> None:
            # The crosses of the foanalytics rules (``<=`` then ``>``); backtesting.lib's
            # ``crossover`` uses ``<`` then ``>``, which differs only on exact ties.
            f, s = self.fast_ma, self.slow_ma
            if not self.position:
                if f[-2] <= s[-2] and f[-1] > s[-1]:
                    self.buy()
            elif f[-2] >= s[-2] and f[-1] < s[-1]:
                self.position.close()

    return SmaCross


def run_backtesting(bars: pd.DataFrame) -> Outcome:
    """backtesting.py: ``FractionalBacktest`` (units of 1e-8) so all-in sizes need not be whole.

    ``trade_on_close=False`` fills at the next open; ``finalize_trades=True`` closes the last
    open trade at the end so that ``# Trades`` counts it (as the other systems list it).
    """
    from backtesting.lib import FractionalBacktest

    data = naive(bars).rename(columns=str.capitalize)
    test = FractionalBacktest(
        data,
        _backtesting_strategy(),
        cash=INITIAL_CASH,
        commission=COMMISSION,
        trade_on_close=False,
        finalize_trades=True,
        fractional_unit=1e-8,
    )
    stats = test.run()
    return Outcome(int(stats["# Trades"]), float(stats["Equity Final [$]"]))


def _next_bar(signals: Any) -> Any:
    """Shift signals one bar later: a signal on bar t's close trades at bar t+1's open."""
    return signals.shift(1, fill_value=False)


def _vectorbt_portfolio(close: Any, open_: Any, entries: Any, exits: Any) -> Any:
    import vectorbt as vbt

    return vbt.Portfolio.from_signals(
        close,
        _next_bar(entries),
        _next_bar(exits),
        price=open_,
        fees=COMMISSION,
        size=np.inf,
        init_cash=INITIAL_CASH,
        direction="longonly",
        freq="1min",
    )


def run_vectorbt(bars: pd.DataFrame) -> Outcome:
    """vectorbt: ``MA.run``, ``ma_crossed_above``/``below``, ``Portfolio.from_signals``.

    Signals are shifted one bar and filled at ``price=open``, the next open. The headline
    stats (total return, Sharpe, max drawdown) are computed, as the native result has them.
    """
    import vectorbt as vbt

    frame = naive(bars)
    close, open_ = frame["close"], frame["open"]
    fast, slow = vbt.MA.run(close, FAST), vbt.MA.run(close, SLOW)
    pf = _vectorbt_portfolio(close, open_, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow))
    pf.total_return(), pf.sharpe_ratio(), pf.max_drawdown()
    return Outcome(int(pf.trades.count()), float(pf.final_value()))


# -- sweeps --------------------------------------------------------------------------------------

#: Closed trades per (fast, slow) pair (``PerformanceStats.trades`` counts closed trades only).
SweepCounts = dict[tuple[int, int], int]


def sweep_native_service(bars: pd.DataFrame) -> SweepCounts:
    """``BacktestService.sweep`` over the grid (it skips the pairs with fast >= slow)."""
    from foanalytics import Settings, build

    service = build(Settings(storage={"backend": "memory"})).backtesting
    frame = service.sweep(
        "sma_crossover",
        {"fast": list(SWEEP_FAST), "slow": list(SWEEP_SLOW)},
        bars,
        periods=PERIODS_PER_YEAR,
        overrides={"costs": {"commission": COMMISSION}, "initial_cash": INITIAL_CASH},
    )
    assert len(frame) == len(PAIRS), f"the service swept {len(frame)} pairs"
    return {(int(r.fast), int(r.slow)): int(r.trades) for r in frame.itertuples()}


def sweep_native_loop(bars: pd.DataFrame) -> SweepCounts:
    """One ``NativeBacktestEngine.run`` per pair."""
    from foanalytics.adapters.engines.native import NativeBacktestEngine

    engine = NativeBacktestEngine()
    return {
        (f, s): int(engine.run(spec(f, s), bars, PERIODS_PER_YEAR).stats.trades) for f, s in PAIRS
    }


def sweep_native_shared(bars: pd.DataFrame) -> SweepCounts:
    """Each SMA computed once (29 windows, not 348), then ``run_signals`` per pair.

    The same engine semantics and the same full result per pair; only the indicator work is
    shared. This is what a batched engine path would do first (see the report).
    """
    from foanalytics.adapters.engines.native import NativeBacktestEngine
    from foanalytics.domain.indicators import sma
    from foanalytics.domain.signals import rule_signals

    engine = NativeBacktestEngine()
    close = np.ascontiguousarray(bars["close"], dtype=np.float64)
    means = {w: sma(close, w) for w in sorted({w for pair in PAIRS for w in pair})}
    out = {}
    for f, s in PAIRS:
        pair_spec = spec(f, s)
        entries, exits = rule_signals(pair_spec, {"sma_fast": means[f], "sma_slow": means[s]})
        result = engine.run_signals(entries, exits, bars, pair_spec, PERIODS_PER_YEAR)
        out[(f, s)] = int(result.stats.trades)
    return out


def sweep_vectorbt(bars: pd.DataFrame, stats: bool = True) -> SweepCounts:
    """vectorbt's sweep: ``MA.run`` with one window per column, one ``from_signals`` call.

    With ``stats`` the headline stats of every column are computed (the native sweep returns
    full stats per pair); without, only the simulation and the trade records.
    """
    import vectorbt as vbt

    frame = naive(bars)
    close, open_ = frame["close"], frame["open"]
    fast = vbt.MA.run(close, [f for f, _ in PAIRS], short_name="fast")
    slow = vbt.MA.run(close, [s for _, s in PAIRS], short_name="slow")
    pf = _vectorbt_portfolio(close, open_, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow))
    if stats:
        pf.total_return(), pf.sharpe_ratio(), pf.max_drawdown()
    counts = pf.trades.closed.count()
    return {(int(f), int(s)): int(n) for (f, s), n in counts.items()}


# -- timing --------------------------------------------------------------------------------------


def best_of(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Return the best wall time of ``repeat`` calls and the last call's result."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def load_average() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


# Fresh-process children: ``python -c CHILD path`` imports numpy and pandas, then the system
# (timed apart), loads the saved bars, then runs the system once and prints JSON.
CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy, pandas
{imports}
t1 = time.perf_counter()
sys.path.insert(0, {bench_dir!r})
import backtest as bench
bars = bench.load_bars(sys.argv[1], utc={utc})
t2 = time.perf_counter()
out = bench.{func}(bars)
t3 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "first_call": t3 - t2, "out": str(out)}}))
"""
IMPORTS = {
    "native": "import foanalytics\nfrom foanalytics.adapters.engines.native import "
    "NativeBacktestEngine",
    "vectorbt": "import vectorbt",
}


@dataclass
class FreshRun:
    """One fresh process: its wall time, import time and first-call time (seconds)."""

    system: str
    task: str
    cache: str
    wall: float
    imports: float
    first_call: float
    out: str


def fresh_process(
    system: str, func: str, data: Path, cache: str, cache_dir: Path | None
) -> FreshRun:
    """Run ``func`` once in a new interpreter; ``cache_dir`` sets an empty numba cache."""
    code = CHILD.format(
        imports=IMPORTS[system], bench_dir=str(BENCH_DIR), utc=system == "native", func=func
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{system} {func} child failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return FreshRun(
        system, func, cache, wall, report["imports"], report["first_call"], report["out"]
    )


# -- where the native time goes ------------------------------------------------------------------

PHASES = (
    ("indicators", "compute_indicators"),
    ("signals", "rule_signals"),
    ("kernel simulate_nb", "simulate_nb"),
    ("trades frame", "trades_frame"),
    ("stats", "performance_stats"),
)


def native_profile(func: Callable[[], Any], calls: int) -> dict[str, float]:
    """Return the mean seconds per call of the engine's phases (cProfile cumulative times)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        func()
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for label, name in (*PHASES, ("engine run (total)", "run"), ("run_signals", "run_signals")):
        total = sum(
            row[3]
            for (path, _, fname), row in stats.items()
            if fname == name and "foanalytics" in path
        )
        if total:
            out[label] = total / calls
    return out


# -- report --------------------------------------------------------------------------------------


def table(title: str, headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    headers = list(headers)
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    body = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    rule = "-" * len(line)
    return "\n".join([f"\n{title}", rule, line, rule, *body, rule])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1e5:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass
class Report:
    """Everything measured, for the tables and the JSON file."""

    settings: dict[str, Any]
    single: list[dict[str, Any]] = field(default_factory=list)
    agreement: list[dict[str, Any]] = field(default_factory=list)
    fresh: list[dict[str, Any]] = field(default_factory=list)
    sweep: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, dict[str, float]] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    load: dict[str, str] = field(default_factory=dict)


# -- sections ------------------------------------------------------------------------------------


def single_section(args: argparse.Namespace, bars: pd.DataFrame, report: Report) -> None:
    n, n_bt = len(bars), min(args.backtrader_bars, len(bars))
    peers = naive(bars)
    slice_utc, slice_naive = bars.iloc[:n_bt], peers.iloc[:n_bt]

    print(f"single backtest: {n:,} bars (backtrader on the first {n_bt:,})", flush=True)
    if not args.quick:  # compile (or load) the kernels before timing
        run_native(bars)
        run_vectorbt(peers)
    native_s, native_out = best_of(lambda: run_native(bars), args.repeat)
    vbt_s, vbt_out = best_of(lambda: run_vectorbt(peers), args.repeat)
    bpy_s, bpy_out = best_of(lambda: run_backtesting(peers), 1)
    ada_s, ada_out = best_of(lambda: run_backtrader_adapter(slice_utc), 1)
    plain_s, plain_out = best_of(lambda: run_backtrader_plain(slice_naive), 1)

    rows = [
        ("native (NativeBacktestEngine.run)", n, native_s, native_out, f"all {n:,}"),
        ("vectorbt (MA + from_signals)", n, vbt_s, vbt_out, f"all {n:,}"),
        ("backtesting.py (FractionalBacktest)", n, bpy_s, bpy_out, f"all {n:,}"),
        ("backtrader (foanalytics adapter)", n_bt, ada_s, ada_out, f"first {n_bt:,}"),
        ("backtrader (plain bt.Strategy)", n_bt, plain_s, plain_out, f"first {n_bt:,}"),
    ]
    native_rate = n / native_s
    for name, bars_run, seconds, out, how in rows:
        rate = bars_run / seconds
        report.single.append(
            {
                "system": name,
                "bars": bars_run,
                "seconds": seconds,
                "bars_per_s": rate,
                "seconds_for_all_bars": n / rate,
                "native_over_peer": native_rate / rate,
                "trades": out.trades,
                "final_equity": out.final_equity,
                "how": how,
            }
        )

    # Trade counts: all five on the backtrader slice, the three fast ones on every bar.
    on_full = {"native": native_out, "vectorbt": vbt_out, "backtesting.py": bpy_out}
    on_slice = (
        dict(on_full)
        if n_bt == n
        else {
            "native": run_native(slice_utc),
            "vectorbt": run_vectorbt(slice_naive),
            "backtesting.py": run_backtesting(slice_naive),
        }
    )
    on_slice.update({"backtrader (adapter)": ada_out, "backtrader (plain)": plain_out})
    checks = [(f"first {n_bt:,} bars", on_slice)]
    if n_bt < n:
        checks.append((f"all {n:,} bars", on_full))
    for label, outs in checks:
        for system, out in outs.items():
            report.agreement.append(
                {
                    "bars": label,
                    "system": system,
                    "trades": out.trades,
                    "final_equity": out.final_equity,
                    "equity_vs_native": out.final_equity / outs["native"].final_equity,
                }
            )

    if not args.quick:
        report.profile["single backtest, per call"] = native_profile(lambda: run_native(bars), 5)


def fresh_section(args: argparse.Namespace, bars: pd.DataFrame, report: Report) -> None:
    print("fresh processes (first call)", flush=True)
    sweep_bars = bars.iloc[: args.sweep_bars]
    with tempfile.TemporaryDirectory(prefix="fo-bench-") as tmp:
        root = Path(tmp)
        full, small = root / "bars.npz", root / "sweep.npz"
        save_bars(bars, full)
        save_bars(sweep_bars, small)
        jobs = [
            ("native", "run_native", full),
            ("vectorbt", "run_vectorbt", full),
            ("native", "sweep_native_service", small),
            ("vectorbt", "sweep_vectorbt", small),
        ]
        # A smoke run checks the child once; vectorbt's children take ~10 s each.
        for system, func, data in jobs[:1] if args.quick else jobs:
            # Warm: numba's default cache, filled by the in-process runs of this benchmark.
            runs = [
                fresh_process(system, func, data, "warm", None) for _ in range(args.fresh_repeat)
            ]
            best = min(runs, key=lambda r: r.first_call)
            report.fresh.append(asdict(best))
            print(f"  {system} {func} warm: {best.first_call:.3f} s", flush=True)
            if args.quick:
                continue
            cold_dir = root / f"numba-{system}-{func}"
            cold_dir.mkdir()
            cold = fresh_process(system, func, data, "cold (empty)", cold_dir)
            report.fresh.append(asdict(cold))
            print(f"  {system} {func} cold: {cold.first_call:.3f} s", flush=True)


def sweep_section(args: argparse.Namespace, bars: pd.DataFrame, report: Report) -> None:
    sweep_bars = bars.iloc[: args.sweep_bars]
    peers = naive(sweep_bars)
    print(f"sweep: {len(PAIRS)} pairs on {len(sweep_bars):,} bars", flush=True)
    paths: list[tuple[str, Callable[[], SweepCounts]]] = [
        ("native: BacktestService.sweep", lambda: sweep_native_service(sweep_bars)),
        ("native: loop over engine.run", lambda: sweep_native_loop(sweep_bars)),
        ("native: shared SMAs + run_signals", lambda: sweep_native_shared(sweep_bars)),
        ("vectorbt: MA.run + from_signals (174 cols)", lambda: sweep_vectorbt(peers)),
        (
            "vectorbt: the same without stats",
            lambda: sweep_vectorbt(peers, stats=False),
        ),
    ]
    reference: SweepCounts | None = None
    repeat = max(1, min(args.repeat, 3))
    if args.quick:  # a smoke run: one call per path, compile included
        paths = paths[:-1]
    for name, func in paths:
        if not args.quick:
            func()  # warm-up
        seconds, counts = best_of(func, repeat)
        reference = reference or counts
        same = sum(counts[p] == reference[p] for p in PAIRS)
        report.sweep.append(
            {
                "path": name,
                "seconds": seconds,
                "pairs_per_s": len(PAIRS) / seconds,
                "bar_pairs_per_s": len(PAIRS) * len(sweep_bars) / seconds,
                "trades_total": sum(counts.values()),
                "pairs_agreeing": same,
            }
        )
    if not args.quick:
        report.profile[f"sweep, per pair ({len(sweep_bars):,} bars)"] = {
            k: v / len(PAIRS)
            for k, v in native_profile(lambda: sweep_native_loop(sweep_bars), 1).items()
        }


def judge(report: Report) -> None:
    native = next(r for r in report.single if r["system"].startswith("native"))
    vbt = next(r for r in report.single if r["system"].startswith("vectorbt"))
    plain = next(r for r in report.single if "plain" in r["system"])
    adapter = next(r for r in report.single if "adapter" in r["system"])
    fresh_native = [
        r for r in report.fresh if r["system"] == "native" and r["task"] == "run_native"
    ]
    sweeps = {r["path"]: r for r in report.sweep}
    vbt_sweep = sweeps["vectorbt: MA.run + from_signals (174 cols)"]
    best_native_sweep = min(
        (r for r in report.sweep if r["path"].startswith("native")), key=lambda r: r["seconds"]
    )
    service = sweeps["native: BacktestService.sweep"]

    def add(target: str, ok: bool, detail: str) -> None:
        report.targets.append(
            {"target": target, "result": "PASS" if ok else "FAIL", "detail": detail}
        )

    add(
        "native >= vectorbt (warm, single)",
        native["bars_per_s"] >= vbt["bars_per_s"],
        f"{native['bars_per_s']:,.0f} vs {vbt['bars_per_s']:,.0f} bars/s "
        f"(x{native['bars_per_s'] / vbt['bars_per_s']:.2f})",
    )
    add(
        f">= {BACKTRADER_FACTOR:.0f}x backtrader (plain bt.Strategy)",
        plain["native_over_peer"] >= BACKTRADER_FACTOR,
        f"x{plain['native_over_peer']:,.0f}",
    )
    add(
        f">= {BACKTRADER_FACTOR:.0f}x backtrader (foanalytics adapter)",
        adapter["native_over_peer"] >= BACKTRADER_FACTOR,
        f"x{adapter['native_over_peer']:,.0f}",
    )
    for run in fresh_native:
        add(
            f"first call in a fresh process < {FIRST_CALL_LIMIT:.0f} s ({run['cache']} cache)",
            run["first_call"] < FIRST_CALL_LIMIT,
            f"run() {run['first_call']:.3f} s; imports {run['imports']:.3f} s; "
            f"process wall {run['wall']:.3f} s",
        )
    add(
        "sweep no slower than vectorbt (BacktestService.sweep, warm)",
        service["seconds"] <= vbt_sweep["seconds"],
        f"{service['seconds']:.3f} s vs {vbt_sweep['seconds']:.3f} s",
    )
    add(
        "sweep no slower than vectorbt (best native path, warm)",
        best_native_sweep["seconds"] <= vbt_sweep["seconds"],
        f"{best_native_sweep['path']}: {best_native_sweep['seconds']:.3f} s vs "
        f"{vbt_sweep['seconds']:.3f} s",
    )
    fresh_sweeps = {
        (r["system"], r["cache"]): r for r in report.fresh if r["task"].startswith("sweep")
    }
    for cache in ("warm", "cold (empty)"):
        mine, theirs = fresh_sweeps.get(("native", cache)), fresh_sweeps.get(("vectorbt", cache))
        if mine and theirs:
            add(
                f"sweep no slower than vectorbt (fresh process, {cache} cache)",
                mine["first_call"] <= theirs["first_call"],
                f"{mine['first_call']:.3f} s vs {theirs['first_call']:.3f} s "
                f"(process wall {mine['wall']:.2f} vs {theirs['wall']:.2f} s)",
            )


def print_report(report: Report) -> None:
    s = report.settings
    how = (
        "--quick: one call each, compile included"
        if s["quick"]
        else f"warm, best of {max(1, min(s['repeat'], 3))}"
    )
    print(
        table(
            f"Single backtest: SMA({FAST},{SLOW}) long only, next-open fills, 0.1% commission, "
            f"{s['bars']:,} one-minute bars ("
            + (
                "--quick: one call each, compile included"
                if s["quick"]
                else f"warm, best of {s['repeat']}; backtesting.py and backtrader: one call"
            )
            + ")",
            [
                "system",
                "timed on",
                "seconds",
                "bars/s",
                "s for all bars",
                "native/peer",
                "trades",
            ],
            [
                (
                    r["system"],
                    r["how"],
                    r["seconds"],
                    r["bars_per_s"],
                    r["seconds_for_all_bars"],
                    r["native_over_peer"],
                    r["trades"],
                )
                for r in report.single
            ],
        )
    )
    print(
        table(
            "Trade counts (open position included) and final equity",
            ["bars", "system", "trades", "final equity", "equity / native"],
            [
                (
                    r["bars"],
                    r["system"],
                    r["trades"],
                    f"{r['final_equity']:.6g}",
                    f"{r['equity_vs_native']:.6f}",
                )
                for r in report.agreement
            ],
        )
    )
    if report.fresh:
        print(
            table(
                "Fresh process (python -c): imports, then the first call",
                ["system", "task", "numba cache", "imports s", "first call s", "process wall s"],
                [
                    (r["system"], r["task"], r["cache"], r["imports"], r["first_call"], r["wall"])
                    for r in report.fresh
                ],
            )
        )
    print(
        table(
            f"Sweep: {len(PAIRS)} SMA pairs on {s['sweep_bars']:,} bars ({how})",
            ["path", "seconds", "pairs/s", "bar-pairs/s", "closed trades", "pairs agreeing"],
            [
                (
                    r["path"],
                    r["seconds"],
                    r["pairs_per_s"],
                    r["bar_pairs_per_s"],
                    r["trades_total"],
                    f"{r['pairs_agreeing']}/{len(PAIRS)}",
                )
                for r in report.sweep
            ],
        )
    )
    for title, phases in report.profile.items():
        print(
            table(
                f"Native profile: {title} (cProfile cumulative, ms)",
                ["phase", "ms"],
                [(k, v * 1000.0) for k, v in phases.items()],
            )
        )
    if report.targets:
        print(
            table(
                "Targets",
                ["target", "result", "detail"],
                [(t["target"], t["result"], t["detail"]) for t in report.targets],
            )
        )
    else:
        print("\nTargets: judged on a full run only (--quick times include compiles)")
    print(
        f"\nload average (1/5/15 min) at start {report.load['start']}, at end "
        f"{report.load['end']}; {os.cpu_count()} cores; {platform.python_version()}"
    )


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "pandas", "numba", "vectorbt", "backtesting", "backtrader"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars of the single backtest")
    parser.add_argument("--quick", action="store_true", help="a smoke run of about ten seconds")
    parser.add_argument("--backtrader-bars", type=int, default=100_000)
    parser.add_argument("--sweep-bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats (best is kept)")
    parser.add_argument("--fresh-repeat", type=int, default=3, help="fresh processes per case")
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh-process runs")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.bars = min(args.bars, 5_000)
        args.backtrader_bars = min(args.backtrader_bars, 5_000)
        args.sweep_bars = min(args.sweep_bars, 5_000)
        args.repeat, args.fresh_repeat = 1, 1
    args.sweep_bars = min(args.sweep_bars, args.bars)

    os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar
    warnings.filterwarnings("ignore")
    report = Report(settings={**vars(args), "output": str(args.output), **versions()})
    report.load["start"] = load_average()
    started = time.perf_counter()

    bars = make_bars(args.bars)
    sections = [single_section, sweep_section]
    if not args.no_fresh:
        sections.append(fresh_section)
    for section in sections:
        begun = time.perf_counter()
        section(args, bars, report)
        print(f"  ({time.perf_counter() - begun:.1f} s)", flush=True)
    if not args.quick:  # a smoke run's timings include compiles: no verdicts on them
        judge(report)
    report.load["end"] = load_average()
    report.settings["elapsed_s"] = time.perf_counter() - started

    print_report(report)
    print(f"elapsed {report.settings['elapsed_s']:.1f} s; results in {args.output}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(asdict(report), indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
