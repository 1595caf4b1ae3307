"""Fixtures of the contract suites; here, the stores the ``BarStore`` suite runs against.

Every entry of :data:`BAR_STORE_ADAPTERS` runs every test in ``test_bar_store.py``. Adding a
backend is one entry there; one whose server runs in a session fixture reads it with
``request.getfixturevalue(...)`` inside its ``make`` function, so the server starts only when
that backend's tests run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from foanalytics.adapters.storage.memory import MemoryBarStore
from foanalytics.adapters.storage.parquet import ParquetBarStore, ParquetStoreConfig
from foanalytics.ports.storage import BarStore

StoreFactory = Callable[[], BarStore]


@dataclass(frozen=True)
class StoreAdapter:
    """One ``BarStore`` implementation under test.

    ``make`` builds a store whose data lives under ``root`` (a fresh, empty directory).
    ``process_args`` gives the arguments with which ``_writer.open_store`` opens the same store
    in another process; ``None`` when no other process can reach it, and then
    ``no_process_reason`` says why the multi-process tests do not apply.
    """

    name: str
    make: Callable[[pytest.FixtureRequest, Path], BarStore]
    process_args: Callable[[Path], list[str]] | None = None
    no_process_reason: str = ""


BAR_STORE_ADAPTERS: tuple[StoreAdapter, ...] = (
    StoreAdapter(
        "memory",
        lambda request, root: MemoryBarStore(),
        no_process_reason="MemoryBarStore lives inside one process: no other process can write "
        "to it, and a killed process leaves nothing behind to check",
    ),
    StoreAdapter(
        "parquet",
        lambda request, root: ParquetBarStore(ParquetStoreConfig(root=str(root))),
        process_args=lambda root: ["parquet", str(root)],
    ),
)


def _params() -> list[object]:
    return [pytest.param(adapter, id=adapter.name) for adapter in BAR_STORE_ADAPTERS]


def _process_params() -> list[object]:
    return [
        pytest.param(
            adapter,
            id=adapter.name,
            marks=()
            if adapter.process_args is not None
            else pytest.mark.skip(reason=adapter.no_process_reason),
        )
        for adapter in BAR_STORE_ADAPTERS
    ]


@pytest.fixture(params=_params())
def store_adapter(request: pytest.FixtureRequest) -> StoreAdapter:
    """Each adapter in turn."""
    value: StoreAdapter = request.param
    return value


@pytest.fixture
def new_bar_store(
    store_adapter: StoreAdapter, request: pytest.FixtureRequest, tmp_path: Path
) -> StoreFactory:
    """Build a fresh, empty store of the adapter under test on each call.

    For tests (such as hypothesis properties) that need many independent stores in one test.
    """
    counter = itertools.count()

    def make() -> BarStore:
        root = tmp_path / f"store-{next(counter)}"
        root.mkdir()
        return store_adapter.make(request, root)

    return make


@pytest.fixture
def bar_store(new_bar_store: StoreFactory) -> BarStore:
    """An empty store of each adapter in turn."""
    return new_bar_store()


@dataclass(frozen=True)
class SharedBarStore:
    """A store that other processes open too, with ``_writer.open_store(open_args)``."""

    store: BarStore
    root: Path
    open_args: list[str]


@pytest.fixture(params=_process_params())
def shared_bar_store(request: pytest.FixtureRequest, tmp_path: Path) -> SharedBarStore:
    """An empty store that separate writer processes reach too (adapters that allow it)."""
    chosen: StoreAdapter = request.param
    assert chosen.process_args is not None
    root = tmp_path / "shared-store"
    root.mkdir()
    return SharedBarStore(chosen.make(request, root), root, chosen.process_args(root))
