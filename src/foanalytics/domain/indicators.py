"""Technical indicators as pure functions over float64 arrays, plus the spec evaluator.

Every function takes 1-D arrays and returns float64 arrays of the same length, NaN until the
indicator is defined. The definitions, warm-up lengths and seeds are backtrader's (1.9.78), so
the native and the backtrader engines see the same numbers, bit for bit for ``sma``, ``ema``,
``rsi``, ``roc``, ``momentum``, ``highest``, ``lowest``, ``atr``, ``macd`` and the middle band.
The standard deviation (``stddev``, the Bollinger bands, ``zscore``) is the exact population
value instead of backtrader's cancellation-prone formula (see :func:`stddev`).

=============  ===============================================  ===========================
function       definition                                       first defined value (index)
=============  ===============================================  ===========================
``sma``        mean of the last ``window`` values               ``window - 1``
``ema``        alpha ``2 / (window + 1)``, seeded with the SMA  ``window - 1``
``wma``        weights ``1..window``, newest heaviest           ``window - 1``
``rsi``        Wilder (alpha ``1 / window``) over up/down moves ``window``
``roc``        ``x / x[-window] - 1``                           ``window``
``momentum``   ``x - x[-window]``                               ``window``
``stddev``     population (ddof 0)                              ``window - 1``
``zscore``     ``(x - sma) / stddev``                           ``window - 1``
``highest``    max of the last ``window`` values                ``window - 1``
``lowest``     min of the last ``window`` values                ``window - 1``
``atr``        Wilder average of the true range                 ``window``
``bbands``     ``sma`` +/- ``k`` * ``stddev``                   ``window - 1``
``macd``       ``ema(fast) - ema(slow)``; signal its EMA        ``slow - 1``; signal and
                                                                hist ``slow + signal - 2``
``donchian``   highest high, lowest low, their midpoint         ``window - 1``
=============  ===============================================  ===========================

Inputs are assumed free of NaN (bars pass :func:`foanalytics.domain.market.validate_bars`):
a NaN inside a window makes that window's value NaN, and a NaN reaching a recursive indicator
(``ema``, ``rsi``, ``atr``, ``macd``) keeps it NaN from that bar on. Only leading NaNs are
treated as warm-up, which is how ``macd`` smooths its own line.

The moving averages, the recursive indicators and the standard deviation run as numba
kernels (:mod:`foanalytics.domain.indicators_nb`, compiled once and cached on disk), imported
on first use: ``wma``, ``roc``, ``momentum``, ``highest``, ``lowest``, ``donchian`` and
``shift`` are plain numpy and never pay numba's import time.
"""

from __future__ import annotations

from typing import assert_never

import numpy as np
import numpy.typing as npt
import pandas as pd

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.strategy import (
    PRICE_FIELDS,
    Atr,
    BBands,
    Donchian,
    Ema,
    Highest,
    Lowest,
    Macd,
    Momentum,
    Roc,
    Rsi,
    Sma,
    StdDev,
    StrategySpec,
    Wma,
    ZScore,
)

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "atr",
    "bbands",
    "compute_indicators",
    "donchian",
    "ema",
    "highest",
    "lowest",
    "macd",
    "momentum",
    "roc",
    "rsi",
    "shift",
    "sma",
    "stddev",
    "wma",
    "zscore",
]


# -- argument checks ---------------------------------------------------------------------------


def _series(x: npt.ArrayLike, name: str = "x") -> FloatArray:
    """Return ``x`` as a read-only, C-contiguous 1-D float64 view (no copy when it is one).

    Numba compiles one signature per array layout and writeability, so every kernel input is
    made the same kind of array: one cached signature per kernel, loaded fast in a new process.
    """
    array = np.ascontiguousarray(x, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be a 1-D array, got shape {array.shape}")
    view = array.view()
    view.flags.writeable = False
    return view


def _window(window: int, name: str = "window") -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise InvalidInputError(f"{name} must be an integer >= 1, got {window!r}")
    return int(window)


def _same_length(**arrays: FloatArray) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInputError(f"arrays must have the same length, got {lengths}")


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan)


# -- building blocks ---------------------------------------------------------------------------


def shift(x: npt.ArrayLike, n: int) -> FloatArray:
    """Lag ``x`` by ``n`` bars: ``out[i] = x[i - n]``, NaN for the first ``n`` bars.

    Only lags are allowed (``n >= 0``): a lead would read the future.

    Examples
    --------
    >>> shift([1.0, 2.0, 3.0], 1)
    array([nan,  1.,  2.])
    """
    values = _series(x)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InvalidInputError(f"shift must be an integer >= 0 (a lag), got {n!r}")
    out = _nan(len(values))
    if n < len(values):
        out[n:] = values[: len(values) - n]
    return out


