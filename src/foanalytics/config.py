"""Settings: one frozen model read from ``FOANALYTICS_*`` environment variables.

Nested settings use ``__``: ``FOANALYTICS_STORAGE__BACKEND=memory``,
``FOANALYTICS_CCXT__TIMEOUT_MS=5000``. Nothing is read at import; :func:`foanalytics.build`
reads them when called without settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Return the per-user data directory, e.g. ``~/.local/share/foanalytics`` on Linux."""
    return Path(platformdirs.user_data_dir("foanalytics", appauthor=False))


class StorageSettings(BaseModel):
    """Which ``BarStore`` holds bars, and its options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["parquet", "memory"] = "parquet"
    compression: str = "lz4"


class SyntheticSettings(BaseModel):
    """Options of the synthetic market-data source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    annual_volatility: float = Field(default=0.6, gt=0)
    annual_drift: float = 0.05


class CcxtSettings(BaseModel):
    """Options of the ccxt market-data source (exchange ids come from each series key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_ms: int = Field(default=10_000, gt=0)
    page_limit: int = Field(default=1000, gt=0)
    max_retries: int = Field(default=5, ge=1)
    retry_wait_max_s: float = Field(default=30.0, gt=0)
    enable_rate_limit: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline on a laptop.

    Examples
    --------
    >>> Settings(data_dir="/tmp/fo").storage.backend
    'parquet'
    """

    model_config = SettingsConfigDict(
        env_prefix="FOANALYTICS_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    storage: StorageSettings = StorageSettings()
    synthetic: SyntheticSettings = SyntheticSettings()
    ccxt: CcxtSettings = CcxtSettings()

    @property
    def bars_dir(self) -> Path:
        """Where the Parquet bar store keeps its series."""
        return self.data_dir / "bars"
