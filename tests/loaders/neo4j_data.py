"""Helpers for tests that load data sets into the test Neo4j and remove them again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from neo4j import Driver

from graph.queries import query

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
