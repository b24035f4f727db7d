"""Helpers for tests that load data sets into the test Neo4j and remove them again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from neo4j import Driver

from graph.queries import query
from graph.settings import Settings

ID_FILES = {
    "User": ("users", "user_id"),
    "Program": ("programs", "program_id"),
    "Channel": ("channels", "channel_id"),
    "Genre": ("genres", "genre_id"),
    "Bundle": ("bundles", "bundle_id"),
    "Series": ("series", "series_id"),
}


def dataset_ids(folder: Path) -> dict[str, list[str]]:
    """Every id each label gets from the data set in ``folder`` (CSV files)."""
    ids: dict[str, list[str]] = {}
    for label, (name, column) in ID_FILES.items():
        path = folder / f"{name}.csv"
        if path.exists():
            ids[label] = pd.read_csv(path, dtype=str, usecols=[column])[column].dropna().tolist()
    return ids


def delete_ids(driver: Driver, database: str, ids: dict[str, list[str]]) -> None:
    for label, values in ids.items():
        for start in range(0, len(values), 500):
            driver.execute_query(
                query("admin/delete_ids"),
                label=label,
                ids=values[start : start + 500],
                database_=database,
            )


def active_users(folder: Path, n: int) -> list[str]:
    """The ``n`` users of a data set with the most watch events, most first."""
    events = pd.read_csv(folder / "watch_events.csv", dtype=str)
    return events["user_id"].value_counts().index[:n].tolist()


def generated_and_loaded(
    driver: Driver, database: str, folder: Path, *, users: int, programs: int, seed: int
) -> Iterator[Path]:
    """Generate a TV data set into ``folder``, load it, yield it, then delete its nodes.

    For module fixtures: ``yield from generated_and_loaded(...)``.
    """
    from loaders.generate import generate_tv
    from loaders.tv import load_tv

    generate_tv(folder, users=users, programs=programs, seed=seed, progress=False)
    load_tv(driver, folder, database=database, progress=False)
    try:
        yield folder
    finally:
        delete_ids(driver, database, dataset_ids(folder))


def loaded_tv_fixture(
    name: str, *, users: int, programs: int, seed: int
) -> Callable[..., Iterator[Path]]:
    """A module fixture: a data set generated into a folder ``name``, loaded into the test
    database, yielded, then deleted (``tv = loaded_tv_fixture("tv-x", users=..., ...)``)."""

    @pytest.fixture(scope="module")
    def loaded(
        driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Path]:
        yield from generated_and_loaded(
            driver, neo4j_settings.neo4j_database, tmp_path_factory.mktemp(name),
            users=users, programs=programs, seed=seed,
        )  # fmt: skip

    return loaded
