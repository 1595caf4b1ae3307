"""Templates for the classic strategies: each builds a :class:`StrategySpec` from parameters.

``TEMPLATES`` lists them with their parameters and defaults (the CLI and API show it);
:func:`build_template` builds one, converting and checking parameters (strings from a command
line included) and naming any bad one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from foanalytics.domain.errors import InvalidInputError
from foanalytics.domain.strategy import (
    BBands,
    Compare,
    Direction,
    Highest,
    Lowest,
    Roc,
    Rsi,
    Sma,
    StrategySpec,
    describe_errors,
)

ParamType = Literal["int", "float", "str"]


@dataclass(frozen=True)
class TemplateParam:
    """One parameter of a template."""

    name: str
    type: ParamType
    default: Any
    description: str
    minimum: float | None = None
    choices: tuple[str, ...] = ()

    def convert(self, value: Any, template: str) -> Any:
        """Convert ``value`` (a string from a command line, or a number) to the right type."""
        where = f"{template}: parameter {self.name}={value!r}"
        if self.type == "str":
            text = str(value)
            if self.choices and text not in self.choices:
                raise InvalidInputError(f"{where} must be one of {', '.join(self.choices)}")
            return text
        if isinstance(value, bool):
            raise InvalidInputError(f"{where} must be a number, not a boolean")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where} must be a number") from None
        if self.type == "int":
            if number != int(number):
                raise InvalidInputError(f"{where} must be a whole number")
            number = int(number)
        if self.minimum is not None and number < self.minimum:
            raise InvalidInputError(f"{where} must be at least {self.minimum:g}")
        return number


@dataclass(frozen=True)
class Template:
    """A named strategy family: its parameters and the function that builds its spec."""

    name: str
    description: str
    params: tuple[TemplateParam, ...]
    build: Callable[..., StrategySpec]

    def defaults(self) -> dict[str, Any]:
        """Return the default parameters."""
        return {p.name: p.default for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        """Describe the template as JSON-ready data."""
        return {
            "name": self.name,
            "description": self.description,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "default": p.default,
                    "description": p.description,
                    **({"minimum": p.minimum} if p.minimum is not None else {}),
                    **({"choices": list(p.choices)} if p.choices else {}),
                }
                for p in self.params
            ],
        }


_DIRECTION = TemplateParam(
    "direction", "str", "long", "long, short or both", choices=tuple(d.value for d in Direction)
)


def sma_crossover(fast: int = 10, slow: int = 50, direction: str = "long") -> StrategySpec:
    """Enter when the fast SMA crosses above the slow one; exit when it crosses below.

    Examples
    --------
    >>> sma_crossover(20, 100).entry.op
    'cross_above'
    """
    if fast >= slow:
        raise InvalidInputError(f"sma_crossover: fast ({fast}) must be below slow ({slow})")
    return StrategySpec(
        name=f"sma_crossover({fast},{slow})",
        description=f"SMA({fast}) crossing SMA({slow})",
        indicators=[Sma(name="sma_fast", window=fast), Sma(name="sma_slow", window=slow)],
        entry=Compare(op="cross_above", left="sma_fast", right="sma_slow"),
        exit=Compare(op="cross_below", left="sma_fast", right="sma_slow"),
        direction=Direction(direction),
    )


def rsi_mean_reversion(
    period: int = 14, lower: float = 30.0, upper: float = 70.0, direction: str = "long"
) -> StrategySpec:
    """Enter when RSI(period) is below ``lower``; exit when it is above ``upper``."""
    if not 0 < lower < upper < 100:
        raise InvalidInputError(
            f"rsi_mean_reversion: need 0 < lower ({lower:g}) < upper ({upper:g}) < 100"
        )
    return StrategySpec(
        name=f"rsi_mean_reversion({period},{lower:g},{upper:g})",
        description=f"RSI({period}) below {lower:g} in, above {upper:g} out",
        indicators=[Rsi(name="rsi", window=period)],
        entry=Compare(op="lt", left="rsi", right=lower),
        exit=Compare(op="gt", left="rsi", right=upper),
        direction=Direction(direction),
    )


def bollinger(period: int = 20, k: float = 2.0, direction: str = "long") -> StrategySpec:
    """Enter when the close is below the lower band; exit when it is above the middle band."""
    return StrategySpec(
        name=f"bollinger({period},{k:g})",
        description=f"close below BB({period},{k:g}) lower band in, above the middle out",
        indicators=[BBands(name="bb", window=period, k=k)],
        entry=Compare(op="lt", left="close", right="bb.lower"),
        exit=Compare(op="gt", left="close", right="bb.middle"),
        direction=Direction(direction),
    )


def momentum(lookback: int = 20, threshold: float = 0.0, direction: str = "long") -> StrategySpec:
    """Enter when the rate of change crosses above ``threshold``; exit when it crosses below."""
    return StrategySpec(
        name=f"momentum({lookback},{threshold:g})",
        description=f"ROC({lookback}) crossing {threshold:g}",
        indicators=[Roc(name="roc", window=lookback)],
        entry=Compare(op="cross_above", left="roc", right=threshold),
        exit=Compare(op="cross_below", left="roc", right=threshold),
        direction=Direction(direction),
    )


def donchian_breakout(entry: int = 20, exit: int = 10, direction: str = "long") -> StrategySpec:
    """Enter when the close breaks the previous ``entry``-bar high; exit below the ``exit``-bar low.

    The channels use the bars before the signal bar (``offset=1``), as the breakout rule means.
    """
    return StrategySpec(
        name=f"donchian_breakout({entry},{exit})",
        description=f"close above the prior {entry}-bar high in, below the {exit}-bar low out",
        indicators=[
            Highest(name="upper", window=entry, source="high", offset=1),
            Lowest(name="lower", window=exit, source="low", offset=1),
        ],
        entry=Compare(op="gt", left="close", right="upper"),
        exit=Compare(op="lt", left="close", right="lower"),
        direction=Direction(direction),
    )


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "sma_crossover",
            "Moving-average crossover: long while the fast SMA is above the slow one.",
            (
                TemplateParam("fast", "int", 10, "fast SMA window", minimum=1),
                TemplateParam("slow", "int", 50, "slow SMA window", minimum=2),
                _DIRECTION,
            ),
            sma_crossover,
        ),
        Template(
            "rsi_mean_reversion",
            "RSI mean reversion: buy oversold, sell overbought.",
            (
                TemplateParam("period", "int", 14, "RSI window", minimum=1),
                TemplateParam("lower", "float", 30.0, "oversold level", minimum=0),
                TemplateParam("upper", "float", 70.0, "overbought level", minimum=0),
                _DIRECTION,
            ),
            rsi_mean_reversion,
        ),
        Template(
            "bollinger",
            "Bollinger-band mean reversion: buy below the lower band, sell at the middle.",
            (
                TemplateParam("period", "int", 20, "band window", minimum=1),
                TemplateParam("k", "float", 2.0, "band width in standard deviations", minimum=0),
                _DIRECTION,
            ),
            bollinger,
        ),
        Template(
            "momentum",
            "Time-series momentum: long while the rate of change is above a threshold.",
            (
                TemplateParam("lookback", "int", 20, "rate-of-change window", minimum=1),
                TemplateParam("threshold", "float", 0.0, "rate of change that triggers"),
                _DIRECTION,
            ),
            momentum,
        ),
        Template(
            "donchian_breakout",
            "Donchian breakout: buy a new N-bar high, sell a new M-bar low.",
            (
                TemplateParam("entry", "int", 20, "breakout channel window", minimum=1),
                TemplateParam("exit", "int", 10, "exit channel window", minimum=1),
                _DIRECTION,
            ),
            donchian_breakout,
        ),
    )
}


def build_template(name: str, params: Mapping[str, Any] | None = None) -> StrategySpec:
    """Build the spec of template ``name`` from ``params`` (missing ones take defaults).

    Examples
    --------
    >>> build_template("sma_crossover", {"fast": "5", "slow": 20}).name
    'sma_crossover(5,20)'
    >>> build_template("sma_crossover", {"fats": 5})
    Traceback (most recent call last):
    ...
    foanalytics.domain.errors.InvalidInputError: sma_crossover has no parameter 'fats'...
    """
    template = TEMPLATES.get(name)
    if template is None:
        raise InvalidInputError(
            f"unknown strategy template {name!r}; templates: {', '.join(sorted(TEMPLATES))}"
        )
    given = dict(params or {})
    by_name = {p.name: p for p in template.params}
    for key in given:
        if key not in by_name:
            raise InvalidInputError(
                f"{name} has no parameter {key!r}; parameters: {', '.join(by_name)}"
            )
    values = {p.name: p.convert(given.get(p.name, p.default), name) for p in template.params}
    try:
        return template.build(**values)
    except ValidationError as exc:
        raise InvalidInputError(f"{name}: {describe_errors(exc)}") from None
