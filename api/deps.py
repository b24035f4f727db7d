"""Dependencies shared by the routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from api.rails import RailsService, utc_now


def get_rails(request: Request) -> RailsService:
    service: RailsService = request.app.state.rails
    return service


def get_now(
    request: Request,
    now: Annotated[
        datetime | None,
        Query(description="Compute the rail as of this time (ISO 8601); default: now."),
    ] = None,
) -> datetime:
    return utc_now(request.app.state.settings, now)


Rails = Annotated[RailsService, Depends(get_rails)]
Now = Annotated[datetime, Depends(get_now)]
Limit = Annotated[int, Query(ge=1, le=100, description="Items in the rail (at most 100).")]
