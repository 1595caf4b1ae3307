"""The adapters the ``BarStore`` contract suite runs against.

Every entry of :data:`ADAPTERS` runs every test in ``test_bar_store.py``. Adding a backend is one
line here; an adapter whose server runs in a session fixture reads it with
``request.getfixturevalue(...)`` inside its ``make`` function, so the server starts only when
that adapter's tests run.
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
class Adapter:
    """One ``BarStore`` implementation under test.

    ``make`` builds a store whose data lives under ``root`` (a fresh, empty directory).
    ``process_args`` gives the arguments with which ``_writer.py`` opens the same store from
    another process; ``None`` when no other process can reach it, and then ``no_process_reason``
    says why the multi-process tests do not apply.
    """

    name: str
    make: Callable[[pytest.FixtureRequest, Path], BarStore]
    process_args: Callable[[Path], list[str]] | None = None
    no_process_reason: str = ""


ADAPTERS: tuple[Adapter, ...] = (
    Adapter(
        "memory",
        lambda request, root: MemoryBarStore(),
        no_process_reason="MemoryBarStore lives inside one process: no other process can write "
        "to it, and a killed process leaves nothing behind to check",
    ),
    Adapter(
        "parquet",
        lambda request, root: ParquetBarStore(ParquetStoreConfig(root=str(root))),
        process_args=lambda root: ["parquet", str(root)],
    ),
)


def _params() -> list[object]:
    return [pytest.param(adapter, id=adapter.name) for adapter in ADAPTERS]


def _process_params() -> list[object]:
    return [
        pytest.param(
            adapter,
            id=adapter.name,
            marks=()
            if adapter.process_args is not None
            else pytest.mark.skip(reason=adapter.no_process_reason),
        )
        for adapter in ADAPTERS
    ]


@pytest.fixture(params=_params())
def adapter(request: pytest.FixtureRequest) -> Adapter:
    """Each adapter in turn."""
    value: Adapter = request.param
    return value


@pytest.fixture
def new_store(adapter: Adapter, request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Build a fresh, empty store of the adapter under test on each call.

    For tests (such as hypothesis properties) that need many independent stores in one test.
    """
    counter = itertools.count()

    def make() -> BarStore:
        root = tmp_path / f"store-{next(counter)}"
        root.mkdir()
        return adapter.make(request, root)

    return make


@pytest.fixture
def bar_store(new_store: StoreFactory) -> BarStore:
    """An empty store of each adapter in turn."""
    return new_store()


@dataclass(frozen=True)
class SharedStore:
    """A store that other processes can open too: ``argv`` is what ``_writer.py`` needs."""

    store: BarStore
    root: Path
    argv: list[str]


@pytest.fixture(params=_process_params())
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> SharedStore:
    """An empty store that separate writer processes reach too (adapters that allow it)."""
    chosen: Adapter = request.param
    assert chosen.process_args is not None
    root = tmp_path / "shared-store"
    root.mkdir()
    return SharedStore(chosen.make(request, root), root, chosen.process_args(root))
