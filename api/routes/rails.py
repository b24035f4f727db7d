"""Rails: personalised home, because you watched, similar programs, popular, best of bundle
and top replay."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from api.auth import ReadKey
from api.deps import Country, Limit, Now, Rails
from api.experiments import Assignment, ExperimentArms
from api.metrics import Metrics
from api.rails.reasons import UnknownProgramError
from api.rails.service import RailsService
from api.rails.types import Rail
from api.schemas import Explanation, Item, RailOut, RailsOut, errors
from api.served import ServedLog, served_row
from graph.domain import MAX_ID_LENGTH

router = APIRouter(
    prefix="/v1", tags=["rails"], dependencies=[ReadKey], responses=errors(401, 403, 404, 503)
)

UserId = Annotated[str, Path(max_length=MAX_ID_LENGTH, description="The user.")]
ProgramId = Annotated[str, Path(max_length=MAX_ID_LENGTH, description="The program.")]


def to_out(rail: Rail, *, user_id: str | None, assignment: Assignment | None = None) -> RailOut:
    return RailOut(
        rail=rail.rail,
        title=rail.title,
        user_id=user_id,
        experiment=assignment.experiment if assignment else None,
        arm=assignment.arm.name if assignment else None,
        anchor_program_id=rail.anchor_id,
        model_version=rail.model_version,
        sources=rail.sources,
        empty_reason=rail.empty_reason,
        items=[
            Item(
                program_id=i.offer.program_id,
                title=i.offer.title,
                genres=list(i.offer.genres),
                csa=i.offer.csa,
                series_id=i.offer.series_id,
                series_title=i.offer.series_title,
                season=i.offer.season,
                episode=i.offer.episode,
                channel_id=i.offer.channel_id,
                channel_name=i.offer.channel_name,
                bundle_id=i.offer.bundle_id,
                availability=i.offer.kind,
                available_from=i.offer.available_from,
                available_until=i.offer.available_until,
                score=i.score,
                score_kind=i.score_kind,
                source=i.source,
                backfill=i.backfill,
                explanation=Explanation(
                    type=i.reason.type, text=i.reason.text, evidence=i.reason.evidence
                ),
            )
            for i in rail.items
        ],
    )


def arm_for(request: Request, user_id: str | None) -> Assignment | None:
    """The user's arm of the running experiment (None: none runs, or no user)."""
    arms: ExperimentArms | None = getattr(request.app.state, "experiments", None)
    return arms.assignment(user_id) if arms is not None else None


def under(assignment: Assignment | None, rails: RailsService) -> RailsService:
    """The rails service computing under ``assignment``'s arm (``rails`` when none)."""
    return assignment.rails(rails) if assignment is not None else rails


def served(
    request: Request,
    found: list[Rail],
    *,
    user_id: str | None,
    now: datetime,
    assignment: Assignment | None = None,
) -> list[RailOut]:
    """The response of the rails just computed, counted in the metrics and queued for the
    served log (written behind the response). Each rail reports the model version it was
    computed with (a swap during the request does not relabel it)."""
    state = request.app.state
    metrics: Metrics | None = getattr(state, "metrics", None)
    log: ServedLog | None = getattr(state, "served_log", None)
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    at = datetime.now(UTC)
    for rail in found:
        if metrics is not None:
            metrics.observe_rail(rail)
        if log is not None:
            log.record(
                served_row(
                    rail, request_id=request_id, user_id=user_id, at=at, as_of=now,
                    experiment=assignment.experiment if assignment else None,
                    arm=assignment.arm.name if assignment else None,
                )
            )  # fmt: skip
    return [to_out(rail, user_id=user_id, assignment=assignment) for rail in found]


@contextlib.contextmanager
def unknown_program_is_404() -> Iterator[None]:
    """A rail about a program looks it up itself; an id the graph does not hold is a 404
    naming it."""
    try:
        yield
    except UnknownProgramError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from e


@router.get("/users/{user_id}/rails/home", response_model=RailOut)
async def home(
    request: Request, user_id: UserId, rails: Rails, now: Now, limit: Limit,
    country: Country = None,
) -> RailOut:  # fmt: skip
    """Personalised home rail; an unknown or new user gets the default rail of their bundle."""
    assignment = arm_for(request, user_id)
    rail = await rails.admitted(
        lambda: under(assignment, rails).home(user_id, now=now, limit=limit, country=country)
    )
    return served(request, [rail], user_id=user_id, now=now, assignment=assignment)[0]


