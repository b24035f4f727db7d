"""Dependencies shared by the routers (``async``: FastAPI runs a plain ``def`` dependency
in a worker thread, a hop per dependency and request)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from api.rails import RailsService, utc_now


async def get_rails(request: Request) -> RailsService:
    service: RailsService = request.app.state.rails
    return service


async def get_now(
    request: Request,
    now: Annotated[
        datetime | None,
        Query(
            description="Compute the rail as of this time (ISO 8601; without an offset, "
            "UTC); default: now."
        ),
    ] = None,
) -> datetime:
    return utc_now(request.app.state.settings, now)


MAX_LIMIT = 100
"""Items in one rail at most (``GRAPHRAILS_RAIL_SIZE`` has the same bound)."""


async def get_limit(
    request: Request,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_LIMIT,
              description="Items in the rail (at most 100); default: GRAPHRAILS_RAIL_SIZE."),
    ] = None,
) -> int:  # fmt: skip
    if limit is not None:
        return limit
    size: int = request.app.state.settings.rail_size
    return min(size, MAX_LIMIT)


Rails = Annotated[RailsService, Depends(get_rails)]
Now = Annotated[datetime, Depends(get_now)]
Limit = Annotated[int, Depends(get_limit)]
