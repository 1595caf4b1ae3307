"""Numba kernels of :mod:`foanalytics.domain.metrics`: float64 arrays in, float64 arrays out.

A returns matrix ``r`` has shape ``(T, N)``, one column per series, C-contiguous. The scans
walk it in the order it sits in memory, a few rows at a time, with the column loop innermost:
every running quantity of a column (wealth, peak, sums, drawdown episodes) is one slot of a
length-``N`` array, the column loops vectorise across columns (AVX), and a block of
``_ROWS`` rows updates each slot once instead of once per row. Each scan reads the matrix
once.

A NaN is a missing return: its row adds nothing to that column's sums, products and counts,
so a column's figures are those of its finite returns. The first scan records where a column
breaks a rule (a gap between finite returns, a return below -1 or ``+inf``) and the wrapper
raises; the kernels check nothing else. Callers pass C-contiguous float64 arrays of matching
shapes (one compiled signature per kernel), compiled once and cached on disk.

``error_model="numpy"`` lets a division by zero give inf/NaN instead of raising: without it
every division carries a branch and its loop does not vectorise. The block helpers are kept
out of line (``inline="never"``) so that each of their loops is vectorised on its own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Slots of the first scan's table (``scan_nb``), one row of length N each.
S_COUNT = 0  # finite returns
S_FIRST = 1  # first finite row, -1 if none
S_LAST = 2  # last finite row, -1 if none
S_GAP = 3  # first NaN row after the first finite one, -1 if none
S_BAD_ROW = 4  # first row breaking a rule (see ``scan_nb``), -1 if none
S_SUM = 5
S_ABS = 6  # sum of |r|
S_MIN = 7
S_MAX = 8
S_POS = 9  # count of r > 0
S_NONZERO = 10  # count of r != 0
S_WEALTH = 11  # prod(1 + r)
S_MDD = 12  # deepest drawdown (<= 0)
S_ULCER = 13  # sum of squared drawdowns
S_EPISODES = 14  # drawdown episodes
S_DEPTH_SUM = 15  # sum of the episodes' depths
S_DEPTH_SQ = 16  # sum of their squares
S_UNDER = 17  # bars under water
S_DOWNSIDE = 18  # sum of min(r - rf, 0) ** 2
S_OMEGA_UP = 19  # sum of max(r - rf - threshold, 0)
S_B_SUM = 20  # benchmark sum over the column's finite rows
S_B_BAD_ROW = 21  # first finite row of the column where the benchmark is not usable
S_UP_W = 22  # prod(1 + r) over benchmark > 0
S_UP_B = 23  # prod(1 + b) over benchmark > 0
S_UP_N = 24
S_DOWN_W = 25  # the same over benchmark < 0
S_DOWN_B = 26
S_DOWN_N = 27
S_ACTIVE_MIN = 28  # min and max of r - b (a constant active return has no tracking error)
S_ACTIVE_MAX = 29
N_SCAN = 30

# Slots of the second scan's table (``moments_nb``).
M_M2 = 0  # sum of (r - mean) ** 2
M_M3 = 1
M_M4 = 2
M_COV = 3  # sum of (r - mean)(b - mean_b)
M_B2 = 4  # sum of (b - mean_b) ** 2
M_A2 = 5  # sum of (active - mean active) ** 2
M_LOW_COUNT = 6  # returns at or below the low threshold
M_HIGH_COUNT = 7  # returns at or above the high threshold
N_MOMENTS = 8

_ROWS = 4  # rows per block
_BIG = 1.7976931348623157e308  # the largest finite float64


@njit(cache=True, error_model="numpy", inline="never")
def _usable_nb(r: FloatArray, t0: int, rows: int) -> bool:
    """Return whether rows ``t0 .. t0 + rows - 1`` hold only returns in ``[-1, +inf)``."""
    odd = 0
    for t in range(t0, t0 + rows):
        row = r[t]
        for j in range(row.shape[0]):
            v = row[j]
            odd += 0 if ((v >= -1.0) & (v <= _BIG)) else 1
    return odd == 0


@njit(cache=True, error_model="numpy", inline="never")
def _block_sums_nb(r: FloatArray, t0: int, acc: FloatArray) -> None:
    total, absolute, low, high = acc[S_SUM], acc[S_ABS], acc[S_MIN], acc[S_MAX]
    for j in range(r.shape[1]):
        s = total[j]
        q = absolute[j]
        lo = low[j]
        hi = high[j]
        for k in range(_ROWS):
            v = r[t0 + k, j]
            s += v
            q += abs(v)
            lo = v if v < lo else lo
            hi = v if v > hi else hi
        total[j] = s
        absolute[j] = q
        low[j] = lo
        high[j] = hi


@njit(cache=True, error_model="numpy", inline="never")
def _block_downside_nb(
    r: FloatArray, t0: int, rf: float, threshold: float, acc: FloatArray
) -> None:
    downside, omega_up = acc[S_DOWNSIDE], acc[S_OMEGA_UP]
    for j in range(r.shape[1]):
        ds = downside[j]
        om = omega_up[j]
        for k in range(_ROWS):
            excess = r[t0 + k, j] - rf
            below = excess if excess < 0.0 else 0.0
            ds += below * below
            over = excess - threshold
            om += over if over > 0.0 else 0.0
        downside[j] = ds
        omega_up[j] = om


@njit(cache=True, error_model="numpy", inline="never")
def _block_signs_nb(r: FloatArray, t0: int, acc: FloatArray) -> None:
    pos, nonzero = acc[S_POS], acc[S_NONZERO]
    for j in range(r.shape[1]):
        p = pos[j]
        z = nonzero[j]
        for k in range(_ROWS):
            v = r[t0 + k, j]
            p += 1.0 if v > 0.0 else 0.0
            z += 1.0 if v != 0.0 else 0.0
        pos[j] = p
        nonzero[j] = z


@njit(cache=True, error_model="numpy", inline="never")
def _block_peak_nb(r: FloatArray, t0: int, acc: FloatArray, peak: FloatArray) -> None:
    """Wealth, its running peak and the deepest drawdown only (no episodes)."""
    wealth, mdd = acc[S_WEALTH], acc[S_MDD]
    for j in range(r.shape[1]):
        w = wealth[j]
        p = peak[j]
        m = mdd[j]
        for k in range(_ROWS):
            w = w * (1.0 + r[t0 + k, j])
            p = w if w > p else p
            d = (w - p) / p
            m = d if d < m else m
        wealth[j] = w
        peak[j] = p
        mdd[j] = m


@njit(cache=True, error_model="numpy", inline="never")
def _block_drawdown_nb(
    r: FloatArray, t0: int, acc: FloatArray, peak: FloatArray, current: FloatArray
) -> None:
    """Drawdowns from the running peak of wealth, the starting capital (1) included.

    An episode opens on the first bar under water and closes on the bar back at the peak; its
    depth is the deepest drawdown in between (``current`` holds the open episode's depth).
    """
    wealth, mdd, ulcer, under = acc[S_WEALTH], acc[S_MDD], acc[S_ULCER], acc[S_UNDER]
    episodes, depth_sum, depth_sq = acc[S_EPISODES], acc[S_DEPTH_SUM], acc[S_DEPTH_SQ]
    for j in range(r.shape[1]):
        w = wealth[j]
        p = peak[j]
        c = current[j]
        m = mdd[j]
        u = ulcer[j]
        un = under[j]
        ep = episodes[j]
        ds = depth_sum[j]
        dq = depth_sq[j]
        for k in range(_ROWS):
            w = w * (1.0 + r[t0 + k, j])
            p = w if w > p else p
            d = (w - p) / p
            m = d if d < m else m
            u += d * d
            un += 1.0 if d < 0.0 else 0.0
            ep += 1.0 if ((d < 0.0) & (c == 0.0)) else 0.0
            closes = 1.0 if ((d == 0.0) & (c < 0.0)) else 0.0
            c = d if d < c else c
            depth = closes * c
            ds += depth
            dq += depth * c
            c = 0.0 if d == 0.0 else c
        wealth[j] = w
        peak[j] = p
        current[j] = c
        mdd[j] = m
        ulcer[j] = u
        under[j] = un
        episodes[j] = ep
        depth_sum[j] = ds
        depth_sq[j] = dq


@njit(cache=True, error_model="numpy", inline="never")
def _block_relative_nb(r: FloatArray, b: FloatArray, t0: int, acc: FloatArray) -> None:
    """Up/down-market wealth and the range of the active return, for a usable benchmark."""
    up_w, down_w = acc[S_UP_W], acc[S_DOWN_W]
    active_min, active_max = acc[S_ACTIVE_MIN], acc[S_ACTIVE_MAX]
    for j in range(r.shape[1]):
        uw = up_w[j]
        dw = down_w[j]
        lo = active_min[j]
        hi = active_max[j]
        for k in range(_ROWS):
            v = r[t0 + k, j]
            bt = b[t0 + k]
            # A factor of exactly 1 leaves a product unchanged, so the sign test is a select.
            uw *= 1.0 + v if bt > 0.0 else 1.0
            dw *= 1.0 + v if bt < 0.0 else 1.0
            a = v - bt
            lo = a if a < lo else lo
            hi = a if a > hi else hi
        up_w[j] = uw
        down_w[j] = dw
        active_min[j] = lo
        active_max[j] = hi


@njit(cache=True, error_model="numpy", inline="never")
def _row_nb(
    x: FloatArray,
    ok: FloatArray,
    row: FloatArray,
    bt: float,
    rf: float,
    threshold: float,
    full: bool,
    has_b: bool,
    acc: FloatArray,
    peak: FloatArray,
    current: FloatArray,
) -> None:
    """Add one row to the table; ``x`` is the row with NaNs as 0 and ``ok`` 1 where finite."""
    n = x.shape[0]
    total, absolute, low, high = acc[S_SUM], acc[S_ABS], acc[S_MIN], acc[S_MAX]
    for j in range(n):
        v = x[j]
        total[j] += v
        absolute[j] += abs(v)
        lo = low[j]
        hi = high[j]
        raw = row[j]  # a NaN never compares, so it moves neither bound
        low[j] = raw if raw < lo else lo
        high[j] = raw if raw > hi else hi
    if not full:
        return
    for j in range(n):
        v = x[j]
        acc[S_POS, j] += 1.0 if v > 0.0 else 0.0
        acc[S_NONZERO, j] += 1.0 if v != 0.0 else 0.0
        excess = v - rf
        below = excess if excess < 0.0 else 0.0
        acc[S_DOWNSIDE, j] += ok[j] * below * below
        over = excess - threshold
        acc[S_OMEGA_UP, j] += ok[j] * (over if over > 0.0 else 0.0)
        # A missing return leaves wealth as it was: leading NaNs sit at the peak, and trailing
        # ones repeat the last drawdown, which neither opens nor closes an episode.
        w = acc[S_WEALTH, j] * (1.0 + v)
        acc[S_WEALTH, j] = w
        p = peak[j]
        p = w if w > p else p
        peak[j] = p
        d = (w - p) / p
        m = acc[S_MDD, j]
        acc[S_MDD, j] = d if d < m else m
        acc[S_ULCER, j] += ok[j] * d * d
        acc[S_UNDER, j] += ok[j] if d < 0.0 else 0.0
        c = current[j]
        acc[S_EPISODES, j] += 1.0 if ((d < 0.0) & (c == 0.0)) else 0.0
        closes = 1.0 if ((d == 0.0) & (c < 0.0)) else 0.0
        c = d if d < c else c
        depth = closes * c
        acc[S_DEPTH_SUM, j] += depth
        acc[S_DEPTH_SQ, j] += depth * c
        current[j] = 0.0 if d == 0.0 else c
    if not has_b:
        return
    for j in range(n):
        if ok[j] == 0.0:
            continue
        acc[S_B_SUM, j] += bt
        v = x[j]
        if bt > 0.0:
            acc[S_UP_W, j] *= 1.0 + v
            acc[S_UP_B, j] *= 1.0 + bt
            acc[S_UP_N, j] += 1.0
        elif bt < 0.0:
            acc[S_DOWN_W, j] *= 1.0 + v
            acc[S_DOWN_B, j] *= 1.0 + bt
            acc[S_DOWN_N, j] += 1.0
        a = v - bt
        lo = acc[S_ACTIVE_MIN, j]
        hi = acc[S_ACTIVE_MAX, j]
        acc[S_ACTIVE_MIN, j] = a if a < lo else lo
        acc[S_ACTIVE_MAX, j] = a if a > hi else hi


@njit(cache=True, error_model="numpy")
def scan_nb(
    r: FloatArray, b: FloatArray, rf: float, threshold: float, full: bool, detail: bool
) -> tuple[FloatArray, BoolArray]:
    """Return the first-scan table ``(N_SCAN, N)`` of ``r`` and which rows are not clean.

    ``b`` is the benchmark (empty for none); ``rf`` and ``threshold`` are per period. A row is
    clean when every column has a return in ``[-1, +inf)`` there. The ``S_BAD_ROW`` of a
    column is its first row with a return below -1 or ``+inf``, or with a finite return after
    a NaN that followed its first finite return (a gap; ``S_GAP`` holds the NaN's row); the
    ``S_B_BAD_ROW`` its first row with a return where the benchmark is missing, below -1 or
    ``+inf``. With ``full`` false only the validation slots, ``S_SUM``, ``S_ABS``, ``S_MIN``
    and ``S_MAX`` are filled; with ``detail`` false, the counts ``S_POS``/``S_NONZERO``, the
    ulcer sum and the drawdown episodes are skipped on runs of clean rows (they are then
    meaningless). The sums of the gains, of the losses and of the Omega ratio's
    downside follow from ``S_SUM``, ``S_ABS`` and ``S_OMEGA_UP`` (see the wrapper).

    Runs of clean rows go through the block helpers, ``_ROWS`` at a time, and their counts,
    first and last rows and benchmark sums are kept once for all columns.
    """
    n_rows, n_cols = r.shape
    has_b = b.shape[0] == n_rows and n_rows > 0
    acc = np.zeros((N_SCAN, n_cols))
    for k in (S_FIRST, S_LAST, S_GAP, S_BAD_ROW, S_B_BAD_ROW):
        acc[k, :] = -1.0
    for k in (S_MIN, S_ACTIVE_MIN):
        acc[k, :] = np.inf
    for k in (S_MAX, S_ACTIVE_MAX):
        acc[k, :] = -np.inf
    for k in (S_WEALTH, S_UP_W, S_UP_B, S_DOWN_W, S_DOWN_B):
        acc[k, :] = 1.0
    dirty = np.zeros(n_rows, dtype=np.bool_)
    count, first, last, gap = acc[S_COUNT], acc[S_FIRST], acc[S_LAST], acc[S_GAP]
    bad_row, b_bad = acc[S_BAD_ROW], acc[S_B_BAD_ROW]
    peak = np.ones(n_cols)
    current = np.zeros(n_cols)
    ok_row = np.empty(n_cols)
    x_row = np.empty(n_cols)
    # Clean rows, kept once for all columns: count, first and last row, and the benchmark's
    # sum, up/down products and counts over them.
    clean_rows = 0
    first_clean = -1.0
    last_clean = -1.0
    clean_b_sum = 0.0
    clean_up_b = 1.0
    clean_down_b = 1.0
    clean_up_n = 0
    clean_down_n = 0
    open_gaps = 0
    t = 0
    while t < n_rows:
        rows = _ROWS if t + _ROWS <= n_rows and _usable_nb(r, t, _ROWS) else 1
        b_ok = True
        if has_b:
            for k in range(t, t + rows):
                bt = b[k]
                b_ok = b_ok and bt >= -1.0 and bt <= _BIG
        if rows == _ROWS and b_ok:
            clean_rows += rows
            first_clean = float(t) if first_clean < 0.0 else first_clean
            last_clean = float(t + rows - 1)
            if open_gaps > 0:  # a column with a gap has a return again: the gap is inside
                for j in range(n_cols):
                    bb = bad_row[j]
                    bad_row[j] = float(t) if ((gap[j] >= 0.0) & (bb < 0.0)) else bb
            _block_sums_nb(r, t, acc)
            if full:
                _block_downside_nb(r, t, rf, threshold, acc)
                if detail:
                    _block_signs_nb(r, t, acc)
                    _block_drawdown_nb(r, t, acc, peak, current)
                else:
                    _block_peak_nb(r, t, acc, peak)
                if has_b:
                    _block_relative_nb(r, b, t, acc)
                    for k in range(t, t + rows):
                        bt = b[k]
                        clean_b_sum += bt
                        if bt > 0.0:
                            clean_up_b *= 1.0 + bt
                            clean_up_n += 1
                        elif bt < 0.0:
                            clean_down_b *= 1.0 + bt
                            clean_down_n += 1
            t += rows
            continue
        # One row on its own: it holds a NaN or a bad value, ends the matrix, or the
        # benchmark is unusable somewhere in the block.
        row = r[t]
        ft = float(t)
        bt = b[t] if has_b else 0.0
        b_usable = bt >= -1.0 and bt <= _BIG
        # A column has started once it had a finite return (every column had one on a clean
        # row).
        started = first_clean >= 0.0
        any_missing = False
        for j in range(n_cols):
            v = row[j]
            finite_now = v == v
            if finite_now:
                first[j] = ft if first[j] < 0.0 else first[j]
                last[j] = ft
                count[j] += 1.0
                if (gap[j] >= 0.0 or v < -1.0 or v > _BIG) and bad_row[j] < 0.0:
                    bad_row[j] = ft
                if not b_usable and b_bad[j] < 0.0:
                    b_bad[j] = ft
            else:
                any_missing = True
                if gap[j] < 0.0 and (started or count[j] > 0.0):
                    gap[j] = ft
                    open_gaps += 1
            ok_row[j] = 1.0 if finite_now else 0.0
            x_row[j] = v if finite_now else 0.0
        dirty[t] = any_missing
        _row_nb(x_row, ok_row, row, bt, rf, threshold, full, has_b and b_usable, acc, peak, current)
        t += 1
    # Fold the clean rows into each column.
    for j in range(n_cols):
        count[j] += clean_rows
        if first_clean >= 0.0:
            f = first[j]
            first[j] = first_clean if (f < 0.0 or first_clean < f) else f
            last[j] = last_clean if last_clean > last[j] else last[j]
        if has_b and full:
            acc[S_B_SUM, j] += clean_b_sum
            acc[S_UP_B, j] *= clean_up_b
            acc[S_UP_N, j] += clean_up_n
            acc[S_DOWN_B, j] *= clean_down_b
            acc[S_DOWN_N, j] += clean_down_n
        c = current[j]
        if c < 0.0:  # an episode still open at the end: not recovered
            acc[S_DEPTH_SUM, j] += c
            acc[S_DEPTH_SQ, j] += c * c
    return acc, dirty


@njit(cache=True, error_model="numpy", inline="never")
def _block_moments_nb(r: FloatArray, t0: int, mean: FloatArray, acc: FloatArray) -> None:
    m2, m3, m4 = acc[M_M2], acc[M_M3], acc[M_M4]
    for j in range(r.shape[1]):
        s2 = m2[j]
        s3 = m3[j]
        s4 = m4[j]
        mu = mean[j]
        for k in range(_ROWS):
            d = r[t0 + k, j] - mu
            sq = d * d
            s2 += sq
            s3 += sq * d
            s4 += sq * sq
        m2[j] = s2
        m3[j] = s3
        m4[j] = s4


@njit(cache=True, error_model="numpy", inline="never")
def _block_comoments_nb(
    r: FloatArray, b: FloatArray, t0: int, mean: FloatArray, mean_b: FloatArray, acc: FloatArray
) -> None:
    cov, b2, a2 = acc[M_COV], acc[M_B2], acc[M_A2]
    for j in range(r.shape[1]):
        sc = cov[j]
        sb = b2[j]
        sa = a2[j]
        mu = mean[j]
        mu_b = mean_b[j]
        for k in range(_ROWS):
            d = r[t0 + k, j] - mu
            db = b[t0 + k] - mu_b
            sc += d * db
            sb += db * db
            da = d - db
            sa += da * da
        cov[j] = sc
        b2[j] = sb
        a2[j] = sa


@njit(cache=True, error_model="numpy", inline="never")
def _block_collect_nb(
    r: FloatArray, t0: int, threshold: FloatArray, sign: float, into: FloatArray, count: FloatArray
) -> None:
    """:func:`_collect_nb` over the rows ``t0 .. t0 + _ROWS - 1`` of a block.

    Column by column, so a column's count stays in a register across the block's rows.
    """
    spill = into.shape[1] - 1
    for j in range(r.shape[1]):
        c = int(count[j])
        limit = sign * threshold[j]
        out = into[j]
        for k in range(_ROWS):
            v = sign * r[t0 + k, j]
            out[min(c, spill)] = v
            c += 1 if v <= limit else 0
        count[j] = c


@njit(cache=True, error_model="numpy", inline="never")
def _close_buffer_nb(into: FloatArray, count: FloatArray) -> None:
    """Reset the slot after each column's last collected value (a stale write) to +inf."""
    spill = into.shape[1] - 1
    for j in range(into.shape[0]):
        k = int(count[j])
        if 0 <= k <= spill:
            into[j, k] = np.inf


@njit(cache=True, error_model="numpy", inline="never")
def _collect_nb(
    row: FloatArray, threshold: FloatArray, sign: float, into: FloatArray, count: FloatArray
) -> None:
    """Append ``sign * v`` of each ``v`` beyond ``threshold`` (``sign`` -1: at or above).

    Branch-free: every value is written to its column's next free slot and the count moves
    only for a collected one, so a value not collected is overwritten by the next one; the
    buffer's last column is a spill slot for a column whose buffer is full.
    """
    spill = into.shape[1] - 1
    for j in range(row.shape[0]):
        v = sign * row[j]
        k = count[j]
        into[j, min(int(k), spill)] = v
        count[j] = k + (1.0 if v <= sign * threshold[j] else 0.0)


@njit(cache=True, error_model="numpy")
def moments_nb(
    r: FloatArray,
    dirty: BoolArray,
    b: FloatArray,
    mean: FloatArray,
    mean_b: FloatArray,
    low_threshold: FloatArray,
    high_threshold: FloatArray,
    low: FloatArray,
    high: FloatArray,
    do_moments: bool,
) -> FloatArray:
    """Return the second-scan table ``(N_MOMENTS, N)``: central moments and tail candidates.

    ``dirty`` flags the rows holding a NaN (from :func:`scan_nb`). The returns at or below
    ``low_threshold[j]`` are written to ``low[j, :]`` and the negated returns at or above
    ``high_threshold[j]`` to ``high[j, :]``, in row order, while they fit in all but the last
    column (a spill slot); the counts say how many there were, so a count above the width
    less one means some did not fit. After the scan the slot after each column's last
    candidate is reset to +inf. Pass ``(N, 0)`` buffers to skip a tail, an empty ``b`` to skip
    the benchmark sums and ``do_moments`` false to skip ``M_M2..M_M4``.
    """
    n_rows, n_cols = r.shape
    has_b = b.shape[0] == n_rows and n_rows > 0
    acc = np.zeros((N_MOMENTS, n_cols))
    low_count, high_count = acc[M_LOW_COUNT], acc[M_HIGH_COUNT]
    collect_low = low.shape[1] > 1
    collect_high = high.shape[1] > 1
    x_row = np.empty(n_cols)
    b_row = np.empty(n_cols)
    t = 0
    while t < n_rows:
        rows = 1
        if t + _ROWS <= n_rows:
            rows = _ROWS
            for k in range(t, t + _ROWS):
                rows = 1 if dirty[k] else rows
        if rows == _ROWS:
            if do_moments:
                _block_moments_nb(r, t, mean, acc)
            if has_b:
                _block_comoments_nb(r, b, t, mean, mean_b, acc)
        else:
            row = r[t]
            for j in range(n_cols):
                v = row[j]
                finite_now = v == v
                x_row[j] = v - mean[j] if finite_now else 0.0
                # Rows where the column has no return add nothing (a usable benchmark on the
                # column's rows was checked by the first scan).
                b_row[j] = b[t] - mean_b[j] if (finite_now and has_b) else 0.0
            for j in range(n_cols):
                d = x_row[j]
                sq = d * d
                acc[M_M2, j] += sq
                acc[M_M3, j] += sq * d
                acc[M_M4, j] += sq * sq
                db = b_row[j]
                acc[M_COV, j] += d * db
                acc[M_B2, j] += db * db
                da = d - db
                acc[M_A2, j] += da * da
        if rows == _ROWS:
            if collect_low:
                _block_collect_nb(r, t, low_threshold, 1.0, low, low_count)
            if collect_high:
                _block_collect_nb(r, t, high_threshold, -1.0, high, high_count)
        else:
            if collect_low:
                _collect_nb(r[t], low_threshold, 1.0, low, low_count)
            if collect_high:
                _collect_nb(r[t], high_threshold, -1.0, high, high_count)
        t += rows
    if collect_low:
        _close_buffer_nb(low, low_count)
    if collect_high:
        _close_buffer_nb(high, high_count)
    return acc


@njit(cache=True, error_model="numpy")
def underwater_nb(r: FloatArray) -> FloatArray:
    """Return the drawdown of every bar, ``(T, N)``; NaN where a return is missing."""
    n_rows, n_cols = r.shape
    out = np.empty((n_rows, n_cols))
    wealth = np.ones(n_cols)
    peak = np.ones(n_cols)
    for t in range(n_rows):
        row = r[t]
        for j in range(n_cols):
            v = row[j]
            w = wealth[j] * (1.0 + v) if v == v else wealth[j]
            wealth[j] = w
            p = peak[j]
            p = w if w > p else p
            peak[j] = p
            out[t, j] = (w - p) / p if v == v else np.nan
    return out


@njit(cache=True, error_model="numpy")
def episodes_nb(x: FloatArray) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Return the drawdown episodes of one finite series of returns.

    Arrays, one entry per episode in time order: the peak bar (-1 when the peak is the
    starting capital), the trough bar, the recovery bar (the first bar back at the peak, -1 if
    none) and the depth (the trough's drawdown, < 0).
    """
    n = x.shape[0]
    peaks = np.empty(n, np.int64)
    troughs = np.empty(n, np.int64)
    recoveries = np.empty(n, np.int64)
    depths = np.empty(n)
    k = 0
    wealth = 1.0
    peak = 1.0
    peak_at = -1
    depth = 0.0
    for t in range(n):
        wealth *= 1.0 + x[t]
        if wealth >= peak:
            if depth < 0.0:
                recoveries[k] = t
                k += 1
                depth = 0.0
            peak = wealth
            peak_at = t
            continue
        d = (wealth - peak) / peak
        if depth == 0.0:
            peaks[k] = peak_at
            troughs[k] = t
            depth = d
        elif d < depth:
            troughs[k] = t
            depth = d
        depths[k] = depth
    if depth < 0.0:
        recoveries[k] = -1
        k += 1
    return peaks[:k], troughs[:k], recoveries[:k], depths[:k]


@njit(cache=True, error_model="numpy")
def rolling_nb(
    r: FloatArray, b: FloatArray, kind: int, window: int, step: int, ppy: float, rf: float
) -> FloatArray:
    """Return a rolling statistic of each column over ``window`` rows every ``step`` rows.

    ``kind``: 0 annualised volatility, 1 annualised Sharpe ratio (``rf`` per period), 2 beta to
    ``b``, 3 maximum drawdown. Row ``i`` of the result is the window ending at row
    ``window - 1 + i * step``; a window holding a missing return (in ``r`` or ``b``) is NaN.
    Each window is computed from its own values (two passes), never from running sums, so no
    rounding error carries from one window to the next.
    """
    n_rows, n_cols = r.shape
    n_out = 0 if n_rows < window else (n_rows - window) // step + 1
    out = np.full((n_out, n_cols), np.nan)
    scale = np.sqrt(ppy)
    for j in range(n_cols):
        col = np.ascontiguousarray(r[:, j])
        for i in range(n_out):
            end = window + i * step
            begin = end - window
            ok = True
            total = 0.0
            total_b = 0.0
            lo = np.inf
            hi = -np.inf
            for t in range(begin, end):
                v = col[t]
                if np.isnan(v):
                    ok = False
                    break
                total += v
                lo = v if v < lo else lo
                hi = v if v > hi else hi
                if kind == 2:
                    if np.isnan(b[t]):
                        ok = False
                        break
                    total_b += b[t]
            if not ok:
                continue
            if kind == 3:
                wealth = 1.0
                peak = 1.0
                worst = 0.0
                for t in range(begin, end):
                    wealth *= 1.0 + col[t]
                    peak = wealth if wealth > peak else peak
                    d = (wealth - peak) / peak
                    worst = d if d < worst else worst
                out[i, j] = worst
                continue
            mean = total / window
            if kind == 2:
                mean_b = total_b / window
                cov = 0.0
                var_b = 0.0
                for t in range(begin, end):
                    db = b[t] - mean_b
                    cov += db * col[t]
                    var_b += db * db
                var_b /= window
                if var_b >= 1.0e-30:
                    out[i, j] = cov / window / var_b
                continue
            if window < 2:
                continue
            if lo == hi:  # zero dispersion: no volatility, and no Sharpe ratio
                if kind == 0:
                    out[i, j] = 0.0
                continue
            ss = 0.0
            for t in range(begin, end):
                dv = col[t] - mean
                ss += dv * dv
            std = np.sqrt(ss / (window - 1))
            if kind == 0:
                out[i, j] = std * scale
            else:
                out[i, j] = (mean - rf) / std * scale
    return out
