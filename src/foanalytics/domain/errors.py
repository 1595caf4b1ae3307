"""The typed errors of foanalytics: one root, subclasses saying what the caller can do."""

from __future__ import annotations


class FoAnalyticsError(Exception):
    """Root of every error foanalytics raises on purpose."""


class InvalidInputError(FoAnalyticsError, ValueError):
    """The caller passed something the library cannot accept; fix the input and retry."""


class InvalidBarsError(InvalidInputError):
    """A bars frame broke a rule of the bars convention.

    Attributes
    ----------
    column
        The offending column (``"timestamp"`` for index problems).
    rule
        A short name of the rule that failed, such as ``"not_finite"`` or ``"high_below_body"``.
    timestamps
        The first offending timestamps (at most five), as ISO strings.
    count
        How many rows break the rule.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str,
        rule: str,
        timestamps: tuple[str, ...] = (),
        count: int = 0,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.rule = rule
        self.timestamps = timestamps
        self.count = count


class NotFoundError(FoAnalyticsError, LookupError):
    """The thing asked for does not exist (an unknown series key, a missing file)."""


class DataUnavailableError(FoAnalyticsError):
    """A backend holding the data cannot be reached now; retrying later may work."""


class ProviderError(FoAnalyticsError):
    """An external provider (exchange, LLM vendor) failed; the message names the provider."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider


class OptimizationError(FoAnalyticsError):
    """A portfolio problem is infeasible, unbounded or the solvers failed."""


class BacktestError(FoAnalyticsError):
    """A backtest could not run to completion."""
