"""Events: watch progress, skips, dislikes and blacklists, written to the graph at once."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import WriteKey
from api.events import EventWriter
from api.schemas import EventReject, EventsIn, EventsOut

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", response_model=EventsOut)
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
