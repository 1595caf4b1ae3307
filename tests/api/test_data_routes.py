"""The HTTP adapter over services built with the in-memory store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api import create_app
from foanalytics import Settings, build
from foanalytics.domain.market import SeriesKey


@pytest.fixture
def client() -> TestClient:
    services = build(Settings(data_dir="/nonexistent", storage={"backend": "memory"}))
    key = SeriesKey.parse("synthetic/BTC/USD/1h")
    services.market_data.ingest("synthetic", key, "2024-01-01", "2024-01-02")
    services.market_data.delete(key, "2024-01-01 05:00", "2024-01-01 07:00")
    return TestClient(create_app(services), raise_server_exceptions=False)


def test_health(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_series_bars_and_gaps(client: TestClient) -> None:
    assert client.get("/api/v1/data/series").json() == [
        {
            "key": "synthetic/BTC/USD/1h",
            "rows": 22,
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-01-01T23:00:00Z",
        }
    ]
    bars = client.get(
        "/api/v1/data/series/synthetic/BTC/USD/1h/bars",
        params={"start": "2024-01-01T00:00:00Z", "timeframe": "4h"},
    ).json()
    assert [b["timestamp"][:13] for b in bars] == [
        "2024-01-01T00",
        "2024-01-01T04",
        "2024-01-01T08",
        "2024-01-01T12",
        "2024-01-01T16",
        "2024-01-01T20",
    ]
    gaps = client.get("/api/v1/data/series/synthetic/BTC/USD/1h/gaps").json()
    assert gaps["count"] == 2
    assert gaps["calendar"] == "weekdays"
    assert gaps["missing"] == [["2024-01-01T05:00:00Z", "2024-01-01T07:00:00Z"]]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/data/series/nope/X/1h/bars", 404),
        ("/api/v1/data/series/nope/X/bars", 422),
        ("/api/v1/data/series/synthetic/BTC/USD/1h/bars?timeframe=7m", 422),
        ("/api/v1/data/series/synthetic/BTC/USD/1h/gaps?calendar=lunar", 422),
    ],
)
def test_errors_map_to_statuses(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert "detail" in response.json()
