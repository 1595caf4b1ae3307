"""The application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routes import data, health
from foanalytics import __version__
from foanalytics.bootstrap import Services


def create_app(services: Services) -> FastAPI:
    """Build the app over ready ``services`` (built by ``foanalytics.build``)."""
    app = FastAPI(title="foanalytics", version=__version__)
    app.state.services = services
    errors.install(app)
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(data.router, prefix="/api/v1")
    return app
