"""A writer process for the multi-process ``BarStore`` contract tests (not a test module).

Usage::

    python _writer.py STORE_KIND STORE_ARG... -- once|loop KEY BARS.feather [KEY BARS.feather]...

It opens the store, loads the bar files, prints ``ready`` and waits for a line on stdin; then it
writes each file to the key before it, in order (over and over with ``loop``), printing
``writing N`` before and ``wrote N`` after write number ``N``, and ``done`` at the end of a
``once`` run. The test reads those lines to know where the process was when it was killed.
"""

from __future__ import annotations

import sys

import pandas as pd

from foanalytics.domain.market import SeriesKey
from foanalytics.ports.storage import BarStore


def open_store(kind: str, args: list[str]) -> BarStore:
    """Open the store a test named with ``Adapter.process_args``."""
    if kind == "parquet":
        from foanalytics.adapters.storage.parquet import ParquetBarStore, ParquetStoreConfig

        (root,) = args
        return ParquetBarStore(ParquetStoreConfig(root=root))
    raise SystemExit(f"unknown store kind {kind!r}")


def main(argv: list[str]) -> None:
    """Run one writer."""
    split = argv.index("--")
    store = open_store(argv[0], argv[1:split])
    loop = argv[split + 1] == "loop"
    pairs = argv[split + 2 :]
    jobs = [
        (SeriesKey.parse(key), pd.read_feather(path).set_index("timestamp"))
        for key, path in zip(pairs[::2], pairs[1::2], strict=True)
    ]
    print("ready", flush=True)
    sys.stdin.readline()
    count = 0
    while True:
        for key, frame in jobs:
            print(f"writing {count}", flush=True)
            store.write(key, frame)
            print(f"wrote {count}", flush=True)
            count += 1
        if not loop:
            break
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
