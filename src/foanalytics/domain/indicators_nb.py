"""Numba kernels of :mod:`foanalytics.domain.indicators`: float64 arrays in, float64 arrays out.

The loops numpy cannot vectorise without losing digits: the rolling mean (a compensated
running sum that rounds like backtrader's ``math.fsum``), exponential smoothing (EMA, Wilder)
and the rolling standard deviation. They are compiled once and cached on disk
(``cache=True``), so a fresh process loads them instead of compiling. Callers pass C-contiguous
read-only float64 arrays (one compiled signature per kernel) and check the arguments; the
kernels do not.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)
# Relative rounding error allowed in a rolling sum of squares before it is recomputed.
_TOL = 1e-11


@njit(cache=True)
def _add_nb(total: float, carry: float, value: float) -> tuple[float, float]:
    """Add ``value`` to the compensated sum ``total + carry`` (Neumaier's algorithm).

    ``carry`` collects the rounding error of every addition exactly, so ``total + carry``
    rounds like ``math.fsum`` (backtrader's sum) but for astronomically rare near-ties.
    """
    t = total + value
    if abs(total) >= abs(value):
        carry += (total - t) + value
    else:
        carry += (value - t) + total
    return t, carry


@njit(cache=True)
def rolling_mean_nb(x: FloatArray, window: int) -> FloatArray:
    """Return the mean of ``x`` over ``window`` bars, from a compensated running sum.

    NaNs are counted, not summed, so only the windows holding one are NaN.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    total = 0.0
    carry = 0.0
    missing = 0
    for i in range(n):
        if np.isnan(x[i]):
            missing += 1
        else:
            total, carry = _add_nb(total, carry, x[i])
        if i >= window:
            if np.isnan(x[i - window]):
                missing -= 1
            else:
                total, carry = _add_nb(total, carry, -x[i - window])
        if i >= window - 1 and missing == 0:
            out[i] = (total + carry) / window
    return out


@njit(cache=True)
def ewm_nb(x: FloatArray, alpha: float, window: int) -> FloatArray:
    """Smooth ``x`` exponentially, seeded with the mean of its first ``window`` defined values.

    Leading NaNs are skipped (the input may itself be an indicator still warming up). The
    first output sits on the ``window``-th defined value; then
    ``out[i] = out[i - 1] * (1 - alpha) + x[i] * alpha``, written in that order so the result
    rounds like backtrader's ``ExponentialSmoothing``.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = 0
    while start < n and np.isnan(x[start]):
        start += 1
    first = start + window - 1
    if first >= n:
        return out
    total = 0.0
    carry = 0.0
    for i in range(start, first + 1):
        total, carry = _add_nb(total, carry, x[i])
    prev = (total + carry) / window
    out[first] = prev
    alpha1 = 1.0 - alpha
    for i in range(first + 1, n):
        prev = prev * alpha1 + x[i] * alpha
        out[i] = prev
    return out


@njit(cache=True)
def rolling_std_nb(x: FloatArray, mean: FloatArray, window: int) -> FloatArray:
    """Return the population std of ``x`` over ``window`` bars around the given means.

    ``mean[i]`` is the mean of ``x[i - window + 1 : i + 1]`` (NaN where the window holds a
    NaN). The sum of squared deviations is updated as one value leaves and one enters, with a
    running bound on the rounding error of those updates; when the bound passes ``_TOL`` of the
    sum (a calm window after a volatile one), the sum is recomputed from scratch in two passes.
    A window of equal values has exactly 0.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    m2 = 0.0
    err = np.inf  # no sum yet: the first window is computed exactly
    run = 0  # how many equal values end at i
    for i in range(n):
        run = run + 1 if i > 0 and x[i] == x[i - 1] else 1
        if i < window - 1:
            continue
        if np.isnan(mean[i]):  # a NaN in the window: recompute once it has left
            err = np.inf
            continue
        if run >= window:
            m2 = 0.0
            err = 0.0
            out[i] = 0.0
            continue
        if err < np.inf:
            new = x[i]
            old = x[i - window]
            step = new - old
            change = step * ((new - mean[i]) + (old - mean[i - 1]))
            m2 += change
            # Bound this update's rounding: its own operations, plus the means' (each within
            # about eps |mean| of exact), which enter the update at first order.
            spread = abs(step) * (abs(mean[i]) + abs(mean[i - 1]))
            err += 4.0 * _EPS * (abs(m2) + abs(change) + spread)
        if not err <= _TOL * m2:
            m2 = 0.0
            for j in range(i - window + 1, i + 1):
                d = x[j] - mean[i]
                m2 += d * d
            err = window * _EPS * m2
        out[i] = np.sqrt(m2 / window)
    return out
