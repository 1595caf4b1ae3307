"""Risk-metrics benchmark: ``foanalytics.domain.metrics`` against empyrical and quantstats.

Run it in the project's venv (empyrical-reloaded and quantstats are in the ``dev`` extra)::

    .venv/bin/python bench/risk.py            # 1,000 series x 2,520 daily returns
    .venv/bin/python bench/risk.py --quick    # a smoke run of a few seconds

The data: ``--series`` columns of ``--days`` daily returns drawn from a Student t (4 degrees of
freedom, scaled to 1.5% a day, seed 7) and one benchmark series of the same kind; annual
risk-free rate 3%.

Sections:

1. **The matrix, warm** (best of ``--repeat`` after a warm-up call): foanalytics measures the
   whole matrix at once: ``risk_metrics`` with the benchmark (all 30 figures), plus
   ``var_table`` and ``cvar_table`` (historical, 95% and 99%); and the same eight figures
   empyrical is asked for (``risk_metrics(..., metrics=...)`` plus the two tables).
   empyrical loops over the series' numpy columns for eight metrics: Sharpe, Sortino, max
   drawdown, Calmar, Omega, VaR, CVaR (95% and 99%) and ``alpha_beta``. quantstats runs the
   same eight (its VaR is parametric, its ``greeks`` alpha is arithmetic) on ``--qs-series``
   Series, its time extrapolated to all the series.
2. **Values**: every figure empyrical and quantstats gave is compared with ours (the largest
   relative difference is printed; the rate conversion is the documented one).
3. **Fresh process**: ``python -c`` imports foanalytics and runs the matrix once, with numba's
   cache on disk warm, and with an empty ``NUMBA_CACHE_DIR`` (cold: every kernel compiles).

Nothing here is part of the test suite and nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RF = 0.03
PPY = 252
LEVELS = (0.95, 0.99)
EIGHT = ("sharpe", "sortino", "max_drawdown", "calmar", "omega", "alpha", "beta")
TARGET = 50.0  # the brief: at least 50x empyrical's loop

CHILD = """
import json, sys, time
start = time.perf_counter()
import numpy as np
from foanalytics.domain import metrics
imported = time.perf_counter()
data = np.load(sys.argv[1])
r, b = data["returns"], data["benchmark"]
figures = metrics.risk_metrics(r, 252, benchmark=b, risk_free=0.03)
var = metrics.var_table(r, (0.95, 0.99), "historical")
cvar = metrics.cvar_table(r, (0.95, 0.99), "historical")
done = time.perf_counter()
print(json.dumps({"imports": imported - start, "first_call": done - imported,
                  "sharpe0": float(figures["sharpe"][0])}))
