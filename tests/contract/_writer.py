"""Writer processes for the multi-process ``BarStore`` contract tests (not a test module).

:func:`start_writer` runs :func:`write_bars` in a separate process, forked from a forkserver that
has already imported pandas, pyarrow and the adapters, so each writer starts in milliseconds and
the test can kill it with SIGKILL at any point of a write.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pandas as pd

from foanalytics.domain.market import SeriesKey
from foanalytics.ports.storage import BarStore

TIMEOUT = 60.0


def open_store(args: list[str]) -> BarStore:
    """Open the store that ``StoreAdapter.process_args`` names: its kind, then its arguments."""
    kind, *rest = args
    if kind == "parquet":
        from foanalytics.adapters.storage.parquet import ParquetBarStore, ParquetStoreConfig

        (root,) = rest
        return ParquetBarStore(ParquetStoreConfig(root=root))
    raise ValueError(f"unknown store kind {kind!r}")


def write_bars(
    store_args: list[str],
    jobs: list[tuple[str, str]],
    loop: bool,
    ready: Event,
    go: Event,
    started: Any,
    finished: Any,
) -> None:
    """Write each ``(key, feather file)`` job in order, forever when ``loop``.

    ``started`` and ``finished`` count the writes begun and completed, so the test knows where
    the process was when it killed it. Lock-free shared integers: a writer killed while holding
    a lock would leave the test waiting on it.
    """
    store = open_store(store_args)
    frames = [
        (SeriesKey.parse(k), pd.read_feather(path).set_index("timestamp")) for k, path in jobs
    ]
    ready.set()
    go.wait(TIMEOUT)
    while True:
        for series, frame in frames:
            started.value += 1
            store.write(series, frame)
            finished.value += 1
        if not loop:
            return


def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "foanalytics.adapters.storage.parquet"])
    return context


@dataclass
class Writer:
    """A running :func:`write_bars` process and its shared counters."""

    process: BaseProcess
    ready: Event
    go: Event
    started: Any
    finished: Any

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; fail if the writer dies or time runs out."""
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            if not self.process.is_alive():
                raise AssertionError(f"writer exited ({self.process.exitcode}) before {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"writer did not reach {what} in {TIMEOUT} s")
            time.sleep(0.001)

    def kill(self) -> None:
        """SIGKILL the writer (if alive) and reap it."""
        if self.process.is_alive():
            assert self.process.pid is not None
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(TIMEOUT)

    def join(self) -> int | None:
        """Wait for a ``loop=False`` writer to end; return its exit code."""
        self.process.join(TIMEOUT)
        return self.process.exitcode


def start_writer(
    store_args: list[str], jobs: list[tuple[SeriesKey, Path]], loop: bool, go: Event | None = None
) -> Writer:
    """Start a writer process; it loads its bars, sets ``ready`` and waits for ``go``."""
    context = _context()
    ready, go = context.Event(), go if go is not None else context.Event()
    started, finished = context.RawValue("q", 0), context.RawValue("q", 0)
    process = context.Process(
        target=write_bars,
        args=(store_args, [(str(k), str(p)) for k, p in jobs], loop, ready, go, started, finished),
        daemon=True,
    )
    process.start()
    return Writer(process, ready, go, started, finished)


def new_event() -> Event:
    """An event writers of :func:`start_writer` can share (one ``go`` for all)."""
    return _context().Event()
