"""The API's pollers during a Neo4j outage: one warning line per poll, no traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import cast

import pytest
from neo4j import AsyncGraphDatabase

from api.experiments import ExperimentArms
from api.rails.service import RailsService
from api.reload import ModelReloader
from graph.settings import Settings

NOBODY = "bolt://127.0.0.1:9"
"""A port where no Neo4j listens: the driver's own "cannot connect"."""


def polled(make: str, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    async def main() -> None:
        driver = AsyncGraphDatabase.driver(
            NOBODY, auth=("neo4j", "unused"), max_transaction_retry_time=0
        )
        async with driver:
            if make == "reloader":
                reloader = ModelReloader(
                    driver, cast(RailsService, None), database="neo4j",
                    models_dir=Path("unused"), interval_s=1.0,
                )  # fmt: skip
                await reloader.poll()
            else:
                await ExperimentArms(driver, Settings.with_fields()).poll()

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    return [r for r in caplog.records if r.name.startswith("graphrails")]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        ("reloader", "could not check the serving model version: Neo4j is unavailable"),
        ("experiments", "could not read the running experiment: Neo4j is unavailable"),
    ],
)
def test_a_poll_while_neo4j_is_away_logs_one_line(
    make: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    [record] = polled(make, caplog)
    assert record.getMessage().startswith(f"{says} (ServiceUnavailable: ")
    assert "\n" not in record.getMessage()
    assert record.exc_info is None
