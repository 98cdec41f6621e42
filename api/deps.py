"""Annotated dependencies, as in FastAPI's full-stack template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.route_starter import RouteStarter
from zorgtafel.db.session import session_factory
from zorgtafel.settings import Settings, get_settings


def get_session() -> Iterator[Session]:
    with session_factory()() as session:
        yield session


def get_route_starter(request: Request) -> RouteStarter:
    return request.app.state.route_starter


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RouteStarterDep = Annotated[RouteStarter, Depends(get_route_starter)]
