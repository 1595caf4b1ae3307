"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder ``../shared/data``, read in place (never copied into the project).

    Set ``FOANALYTICS_SHARED_DATA`` to read it elsewhere. Missing: a failure under ``CI=true``,
    a skip on a developer's machine.
    """
    path = Path(os.environ.get("FOANALYTICS_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "README.md").is_file():
        message = f"the real data folder {path} is missing (set FOANALYTICS_SHARED_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
