"""The vectorised features (gnn/ranker.py, on a ProgramTable) are the loop's
(tests/gnn/loop_features.py, the first definition) on random users and catalogues."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

from gnn.ranker import DAY_S, FEATURES, Audience, ProgramTable, UserFacts, ranking_features
from tests.gnn.loop_features import LoopCandidate, LoopUser, Watch, Window, loop_features

H = 3600.0


def random_case(seed: int) -> tuple[LoopUser, list[LoopCandidate], ProgramTable, UserFacts,
                                     Audience, float]:  # fmt: skip
    rng = np.random.default_rng(seed)
    now = 1_750_000_000.0 + float(rng.uniform(0, 7 * DAY_S))
    genres = [f"g{i}" for i in range(6)]
    channels = [f"c{i}" for i in range(5)]
    series = [f"s{i}" for i in range(4)]
    kinds = ["live", "live", "replay", "vod", "catchup"]  # a kind the ranker does not know
    candidates = []
    for i in range(60):
        windows = []
        for _ in range(int(rng.integers(0, 5))):
            # Starts on the hour around now (ties between windows), lengths that leave a
            # live airing in progress mostly over or not.
            start = now + float(rng.integers(-48, 24 * 9)) * H * float(rng.choice([1, 0.5]))
            end = start + float(rng.choice([0.5, 1, 2, 30 * 24])) * H
            windows.append(Window(str(rng.choice(kinds)), start, end, str(rng.choice(channels))))
        duration = None if rng.random() < 0.1 else float(rng.integers(10, 120)) * 60
        chosen = rng.choice(genres, size=int(rng.integers(0, 3)), replace=False).tolist()
        candidates.append(LoopCandidate(
            f"p{i}", duration, frozenset(chosen), chosen[0] if chosen else None,
            str(rng.choice(series)) if rng.random() < 0.4 else None, tuple(windows),
        ))  # fmt: skip
    watches = []
    for i in rng.choice(60, size=25, replace=False).tolist():
        c = candidates[i]
        first = now - float(rng.uniform(-2, 20)) * DAY_S
        watches.append(Watch(
            c.program_id, float(rng.integers(0, 7200)), float(rng.uniform(0.2, 1.0)),
            first, first + float(rng.uniform(0, 3)) * H,
            str(rng.choice(channels)) if rng.random() < 0.8 else None, c.genres, c.main_genre,
            c.series_id,
        ))  # fmt: skip
    shown: dict[str, list[float]] = {}
    for i in rng.choice(60, size=15).tolist():
        shown.setdefault(f"p{i}", []).append(now - float(rng.uniform(-1, 10)) * DAY_S)
    audience = Audience(
        {f"p{i}": (int(n), float(n) * 0.6) for i, n in enumerate(rng.integers(0, 4, 60)) if n},
        {c: (int(n), float(n) * 0.7)
         for c, n in zip(channels, rng.integers(0, 9, 5), strict=True) if n},
    )  # fmt: skip
    table = ProgramTable(
        (c.program_id, c.duration_s, sorted(c.genres, key=lambda g: g != c.main_genre),
         c.series_id,
         [[w.kind, w.start, w.end, w.channel_id] for w in c.windows])
        for c in candidates
    )  # fmt: skip
    user = UserFacts.from_row(
        "u", [[w.program_id, w.seconds, w.completion, w.first_ts, w.last_ts, w.channel_id]
              for w in watches],
        [[p, t] for p, times in shown.items() for t in times],
    )  # fmt: skip
    return LoopUser("u", watches, shown), candidates, table, user, audience, now


@pytest.mark.parametrize("seed", range(20))
def test_the_vectorised_features_are_the_loops(seed: int) -> None:
    loop_user, candidates, table, user, audience, now = random_case(seed)
    rng = np.random.default_rng(seed + 1000)
    picked = rng.choice(len(candidates), size=40, replace=False)
    scores = [None if rng.random() < 0.1 else float(rng.normal()) for _ in picked]
    members = [candidates[i] for i in picked]
    # The same facts seen at other times; the last: after every watch.
    for at in (now, now - 3 * DAY_S, now + 0.5 * H, now + 30 * DAY_S):
        want = loop_features(loop_user, members, scores, audience, at, completion_threshold=0.9)
        for again in (False, True):  # again: the windows that still hold, remembered
            got = ranking_features(user, table, table.rows_of(c.program_id for c in members),
                                   scores, audience, at, completion_threshold=0.9)  # fmt: skip
            for j, name in enumerate(FEATURES):
                np.testing.assert_allclose(got[:, j], want[:, j], rtol=1e-12, equal_nan=True,
                                           err_msg=f"seed {seed}, {name}, {again=}")  # fmt: skip
    # The case is not degenerate: windows open now, shares and impressions vary.
    assert np.isfinite(want[:, FEATURES.index("kind")]).any()
    assert np.ptp(got[:, FEATURES.index("genre_share")]) > 0
    assert np.ptp(got[:, FEATURES.index("main_genre_share")]) > 0
    assert (got[:, FEATURES.index("times_shown")] > 0).any()


def test_the_window_of_each_row_is_the_loops() -> None:
    _, candidates, table, _, _, now = random_case(7)
    for at in np.linspace(now - 2 * DAY_S, now + 8 * DAY_S, 41).tolist():
        chosen = table.window_rows(table.rows_of(c.program_id for c in candidates), at)
        for c, w in zip(candidates, chosen.tolist(), strict=True):
            want = c.window_at(at)
            if want is None:
                assert w == -1
            else:
                got = (table.window_start[w], table.window_end[w],
                       table.channel_ids[table.window_channel[w]])  # fmt: skip
                assert got == (want.start, want.end, want.channel_id)
                assert math.isclose(table.window_start[w], want.start)


@pytest.mark.parametrize("seed", range(5))
def test_a_remembered_window_is_the_one_chosen_afresh(seed: int) -> None:
    # window_at reuses a row's choice while `now` stays between the moments its windows
    # change the choice: asked at those very moments, a hair before and after them, and
    # back and forth in time, it must answer what window_rows computes from nothing.
    _, candidates, table, _, _, now = random_case(seed)
    rows = table.rows_of(c.program_id for c in candidates)
    rng = np.random.default_rng(seed)
    moments = [m for c in candidates for w in c.windows
               for m in (w.start, w.end, w.start - 7 * DAY_S, (w.start + w.end) / 2)]  # fmt: skip
    times = [float(t) for m in rng.choice(moments, 150) for t in (m, m - 1e-4, m + 1e-4)]
    times += rng.uniform(now - 3 * DAY_S, now + 10 * DAY_S, 150).tolist()
    rng.shuffle(times)
    reused = 0
    for at in times + times[::-1]:
        picked = rng.choice(rows, 30)
        before = (table._valid_from[picked] < at) & (at < table._valid_until[picked])
        reused += int(before.sum())
        assert table.window_at(picked, at).tolist() == table.window_rows(picked, at).tolist(), at
    assert reused > 1000  # the memory was used, not only refilled


def test_an_audience_keeps_the_columns_of_the_latest_program_table_only() -> None:
    # The API reads a new program table every GRAPHRAILS_RANKER_PROGRAMS_TTL seconds; a
    # week's audience serves a whole day: it must not keep every old table alive.
    rows = [("p1", 600.0, ["g1"], None, [("vod", 0.0, 1e10, "c1")])]
    audience = Audience({"p1": (3, 2.5)}, {"c1": (4, 3.0)})
    old = ProgramTable(rows)
    gone = weakref.ref(old)
    by_program, by_channel = audience.columns(old)
    # [watchers, rate, minutes, first airing] by program; [watchers, rate] by channel, then
    # for no channel.
    assert by_program.tolist() == [[3, 2.5 / 3, 10.0, 0.0]]
    assert by_channel[0].tolist() == [4, 0.75] and by_channel[1, 0] == 0
    assert math.isnan(by_channel[1, 1])
    new = ProgramTable(rows)
    assert audience.columns(new)[0].tolist() == [[3, 2.5 / 3, 10.0, 0.0]]
    del old, by_program, by_channel
    gc.collect()
    assert gone() is None