"""


def make_data(series: int, days: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scale = 0.015 / math.sqrt(2.0)  # a t(4) has variance 2
    returns = 0.0004 + scale * rng.standard_t(4, (days, series))
    benchmark = 0.0003 + 0.01 / math.sqrt(2.0) * rng.standard_t(4, days)
    return np.clip(returns, -0.95, None), np.clip(benchmark, -0.95, None)


def best_of(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = func()  # warm-up: compiles or loads the kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return min(times), out


def ours_full(r: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    from foanalytics.domain import metrics

    figures = metrics.risk_metrics(r, PPY, benchmark=b, risk_free=RF)
    var = metrics.var_table(r, LEVELS, "historical")
    cvar = metrics.cvar_table(r, LEVELS, "historical")
    return {"figures": figures, "var": var, "cvar": cvar}


def ours_eight(r: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    from foanalytics.domain import metrics

    figures = metrics.risk_metrics(r, PPY, benchmark=b, risk_free=RF, metrics=EIGHT)
    var = metrics.var_table(r, LEVELS, "historical")
    cvar = metrics.cvar_table(r, LEVELS, "historical")
    return {"figures": figures, "var": var, "cvar": cvar}


def empyrical_loop(r: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    import empyrical as ep

    rf = (1.0 + RF) ** (1.0 / PPY) - 1.0  # empyrical takes per-period rates
    n = r.shape[1]
    out = {name: np.empty(n) for name in EIGHT}
    for level in LEVELS:
        out[f"var{level}"] = np.empty(n)
        out[f"cvar{level}"] = np.empty(n)
    for j in range(n):
        x = r[:, j]
        out["sharpe"][j] = ep.sharpe_ratio(x, risk_free=rf, annualization=PPY)
        out["sortino"][j] = ep.sortino_ratio(x, required_return=rf, annualization=PPY)
        out["max_drawdown"][j] = ep.max_drawdown(x)
        out["calmar"][j] = ep.calmar_ratio(x, annualization=PPY)
        out["omega"][j] = ep.omega_ratio(x, risk_free=rf, annualization=PPY)
        for level in LEVELS:
            out[f"var{level}"][j] = ep.value_at_risk(x, 1.0 - level)
            out[f"cvar{level}"][j] = ep.conditional_value_at_risk(x, 1.0 - level)
        out["alpha"][j], out["beta"][j] = ep.alpha_beta_aligned(
            x, b, risk_free=rf, annualization=PPY
        )
    return out


def quantstats_loop(r: np.ndarray, b: np.ndarray, count: int) -> dict[str, np.ndarray]:
    import pandas as pd
    import quantstats as qs

    index = pd.bdate_range("2000-01-03", periods=len(r))
    bench = pd.Series(b, index=index)
    out: dict[str, np.ndarray] = {
        name: np.empty(count)
        for name in ("sharpe", "sortino", "max_drawdown", "calmar", "omega", "beta")
    }
    for level in LEVELS:
        out[f"pvar{level}"] = np.empty(count)
        out[f"cvar{level}"] = np.empty(count)
    for j in range(count):
        x = pd.Series(r[:, j], index=index)
        out["sharpe"][j] = qs.stats.sharpe(x, rf=RF, periods=PPY)
        out["sortino"][j] = qs.stats.sortino(x, rf=RF, periods=PPY)
        out["max_drawdown"][j] = qs.stats.max_drawdown(x)
        out["calmar"][j] = qs.stats.calmar(x, periods=PPY)
        out["omega"][j] = qs.stats.omega(x, rf=RF, periods=PPY)
        for level in LEVELS:
            out[f"pvar{level}"][j] = qs.stats.value_at_risk(x, confidence=level)
            out[f"cvar{level}"][j] = qs.stats.cvar(x, confidence=level, method="historical")
        out["beta"][j] = qs.stats.greeks(x, bench, periods=PPY)["beta"]
    return out


def worst_relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300)
    return float(np.nanmax(rel)) if rel.size else 0.0


def fresh_process(data: Path, cache_dir: Path | None) -> dict[str, float]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data)], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{done.stderr[-3000:]}")
    report: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=2520)
    parser.add_argument("--qs-series", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="100 series x 504 days")
    args = parser.parse_args()
    if args.quick:
        args.series, args.days, args.qs_series, args.repeat = 100, 504, 5, 3
    warnings.filterwarnings("ignore")
    r, b = make_data(args.series, args.days)
    print(f"{args.series} series x {args.days} daily returns, t(4) tails, benchmark, rf {RF}")

    # 1. Warm timings.
    t_full, full = best_of(lambda: ours_full(r, b), args.repeat)
    t_eight, eight = best_of(lambda: ours_eight(r, b), args.repeat)
    t_emp, emp = best_of(lambda: empyrical_loop(r, b), max(1, args.repeat // 3))
    t_qs, qsv = best_of(lambda: quantstats_loop(r, b, args.qs_series), 1)
    t_qs_all = t_qs * args.series / args.qs_series
    print("\nwarm, whole matrix (best of runs)")
    rows = [
        ("foanalytics risk_metrics (30 figures) + VaR + CVaR", t_full),
        ("foanalytics the same 8 figures + VaR + CVaR", t_eight),
        ("empyrical loop, 8 metrics", t_emp),
        (f"quantstats loop, 8 metrics ({args.qs_series} series, extrapolated)", t_qs_all),
    ]
    for label, seconds in rows:
        print(f"  {label:<62s} {seconds * 1e3:10.1f} ms")
    print(
        f"  speed-up over empyrical: {t_emp / t_full:6.1f}x (all 30 figures), "
        f"{t_emp / t_eight:6.1f}x (same 8; target {TARGET:.0f}x)"
    )
    print(
        f"  speed-up over quantstats: {t_qs_all / t_full:6.1f}x (all 30), "
        f"{t_qs_all / t_eight:6.1f}x (same 8)"
    )

    # 2. Values.
    print("\nvalues: largest relative difference, ours vs the reference")
    fig = full["figures"]
    checks = [(name, fig[name], emp[name]) for name in EIGHT]
    for level in LEVELS:
        checks.append((f"VaR {level}", full["var"][level], emp[f"var{level}"]))
        checks.append((f"CVaR {level}", full["cvar"][level], emp[f"cvar{level}"]))
    for name, ours, theirs in checks:
        print(f"  empyrical  {name:<14s} {worst_relative(ours, theirs):.2e}")
    from foanalytics.domain import metrics

    k = args.qs_series
    pvar = metrics.var_table(r[:, :k], LEVELS, "parametric")
    qs_checks = [(name, fig[name][:k], qsv[name]) for name in EIGHT if name in qsv]
    for level in LEVELS:
        qs_checks.append((f"param VaR {level}", pvar[level], qsv[f"pvar{level}"]))
    for name, ours, theirs in qs_checks:
        print(f"  quantstats {name:<14s} {worst_relative(ours, theirs):.2e}")
    print(
        "  quantstats' historical CVaR averages the returns at or below the VaR (ours and\n"
        "  empyrical's: the int((T-1)q)+1 lowest), largest difference "
        f"{worst_relative(full['cvar'][0.95][:k], qsv['cvar0.95']):.2e}"
    )
    same8 = max(worst_relative(eight["figures"][n], fig[n]) for n in EIGHT)
    print(f"  the 8-figure call equals the full one: largest difference {same8:.1e}")

    # 3. Fresh processes.
    print("\nfresh process: import + first risk_metrics + VaR + CVaR on the matrix")
    with tempfile.TemporaryDirectory(prefix="fo-risk-bench-") as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, returns=r, benchmark=b)
        runs = [("warm cache", None), ("cold cache", Path(tmp) / "numba-cache")]
        for label, cache in runs:
            report = fresh_process(data, cache)
            print(
                f"  {label:<11s} imports {report['imports']:6.2f} s   first call "
                f"{report['first_call']:6.2f} s   process wall {report['wall']:6.2f} s"
            )
        again = fresh_process(data, Path(tmp) / "numba-cache")
        print(
            f"  {'re-run':<11s} imports {again['imports']:6.2f} s   first call "
            f"{again['first_call']:6.2f} s   (the cold run's cache, now warm)"
        )


if __name__ == "__main__":
    main()
