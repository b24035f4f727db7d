"""Events: watch progress, skips, dislikes and blacklists, written to the graph at once."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.auth import API_KEY_HEADER, WriteKey, require_api_key
from api.events import EventWriter
from api.schemas import FUTURE_HOURS, MAX_EVENTS_BYTES, EventReject, EventsIn, EventsOut, errors


class KeyFirstRoute(APIRoute):
    """A route that checks the API key, then reads the body up to :data:`MAX_EVENTS_BYTES`,
    before FastAPI parses it: an anonymous caller gets its 401/403 without the server
    reading (or parsing) what it sent, and nobody gets to send more than the limit (413).
    A body that is not UTF-8 JSON is a 422, as every other body FastAPI cannot validate."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await require_api_key(request, request.headers.get(API_KEY_HEADER))
            body = await _read_at_most(request, MAX_EVENTS_BYTES)
            try:
                # FastAPI parses it again: its own failure here (bytes json.loads takes for
                # UTF-16, say) would be a 400 where the README promises a 422.
                json.loads(body.decode("utf-8"))
            except ValueError as e:  # UnicodeDecodeError and JSONDecodeError alike
                raise RequestValidationError([{
                    "type": "json_invalid", "loc": ("body",), "input": None,
                    "msg": f"the body is not UTF-8 JSON: {e}",
                }]) from e  # fmt: skip
            # FastAPI reads the body through Request.body(), which returns this once set.
            request._body = body
            # Validated (in the handler) against this API's bound on future-dated events.
            token = FUTURE_HOURS.set(request.app.state.settings.event_future_hours)
            try:
                return await handler(request)
            finally:
                FUTURE_HOURS.reset(token)

        return checked


async def _read_at_most(request: Request, limit: int) -> bytes:
    def too_large() -> HTTPException:
        return HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"the body is larger than {limit:,} bytes; send the events in several requests",
        )

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


router = APIRouter(prefix="/v1", tags=["events"], route_class=KeyFirstRoute)


@router.post("/events", response_model=EventsOut, responses=errors(401, 403, 413, 503))
async def post_events(body: EventsIn, request: Request, _: WriteKey) -> EventsOut:
    """Write a batch of events; idempotent by event id; bad references are rejected one by one."""
    writer = EventWriter(
        request.app.state.driver, database=request.app.state.settings.neo4j_database
    )
    report = await writer.write(body.events)
    return EventsOut(
        received=report.received,
        applied=report.applied,
        already_applied=report.already_applied,
        rejected=[
            EventReject(index=r.index, event_id=r.event_id, field=r.field, reason=r.reason)
            for r in report.rejected
        ],
        created_users=report.created_users,
    )
