from __future__ import annotations

from pathlib import Path

import pytest

from graph.domain import CSA_LEVELS, csa_level
from loaders.contract import (
    FILE_SPECS,
    FILES,
    LOAD_ORDER,
    Kind,
    contract_markdown,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def test_csa_levels() -> None:
    assert dict(CSA_LEVELS) == {"TP": 0, "-10": 10, "-12": 12, "-16": 16, "-18": 18}
    assert csa_level("-12") == 12
    with pytest.raises(ValueError, match="'-21'"):
        csa_level("-21")


def test_every_reference_points_at_an_earlier_single_key_file() -> None:
    for position, spec in enumerate(FILES):
        for ref in spec.references:
            assert LOAD_ORDER.index(ref.target) < position, (spec.name, ref.target)
            assert FILE_SPECS[ref.target].id_column is not None


def test_file_and_column_names_match_the_brief() -> None:
    assert LOAD_ORDER == (
        "genres",
        "channels",
        "bundles",
        "bundle_channels",
        "series",
        "programs",
        "availability",
        "users",
        "subscriptions",
        "blacklists",
        "watch_events",
    )
    assert FILE_SPECS["programs"].column_names == (
        "program_id",
        "title",
        "genres",
        "csa",
        "duration_s",
        "year",
        "series_id",
        "season",
        "episode",
        "availability",
    )
    assert {s.name for s in FILES if not s.required} == {"series", "blacklists"}
    # The graph model's level properties are derived from the CSA columns.
    levels = {c.derived_level for s in FILES for c in s.columns if c.kind is Kind.CSA}
    assert levels == {"csa_level", "csa_ceiling_level"}


def test_docs_show_the_contract_as_declared() -> None:
    """docs/data.md embeds contract_markdown(); regenerate it when the contract changes."""
    assert contract_markdown() in DOCS.read_text(encoding="utf-8")
