"""The numba kernel of the native engine: one pass over the bars, arrays in and arrays out.

:func:`simulate_nb` holds every path-dependent part of a backtest (position, cash, market
fills, stops, sizing, trade records); :mod:`foanalytics.adapters.engines.native` wraps it with
typed inputs and a :class:`~foanalytics.domain.backtest.BacktestResult`. The rules it follows
are listed in the module docstring of ``native``; fill, stop and commission prices are written
with backtrader's arithmetic (``stop - stop * trail``, ``|units| * commission * price``...), so
the two engines agree to rounding (backtrader averages fill prices, which costs it an ulp).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: ``direction`` codes.
LONG, SHORT, BOTH = 0, 1, 2
#: ``sizing`` codes.
FRACTION, UNITS, TARGET_VOLATILITY = 0, 1, 2
#: Trade exit-reason codes; ``EXIT_REASONS[code]`` is the name in the trades frame.
SIGNAL, STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, OPEN = 0, 1, 2, 3, 4
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "open")


@njit(cache=True)
def _slip_up_nb(price: float, cap: float, slippage: float) -> float:
    """Return ``price`` moved up by ``slippage``, never above ``cap`` (a buy's fill)."""
    if slippage == 0.0:
        return price
    slipped = price * (1.0 + slippage)
    return slipped if slipped <= cap else cap


@njit(cache=True)
def _slip_down_nb(price: float, floor: float, slippage: float) -> float:
    """Return ``price`` moved down by ``slippage``, never below ``floor`` (a sell's fill)."""
    if slippage == 0.0:
        return price
    slipped = price * (1.0 - slippage)
    return slipped if slipped >= floor else floor


@njit(cache=True)
def target_size_nb(
    close: np.ndarray,
    t: int,
    equity: float,
    sizing: int,
    amount: float,
    vol_window: int,
    max_leverage: float,
    periods_per_year: float,
    integer_units: bool,
) -> float:
    """Return the unsigned size to trade on a signal at bar ``t`` (0 when none can be traded).

    ``amount`` is the fraction of equity, the units or the volatility target, by ``sizing``.
    """
    price = close[t]
    if sizing == FRACTION:
        size = amount * equity / price
    elif sizing == UNITS:
        size = amount
    else:
        if t < vol_window:
            return 0.0
        total = 0.0
        for k in range(t - vol_window + 1, t + 1):
            total += close[k] / close[k - 1] - 1.0
        mean = total / vol_window
        squares = 0.0
        for k in range(t - vol_window + 1, t + 1):
            deviation = close[k] / close[k - 1] - 1.0 - mean
            squares += deviation * deviation
        vol = math.sqrt(squares / vol_window) * math.sqrt(periods_per_year)
        leverage = max_leverage
        if vol > 0.0 and amount / vol < max_leverage:
            leverage = amount / vol
        size = leverage * equity / price
    if integer_units:
        size = math.floor(size)
    if not size > 0.0 or not math.isfinite(size):
        return 0.0
    return float(size)


@njit(cache=True)
def simulate_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    direction: int,
    sizing: int,
    amount: float,
    vol_window: int,
    max_leverage: float,
    periods_per_year: float,
    integer_units: bool,
    stop_loss: float,
    take_profit: float,
    trailing_stop: float,
    commission: float,
    slippage: float,
    initial_cash: float,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:
    """Run one backtest over arrays.

    Stops are fractions of the entry fill price (0 disables one); ``slippage`` is a fraction
    (bps / 10,000). Returns ``equity`` and ``positions`` by bar, then the trades as arrays:
    entry and exit bar indices, entry and exit prices, signed sizes, pnl net of commissions
    and exit-reason codes (:data:`EXIT_REASONS`).
    """
    n = len(close)
    equity = np.empty(n)
    positions = np.empty(n)
    # At most one trade opens per bar, so n bounds the trade count.
    t_entry = np.empty(n, dtype=np.int64)
    t_exit = np.empty(n, dtype=np.int64)
    t_entry_price = np.empty(n)
    t_exit_price = np.empty(n)
    t_size = np.empty(n)
    t_pnl = np.empty(n)
    t_reason = np.empty(n, dtype=np.int8)
    count = 0

    cash = initial_cash
    pos = 0.0
    pending = False  # a market order submitted at the previous close
    order = 0.0  # its signed units
    entry_bar = -1
    entry_price = 0.0
    entry_comm = 0.0
    stops = False  # stops of the open position are working
    stop_px = 0.0
    trail_px = 0.0
    take_px = 0.0

    for i in range(n):
        o, h, lo, c = open_[i], high[i], low[i], close[i]
        if pending:
            pending = False
            px = _slip_up_nb(o, h, slippage) if order > 0.0 else _slip_down_nb(o, lo, slippage)
            new_pos = pos + order
            if pos != 0.0:
                exit_comm = abs(pos) * commission * px
                t_entry[count] = entry_bar
                t_exit[count] = i
                t_entry_price[count] = entry_price
                t_exit_price[count] = px
                t_size[count] = pos
                t_pnl[count] = pos * (px - entry_price) - (entry_comm + exit_comm)
                t_reason[count] = SIGNAL
                count += 1
                cash += pos * px - exit_comm
            if new_pos != 0.0:
                entry_comm = abs(new_pos) * commission * px
                cash -= new_pos * px + entry_comm
                entry_bar = i
                entry_price = px
                stops = stop_loss > 0.0 or take_profit > 0.0 or trailing_stop > 0.0
                if new_pos > 0.0:
                    stop_px = px * (1.0 - stop_loss)
                    take_px = px * (1.0 + take_profit)
                    ref = px if px >= c else c
                    trail_px = ref - ref * trailing_stop
                else:
                    stop_px = px * (1.0 + stop_loss)
                    take_px = px * (1.0 - take_profit)
                    ref = px if px <= c else c
                    trail_px = ref + ref * trailing_stop
            pos = new_pos
        elif stops and i > entry_bar:
            # Working orders in the order they were placed: stop loss, trailing stop, take
            # profit. The first to trigger fills and cancels the others.
            reason = -1
            px = 0.0
            if pos > 0.0:
                if stop_loss > 0.0:
                    if o <= stop_px:
                        reason, px = STOP_LOSS, _slip_down_nb(o, lo, slippage)
                    elif lo <= stop_px:
                        reason, px = STOP_LOSS, _slip_down_nb(stop_px, lo, slippage)
                if reason < 0 and trailing_stop > 0.0:
                    if o <= trail_px:
                        reason, px = TRAILING_STOP, _slip_down_nb(o, lo, slippage)
                    elif lo <= trail_px:
                        reason, px = TRAILING_STOP, _slip_down_nb(trail_px, lo, slippage)
                    else:
                        candidate = c - c * trailing_stop
                        if candidate > trail_px:
                            trail_px = candidate
                if reason < 0 and take_profit > 0.0:
                    if o >= take_px:
                        floor = take_px if take_px >= lo else lo
                        reason, px = TAKE_PROFIT, _slip_down_nb(o, floor, slippage)
                    elif h >= take_px:
                        reason, px = TAKE_PROFIT, take_px
            else:
                if stop_loss > 0.0:
                    if o >= stop_px:
                        reason, px = STOP_LOSS, _slip_up_nb(o, h, slippage)
                    elif h >= stop_px:
                        reason, px = STOP_LOSS, _slip_up_nb(stop_px, h, slippage)
                if reason < 0 and trailing_stop > 0.0:
                    if o >= trail_px:
                        reason, px = TRAILING_STOP, _slip_up_nb(o, h, slippage)
                    elif h >= trail_px:
                        reason, px = TRAILING_STOP, _slip_up_nb(trail_px, h, slippage)
                    else:
                        candidate = c + c * trailing_stop
                        if candidate < trail_px:
                            trail_px = candidate
                if reason < 0 and take_profit > 0.0:
                    if o <= take_px:
                        cap = take_px if take_px <= h else h
                        reason, px = TAKE_PROFIT, _slip_up_nb(o, cap, slippage)
                    elif lo <= take_px:
                        reason, px = TAKE_PROFIT, take_px
            if reason >= 0:
                exit_comm = abs(pos) * commission * px
                t_entry[count] = entry_bar
                t_exit[count] = i
                t_entry_price[count] = entry_price
                t_exit_price[count] = px
                t_size[count] = pos
                t_pnl[count] = pos * (px - entry_price) - (entry_comm + exit_comm)
                t_reason[count] = reason
                count += 1
                cash += pos * px - exit_comm
                pos = 0.0
                stops = False

        value = cash + pos * c
        equity[i] = value
        positions[i] = pos

        if i == n - 1:
            break
        # Signals on this close become market orders for the next open.
        target = 0.0
        act = False
        if direction == LONG:
            if pos == 0.0 and entries[i]:
                act, target = True, 1.0
            elif pos > 0.0 and exits[i]:
                act, target = True, 0.0
        elif direction == SHORT:
            if pos == 0.0 and entries[i]:
                act, target = True, -1.0
            elif pos < 0.0 and exits[i]:
                act, target = True, 0.0
        elif pos > 0.0:
            if exits[i]:
                act, target = True, -1.0
        elif pos < 0.0:
            if entries[i]:
                act, target = True, 1.0
        elif entries[i]:
            act, target = True, 1.0
        elif exits[i]:
            act, target = True, -1.0
        if not act:
            continue
        size = 0.0
        if target != 0.0:
            size = target_size_nb(
                close,
                i,
                value,
                sizing,
                amount,
                vol_window,
                max_leverage,
                periods_per_year,
                integer_units,
            )
            if size == 0.0 and pos == 0.0:
                continue
        # Closing (and reversing) cancels the working stops of the position.
        stops = False
        if target > 0.0:
            order = abs(pos) + size
        elif target < 0.0:
            order = -(abs(pos) + size)
        else:
            order = -pos
        pending = True

    if pos != 0.0:
        c = close[n - 1]
        t_entry[count] = entry_bar
        t_exit[count] = n - 1
        t_entry_price[count] = entry_price
        t_exit_price[count] = c
        t_size[count] = pos
        t_pnl[count] = pos * (c - entry_price) - entry_comm
        t_reason[count] = OPEN
        count += 1

    return (
        equity,
        positions,
        t_entry[:count],
        t_exit[:count],
        t_entry_price[:count],
        t_exit_price[:count],
        t_size[:count],
        t_pnl[:count],
        t_reason[:count],
    )
