"""The ranking stage's features and model: P(complete) for a (user, candidate, now).

Retrieval (LightGCN) proposes candidates; the ranker orders the eligible ones by the
probability that the user watches them to the completion threshold. The features are
computed here and only here, by :func:`ranking_features`, for training
(:mod:`gnn.ranker_train`) and for serving (:mod:`api.rails.ranking`) alike, from the
rows of the same two statements:

* ``cypher/rails/ranking_facts.cypher``: per user, their watches and the served-log
  impressions of the candidates; per candidate, its duration, genres, series and
  availability windows (read by :meth:`UserFacts.from_row` and
  :meth:`CandidateFacts.from_row`);
* ``cypher/rails/week_audience.cypher``: watches per (program, channel, day), summed
  by :class:`AudienceTable` into "this week" = the seven whole UTC days before the day
  of ``now``.

Everything that depends on ``now`` is decided here, in Python, from those rows (what
was watched before ``now``, the window open at ``now``...), so a training example
dated in the past sees the graph as it was then, as far as the graph keeps it (a
WATCHED holds its best completion and first and last event times).

.. note::
    The retrieval score is the LightGCN score of the user and the program (a dot
    product of the version's embeddings); in training it is read for pairs the
    embeddings were not fitted on (:mod:`gnn.ranker_train`), as at serving time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FEATURES = (
    "retrieval_score",
    "genre_share",
    "channel_share",
    "series_completed",
    "program_watchers_week",
    "program_completion_week",
    "channel_watchers_week",
    "channel_completion_week",
    "hours_since_first_airing",
    "kind",
    "hour_share",
    "weekday_share",
    "hour_of_day",
    "duration_min",
    "times_shown",
    "user_watches",
)
"""The ranker's features, in the order of the columns of :func:`ranking_features`."""
KINDS = ("live", "replay", "vod")
"""``kind`` is the index of the kind of the window open at ``now`` (NaN: none)."""
CATEGORICAL = ("kind",)
DAY_S = 86_400
WEEK_DAYS = 7
WINDOW_DAYS = 7.0
"""A live airing starting within this many days from ``now`` is the candidate's window (as
the rails' default ``GRAPHRAILS_WINDOW_DAYS``)."""

Floats = npt.NDArray[np.float64]


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
    series_id: str | None


@dataclass(frozen=True)
class Window:
    """An availability window (AVAILABLE_ON) of a candidate."""

    kind: str
    start: float
    end: float
    channel_id: str


@dataclass
class UserFacts:
    """What the graph knows of one user (every watch, whatever its date)."""

    user_id: str
    watches: list[Watch]
    shown: dict[str, list[float]] = field(default_factory=dict)
    """Program id -> times (epoch s) it was served to the user (the served log)."""

    @classmethod
    def from_row(cls, user_id: str, watches: Iterable[Sequence[Any]],
                 shown: Iterable[Sequence[Any]]) -> UserFacts:  # fmt: skip
        """From the ``watches`` and ``shown`` columns of ``ranking_facts.cypher``."""
        out = [
            Watch(
                str(p),
                float(s or 0),
                1.0 if c is None else float(c),
                float(f or 0),
                float(last or 0),
                ch,
                frozenset(g or ()),
                series,
            )
            for p, s, c, f, last, ch, g, series in watches
        ]
        seen: dict[str, list[float]] = {}
        for program_id, at in shown:
            seen.setdefault(str(program_id), []).append(float(at))
        return cls(user_id, out, seen)


@dataclass(frozen=True, eq=False)
class CandidateFacts:
    """What the graph knows of one candidate program."""

    program_id: str
    duration_s: float | None
    genres: frozenset[str]
    series_id: str | None
    windows: tuple[Window, ...]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CandidateFacts:
        """From one element of the ``candidates`` column of ``ranking_facts.cypher``."""
        program_id, duration, genres, series_id, windows = row
        return cls(
            str(program_id), None if duration is None else float(duration),
            frozenset(genres or ()), series_id,
            tuple(Window(str(k), float(s), float(e), str(c)) for k, s, e, c in windows or ()),
        )  # fmt: skip

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


