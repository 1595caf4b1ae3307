"""Evaluate a strategy's entry and exit rules into boolean arrays, one value per bar.

The rules of a :class:`~foanalytics.domain.strategy.StrategySpec` are trees of conditions over
named series: the price fields, the indicators (``sma_fast``) and their outputs (``bb.upper``),
as :func:`foanalytics.domain.indicators.compute_indicators` returns them, and constants. A
condition is evaluated on every bar at once with numpy.

Semantics, shared by every engine:

- ``gt``/``lt``: ``left > right`` / ``left < right`` on this bar.
- ``cross_above``: ``left[t-1] <= right[t-1]`` and ``left[t] > right[t]``; ``cross_below``:
  ``left[t-1] >= right[t-1]`` and ``left[t] < right[t]``. Never true on the first bar.
- ``between``: ``lower < value < upper`` on this bar.
- A comparison with a NaN operand (an indicator still warming up) is false. A comparison is
  *defined* on a bar when none of the values it reads there is NaN (for a cross, on this bar
  and the previous one); ``and``/``or`` are defined when all their conditions are.
- ``not`` is true only where its condition is false *and defined*: ``not (rsi > 70)`` is false,
  not true, while the RSI is still warming up, so no rule fires on missing data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.strategy import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Condition,
    Not,
    Operand,
    StrategySpec,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def evaluate(condition: Condition, values: Mapping[str, FloatArray]) -> BoolArray:
    """Return where ``condition`` holds, one boolean per bar.

    Parameters
    ----------
    condition
        A condition tree of a strategy spec.
    values
        Named float arrays of equal length (price fields, indicators, ``name.output``).

    Examples
    --------
    >>> fast = np.array([1.0, 2.0, 3.0, 2.0])
    >>> slow = np.array([np.nan, 2.5, 2.5, 2.5])
    >>> up = Compare(op="cross_above", left="fast", right="slow")
    >>> evaluate(up, {"fast": fast, "slow": slow}).tolist()
    [False, False, True, False]
    >>> evaluate(Not(condition=Compare(op="gt", left="slow", right=2.0)),
    ...          {"slow": slow}).tolist()
    [False, False, False, False]
    """
    n = _length(values)
    held, _ = _evaluate(condition, values, n)
    return held


def rule_signals(
    spec: StrategySpec, values: Mapping[str, FloatArray]
) -> tuple[BoolArray, BoolArray]:
    """Return the entry and exit signals of ``spec`` (no exit rule: exits are all false).

    Examples
    --------
    >>> from foanalytics.domain.templates import rsi_mean_reversion
    >>> entries, exits = rule_signals(
    ...     rsi_mean_reversion(14, 30, 70), {"rsi": np.array([np.nan, 25.0, 50.0, 75.0])})
    >>> entries.tolist(), exits.tolist()
    ([False, True, False, False], [False, False, False, True])
    """
    n = _length(values)
    entries = evaluate(spec.entry, values)
    exits = evaluate(spec.exit, values) if spec.exit is not None else np.zeros(n, dtype=np.bool_)
    return entries, exits


def _length(values: Mapping[str, FloatArray]) -> int:
    lengths = {len(v) for v in values.values()}
    if len(lengths) > 1:
        raise InvalidInputError(
            f"signal inputs have different lengths {sorted(lengths)}; align them to the bars"
        )
    return lengths.pop() if lengths else 0


def _series(operand: Operand, values: Mapping[str, FloatArray], n: int) -> FloatArray:
    if isinstance(operand, str):
        series = values.get(operand)
        if series is None:
            known = ", ".join(sorted(values)) or "none"
            raise InvalidInputError(f"rule operand {operand!r} has no values (known: {known})")
        return np.asarray(series, dtype=np.float64)
    return np.full(n, float(operand))


def _previous(series: FloatArray) -> FloatArray:
    shifted = np.empty_like(series)
    if len(series):
        shifted[0] = np.nan
        shifted[1:] = series[:-1]
    return shifted


def _evaluate(
    condition: Condition, values: Mapping[str, FloatArray], n: int
) -> tuple[BoolArray, BoolArray]:
    """Return ``(holds, defined)`` for every bar."""
    if isinstance(condition, Compare):
        left = _series(condition.left, values, n)
        right = _series(condition.right, values, n)
        defined = ~(np.isnan(left) | np.isnan(right))
        # NaN compares false, so the comparisons below are already false where undefined.
        if condition.op == "gt":
            return left > right, defined
        if condition.op == "lt":
            return left < right, defined
        left_prev, right_prev = _previous(left), _previous(right)
        defined &= ~(np.isnan(left_prev) | np.isnan(right_prev))
        if condition.op == "cross_above":
            return (left_prev <= right_prev) & (left > right), defined
        return (left_prev >= right_prev) & (left < right), defined
    if isinstance(condition, Between):
        value = _series(condition.value, values, n)
        lower = _series(condition.lower, values, n)
        upper = _series(condition.upper, values, n)
        defined = ~(np.isnan(value) | np.isnan(lower) | np.isnan(upper))
        return (lower < value) & (value < upper), defined
    if isinstance(condition, Not):
        held, defined = _evaluate(condition.condition, values, n)
        return ~held & defined, defined
    parts = [_evaluate(c, values, n) for c in condition.conditions]
    defined = np.logical_and.reduce([d for _, d in parts])
    if isinstance(condition, AllOf):
        return np.logical_and.reduce([h for h, _ in parts]), defined
    assert isinstance(condition, AnyOf)
    return np.logical_or.reduce([h for h, _ in parts]), defined