def _windowed(x: FloatArray, window: int, op: np.ufunc, identity: float) -> FloatArray:
    """Reduce ``x`` with ``op`` (maximum or minimum) over each window of ``window`` bars.

    The series is cut into blocks of ``window`` bars: a window is the tail of one block and
    the head of the next, so it is ``op`` of a suffix and a prefix accumulated inside the
    blocks (van Herk / Gil-Werman), O(n) whatever the window.
    """
    n = len(x)
    out = _nan(n)
    if window > n:
        return out
    blocks = -(-n // window)
    padded = np.full(blocks * window, identity)
    padded[:n] = x
    grid = padded.reshape(blocks, window)
    prefix = op.accumulate(grid, axis=1).ravel()
    suffix = op.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    # The window ending at i starts at s = i - window + 1 and covers suffix[s] and prefix[i].
    out[window - 1 :] = op(suffix[: n - window + 1], prefix[window - 1 : n])
    return out


# -- single-output indicators ------------------------------------------------------------------


def sma(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the simple moving average of ``x`` over ``window`` bars.

    Examples
    --------
    >>> sma([1.0, 2.0, 3.0, 4.0], 2)
    array([nan, 1.5, 2.5, 3.5])
    """
    from foanalytics.domain import indicators_nb as nb

    values, w = _series(x), _window(window)
    return nb.rolling_mean_nb(values, w)


def ema(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the exponential moving average (alpha ``2 / (window + 1)``), seeded with the SMA.

    The first value is the SMA of the first ``window`` values, as in backtrader's ``EMA``.

    Examples
    --------
    >>> ema([1.0, 2.0, 3.0, 4.0], 3)
    array([nan, nan,  2.,  3.])
    """
    from foanalytics.domain import indicators_nb as nb

    values, w = _series(x), _window(window)
    return nb.ewm_nb(values, 2.0 / (1.0 + w), w)


def wma(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the linearly weighted moving average (weights ``1..window``, newest heaviest).

    Examples
    --------
    >>> wma([1.0, 2.0, 4.0], 2)
    array([       nan, 1.66666667, 3.33333333])
    """
    values, w = _series(x), _window(window)
    out = _nan(len(values))
    if w > len(values):
        return out
    weights = np.arange(w, 0, -1, dtype=np.float64)  # convolve flips them: newest gets w
    out[w - 1 :] = np.convolve(values, weights, mode="valid") * (2.0 / (w * (w + 1.0)))
    return out


def rsi(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return Wilder's relative strength index, 0 to 100, as backtrader's ``RSI``.

    Up moves ``max(x - x[-1], 0)`` and down moves ``max(x[-1] - x, 0)`` (from the second bar)
    are each smoothed with alpha ``1 / window``, seeded with their mean over the first
    ``window`` moves, so the first value is at index ``window``. With no down moves in the
    average the RSI is 100, and with no moves at all it is 50 (backtrader's ``RSI_Safe``
    values; its plain ``RSI`` raises ``ZeroDivisionError`` there).

    Examples
    --------
    >>> rsi([1.0, 2.0, 1.5, 2.5, 2.5], 2)
    array([        nan,         nan, 66.66666667, 85.71428571, 85.71428571])
    >>> rsi([1.0, 1.0, 1.0, 2.0], 2)
    array([ nan,  nan,  50., 100.])
    """
    from foanalytics.domain import indicators_nb as nb

    values, w = _series(x), _window(window)
    change = _nan(len(values))
    change[1:] = np.diff(values)
    up = np.maximum(change, 0.0)
    down = np.maximum(-change, 0.0)
    avg_up = nb.ewm_nb(_series(up), 1.0 / w, w)
    avg_down = nb.ewm_nb(_series(down), 1.0 / w, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + avg_up / avg_down)
    out[(avg_up == 0.0) & (avg_down == 0.0)] = 50.0
    return out


def roc(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the rate of change ``x / x[-window] - 1``, a fraction (not percent).

    Computed as ``(x - x[-window]) / x[-window]`` (backtrader's ``ROC``), which keeps full
    precision for small changes. A zero ``x[-window]`` (volume) gives +/-inf, or NaN for 0/0.

    Examples
    --------
    >>> roc([100.0, 110.0, 99.0], 1)
    array([ nan,  0.1, -0.1])
    """
    values, w = _series(x), _window(window)
    out = _nan(len(values))
    if w < len(values):
        before = values[:-w]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[w:] = (values[w:] - before) / before
    return out


def momentum(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the momentum ``x - x[-window]``.

    Examples
    --------
    >>> momentum([1.0, 3.0, 6.0], 1)
    array([nan,  2.,  3.])
    """
    values, w = _series(x), _window(window)
    out = _nan(len(values))
    if w < len(values):
        out[w:] = values[w:] - values[:-w]
    return out


def _stddev(values: FloatArray, mean: FloatArray, window: int) -> FloatArray:
    from foanalytics.domain import indicators_nb as nb

    return nb.rolling_std_nb(values, _series(mean), window)


def stddev(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the rolling population standard deviation (ddof 0) over ``window`` bars.

    The value is the accurate one: backtrader's ``StandardDeviation`` computes
    ``sqrt(|mean(x**2) - mean(x)**2|)``, which loses digits to cancellation (about 1e-5
    relative for two hourly FX closes) and can be a little above 0 for a flat window. Here a
    window of equal values gives exactly 0.

    Examples
    --------
    >>> stddev([1.0, 3.0, 3.0, 3.0], 2)
    array([nan,  1.,  0.,  0.])
    """
    values, w = _series(x), _window(window)
    return _stddev(values, sma(values, w), w)


def zscore(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return ``(x - sma) / stddev`` over ``window`` bars.

    A window of equal values has no dispersion and no score: the z-score is NaN there (never
    +/-inf), so a rule comparing it is false on that bar. With ``window == 1`` it is NaN
    everywhere.

    Examples
    --------
    >>> zscore([1.0, 3.0, 2.0, 2.0], 2)
    array([nan,  1., -1., nan])
    """
    values, w = _series(x), _window(window)
    mean = sma(values, w)
    dev = _stddev(values, mean, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (values - mean) / dev
    out[dev == 0.0] = np.nan
    return out


def highest(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the highest value of the last ``window`` bars, this bar included.

    Examples
    --------
    >>> highest([1.0, 3.0, 2.0, 0.0], 2)
    array([nan,  3.,  3.,  2.])
    """
    values, w = _series(x), _window(window)
    return _windowed(values, w, np.maximum, -np.inf)


def lowest(x: npt.ArrayLike, window: int) -> FloatArray:
    """Return the lowest value of the last ``window`` bars, this bar included.

    Examples
    --------
    >>> lowest([1.0, 3.0, 2.0, 0.0], 2)
    array([nan,  1.,  2.,  0.])
    """
    values, w = _series(x), _window(window)
    return _windowed(values, w, np.minimum, np.inf)


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, window: int) -> FloatArray:
    """Return the average true range, as backtrader's ``ATR``.

    The true range ``max(high, close[-1]) - min(low, close[-1])`` starts on the second bar; it
    is smoothed with alpha ``1 / window``, seeded with the mean of the first ``window`` true
    ranges, so the first value is at index ``window``.

    Examples
    --------
    >>> atr([2.0, 3.0, 4.0, 4.0], [1.0, 2.0, 2.0, 1.0], [1.5, 2.5, 3.0, 1.5], 2)
    array([  nan,   nan, 1.75 , 2.375])
    """
    from foanalytics.domain import indicators_nb as nb

    h, lo, c = _series(high, "high"), _series(low, "low"), _series(close, "close")
    _same_length(high=h, low=lo, close=c)
    w = _window(window)
    true_range = _nan(len(c))
    prev = c[:-1]
    true_range[1:] = np.maximum(h[1:], prev) - np.minimum(lo[1:], prev)
    return nb.ewm_nb(_series(true_range), 1.0 / w, w)


# -- multi-output indicators -------------------------------------------------------------------


def bbands(
    x: npt.ArrayLike, window: int, k: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return Bollinger bands ``(upper, middle, lower)``: SMA +/- ``k`` population std devs.

    Examples
    --------
    >>> upper, middle, lower = bbands([1.0, 3.0, 5.0], 2, k=1.0)
    >>> upper, middle, lower
    (array([nan,  3.,  5.]), array([nan,  2.,  4.]), array([nan,  1.,  3.]))
    """
    values, w = _series(x), _window(window)
    if not np.isfinite(k) or k <= 0:
        raise InvalidInputError(f"k must be a finite number > 0, got {k!r}")
    middle = sma(values, w)
    band = k * _stddev(values, middle, w)
    return middle + band, middle, middle - band


def macd(
    x: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``(macd, signal, hist)``: ``ema(fast) - ema(slow)``, its EMA, and the difference.

    As backtrader's ``MACDHisto``: the line starts when the slow EMA does (index
    ``slow - 1``); the signal EMA is seeded with the mean of the first ``signal`` line values,
    so the signal and the histogram start at index ``slow + signal - 2``.

    Examples
    --------
    >>> line, sig, hist = macd([1.0, 2.0, 3.0, 5.0, 8.0], fast=1, slow=2, signal=2)
    >>> line
    array([       nan, 0.5       , 0.5       , 0.83333333, 1.27777778])
    >>> sig
    array([       nan,        nan, 0.5       , 0.72222222, 1.09259259])
    >>> hist
    array([       nan,        nan, 0.        , 0.11111111, 0.18518519])
    """
    from foanalytics.domain import indicators_nb as nb

    values = _series(x)
    f, s, g = _window(fast, "fast"), _window(slow, "slow"), _window(signal, "signal")
    line = ema(values, f) - ema(values, s)
    smooth = nb.ewm_nb(_series(line), 2.0 / (1.0 + g), g)
    return line, smooth, line - smooth


def donchian(
    high: npt.ArrayLike, low: npt.ArrayLike, window: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return the Donchian channel ``(upper, middle, lower)`` over ``window`` bars.

    ``upper`` is the highest high, ``lower`` the lowest low (this bar included) and
    ``middle = (upper + lower) / 2``.

    Examples
    --------
    >>> donchian([2.0, 4.0, 3.0], [1.0, 2.0, 2.0], 2)
    (array([nan,  4.,  4.]), array([nan, 2.5, 3. ]), array([nan,  1.,  2.]))
    """
    h, lo = _series(high, "high"), _series(low, "low")
    _same_length(high=h, low=lo)
    upper, lower = highest(h, window), lowest(lo, window)
    return upper, (upper + lower) / 2.0, lower


# -- a whole spec ------------------------------------------------------------------------------

Indicator = (
    Sma | Ema | Wma | Rsi | Roc | Momentum | StdDev | ZScore | Highest | Lowest | Atr | BBands
    | Macd | Donchian
)  # fmt: skip


def _outputs(indicator: Indicator, fields: dict[str, FloatArray]) -> tuple[FloatArray, ...]:
    """Compute one indicator's outputs, in the order of its ``outputs`` class variable."""
    match indicator:
        case Sma(window=w, source=src):
            return (sma(fields[src], w),)
        case Ema(window=w, source=src):
            return (ema(fields[src], w),)
        case Wma(window=w, source=src):
            return (wma(fields[src], w),)
        case Rsi(window=w, source=src):
            return (rsi(fields[src], w),)
        case Roc(window=w, source=src):
            return (roc(fields[src], w),)
        case Momentum(window=w, source=src):
            return (momentum(fields[src], w),)
        case StdDev(window=w, source=src):
            return (stddev(fields[src], w),)
        case ZScore(window=w, source=src):
            return (zscore(fields[src], w),)
        case Highest(window=w, source=src):
            return (highest(fields[src], w),)
        case Lowest(window=w, source=src):
            return (lowest(fields[src], w),)
        case Atr(window=w):
            return (atr(fields["high"], fields["low"], fields["close"], w),)
        case BBands(window=w, source=src, k=k):
            return bbands(fields[src], w, k)
        case Macd(fast=f, slow=s, signal=g, source=src):
            return macd(fields[src], f, s, g)
        case Donchian(window=w):
            return donchian(fields["high"], fields["low"], w)
        case _:
            assert_never(indicator)


def compute_indicators(spec: StrategySpec, bars: pd.DataFrame) -> dict[str, FloatArray]:
    """Compute every indicator of ``spec`` on ``bars``, keyed by the references rules use.

    Keys are ``name`` for a single-output indicator and ``name.output`` for each output of a
    multi-output one (``bb.upper``, ``macd.signal``, ``dc.middle``); each indicator's
    ``offset`` is applied as a lag. The price fields ``open, high, low, close, volume`` are
    included as float64 copies. Every array has one value per bar, NaN during the warm-up.

    Examples
    --------
    >>> from foanalytics.domain.strategy import Compare, Sma
    >>> spec = StrategySpec(name="demo", indicators=[Sma(name="fast", window=2, offset=1)],
    ...                     entry=Compare(op="gt", left="close", right="fast"))
    >>> bars = pd.DataFrame({c: [1.0, 2.0, 3.0, 4.0] for c in PRICE_FIELDS})
    >>> out = compute_indicators(spec, bars)
    >>> sorted(out)
    ['close', 'fast', 'high', 'low', 'open', 'volume']
    >>> out["fast"]
    array([nan, nan, 1.5, 2.5])
    """
    missing = [c for c in PRICE_FIELDS if c not in bars.columns]
    if missing:
        raise InvalidInputError(
            f"bars lack the column(s) {', '.join(missing)}; expected {', '.join(PRICE_FIELDS)}"
        )
    fields = {c: np.array(bars[c], dtype=np.float64) for c in PRICE_FIELDS}
    result: dict[str, FloatArray] = dict(fields)
    for indicator in spec.indicators:
        values = _outputs(indicator, fields)
        names = indicator.outputs or (None,)
        for output, array in zip(names, values, strict=True):
            key = indicator.name if output is None else f"{indicator.name}.{output}"
            result[key] = shift(array, indicator.offset) if indicator.offset else array
    return result
