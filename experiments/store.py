"""Experiments kept in Neo4j: ``(:Experiment)-[:HAS_ARM]->(:Arm)``, so Browser shows them.

The statements live in ``cypher/experiments/``. An experiment is created once and
then only stopped: nothing here edits an arm. At most one experiment runs at a
time, so a rail is computed under at most one arm.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver, Driver, ManagedTransaction, RoutingControl
from neo4j.time import DateTime

from experiments.arms import OVERRIDES, Arm, Experiment
from graph.queries import query


class ExperimentError(ValueError):
    """An experiment cannot be created or stopped as asked (the message says why)."""


def create(driver: Driver, experiment: Experiment, *, database: str) -> Experiment:
    """Store ``experiment`` as running. Raises :class:`ExperimentError` when one of that
    name exists (an experiment is never redefined) or another one is running."""

    def work(tx: ManagedTransaction) -> None:
        rows = [r.data() for r in tx.run(query("experiments/find"), name=None, status=None)]
        if any(r["name"] == experiment.name for r in rows):
            raise ExperimentError(
                f"experiment '{experiment.name}' already exists; an experiment is never "
                "redefined: choose another name"
            )
        running = [r["name"] for r in rows if r["status"] == "running"]
        if running:
            raise ExperimentError(
                f"experiment '{running[0]}' is running; stop it first "
                f"(graphrails experiments stop {running[0]}): one experiment runs at a time"
            )
        tx.run(
            query("experiments/create"), name=experiment.name, salt=experiment.salt,
            description=experiment.description, now=datetime.now(UTC),
            arms=[{"name": a.name, "weight": a.weight, **a.overrides()} for a in experiment.arms],
        ).consume()  # fmt: skip

    with driver.session(database=database) as session:
        session.execute_write(work)
    found = find(driver, database=database, name=experiment.name)
    return found[0]


def find(
    driver: Driver, *, database: str, name: str | None = None, status: str | None = None
) -> list[Experiment]:
    """Experiments, newest first: all, the one named ``name``, or those with ``status``."""
    records, _, _ = driver.execute_query(
        query("experiments/find"), name=name, status=status,
        database_=database, routing_=RoutingControl.READ,
    )  # fmt: skip
    return [from_row(r.data()) for r in records]


def get(driver: Driver, name: str, *, database: str) -> Experiment:
    """The experiment named ``name``; :class:`ExperimentError` naming it when there is none."""
    found = find(driver, database=database, name=name)
    if not found:
        raise ExperimentError(f"no experiment named '{name}' (graphrails experiments list)")
    return found[0]


def stop(driver: Driver, name: str, *, database: str) -> bool:
    """Stop the experiment ``name``; True if it was running, False if already stopped."""
    records, _, _ = driver.execute_query(
        query("experiments/stop"), name=name, now=datetime.now(UTC),
        database_=database, routing_=RoutingControl.WRITE,
    )  # fmt: skip
    if not records:
        raise ExperimentError(f"no experiment named '{name}' (graphrails experiments list)")
    return bool(records[0]["was"] == "running")


async def running(driver: AsyncDriver, *, database: str) -> Experiment | None:
    """The running experiment (the newest if several were ever marked so), else None."""
    records, _, _ = await driver.execute_query(
        query("experiments/find"), name=None, status="running",
        database_=database, routing_=RoutingControl.READ,
    )  # fmt: skip
    return from_row(records[0].data()) if records else None


def from_row(row: dict[str, Any]) -> Experiment:
    """An :class:`Experiment` from a row of ``cypher/experiments/find.cypher``."""
    arms = tuple(
        Arm(
            name=str(a["name"]),
            weight=float(a.get("weight", 1.0)),
            **{k: a[k] for k in OVERRIDES if a.get(k) is not None},
        )
        for a in row["arms"]
    )
    return Experiment(
        name=row["name"],
        salt=row["salt"],
        arms=arms,
        status=row["status"],
        created_at=_native(row.get("created_at")),
        stopped_at=_native(row.get("stopped_at")),
        description=row.get("description") or "",
    )


def _native(value: Any) -> datetime | None:
    if isinstance(value, DateTime):
        native: datetime = value.to_native()
        return native
    return value if isinstance(value, datetime) else None
