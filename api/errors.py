"""One table from the library's errors to HTTP statuses."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from foanalytics.domain.errors import (
    DataUnavailableError,
    FoAnalyticsError,
    InvalidInputError,
    NotFoundError,
    ProviderError,
)

logger = logging.getLogger("foanalytics.api")

STATUS: tuple[tuple[type[Exception], int], ...] = (
    (InvalidInputError, 422),
    (NotFoundError, 404),
    (ProviderError, 502),
    (DataUnavailableError, 503),
)


def install(app: FastAPI) -> None:
    """Register the handlers: known errors by the table, anything else a 500 with an id."""

    @app.exception_handler(FoAnalyticsError)
    async def _known(request: Request, exc: FoAnalyticsError) -> JSONResponse:
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), None)
        if status is None:
            return await _unexpected(request, exc)
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        correlation = uuid.uuid4().hex
        logger.error("unhandled error %s on %s", correlation, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "InternalError", "detail": "internal error", "correlation_id": correlation},
            500,
        )
