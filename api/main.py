"""The HTTP API for case managers and registrants (OpenAPI at /openapi.json, docs at /docs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from api.route_starter import RouteStarter
from api.routers import (
    audit,
    auth,
    budget,
    care_plans,
    cases,
    catalogue,
    convening,
    health,
    people,
    pool,
    reference,
    registrations,
    rsvp,
    zorgtafels,
)
from zorgtafel.errors import IdempotencyConflict, NotFound, ValidationFailed
from zorgtafel.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with RouteStarter(get_settings()) as starter:
        app.state.route_starter = starter
        yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="zorgtafel",
        version="0.1.0",
        summary="Werf 2 crisisroute jonge kind: aanmelding, zorgtafel binnen 48 uur, uitnodigingen.",
        lifespan=lifespan,
    )
    for module in (
        health, auth, registrations, cases, zorgtafels, care_plans, budget, catalogue, people, reference,
        rsvp, pool, audit, convening,
    ):  # fmt: skip
        app.include_router(module.router)

    @app.exception_handler(ValidationFailed)
    async def _validation_failed(_: Request, exc: ValidationFailed) -> JSONResponse:
        detail = [{"type": p.code, "loc": ["body", *p.loc], "msg": p.message} for p in exc.problems]
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable_value(_: Request, exc: Exception) -> JSONResponse:
        # A value the database cannot hold (a NUL character, a number out of range) that passed the
        # shape checks: the transaction was rolled back, nothing changed.
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={
                "detail": [
                    {
                        "type": "unstorable_value",
                        "loc": ["request"],
                        "msg": "Een waarde in het verzoek kan niet worden opgeslagen of opgezocht "
                        "(bv. een nul-teken of een getal buiten bereik); er is niets gewijzigd.",
                    }
                ]
            },
        )

    @app.exception_handler(IdempotencyConflict)
    async def _idempotency_conflict(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={
                "detail": [
                    {
                        "type": "idempotency_key_reused",
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "Deze Idempotency-Key werd al gebruikt voor een andere aanmelding.",
                    }
                ]
            },
        )

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_404_NOT_FOUND, content={"detail": "Dossier niet gevonden."}
        )

    return app


app = create_app()