@dataclass(frozen=True)
class Audience:
    """Watches and summed completion, by program and by channel, over one week."""

    programs: Mapping[str, tuple[int, float]]
    channels: Mapping[str, tuple[int, float]]


class AudienceTable:
    """The rows of ``week_audience.cypher`` (program, channel, day, watchers, completion sum),
    summed into the week before any day they cover (:meth:`week_before`)."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self._by_day: dict[int, list[tuple[str, str | None, int, float]]] = {}
        for program_id, channel_id, day, watchers, completion in rows:
            self._by_day.setdefault(int(day), []).append(
                (str(program_id), channel_id, int(watchers), float(completion or 0.0))
            )
        self._weeks: dict[int, Audience] = {}

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> AudienceTable:
        """The table of ``week_audience.cypher``'s records (training and serving read it)."""
        return cls(
            (r["program_id"], r["channel_id"], r["day"], r["watchers"], r["completion"])
            for r in records
        )

    @staticmethod
    def day_of(now: float) -> int:
        """The start (epoch s) of the UTC day of ``now``."""
        return int(now // DAY_S) * DAY_S

    def week_before(self, now: float) -> Audience:
        """The audience of the seven whole UTC days before the day of ``now``."""
        day = self.day_of(now)
        week = self._weeks.get(day)
        if week is None:
            programs: dict[str, tuple[int, float]] = {}
            channels: dict[str, tuple[int, float]] = {}
            for d in range(day - WEEK_DAYS * DAY_S, day, DAY_S):
                for program_id, channel_id, n, total in self._by_day.get(d, ()):
                    a, b = programs.get(program_id, (0, 0.0))
                    programs[program_id] = (a + n, b + total)
                    if channel_id is not None:
                        a, b = channels.get(channel_id, (0, 0.0))
                        channels[channel_id] = (a + n, b + total)
            week = self._weeks[day] = Audience(programs, channels)
        return week


def ranking_features(
    user: UserFacts,
    candidates: Sequence[CandidateFacts],
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
    candidate; ``channel_share``: watched on the channel of the candidate's window at
    ``now``); ``hour_share`` and ``weekday_share`` are the shares of those watches that
    started within an hour of ``now``'s time of day (UTC) and on its weekday;
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
    done_series: dict[str, int] = {}
    last_watch: dict[str, float] = {}
    hour = int(now // 3600) % 24
    weekday = (int(now // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    near_hour = same_day = 0
    for i, w in enumerate(past):
        last_watch[w.program_id] = max(w.last_ts, last_watch.get(w.program_id, -math.inf))
        for g in w.genres:
            by_genre.setdefault(g, set()).add(i)
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
        first = c.first_airing
        since = last_watch.get(c.program_id, -math.inf)
        rows.append((
            math.nan if score is None else score,
            share,
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


class Ranker:
    """A LightGBM binary model of P(complete) over :data:`FEATURES`.

    Args:
        booster (lightgbm.Booster): the fitted model.
        record (dict): what training measured (written to the manifest).
    """

    def __init__(self, booster: Any, record: dict[str, Any] | None = None) -> None:
        names = list(booster.feature_name())
        if names != list(FEATURES):
            raise ValueError(
                f"the ranker's features are {names}, not this version's {list(FEATURES)}"
            )
        self.booster = booster
        self.record = record or {}

    def predict(self, features: Floats) -> Floats:
        """P(complete) of each row of ``features`` (columns: :data:`FEATURES`)."""
        if not len(features):
            return np.zeros(0)
        out: Floats = np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)
        return out

    def to_text(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str) -> Ranker:
        import lightgbm

        return cls(lightgbm.Booster(model_str=text))


def facts_from_record(record: Mapping[str, Any]) -> tuple[UserFacts, list[CandidateFacts]]:
    """One record of ``ranking_facts.cypher``: the user's facts and the candidates' (those
    the graph knows, in the order asked)."""
    user = UserFacts.from_row(str(record["user_id"]), record["watches"], record["shown"])
    return user, [CandidateFacts.from_row(row) for row in record["candidates"]]
