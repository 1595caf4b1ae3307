"""The composition root and settings: lazy, override-able, no global state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from foanalytics import Settings, build
from foanalytics.adapters.storage.memory import MemoryBarStore
from foanalytics.adapters.storage.parquet import ParquetBarStore
from foanalytics.domain.errors import InvalidInputError


def test_import_builds_nothing_and_imports_no_adapter() -> None:
    code = (
        "import sys, foanalytics\n"
        "heavy = [m for m in sys.modules if m.startswith(('foanalytics.bootstrap', "
        "'foanalytics.adapters', 'pandas', 'pyarrow', 'ccxt'))]\n"
        "assert heavy == [], heavy\n"
        "foanalytics.build\n"
        "assert 'ccxt' not in sys.modules\n"
        "assert 'foanalytics.adapters.storage.parquet' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOANALYTICS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FOANALYTICS_STORAGE__BACKEND", "memory")
    monkeypatch.setenv("FOANALYTICS_SYNTHETIC__SEED", "11")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.storage.backend == "memory"
    assert settings.synthetic.seed == 11
    assert isinstance(build().bar_store, MemoryBarStore)


def test_default_is_parquet_under_the_data_dir(tmp_path: Path) -> None:
    services = build(Settings(data_dir=tmp_path))
    assert isinstance(services.bar_store, ParquetBarStore)
    assert services.settings.bars_dir == tmp_path / "bars"


def test_overrides_replace_adapters_and_sources(tmp_path: Path) -> None:
    store = MemoryBarStore()
    fake = build(Settings(data_dir=tmp_path)).sources["synthetic"]
    services = build(Settings(data_dir=tmp_path), bar_store=store, sources={"mine": fake})
    assert services.bar_store is store
    assert services.market_data.source_names == ["ccxt", "mine", "synthetic"]
    assert services.market_data.source("mine") is fake


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"store": 1}, "unknown override"), ({"bar_stor": 1}, "bar_store, sources or engines")],
)
def test_unknown_overrides_are_refused(kwargs, words) -> None:
    with pytest.raises(InvalidInputError, match=words):
        build(Settings(data_dir="/tmp/x"), **kwargs)


@pytest.mark.parametrize(
    "env", [{"FOANALYTICS_STORAGE__BACKEND": "floppy"}, {"FOANALYTICS_SYNTHETIC__SEEED": "1"}]
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=r"storage|synthetic"):
        Settings()
