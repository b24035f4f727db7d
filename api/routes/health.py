"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from neo4j import AsyncDriver
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    neo4j: str
    model_version: str | None = Field(description="The model version serving from memory.")
    model_error: str | None = Field(
        default=None,
        description="Why the version Neo4j marks serving is not the one in memory, if it is not.",
    )
    experiment: str | None = Field(
        default=None, description="The A/B experiment the rails are served under, if any."
    )


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is up (it does not look at Neo4j)."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Neo4j unreachable or no model."}},
)
async def ready(request: Request, response: Response) -> Readiness:
    """Neo4j answers with the configured credentials and a model version is loaded."""
    driver: AsyncDriver = request.app.state.driver
    model = request.app.state.rails.model
    version = model.version if model is not None else None
    reloader = getattr(request.app.state, "reloader", None)
    error = reloader.error if reloader is not None else None
    arms = getattr(request.app.state, "experiments", None)
    running = arms.experiment.name if arms is not None and arms.experiment else None
    try:
        await driver.verify_connectivity()
    except Exception as e:  # any failure means "not ready"; the reason is reported
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="unavailable", neo4j=f"{type(e).__name__}: {e}",
                         model_version=version, model_error=error)  # fmt: skip
    if version is None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="no model loaded", neo4j="ok", model_version=None,
                         model_error=error)  # fmt: skip
    return Readiness(status="ok", neo4j="ok", model_version=version, model_error=error,
                     experiment=running)  # fmt: skip
