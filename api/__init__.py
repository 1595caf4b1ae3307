"""The HTTP adapter: ``create_app(services)`` builds a FastAPI app over the services.

Nothing is built at import. Routes validate a request model, call one service and map the
result to a response model; errors map to statuses in one table (:mod:`api.errors`).
"""

from api.app import create_app

__all__ = ["create_app"]
