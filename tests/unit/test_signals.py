"""Rule evaluation: comparisons, crosses, NaN handling and the boolean combinators."""

from __future__ import annotations

import numpy as np
import pytest

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.signals import evaluate, rule_signals
from foanalytics.domain.strategy import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Not,
    Rsi,
    Sma,
    StrategySpec,
)

NAN = np.nan
VALUES = {
    "a": np.array([1.0, 2.0, 3.0, 2.0, 2.0, 3.0]),
    "b": np.array([2.0, 2.0, 2.0, 2.0, 2.0, 2.0]),
    "w": np.array([NAN, NAN, 1.0, 5.0, NAN, 1.0]),
}


def run(condition: object) -> list[bool]:
    return evaluate(condition, VALUES).tolist()  # type: ignore[arg-type]


def test_gt_and_lt_with_series_and_constants() -> None:
    assert run(Compare(op="gt", left="a", right="b")) == [False, False, True, False, False, True]
    assert run(Compare(op="lt", left="a", right=2)) == [True, False, False, False, False, False]
    assert run(Compare(op="gt", left=2.5, right="a")) == [True, True, False, True, True, False]


def test_cross_above_needs_at_or_below_then_above() -> None:
    # a - b: -1, 0, 1, 0, 0, 1: crosses from "at" count (bar 2 from 0, bar 5 from 0).
    assert run(Compare(op="cross_above", left="a", right="b")) == [
        False, False, True, False, False, True,
    ]  # fmt: skip
    # cross_below: at or above before, below now: never (a never goes below b after bar 0).
    assert run(Compare(op="cross_below", left="a", right="b")) == [False] * 6
    assert run(Compare(op="cross_below", left="a", right=2.5)) == [
        False, False, False, True, False, False,
    ]  # fmt: skip


def test_cross_is_never_true_on_the_first_bar() -> None:
    values = {"x": np.array([5.0, 6.0]), "y": np.array([1.0, 1.0])}
    held = evaluate(Compare(op="cross_above", left="x", right="y"), values)
    assert held.tolist() == [False, False]


def test_nan_operands_are_false() -> None:
    assert run(Compare(op="gt", left="w", right=0)) == [False, False, True, True, False, True]
    assert run(Compare(op="lt", left="w", right=10)) == [False, False, True, True, False, True]
    # The cross on bar 5 reads w[4], which is NaN: false although 1 < 2 after 5 >= 2.
    assert run(Compare(op="cross_below", left="w", right="b")) == [
        False, False, False, False, False, False,
    ]  # fmt: skip
    assert run(Compare(op="cross_above", left="w", right="b")) == [
        False, False, False, True, False, False,
    ]  # fmt: skip


def test_between_is_strict() -> None:
    assert run(Between(value="a", lower=1, upper=3)) == [False, True, False, True, True, False]
    # NaN w (bars 0, 1, 4) is false; bar 3 has w = 5 above a = 2.
    assert run(Between(value="w", lower=0, upper="a")) == [
        False, False, True, False, False, True,
    ]  # fmt: skip


def test_not_is_false_where_its_condition_is_undefined() -> None:
    assert run(Not(condition=Compare(op="gt", left="w", right=2))) == [
        False, False, True, False, False, True,
    ]  # fmt: skip
    assert run(Not(condition=Compare(op="gt", left="a", right="b"))) == [
        True, True, False, True, True, False,
    ]  # fmt: skip


def test_and_or_combine_and_propagate_definedness_to_not() -> None:
    above = Compare(op="gt", left="a", right="b")
    w_small = Compare(op="lt", left="w", right=2)
    assert run(AllOf(conditions=[above, w_small])) == [False, False, True, False, False, True]
    assert run(AnyOf(conditions=[above, w_small])) == [False, False, True, False, False, True]
    # or(undefined, true) holds; not(or(undefined, ...)) never does.
    a_low = Compare(op="lt", left="a", right=1.5)
    assert run(AnyOf(conditions=[w_small, a_low])) == [True, False, True, False, False, True]
    assert run(Not(condition=AnyOf(conditions=[w_small, a_low]))) == [
        False, False, False, True, False, False,
    ]  # fmt: skip
    assert run(Not(condition=Not(condition=w_small))) == run(w_small)


def test_unknown_operand_and_length_mismatch_raise() -> None:
    with pytest.raises(InvalidInputError, match="'zz' has no values"):
        run(Compare(op="gt", left="zz", right=1))
    with pytest.raises(InvalidInputError, match="different lengths"):
        evaluate(
            Compare(op="gt", left="x", right="y"),
            {"x": np.zeros(3), "y": np.zeros(4)},
        )


def test_rule_signals_uses_entry_and_exit() -> None:
    spec = StrategySpec(
        name="t",
        indicators=[Sma(name="m", window=2), Rsi(name="r", window=2)],
        entry=Compare(op="cross_above", left="close", right="m"),
        exit=Compare(op="gt", left="r", right=70),
    )
    values = {
        "close": np.array([1.0, 1.0, 3.0, 2.0]),
        "m": np.array([NAN, 1.0, 2.0, 2.5]),
        "r": np.array([NAN, NAN, 100.0, 60.0]),
    }
    entries, exits = rule_signals(spec, values)
    assert entries.tolist() == [False, False, True, False]
    assert exits.tolist() == [False, False, True, False]
    no_exit = spec.model_copy(update={"exit": None})
    assert rule_signals(no_exit, values)[1].tolist() == [False] * 4


def test_empty_arrays_give_empty_signals() -> None:
    held = evaluate(Compare(op="cross_above", left="x", right=0), {"x": np.empty(0)})
    assert held.shape == (0,)
    assert held.dtype == np.bool_
