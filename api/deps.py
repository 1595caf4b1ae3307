"""Dependencies: how routes reach the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from foanalytics.bootstrap import Services
from foanalytics.services.market_data import MarketDataService


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _market_data(request: Request) -> MarketDataService:
    return _services(request).market_data


MarketData = Annotated[MarketDataService, Depends(_market_data)]
