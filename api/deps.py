"""Dependencies shared by the routers (``async``: FastAPI runs a plain ``def`` dependency
in a worker thread, a hop per dependency and request)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import AfterValidator

from api.rails.service import RailsService, utc_now
from api.schemas import IsoTime


async def get_rails(request: Request) -> RailsService:
    service: RailsService = request.app.state.rails
    return service


EARLIEST_NOW = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_NOW = datetime(9000, 1, 1, tzinfo=UTC)
"""A request's ``now`` is from ``EARLIEST_NOW`` to before ``LATEST_NOW``: the rails count
a week before it and look a window ahead of it, which near the limits of a datetime
(years 1 and 9999) would overflow."""


def _within_range(now: datetime | None) -> datetime | None:
    if now is None:
        return None
    if not EARLIEST_NOW <= (now if now.tzinfo else now.replace(tzinfo=UTC)) < LATEST_NOW:
        raise ValueError(
            f"now must be from {EARLIEST_NOW:%Y-%m-%d} to before {LATEST_NOW:%Y-%m-%d}, "
            f"got {now.isoformat()}"
        )
    return now


async def get_now(
    request: Request,
    now: Annotated[
        IsoTime | None,
        AfterValidator(_within_range),
        Query(
            description="Compute the rail as of this time (ISO 8601, not a bare number; "
            "without an offset, UTC; an offset within +-18:00; from 1900 to before 9000); "
            "default: now."
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


Country = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Z]{2}$",
        description="The viewer's country (ISO 3166-1 alpha-2, upper case), whose rights "
        "apply when the graph gives the user none (unknown users); default: "
        "GRAPHRAILS_DEFAULT_COUNTRY.",
    ),
]

Rails = Annotated[RailsService, Depends(get_rails)]
Now = Annotated[datetime, Depends(get_now)]
Limit = Annotated[int, Depends(get_limit)]
