"""The ranker's features (gnn/ranker.py), each computed by hand on ``ranking_graph.cypher``
and read through the statements training and serving share."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from neo4j import Driver

from gnn.ranker import (
    FEATURES,
    KINDS,
    NONE,
    AudienceTable,
    ProgramTable,
    UserFacts,
    ranking_features,
)
from gnn.ranker_train import read_audience, read_programs, read_users
from graph.settings import Settings
from tests.api.scratch_graph import scratch_graph

NOW = datetime(2031, 6, 10, 20, 30, tzinfo=UTC)
H = 3600.0
NAN = math.nan


@pytest.fixture(scope="module")
def prefix(driver: Driver, neo4j_settings: Settings) -> Iterator[str]:
    with scratch_graph(driver, neo4j_settings, "ranking_graph", tag="rk") as p:
        yield p


@pytest.mark.neo4j
def test_each_feature_is_the_one_computed_by_hand(
    driver: Driver, neo4j_settings: Settings, prefix: str
) -> None:
    p, db = prefix, neo4j_settings.neo4j_database
    asked = [p + x for x in ("a", "b", "e3", "mix", "no_such_program")]
    user = read_users(driver, database=db, users=[(p + "viewer", asked)])[p + "viewer"]
    programs = read_programs(driver, database=db)
    rows = programs.rows_of(asked)
    assert (rows[:4] != NONE).all() and rows[4] == NONE  # the table holds what the graph holds
    audience = read_audience(driver, database=db, since=datetime(2031, 6, 1, tzinfo=UTC),
                             until=datetime(2031, 6, 12, tzinfo=UTC))  # fmt: skip
    rows = ranking_features(user, programs, rows[:4], [1.5, 0.5, None, -0.2],
                            audience.week_before(NOW.timestamp()), NOW.timestamp(),
                            completion_threshold=0.9)  # fmt: skip
    # Before now the viewer watched a (drama, c1, 3000 s, from 20:10 on Sunday 06-08),
    # e1 (drama, c1, 1800 s, done, from 21:05 on Saturday 06-07) and old (sport, c2,
    # 1200 s, from 09:00 on Tuesday 06-03): 6000 s in all; e2 (06-11) is after now.
    # Now is 20:30 on a Tuesday: a and e1 started within an hour of 20:00, old on a Tuesday.
    # The week (06-03 to 06-09): a by the viewer (83%), w1 (50%), w2 (100%), not w3 (06-10);
    # e1 by the viewer (100%) and w1 (80%): c1 has 5 watches, 4.13 summed; old 1 on c2 (30%).
    expected = {
        "a": [1.5, 4800 / 6000,
              4800 / 6000, (0.83 + 1.0) / 2,  # drama first: a and e1
              4800 / 6000, 0, 3, 2.33 / 3, 5, 4.13 / 5,
              (9 * 24 + 20.5), KINDS.index("replay"), 2 / 3, 1 / 3, 20, 60,
              1,  # shown 06-09 after its watch; the 06-08 impression came before it
              3],
        "b": [0.5, 1200 / 6000, 1200 / 6000, 0.3, 1200 / 6000, 0, 0, NAN, 1, 0.3,
              (7 * 24 + 0.5),  # first aired 06-03 20:00
              KINDS.index("live"),  # the 21:00 airing, on c2
              2 / 3, 1 / 3, 20, 90,
              2,  # shown 06-09 20:00 and 06-10 10:00; the 21:00 one is after now
              3],
        "e3": [NAN, 4800 / 6000, 4800 / 6000, (0.83 + 1.0) / 2, 4800 / 6000,
               1,  # e1 done before now; e2 only after
               0, NAN, 5, 4.13 / 5, (40 * 24 + 20.5), KINDS.index("vod"), 2 / 3, 1 / 3, 20,
               30, 0, 3],
        "mix": [-0.2, 1.0,  # sport and drama: every watch
                1200 / 6000, 0.3,  # sport first (HAS_GENRE.rank), though "drama" sorts first
                0.0, 0, 0, NAN, 0, NAN,
                -(20 * 24 + 3.5),  # first airs 07-01
                NAN,  # no window open now
                2 / 3, 1 / 3, 20, NAN, 0, 3],
    }  # fmt: skip
    for row, name in zip(rows, expected, strict=True):
        by_feature = dict(zip(FEATURES, row.tolist(), strict=True))
        want = dict(zip(FEATURES, expected[name], strict=True))
        for feature in FEATURES:
            got, hand = by_feature[feature], want[feature]
            assert (math.isnan(got) and math.isnan(hand)) or got == pytest.approx(hand), (
                f"{name}.{feature}: {got} != {hand}"
            )


@pytest.mark.neo4j
def test_a_user_the_graph_does_not_know_has_no_history(
    driver: Driver, neo4j_settings: Settings, prefix: str
) -> None:
    db = neo4j_settings.neo4j_database
    user = read_users(driver, database=db, users=[("nobody-" + prefix, [prefix + "a"])])[
        "nobody-" + prefix
    ]
    assert user.program_ids == [] and user.shown == {}
    programs = read_programs(driver, database=db)
    rows = ranking_features(user, programs, programs.rows_of([prefix + "a"]), [0.1],
                            AudienceTable([]).week_before(0.0), NOW.timestamp(),
                            completion_threshold=0.9)  # fmt: skip
    features = dict(zip(FEATURES, rows[0].tolist(), strict=True))
    assert features["genre_share"] == 0 and features["user_watches"] == 0
    assert features["main_genre_share"] == 0 and math.isnan(features["main_genre_completion"])
    assert features["hour_share"] == 0 and features["times_shown"] == 0


def test_the_window_a_viewer_can_best_use_is_the_rails_choice() -> None:
    t = datetime(2025, 3, 8, 20, 10, tzinfo=UTC).timestamp()
    live_now = ["live", t - 30 * 60, t + 25 * 60, "c"]  # 25 of 55 minutes ahead
    later = ["live", t + 2 * 86_400, t + 2 * 86_400 + 3300, "c"]
    vod = ["vod", t - 86_400, t + 86_400, "d"]
    table = ProgramTable([("x", 3300.0, [], None, [live_now, later]),
                          ("y", None, [], None, [live_now, later, vod])])  # fmt: skip

    def start(at: float) -> list[float | None]:
        chosen = table.window_rows(table.rows_of(["x", "y"]), at).tolist()
        return [None if w == NONE else float(table.window_start[w]) for w in chosen]

    # x: mostly over, the next airing in full; y: the VOD open now.
    assert start(t) == [later[1], vod[1]]
    assert start(t + 8 * 86_400) == [None, None]


def test_a_watch_without_seconds_completion_or_times_reads_as_their_defaults() -> None:
    # MovieLens ratings are WATCHED without seconds or completion (counted complete).
    user = UserFacts.from_row("u", [["m1", None, None, None, None, None],
                                    ["p2", 1200, 0.4, 100, 160.5, "c1"]],
                              [["p2", 150], ["p2", 170.0]])  # fmt: skip
    assert user.program_ids == ["m1", "p2"] and user.channel_ids == [None, "c1"]
    assert user.seconds.tolist() == [0.0, 1200.0] and user.completion.tolist() == [1.0, 0.4]
    assert user.first_ts.tolist() == [0.0, 100.0] and user.last_ts.tolist() == [0.0, 160.5]
    assert user.shown == {"p2": [150.0, 170.0]}
    assert UserFacts.from_row("u", None, None).seconds.shape == (0,)


def test_scores_must_match_the_candidates() -> None:
    with pytest.raises(ValueError, match="2 scores for 1 candidates"):
        ranking_features(
            UserFacts.from_row("u", [], []), ProgramTable([("x", None, [], None, [])]), [0],
            [0.1, 0.2], AudienceTable([]).week_before(0.0), 0.0, completion_threshold=0.9,
        )  # fmt: skip


def test_the_audience_week_is_the_seven_whole_days_before_now() -> None:
    day = 86_400
    table = AudienceTable([
        ("p", "c", 10 * day, 2, 1.5),  # the first day of the week before day 17
        ("p", "c", 16 * day, 1, 1.0),  # its last day
        ("p", "c", 17 * day, 5, 5.0),  # now's day: not in it
        ("p", None, 9 * day, 7, 7.0),  # the day before the week
    ])  # fmt: skip
    week = table.week_before(17 * day + 3600)
    assert week.programs == {"p": (3, 2.5)} and week.channels == {"c": (3, 2.5)}
    assert np.isclose(table.week_before(10 * day).programs["p"][0], 7)


def test_a_watch_sharing_genres_in_two_words_of_bits_counts_once() -> None:
    # 70 genres: a program's genres take two 64-bit words; x and y share g01 (the first
    # word) and g66 (the second), z shares nothing with x.
    every = [f"g{i:02d}" for i in range(70)]
    table = ProgramTable([("x", 600.0, ["g01", "g66"], None, []),
                          ("y", 600.0, ["g66", "g01"], None, []),
                          ("z", 600.0, ["g02"], None, []),
                          ("all", 600.0, every, None, [])])  # fmt: skip
    assert table.genre_bits.shape == (4, 2)
    user = UserFacts.from_row("u", [["y", 100, 1.0, 0, 1, None], ["z", 300, 0.5, 0, 1, None]],
                              [])  # fmt: skip
    rows = ranking_features(user, table, table.rows_of(["x", "all"]), [0.0, 0.0],
                            AudienceTable([]).week_before(10.0), 10.0,
                            completion_threshold=0.9)  # fmt: skip
    features = [dict(zip(FEATURES, row.tolist(), strict=True)) for row in rows]
    assert features[0]["genre_share"] == 100 / 400  # y once, not once per word
    assert features[0]["main_genre_share"] == 0.0  # x's main genre is g01, y's g66
    assert features[1]["genre_share"] == 1.0
    assert features[1]["main_genre_share"] == 0.0 and math.isnan(
        features[1]["main_genre_completion"]
    )  # "all" is g00 first: no watch of it
