"""The ranker's features as the first version computed them: a Python loop over the
candidates, on per-watch and per-candidate objects. ``tests/gnn/test_ranker_vectorised.py``
checks that :func:`gnn.ranker.ranking_features` (vectorised over the candidates, on
:class:`gnn.ranker.ProgramTable`) gives the same rows on random cases."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gnn.ranker import DAY_S, FEATURES, KINDS, WINDOW_DAYS, Audience, Floats


@dataclass(frozen=True)
class Watch:
    """One WATCHED of the user, as ``ranking_facts.cypher`` returns it."""

    program_id: str
    seconds: float
    completion: float
    first_ts: float
    last_ts: float
    channel_id: str | None
    genres: frozenset[str]
    main_genre: str | None
    series_id: str | None


@dataclass(frozen=True)
class Window:
    """An availability window (AVAILABLE_ON) of a candidate."""

    kind: str
    start: float
    end: float
    channel_id: str


@dataclass
class LoopUser:
    """What the graph knows of one user (every watch, whatever its date)."""

    user_id: str
    watches: list[Watch]
    shown: dict[str, list[float]] = field(default_factory=dict)
    """Program id -> times (epoch s) it was served to the user (the served log)."""


@dataclass(frozen=True, eq=False)
class LoopCandidate:
    """What the graph knows of one candidate program."""

    program_id: str
    duration_s: float | None
    genres: frozenset[str]
    main_genre: str | None
    """The first of its genres (None: it has none)."""
    series_id: str | None
    windows: tuple[Window, ...]

    def window_at(self, now: float, *, window_days: float = WINDOW_DAYS) -> Window | None:
        """The window a viewer can best use at ``now``, by the order of
        ``cypher/rails/offers.part.cypher``: live airings ending after ``now`` and starting
        within ``window_days``, replay and VOD open at ``now``; an airing in progress with
        half of it or less ahead last, then the soonest to watch from, replay or VOD
        before live, then the start and the channel id. None when none is open."""
        horizon = now + window_days * DAY_S
        usable = [
            w for w in self.windows
            if (w.kind == "live" and w.end > now and w.start < horizon)
            or (w.kind != "live" and w.start <= now < w.end)
        ]  # fmt: skip
        if not usable:
            return None

        def key(w: Window) -> tuple[bool, float, bool, float, str]:
            mostly_over = (
                w.kind == "live" and w.start < now and 2 * (w.end - now) <= w.end - w.start
            )
            return (mostly_over, max(w.start, now), w.kind == "live", w.start, w.channel_id)

        return min(usable, key=key)

    @functools.cached_property
    def first_airing(self) -> float | None:
        """The earliest start of its windows (epoch s)."""
        return min((w.start for w in self.windows), default=None)


def loop_features(
    user: LoopUser,
    candidates: Sequence[LoopCandidate],
    scores: Sequence[float | None],
    audience: Audience,
    now: float,
    *,
    completion_threshold: float,
) -> Floats:
    """The feature rows (columns: :data:`FEATURES`) of ``candidates`` for ``user`` at ``now``
    (epoch s); ``scores``: their retrieval scores (None: unknown, NaN in the row).

    Only the user's watches whose last event is before ``now`` count; shares are of
    their seconds (``genre_share``: of watches of a program sharing a genre with the
    candidate; ``main_genre_share``: of watches of a program with the candidate's main
    genre, whose mean completion is ``main_genre_completion``; ``channel_share``:
    watched on the channel of the candidate's window at ``now``); ``hour_share`` and
    ``weekday_share`` are the shares of the watches that started within an hour of
    ``now``'s time of day (UTC) and on its weekday;
    ``series_completed`` counts the episodes of the candidate's series watched to
    ``completion_threshold``; ``times_shown`` counts the impressions before ``now``
    with no watch of the program between them and ``now``. Audiences are of the week
    before ``now``'s day (:class:`AudienceTable`); a completion rate with no watcher is NaN.
    """
    if len(scores) != len(candidates):
        raise ValueError(f"{len(scores)} scores for {len(candidates)} candidates")
    past = [w for w in user.watches if w.last_ts < now]
    total = sum(w.seconds for w in past)
    by_genre: dict[str, set[int]] = {}
    by_channel: dict[str, float] = {}
    by_main_genre: dict[str, list[Watch]] = {}
    done_series: dict[str, int] = {}
    last_watch: dict[str, float] = {}
    hour = int(now // 3600) % 24
    weekday = (int(now // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    near_hour = same_day = 0
    for i, w in enumerate(past):
        last_watch[w.program_id] = max(w.last_ts, last_watch.get(w.program_id, -math.inf))
        for g in w.genres:
            by_genre.setdefault(g, set()).add(i)
        if w.main_genre is not None:
            by_main_genre.setdefault(w.main_genre, []).append(w)
        if w.channel_id is not None:
            by_channel[w.channel_id] = by_channel.get(w.channel_id, 0.0) + w.seconds
        if w.series_id is not None and w.completion >= completion_threshold:
            done_series[w.series_id] = done_series.get(w.series_id, 0) + 1
        h = int(w.first_ts // 3600) % 24
        near_hour += min((h - hour) % 24, (hour - h) % 24) <= 1
        same_day += (int(w.first_ts // DAY_S) + 3) % 7 == weekday
    n = len(past)
    genre_share: dict[frozenset[str], float] = {}  # candidates share few genre sets
    rows: list[tuple[float, ...]] = []
    for c, score in zip(candidates, scores, strict=True):
        window = c.window_at(now)
        channel = window.channel_id if window is not None else None
        share = genre_share.get(c.genres)
        if share is None:
            indices: set[int] = set()
            for g in c.genres:
                indices |= by_genre.get(g, set())
            share = sum(past[i].seconds for i in indices) / total if total > 0 else 0.0
            genre_share[c.genres] = share
        p_n, p_sum = audience.programs.get(c.program_id, (0, 0.0))
        c_n, c_sum = audience.channels.get(channel, (0, 0.0)) if channel else (0, 0.0)
        same_main = by_main_genre.get(c.main_genre, []) if c.main_genre is not None else []
        first = c.first_airing
        since = last_watch.get(c.program_id, -math.inf)
        rows.append((
            math.nan if score is None else score,
            share,
            sum(w.seconds for w in same_main) / total if total > 0 else 0.0,
            sum(w.completion for w in same_main) / len(same_main) if same_main else math.nan,
            by_channel.get(channel, 0.0) / total if channel and total > 0 else 0.0,
            done_series.get(c.series_id, 0) if c.series_id else 0,
            p_n,
            p_sum / p_n if p_n else math.nan,
            c_n,
            c_sum / c_n if c_n else math.nan,
            (now - first) / 3600 if first is not None else math.nan,
            KINDS.index(window.kind) if window is not None and window.kind in KINDS else math.nan,
            near_hour / n if n else 0.0,
            same_day / n if n else 0.0,
            hour,
            c.duration_s / 60 if c.duration_s is not None else math.nan,
            sum(1 for t in user.shown.get(c.program_id, ()) if since < t < now),
            n,
        ))  # fmt: skip
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
