"""Which eligibility calls a rail's one round trip answers (pure: the service is stubbed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from api.rails.assembly import Backend
from api.rails.precomputed import BundleRead, Prefetched
from api.rails.types import Offer, UserContext
from graph.settings import Settings

NOW = datetime(2025, 1, 9, 20, tzinfo=UTC)
CTX = UserContext(
    user_id="u1", known=True, csa_ceiling="-12", csa_ceiling_level=12, bundles=["free"],
    free_bundles=["free"], watched=0, anchors=[], recent=[], genre_share={},
    not_applicable=[], country=None,
)  # fmt: skip


def offer(rank: int, program: str) -> Offer:
    return Offer(rank, program, program, program.upper(), "TP", (), None, None, None, None,
                 "c1", "Channel", "free", "vod", NOW, NOW)  # fmt: skip


class Service:
    """Answers every call it gets with one offer, and counts them."""

    settings = Settings()
    fatigue = None
    explainer = None

    def __init__(self) -> None:
        self.calls = 0

    async def offers(self, ctx: UserContext, program_ids: list[str], **_: Any) -> list[Offer]:
        self.calls += 1
        return [offer(0, program_ids[0])]


def asked(read: BundleRead, program_ids: list[str], **params: Any) -> tuple[list[str], int]:
    """The programs offered for ``program_ids`` and how many calls reached the service."""
    service = Service()
    prefetched = Prefetched(cast(Backend, service), read)
    params = {"rail": read.rail, "max_offers": 2, **params}
    found = asyncio.run(prefetched.offers(CTX, program_ids, now=NOW, **params))
    return [o.program_id for o in found], service.calls


def read(tested: list[str], offered: list[str]) -> BundleRead:
    return BundleRead(ctx=CTX, program_ids=tested, offers=[offer(i, p) for i, p in
                      enumerate(offered)], max_offers=2, rail="popular_in_bundle")  # fmt: skip


def test_the_read_answers_for_a_longer_list_when_it_found_every_offer_asked() -> None:
    assert asked(read(["a", "b", "c"], ["a", "c"]), ["a", "b", "c", "d"]) == (["a", "c"], 0)


def test_a_read_short_of_offers_answers_only_for_the_candidates_it_tested() -> None:
    assert asked(read(["a", "b"], ["b"]), ["a", "b"]) == (["b"], 0)
    # The later candidates might hold the second offer: the service is asked.
    assert asked(read(["a", "b"], ["b"]), ["a", "b", "c"]) == (["a"], 1)


def test_a_read_answers_no_other_question() -> None:
    full = read(["a", "b", "c"], ["a", "c"])
    assert asked(full, ["b", "c"])[1] == 1  # not the same first candidates
    assert asked(full, ["a", "b", "c"], max_offers=3)[1] == 1
    assert asked(full, ["a", "b", "c"], skip_series=["s1"])[1] == 1
    assert asked(full, ["a", "b", "c"], kinds=("replay",))[1] == 1
    assert asked(full, ["a", "b", "c"], rail="best_of_bundle")[1] == 1
