"""``StrategySpec``: a trading strategy as data.

A spec names indicators over price fields, an entry and an exit rule built from conditions over
those indicators, price fields and constants, a direction, a sizing rule, optional stops and the
costs. It is what document extractors produce, what the API accepts and what every engine runs;
it is never code. Its JSON Schema (:func:`strategy_json_schema`) is handed to language models.

References in rules are strings: a price field (``close``), an indicator name (``sma_fast``) or
an output of a multi-output indicator (``bb.upper``, ``macd.signal``). Numbers are constants.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from foanalytics.domain.errors import InvalidInputError

PriceField = Literal["open", "high", "low", "close", "volume"]
PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

SPEC_VERSION: Literal[1] = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- indicators --------------------------------------------------------------------------------


class _Indicator(_Frozen):
    name: str = Field(description="How rules refer to this indicator: lower-case, digits, '_'.")
    offset: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Lag in bars: the value of `offset` bars ago (1 = the previous bar).",
    )

    #: The outputs rules may reference as ``name.output``; single-output indicators have none.
    outputs: ClassVar[tuple[str, ...]] = ()

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        raise NotImplementedError


class _Windowed(_Indicator):
    window: int = Field(ge=1, le=10_000, description="Lookback in bars.")
    source: PriceField = "close"

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.window - 1 + self.offset


class Sma(_Windowed):
    """Simple moving average of ``source`` over ``window`` bars."""

    kind: Literal["sma"] = "sma"


class Ema(_Windowed):
    """Exponential moving average (alpha = 2 / (window + 1)), seeded with the first SMA."""

    kind: Literal["ema"] = "ema"


class Wma(_Windowed):
    """Linearly weighted moving average (weights 1..window, newest heaviest)."""

    kind: Literal["wma"] = "wma"


class Rsi(_Windowed):
    """Relative strength index with Wilder smoothing (alpha = 1 / window)."""

    kind: Literal["rsi"] = "rsi"
    window: int = Field(default=14, ge=1, le=10_000)

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.window + self.offset


class Roc(_Windowed):
    """Rate of change: ``source / source[window bars ago] - 1`` (a fraction, not percent)."""

    kind: Literal["roc"] = "roc"

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.window + self.offset


class Momentum(_Windowed):
    """Momentum: ``source - source[window bars ago]``."""

    kind: Literal["momentum"] = "momentum"

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.window + self.offset


class StdDev(_Windowed):
    """Rolling population standard deviation (ddof = 0) of ``source``."""

    kind: Literal["stddev"] = "stddev"


class ZScore(_Windowed):
    """``(source - SMA) / population standard deviation`` over ``window`` bars."""

    kind: Literal["zscore"] = "zscore"


class Highest(_Windowed):
    """Highest ``source`` over the last ``window`` bars (this bar included)."""

    kind: Literal["highest"] = "highest"


class Lowest(_Windowed):
    """Lowest ``source`` over the last ``window`` bars (this bar included)."""

    kind: Literal["lowest"] = "lowest"


class Atr(_Indicator):
    """Average true range with Wilder smoothing, seeded with the SMA of the first true ranges."""

    kind: Literal["atr"] = "atr"
    window: int = Field(default=14, ge=1, le=10_000)

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.window + self.offset


class BBands(_Windowed):
    """Bollinger bands: SMA ``middle`` and ``upper``/``lower`` at ``k`` population std devs."""

    kind: Literal["bbands"] = "bbands"
    window: int = Field(default=20, ge=1, le=10_000)
    k: float = Field(default=2.0, gt=0, le=10)
    outputs: ClassVar[tuple[str, ...]] = ("upper", "middle", "lower")


class Macd(_Indicator):
    """MACD: ``macd`` = EMA(fast) - EMA(slow), ``signal`` = its EMA, ``hist`` the difference."""

    kind: Literal["macd"] = "macd"
    fast: int = Field(default=12, ge=1, le=10_000)
    slow: int = Field(default=26, ge=2, le=10_000)
    signal: int = Field(default=9, ge=1, le=10_000)
    source: PriceField = "close"
    outputs: ClassVar[tuple[str, ...]] = ("macd", "signal", "hist")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Macd:
        if self.fast >= self.slow:
            raise ValueError(f"macd fast ({self.fast}) must be below slow ({self.slow})")
        return self

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.slow + self.signal - 2 + self.offset


class Donchian(_Indicator):
    """Donchian channel: ``upper`` = highest high, ``lower`` = lowest low, ``middle`` between."""

    kind: Literal["donchian"] = "donchian"
    window: int = Field(default=20, ge=1, le=10_000)
    outputs: ClassVar[tuple[str, ...]] = ("upper", "middle", "lower")

    def lookback(self) -> int:
        """Bars needed before the first defined value, offset included."""
        return self.window - 1 + self.offset


Indicator = Annotated[
    Sma
    | Ema
    | Wma
    | Rsi
    | Roc
    | Momentum
    | StdDev
    | ZScore
    | Highest
    | Lowest
    | Atr
    | BBands
    | Macd
    | Donchian,
    Field(discriminator="kind"),
]
INDICATOR_KINDS: tuple[str, ...] = (
    "sma", "ema", "wma", "rsi", "roc", "momentum", "stddev", "zscore", "highest", "lowest",
    "atr", "bbands", "macd", "donchian",
)  # fmt: skip

# -- conditions --------------------------------------------------------------------------------

Operand = str | float


class Compare(_Frozen):
    """``left`` against ``right`` on this bar; crosses compare this bar with the previous one.

    ``cross_above``: left was at or below right on the previous bar and is above it now.
    """

    op: Literal["gt", "lt", "cross_above", "cross_below"]
    left: Operand
    right: Operand


class Between(_Frozen):
    """``lower < value < upper`` on this bar."""

    op: Literal["between"] = "between"
    value: Operand
    lower: Operand
    upper: Operand


class AllOf(_Frozen):
    """Every condition holds."""

    op: Literal["and"] = "and"
    conditions: list[Condition] = Field(min_length=1)


class AnyOf(_Frozen):
    """At least one condition holds."""

    op: Literal["or"] = "or"
    conditions: list[Condition] = Field(min_length=1)


class Not(_Frozen):
    """The condition does not hold."""

    op: Literal["not"] = "not"
    condition: Condition


Condition = Annotated[Compare | Between | AllOf | AnyOf | Not, Field(discriminator="op")]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


def operands(condition: Compare | Between | AllOf | AnyOf | Not) -> list[Operand]:
    """Return every operand a condition refers to, depth first."""
    if isinstance(condition, Compare):
        return [condition.left, condition.right]
    if isinstance(condition, Between):
        return [condition.value, condition.lower, condition.upper]
    if isinstance(condition, Not):
        return operands(condition.condition)
    return [o for c in condition.conditions for o in operands(c)]


# -- sizing, stops, costs ----------------------------------------------------------------------


class Direction(StrEnum):
    """Which side the strategy trades.

    ``long``: entry opens a long, exit closes it. ``short``: entry opens a short, exit closes
    it. ``both``: entry goes long and exit goes short, each reversing the other (always in the
    market after the first signal).
    """

    LONG = "long"
    SHORT = "short"
    BOTH = "both"


class FractionOfEquity(_Frozen):
    """Trade ``fraction`` of the equity at the signal bar's close, priced at that close."""

    method: Literal["fraction"] = "fraction"
    fraction: float = Field(default=1.0, gt=0, le=1)