@router.get("/users/{user_id}/rails/top-replay", response_model=RailOut)
async def top_replay(
    request: Request, user_id: UserId, rails: Rails, now: Now, limit: Limit,
    country: Country = None,
) -> RailOut:  # fmt: skip
    """The most watched programs of the user's bundles this week that they can watch in
    replay now (no fallback: an empty rail says why)."""
    assignment = arm_for(request, user_id)
    rail = await rails.admitted(
        lambda: under(assignment, rails).top_replay(user_id, now=now, limit=limit, country=country)
    )
    return served(request, [rail], user_id=user_id, now=now, assignment=assignment)[0]


@router.get("/users/{user_id}/rails/because-you-watched", response_model=RailsOut)
async def because_you_watched(
    request: Request,
    user_id: UserId,
    rails: Rails,
    now: Now,
    limit: Limit,
    program_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_ID_LENGTH,
            description="The watched program; default: the user's recent watches.",
        ),
    ] = None,
    country: Country = None,
) -> RailsOut:
    """One rail per recent well-completed watch, or one for the given program."""
    assignment = arm_for(request, user_id)
    with unknown_program_is_404():
        found, reason = await rails.admitted(
            lambda: under(assignment, rails).because_you_watched(
                user_id, program_id=program_id, now=now, limit=limit, country=country
            )
        )
    out = served(request, found, user_id=user_id, now=now, assignment=assignment)
    return RailsOut(rails=out, empty_reason=reason)


@router.get("/programs/{program_id}/similar", response_model=RailOut)
async def similar(
    request: Request,
    program_id: ProgramId,
    rails: Rails,
    now: Now,
    limit: Limit,
    user_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_ID_LENGTH,
            description="Filter for this user (default: anonymous rules).",
        ),
    ] = None,
    country: Country = None,
) -> RailOut:
    """Programs similar to a program, eligible for the user when one is given."""
    assignment = arm_for(request, user_id)
    with unknown_program_is_404():
        rail = await rails.admitted(
            lambda: under(assignment, rails).similar(
                program_id, user_id=user_id, now=now, limit=limit, country=country
            )
        )
    return served(request, [rail], user_id=user_id, now=now, assignment=assignment)[0]


BundleId = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_ID_LENGTH, description="Default: the user's bundles."),
]
UserFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_ID_LENGTH, description="Apply this user's rules."),
]


@router.get("/rails/popular", response_model=RailOut)
async def popular(
    request: Request, rails: Rails, now: Now, limit: Limit, bundle_id: BundleId = None,
    user_id: UserFilter = None, country: Country = None,
) -> RailOut:  # fmt: skip
    """Popular this week in a bundle (or in the user's bundles)."""
    return await _bundle_rail(request, rails, now, bundle_id, user_id, country, limit, best=False)


@router.get("/rails/best-of-bundle", response_model=RailOut)
async def best_of_bundle(
    request: Request, rails: Rails, now: Now, limit: Limit, bundle_id: BundleId = None,
    user_id: UserFilter = None, country: Country = None,
) -> RailOut:  # fmt: skip
    """The most completed programs of a bundle."""
    return await _bundle_rail(request, rails, now, bundle_id, user_id, country, limit, best=True)


async def _bundle_rail(
    request: Request, rails: Rails, now: datetime, bundle_id: str | None, user_id: str | None,
    country: str | None, limit: int, *, best: bool,
) -> RailOut:  # fmt: skip
    assignment = arm_for(request, user_id)

    async def compute() -> Rail:
        await _known_bundle(rails, bundle_id)
        return await under(assignment, rails).popular(
            user_id=user_id, bundle_id=bundle_id, now=now, limit=limit, best=best,
            country=country,
        )  # fmt: skip

    rail = await rails.admitted(compute)
    return served(request, [rail], user_id=user_id, now=now, assignment=assignment)[0]


async def _known_bundle(rails: Rails, bundle_id: str | None) -> None:
    if bundle_id is not None and bundle_id not in await rails.bundles():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"bundle '{bundle_id}' does not exist"
        )