class FixedUnits(_Frozen):
    """Trade a fixed number of units."""

    method: Literal["units"] = "units"
    units: float = Field(gt=0)


class TargetVolatility(_Frozen):
    """Scale the position so its annualised volatility is ``target``.

    The exposure is ``target / realised volatility`` of close-to-close returns over ``window``
    bars (population std, annualised by the engine's periods per year), capped at
    ``max_leverage`` times equity.
    """

    method: Literal["target_volatility"] = "target_volatility"
    target: float = Field(gt=0, le=5)
    window: int = Field(default=20, ge=2, le=10_000)
    max_leverage: float = Field(default=1.0, gt=0, le=10)


Sizing = Annotated[FractionOfEquity | FixedUnits | TargetVolatility, Field(discriminator="method")]


class Costs(_Frozen):
    """Trading costs charged on every fill."""

    commission: float = Field(default=0.0, ge=0, lt=0.1, description="Fraction of notional.")
    slippage_bps: float = Field(default=0.0, ge=0, le=1000, description="Against the trader.")


class StrategySpec(_Frozen):
    """A whole strategy as data.

    Examples
    --------
    >>> spec = StrategySpec(
    ...     name="golden cross",
    ...     indicators=[Sma(name="fast", window=50), Sma(name="slow", window=200)],
    ...     entry=Compare(op="cross_above", left="fast", right="slow"),
    ...     exit=Compare(op="cross_below", left="fast", right="slow"),
    ... )
    >>> spec.lookback()
    199
    >>> StrategySpec.from_json(spec.to_json()) == spec
    True
    """

    version: Literal[1] = SPEC_VERSION
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    indicators: list[Indicator] = Field(default_factory=list, max_length=100)
    entry: Condition
    exit: Condition | None = None
    direction: Direction = Direction.LONG
    sizing: Sizing = Field(default_factory=FractionOfEquity)
    integer_units: bool = Field(default=False, description="Round sizes down to whole units.")
    stop_loss: float | None = Field(default=None, gt=0, lt=1, description="Fraction of entry.")
    take_profit: float | None = Field(default=None, gt=0, le=100, description="Fraction.")
    trailing_stop: float | None = Field(default=None, gt=0, lt=1, description="Fraction.")
    costs: Costs = Field(default_factory=Costs)
    initial_cash: float = Field(default=100_000.0, gt=0, le=1e15)

    @model_validator(mode="after")
    def _references_resolve(self) -> StrategySpec:
        known: dict[str, tuple[str, ...]] = {}
        for i, indicator in enumerate(self.indicators):
            where = f"indicators[{i}].name"
            if not _NAME.match(indicator.name):
                raise ValueError(
                    f"{where}: {indicator.name!r} must be lower-case letters, digits and '_'"
                )
            if indicator.name in PRICE_FIELDS:
                raise ValueError(f"{where}: {indicator.name!r} is a price field name")
            if indicator.name in known:
                raise ValueError(f"{where}: {indicator.name!r} is defined twice")
            known[indicator.name] = indicator.outputs
        rules = [("entry", self.entry)] + ([("exit", self.exit)] if self.exit else [])
        for rule, condition in rules:
            for operand in operands(condition):
                _check_operand(operand, known, rule)
            for lower, upper in _constant_ranges(condition):
                if lower >= upper:
                    raise ValueError(
                        f"{rule}: between({lower}, {upper}) can never be true (lower >= upper)"
                    )
        return self

    def lookback(self) -> int:
        """Bars before every indicator is defined: the warm-up the data must exceed."""
        windows = [i.lookback() for i in self.indicators]
        if isinstance(self.sizing, TargetVolatility):
            windows.append(self.sizing.window)
        return max(windows, default=0)

    def indicator(self, name: str) -> Indicator:
        """Return the indicator called ``name``."""
        for indicator in self.indicators:
            if indicator.name == name:
                return indicator
        raise InvalidInputError(f"strategy {self.name!r} has no indicator {name!r}")

    def to_json(self) -> str:
        """Return the stable JSON form: sorted keys, defaults included."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> StrategySpec:
        """Parse and validate a spec; :class:`InvalidInputError` names what is wrong."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid strategy spec: {describe_errors(exc)}") from None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> StrategySpec:
        """Validate a spec from a dict; :class:`InvalidInputError` names what is wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid strategy spec: {describe_errors(exc)}") from None


def _check_operand(operand: Operand, known: dict[str, tuple[str, ...]], rule: str) -> None:
    if not isinstance(operand, str):
        return
    if operand in PRICE_FIELDS:
        return
    name, _, output = operand.partition(".")
    if name not in known:
        defined = ", ".join(list(known) + list(PRICE_FIELDS))
        raise ValueError(f"{rule}: {operand!r} is not defined (known: {defined})")
    outputs = known[name]
    if outputs and not output:
        raise ValueError(
            f"{rule}: {operand!r} has several outputs; use one of "
            + ", ".join(f"{name}.{o}" for o in outputs)
        )
    if output and output not in outputs:
        choices = ", ".join(f"{name}.{o}" for o in outputs) or f"{name} (one output)"
        raise ValueError(f"{rule}: {operand!r} is not an output; use {choices}")


def _constant_ranges(
    condition: Compare | Between | AllOf | AnyOf | Not,
) -> list[tuple[float, float]]:
    if isinstance(condition, Between):
        if not isinstance(condition.lower, str) and not isinstance(condition.upper, str):
            return [(float(condition.lower), float(condition.upper))]
        return []
    if isinstance(condition, Not):
        return _constant_ranges(condition.condition)
    if isinstance(condition, AllOf | AnyOf):
        return [r for c in condition.conditions for r in _constant_ranges(c)]
    return []


def check_lookback(spec: StrategySpec, n_bars: int) -> None:
    """Raise :class:`InvalidInputError` unless ``n_bars`` covers ``spec``'s warm-up plus two bars.

    The message names the indicator (or the sizing window) whose warm-up is the longest.

    Examples
    --------
    >>> from foanalytics.domain.templates import sma_crossover
    >>> check_lookback(sma_crossover(10, 50), 40)
    Traceback (most recent call last):
    ...
    foanalytics.domain.errors.InvalidInputError: 40 bars are too few for ...
    """
    lookback = spec.lookback()
    if n_bars >= lookback + 2:
        return
    culprit = "its rules"
    for indicator in spec.indicators:
        if indicator.lookback() == lookback:
            culprit = f"indicator {indicator.name!r} ({indicator.kind}, warm-up {lookback} bars)"
            break
    else:
        if isinstance(spec.sizing, TargetVolatility) and spec.sizing.window == lookback:
            culprit = f"the target-volatility window ({lookback} bars)"
    raise InvalidInputError(
        f"{n_bars} bars are too few for {spec.name!r}: {culprit} needs at least "
        f"{lookback + 2} bars (the warm-up, one signal bar and one fill bar); pass more bars "
        "or shorten the window"
    )


def describe_errors(exc: ValidationError) -> str:
    """Summarise pydantic errors as ``field.path: message`` pairs."""
    parts = []
    for error in exc.errors()[:5]:
        path = ".".join(str(p) for p in error["loc"]) or "spec"
        parts.append(f"{path}: {error['msg']}")
    more = f" (and {len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return "; ".join(parts) + more


def strategy_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of :class:`StrategySpec` (the tool input schema for LLMs)."""
    return StrategySpec.model_json_schema()
