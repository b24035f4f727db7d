"""The ranking stage's features and model: P(complete) for a (user, candidate, now).

Retrieval (LightGCN) proposes candidates; the ranker orders the eligible ones by the
probability that the user watches them to the completion threshold. The features are
computed here and only here, by :func:`ranking_features`, for training
(:mod:`gnn.ranker_train`) and for serving (:mod:`api.rails.ranking`) alike, from the
rows of the same statements:

* ``cypher/rails/program_facts.cypher``: every program's duration, genres, series and
  availability windows, read into a :class:`ProgramTable` (once by training; kept by
  the API for ``GRAPHRAILS_RANKER_PROGRAMS_TTL`` seconds: nothing in it is the user's);
* ``cypher/rails/ranking_user.part.cypher``: the user's watches and the served-log
  impressions of the programs to rank (:meth:`UserFacts.from_row`), returned by the
  statement that reads the rail (``home.cypher``) at serving time and by
  ``ranking_facts.cypher`` in training;
* ``cypher/rails/week_audience.cypher``: watches per (program, channel, day), summed
  by :class:`AudienceTable` into "this week" = the seven whole UTC days before the day
  of ``now``.

Everything that depends on ``now`` is decided here, in this module, from those rows (what
was watched before ``now``, the window open at ``now``...), so a training example
dated in the past sees the graph as it was then, as far as the graph keeps it (a
WATCHED holds its best completion and first and last event times).

.. note::
    The retrieval score is the LightGCN score of the user and the program (a dot
    product of the version's embeddings); in training it is read for pairs the
    embeddings were not fitted on (:mod:`gnn.ranker_train`), as at serving time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

FEATURES = (
    "retrieval_score",
    "genre_share",
    "main_genre_share",
    "main_genre_completion",
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
Ints = npt.NDArray[np.int64]
NONE = -1
"""The code of "no such row" (a program, series or channel the table does not hold)."""
BOUNDARY_MARGIN_S = 0.001
"""How far from a moment when a window's tests change (a start, an end...) ``now`` must
be for :meth:`ProgramTable.window_at` to reuse a choice (float rounding moves a test's
outcome by far less)."""


class ProgramTable:
    """Every program's static facts, as arrays by row: duration, genres, series and
    availability windows (CSR: the windows of row ``i`` are ``window_ptr[i]`` to
    ``window_ptr[i + 1]``), from the rows of ``cypher/rails/program_facts.cypher``
    (:meth:`from_rows`). Nothing in it depends on a user or on ``now``.

    Channels are coded in the order of their ids, so that comparing codes compares ids
    (the last key of :meth:`window_rows`)."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        ids: list[str] = []
        durations: list[float] = []
        genre_lists: list[list[str]] = []
        series: list[str | None] = []
        windows: list[tuple[int, int, float, float, str]] = []  # row, kind, start, end, channel
        for row, (program_id, duration, genres, series_id, program_windows) in enumerate(rows):
            ids.append(str(program_id))
            durations.append(math.nan if duration is None else float(duration))
            genre_lists.append([str(g) for g in genres or ()])
            series.append(None if series_id is None else str(series_id))
            for kind, start, end, channel in program_windows or ():
                code = KINDS.index(kind) if kind in KINDS else len(KINDS)
                windows.append((row, code, float(start), float(end), str(channel)))
        self.ids: list[str] = ids
        self.index: dict[str, int] = {p: i for i, p in enumerate(ids)}
        self.duration_s: Floats = np.asarray(durations, np.float64)
        genre_ids = sorted({g for gs in genre_lists for g in gs})
        genre_code = {g: i for i, g in enumerate(genre_ids)}
        self.genre_count = len(genre_ids)
        self.genre_bits = np.zeros((len(ids), max(1, -(-len(genre_ids) // 64))), np.uint64)
        """The program's (row's) genres as bits: genre ``g`` is bit ``g % 64`` of word
        ``g // 64``."""
        for row, gs in enumerate(genre_lists):
            for g in {genre_code[g] for g in gs}:
                self.genre_bits[row, g // 64] |= np.uint64(1 << (g % 64))
        self.main_genre: Ints = np.asarray(
            [genre_code[gs[0]] if gs else len(genre_ids) for gs in genre_lists], np.int64
        )
        """Each program's main genre, the first of its genres (``genre_count``: none)."""
        series_ids = sorted({s for s in series if s is not None})
        series_code = {s: i for i, s in enumerate(series_ids)}
        self.series: Ints = np.asarray(
            [NONE if s is None else series_code[s] for s in series], np.int64
        )
        self.channel_ids: list[str] = sorted({w[4] for w in windows})
        self.channel_index: dict[str, int] = {c: i for i, c in enumerate(self.channel_ids)}
        windows.sort(key=lambda w: w[0])  # stable: a program's windows keep their order
        self.window_ptr: Ints = np.zeros(len(ids) + 1, np.int64)
        np.cumsum(np.bincount([w[0] for w in windows], minlength=len(ids)),
                  out=self.window_ptr[1:])  # fmt: skip
        self.window_kind: Ints = np.asarray([w[1] for w in windows], np.int64)
        self.window_start: Floats = np.asarray([w[2] for w in windows], np.float64)
        self.window_end: Floats = np.asarray([w[3] for w in windows], np.float64)
        self.window_channel: Ints = np.asarray(
            [self.channel_index[w[4]] for w in windows], np.int64
        )
        first = np.full(len(ids), np.inf)
        np.minimum.at(first, np.asarray([w[0] for w in windows], np.int64), self.window_start)
        self.first_airing: Floats = np.where(np.isinf(first), np.nan, first)
        """The earliest start of each program's windows (epoch s; NaN: none)."""
        # The channel code and the kind (a float: NaN for a kind the ranker does not know)
        # of each window, and last, at index NONE, those of "no window": len(channel_ids)
        # (UserFacts.bind's code for a watch on no known channel) and NaN.
        self.window_channel_or_none: Ints = np.append(self.window_channel, len(self.channel_ids))
        self.window_kind_or_none: Floats = np.append(
            np.where(self.window_kind < len(KINDS), self.window_kind, np.nan), np.nan
        )
        # window_at's memory: the window of each row and the open interval of `now`
        # around the moment it was chosen in which no window of the row starts, ends,
        # opens to the live horizon or passes half of its airing (so the choice holds).
        self._window = np.full(len(ids), NONE, np.int64)
        self._valid_from = np.full(len(ids), np.inf)
        self._valid_until = np.full(len(ids), -np.inf)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> ProgramTable:
        """The table of ``program_facts.cypher``'s records (training and serving read it)."""
        return cls(
            (r["program_id"], r["duration_s"], r["genres"], r["series_id"], r["windows"])
            for r in records
        )

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, program_ids: Iterable[str]) -> Ints:
        """The rows of ``program_ids`` (:data:`NONE` for a program the table does not hold)."""
        get = self.index.get
        return np.array([get(p, NONE) for p in program_ids], np.int64)

    def window_at(self, rows: Ints, now: float) -> Ints:
        """:meth:`window_rows` (with the default ``window_days``), remembered: a row's window
        is chosen again only when ``now`` leaves the interval in which the choice made last
        time holds (between the two moments around it when one of the row's windows
        starts, ends, comes within the live horizon or passes half of its airing, each
        kept :data:`BOUNDARY_MARGIN_S` away). Rows must be rows of the table."""
        valid = (self._valid_from[rows] < now) & (now < self._valid_until[rows])
        if not valid.all():
            stale = rows[~valid]
            self._window[stale] = self.window_rows(stale, now)
            self._valid_from[stale], self._valid_until[stale] = self._choice_holds(stale, now)
        return self._window[rows]

    def _choice_holds(self, rows: Ints, now: float) -> tuple[Floats, Floats]:
        """For each of ``rows``, the open interval around ``now`` in which no window of the
        row changes the outcome of :meth:`window_rows`' tests (empty when ``now`` is
        within the margin of such a moment)."""
        since = np.full(len(rows), -np.inf)
        until = np.full(len(rows), np.inf)
        owner, w = self._windows(rows)
        if not len(w):
            return since, until
        start, end = self.window_start[w], self.window_end[w]
        live = self.window_kind[w] == KINDS.index("live")
        moments = np.concatenate((start, end, np.where(live, start - WINDOW_DAYS * DAY_S, start),
                                  np.where(live, (start + end) / 2, start)))  # fmt: skip
        owners = np.tile(owner, 4)
        before = moments <= now
        np.maximum.at(since, owners[before], moments[before])
        np.minimum.at(until, owners[~before], moments[~before])
        near = (since + BOUNDARY_MARGIN_S >= now) | (until - BOUNDARY_MARGIN_S <= now)
        since += BOUNDARY_MARGIN_S
        until -= BOUNDARY_MARGIN_S
        until[near] = -np.inf  # chosen too close to a change to be reused
        return since, until

    def _windows(self, rows: Ints) -> tuple[Ints, Ints]:
        """Every window of ``rows`` (a :data:`NONE` row has none), row after row: for each,
        the position in ``rows`` of its row and its index in the ``window_*`` arrays."""
        known = rows >= 0
        lo = np.where(known, self.window_ptr[np.maximum(rows, 0)], 0)
        counts = np.where(known, self.window_ptr[np.maximum(rows, 0) + 1] - lo, 0)
        owner = np.repeat(np.arange(len(rows)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)  # of the row's, in the output
        return owner, np.arange(len(owner)) - first + np.repeat(lo, counts)

    def window_rows(self, rows: Ints, now: float, *, window_days: float = WINDOW_DAYS) -> Ints:
        """For each of ``rows``, the window (an index into the ``window_*`` arrays) a viewer
        can best use at ``now``, by the order of ``cypher/rails/offers.part.cypher``: live
        airings ending after ``now`` and starting within ``window_days``, replay and VOD
        open at ``now``; an airing in progress with half of it or less ahead last, then the
        soonest to watch from, replay or VOD before live, then the start and the channel
        id. :data:`NONE` when none is open (or the row is :data:`NONE`)."""
        rows = np.asarray(rows, np.int64)
        out = np.full(len(rows), NONE, np.int64)
        owner, w = self._windows(rows)
        if not len(w):
            return out
        start, end = self.window_start[w], self.window_end[w]
        live = self.window_kind[w] == KINDS.index("live")
        horizon = now + window_days * DAY_S
        usable = np.where(live, (end > now) & (start < horizon), (start <= now) & (now < end))
        if not usable.any():
            return out
        owner, w, start, end, live = (
            owner[usable],
            w[usable],
            start[usable],
            end[usable],
            live[usable],
        )
        mostly_over = live & (start < now) & (2 * (end - now) <= end - start)
        # np.lexsort sorts by its last key first.
        order = np.lexsort((self.window_channel[w], start, live, np.maximum(start, now),
                            mostly_over, owner))  # fmt: skip
        owner, w = owner[order], w[order]
        first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        out[owner[first]] = w[first]
        return out


_WATCH_DEFAULTS = np.array([0.0, 1.0, 0.0, 0.0])
"""A watch's seconds, completion, first and last event when the graph has none (a WATCHED
without a completion, as in MovieLens, counts as complete)."""


@dataclass
class UserFacts:
    """What the graph knows of one user: every watch, whatever its date (arrays, one entry
    per WATCHED), and the served-log impressions of the programs asked."""

    user_id: str
    program_ids: list[str]
    seconds: Floats
    completion: Floats
    """Best completion (a WATCHED without one, as in MovieLens, counts as 1)."""
    first_ts: Floats
    last_ts: Floats
    channel_ids: list[str | None]
    """The channel of each watch's latest event."""
    shown: dict[str, list[float]] = field(default_factory=dict)
    """Program id -> times (epoch s) it was served to the user (the served log)."""
    _bound: tuple[ProgramTable, Ints, Ints] | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, user_id: str, watches: Iterable[Sequence[Any]] | None,
                 shown: Iterable[Sequence[Any]] | None) -> UserFacts:  # fmt: skip
        """From the ``ranking_watches`` and ``ranking_shown`` columns of
        ``cypher/rails/ranking_user.part.cypher`` (None: nothing)."""
        rows = list(watches or ())
        seen: dict[str, list[float]] = {}
        for program_id, at in shown or ():
            seen.setdefault(str(program_id), []).append(float(at))
        # seconds, completion, first and last event: one conversion (a null is NaN), then
        # a missing value is 0, or 1 for the completion.
        numbers = np.array([r[1:5] for r in rows], np.float64).reshape(len(rows), 4)
        np.copyto(numbers, _WATCH_DEFAULTS, where=np.isnan(numbers))
        seconds, completion, first_ts, last_ts = np.ascontiguousarray(numbers.T)
        return cls(user_id, [str(r[0]) for r in rows], seconds, completion, first_ts, last_ts,
                   [r[5] for r in rows], seen)  # fmt: skip

    def bind(self, programs: ProgramTable) -> tuple[Ints, Ints]:
        """The table rows of the watched programs (:data:`NONE`: not in ``programs``) and
        the codes of the channels of the watches (``len(programs.channel_ids)``: none, or
        one the table does not know), computed once per table."""
        if self._bound is None or self._bound[0] is not programs:
            unknown = len(programs.channel_ids)
            code = programs.channel_index
            channels = np.array(
                [unknown if c is None else code.get(c, unknown) for c in self.channel_ids],
                np.int64,
            )
            self._bound = (programs, programs.rows_of(self.program_ids), channels)
        return self._bound[1], self._bound[2]


@dataclass(frozen=True)
class Audience:
    """Watches and summed completion, by program and by channel, over one week."""

    programs: Mapping[str, tuple[int, float]]
    channels: Mapping[str, tuple[int, float]]
    _columns: dict[int, tuple[ProgramTable, Floats, Floats]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def columns(self, table: ProgramTable) -> tuple[Floats, Floats]:
        """The week's columns of the features for ``table`` (computed once per table, and
        kept for the latest table only: the API reads a new one every
        ``GRAPHRAILS_RANKER_PROGRAMS_TTL`` seconds, and the old ones must not stay alive):

        * by row: [watchers, completion rate (NaN: no watcher), duration in minutes,
          first airing (epoch s)], the program's own columns;
        * by channel code, and last (code ``len(table.channel_ids)``) for no channel:
          [watchers, completion rate]."""
        cached = self._columns.get(id(table))
        if cached is None or cached[0] is not table:
            by_program = np.zeros((len(table), 2))
            for program_id, value in self.programs.items():
                row = table.index.get(program_id)
                if row is not None:
                    by_program[row] = value
            by_channel = np.zeros((len(table.channel_ids) + 1, 2))
            for channel_id, value in self.channels.items():
                code = table.channel_index.get(channel_id)
                if code is not None:
                    by_channel[code] = value
            programs = np.column_stack((by_program[:, 0], _rate(by_program),
                                        table.duration_s / 60, table.first_airing))  # fmt: skip
            channels = np.column_stack((by_channel[:, 0], _rate(by_channel)))
            self._columns.clear()
            cached = self._columns[id(table)] = (table, programs, channels)
        return cached[1], cached[2]


def _rate(counts: Floats) -> Floats:
    """Summed completion over watchers, by row of [watchers, completion sum] (NaN: none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: Floats = np.where(counts[:, 0] > 0, counts[:, 1] / counts[:, 0], np.nan)
    return out


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
    programs: ProgramTable,
    rows: Sequence[int] | Ints,
    scores: Sequence[float | None],
    audience: Audience,
    now: float,
    *,
    completion_threshold: float,
) -> Floats:
    """The feature rows (columns: :data:`FEATURES`) of the candidates at ``rows`` of
    ``programs`` for ``user`` at ``now`` (epoch s); ``scores``: their retrieval scores
    (None: unknown, NaN in the row).

    Only the user's watches whose last event is before ``now`` count; shares are of
    their seconds (``genre_share``: of watches of a program sharing a genre with the
    candidate; ``main_genre_share``: of watches of a program whose main genre, the first
    of its genres, is the candidate's; ``channel_share``: watched on the channel of the
    candidate's window at ``now``, :meth:`ProgramTable.window_rows`);
    ``main_genre_completion`` is the mean best completion of those same-main-genre
    watches (NaN: none); ``hour_share`` and ``weekday_share`` are the shares of the
    watches that started within an hour of ``now``'s time of day (UTC) and on its
    weekday; ``series_completed`` counts the episodes of the
    candidate's series watched to ``completion_threshold``; ``times_shown`` counts the
    impressions before ``now`` with no watch of the program between them and ``now``.
    Audiences are of the week before ``now``'s day (:class:`AudienceTable`); a
    completion rate with no watcher is NaN. A watch of a program ``programs`` does not
    hold counts, with no genre, series or channel of its own.
    """
    rows = np.asarray(rows, np.int64).reshape(-1)
    if len(scores) != len(rows):
        raise ValueError(f"{len(scores)} scores for {len(rows)} candidates")
    out = np.empty((len(rows), len(FEATURES)))
    watch_rows, watch_channels = user.bind(programs)
    program_columns, channel_columns = audience.columns(programs)
    score_column = np.array(scores, np.float64)  # None becomes NaN

    def fill(window: Ints, remembered: bool) -> int:
        return int(_fill(
            out, rows, score_column, float(now), float(completion_threshold),
            watch_rows, watch_channels, user.seconds, user.completion, user.first_ts,
            user.last_ts, programs.genre_bits, programs.main_genre, programs.genre_count,
            programs.series, window, remembered, programs._window, programs._valid_from,
            programs._valid_until, programs.window_channel_or_none,
            programs.window_kind_or_none, len(programs.channel_ids), program_columns,
            channel_columns,
        ))  # fmt: skip

    status = fill(np.empty(len(rows), np.int64), True)
    if status == _WINDOWS_STALE:  # window_at chooses again those that no longer hold
        status = fill(programs.window_at(rows, now), False)
    if status == _ROWS_OUTSIDE:
        raise ValueError(f"rows {rows[(rows < 0) | (rows >= len(programs))].tolist()} are not "
                         f"rows of the program table ({len(programs)} programs)")  # fmt: skip
    if user.shown:
        last_watch: dict[str, float] = {}
        for i in np.flatnonzero(user.last_ts < now).tolist():
            p = user.program_ids[i]
            if p in user.shown:
                last_watch[p] = max(float(user.last_ts[i]), last_watch.get(p, -math.inf))
        # Impressions before now with no watch of the program between them and now.
        shown: dict[int, int] = {}
        for p, times in user.shown.items():
            since = last_watch.get(p, -math.inf)
            shown[programs.index.get(p, NONE)] = sum(1 for t in times if since < t < now)
        out[:, _TIMES_SHOWN] = [shown.get(row, 0) for row in rows.tolist()]
    return out


# Column indices, constants of the compiled _fill.
_RETRIEVAL_SCORE = FEATURES.index("retrieval_score")
_GENRE_SHARE = FEATURES.index("genre_share")
_MAIN_GENRE_SHARE = FEATURES.index("main_genre_share")
_MAIN_GENRE_COMPLETION = FEATURES.index("main_genre_completion")
_CHANNEL_SHARE = FEATURES.index("channel_share")
_SERIES_COMPLETED = FEATURES.index("series_completed")
_PROGRAM_WATCHERS = FEATURES.index("program_watchers_week")
_PROGRAM_COMPLETION = FEATURES.index("program_completion_week")
_CHANNEL_WATCHERS = FEATURES.index("channel_watchers_week")
_CHANNEL_COMPLETION = FEATURES.index("channel_completion_week")
_HOURS_SINCE_FIRST = FEATURES.index("hours_since_first_airing")
_KIND = FEATURES.index("kind")
_HOUR_SHARE = FEATURES.index("hour_share")
_WEEKDAY_SHARE = FEATURES.index("weekday_share")
_HOUR_OF_DAY = FEATURES.index("hour_of_day")
_DURATION = FEATURES.index("duration_min")
_TIMES_SHOWN = FEATURES.index("times_shown")
_USER_WATCHES = FEATURES.index("user_watches")


_FILLED, _ROWS_OUTSIDE, _WINDOWS_STALE = 0, 1, 2
"""What :func:`_fill` did: every column, nothing (a row is not the table's), nothing (a
remembered window no longer holds at ``now``: :meth:`ProgramTable.window_at` chooses it
again)."""


@numba.njit(cache=True, nogil=True)
def _fill(
    out: Floats, rows: Ints, scores: Floats, now: float, threshold: float,
    # the user's watches
    watch_rows: Ints, watch_channels: Ints, seconds: Floats, completion: Floats,
    first_ts: Floats, last_ts: Floats,
    # the program table (ProgramTable), and the candidates' windows: ``window``, or with
    # ``remembered`` window_at's memory of them, read into ``window``
    genre_bits: npt.NDArray[np.uint64], main_genre: Ints, no_genre: int, series: Ints,
    window: Ints, remembered: bool, memory: Ints, valid_from: Floats, valid_until: Floats,
    window_channel: Ints, window_kind: Floats, no_channel: int,
    # the week's audience (Audience.columns)
    program_columns: Floats, channel_columns: Floats,
) -> int:  # fmt: skip
    """Every column of ``out`` for the candidates at ``rows`` (see
    :func:`ranking_features`; ``times_shown`` 0), in one compiled pass: one call costs
    less than the 40 numpy calls it replaces, each from cold caches. Only the watches
    before ``now`` count; a watch of a program the table does not hold (``watch_rows``
    NONE) counts in the totals and on its channel, nowhere else. Returns
    :data:`_FILLED`, or :data:`_ROWS_OUTSIDE` / :data:`_WINDOWS_STALE` having written
    nothing."""
    for i in range(rows.shape[0]):
        if rows[i] < 0 or rows[i] >= series.shape[0]:
            return _ROWS_OUTSIDE
    for i in range(rows.shape[0]):
        if remembered:
            if not (valid_from[rows[i]] < now < valid_until[rows[i]]):
                return _WINDOWS_STALE
            window[i] = memory[rows[i]]
    hour = int(now // 3600) % 24
    weekday = (int(now // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    # The user's side: totals, by channel, by main genre (seconds, watches, completion),
    # and the genres, series and seconds of each watch before now of a known program.
    n = 0
    total = 0.0
    near_hour = 0
    same_day = 0
    by_channel = np.zeros(no_channel + 1)
    by_main = np.zeros((no_genre + 1, 3))
    known = 0
    known_bits = np.empty((watch_rows.shape[0], genre_bits.shape[1]), np.uint64)
    known_seconds = np.empty(watch_rows.shape[0])
    done_series = np.empty(watch_rows.shape[0], np.int64)  # of the watches completed
    done = 0
    for j in range(watch_rows.shape[0]):
        if not last_ts[j] < now:
            continue
        n += 1
        total += seconds[j]
        by_channel[watch_channels[j]] += seconds[j]
        # Within an hour of `hour` (of the day): the hour since the epoch of the watch's
        # start is hour - 1, hour or hour + 1 modulo 24; on `weekday`: its day since the
        # epoch is weekday - 3 modulo 7.
        started = first_ts[j] // 3600
        near_hour += (started - (hour - 1)) % 24 <= 2
        same_day += (started // 24 - (weekday - 3)) % 7 == 0
        w = watch_rows[j]
        if w < 0:
            continue
        by_main[main_genre[w], 0] += seconds[j]
        by_main[main_genre[w], 1] += 1.0
        by_main[main_genre[w], 2] += completion[j]
        known_bits[known] = genre_bits[w]
        known_seconds[known] = seconds[j]
        known += 1
        if series[w] >= 0 and completion[j] >= threshold:
            done_series[done] = series[w]
            done += 1
    for i in range(rows.shape[0]):
        row = rows[i]
        # Shares of the user's watch time: sharing a genre (a watch counts once however
        # many it shares), of the same main genre, on the channel of the window open now.
        shared = 0.0
        for k in range(known):
            for word in range(genre_bits.shape[1]):
                if genre_bits[row, word] & known_bits[k, word]:
                    shared += known_seconds[k]
                    break
        completed = 0
        for k in range(done):
            completed += done_series[k] == series[row]
        chosen = window[i]
        channel = window_channel[chosen]  # "no window" is the last entry, at NONE
        g = main_genre[row]
        has_main = g < no_genre
        out[i, _RETRIEVAL_SCORE] = scores[i]
        out[i, _GENRE_SHARE] = shared / total if total > 0 else 0.0
        out[i, _CHANNEL_SHARE] = (
            by_channel[channel] / total if total > 0 and channel < no_channel else 0.0
        )
        out[i, _MAIN_GENRE_SHARE] = by_main[g, 0] / total if total > 0 and has_main else 0.0
        out[i, _MAIN_GENRE_COMPLETION] = (
            by_main[g, 2] / by_main[g, 1] if has_main and by_main[g, 1] > 0 else np.nan
        )
        out[i, _SERIES_COMPLETED] = completed
        # The week's audience of the program and of that channel, and the program's own.
        out[i, _PROGRAM_WATCHERS] = program_columns[row, 0]
        out[i, _PROGRAM_COMPLETION] = program_columns[row, 1]
        out[i, _DURATION] = program_columns[row, 2]
        out[i, _HOURS_SINCE_FIRST] = (now - program_columns[row, 3]) / 3600
        out[i, _CHANNEL_WATCHERS] = channel_columns[channel, 0]
        out[i, _CHANNEL_COMPLETION] = channel_columns[channel, 1]
        out[i, _KIND] = window_kind[chosen]
        out[i, _HOUR_SHARE] = near_hour / n if n else 0.0
        out[i, _WEEKDAY_SHARE] = same_day / n if n else 0.0
        out[i, _HOUR_OF_DAY] = hour
        out[i, _TIMES_SHOWN] = 0.0
        out[i, _USER_WATCHES] = n
    return _FILLED


class RankerFeaturesError(ValueError):
    """A ranker fitted on other features than this code's :data:`FEATURES` (a version
    trained before they changed): it cannot rank until a retrain fits a new one."""


class Ranker:
    """A LightGBM binary model of P(complete) over :data:`FEATURES`.

    Args:
        booster (lightgbm.Booster): the fitted model.
        record (dict): what training measured (written to the manifest).
    """

    def __init__(self, booster: Any, record: dict[str, Any] | None = None) -> None:
        names = list(booster.feature_name())
        if names != list(FEATURES):
            raise RankerFeaturesError(
                f"the ranker's features are {names}, not this version's {list(FEATURES)}"
            )
        self.booster = booster
        self.record = record or {}
        self._trees = _Trees.of(str(booster.model_to_string()))

    def predict(self, features: Floats) -> Floats:
        """P(complete) of each row of ``features`` (columns: :data:`FEATURES`): the model's
        trees walked in one compiled call (:class:`_Trees`; a test holds it equal to
        ``Booster.predict``, which at serving time cost a ranked rail a third of its added
        CPU, most of it in LightGBM's layers around the walk)."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURES):
            raise ValueError(f"features of shape {x.shape}, not (rows, {len(FEATURES)})")
        return self._trees.predict(x)

    def to_text(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str) -> Ranker:
        import lightgbm

        return cls(lightgbm.Booster(model_str=text))


_CATEGORICAL, _DEFAULT_LEFT = 1, 2
"""Bits of a node's ``decision_type`` in LightGBM's model text; bits 2-3 are the missing
type (:data:`_MISSING_ZERO`, :data:`_MISSING_NAN`; 0: none)."""
_MISSING_ZERO, _MISSING_NAN = 1, 2
_ZERO = 1e-35
"""LightGBM's "zero" (``kZeroThreshold``): a value this close to 0 is missing when a node's
missing type is zero."""


@dataclass(frozen=True)
class _Trees:
    """A binary LightGBM model's trees as flat arrays, read from its model text: the nodes
    of every tree one after the other (a child >= 0 is a node, < 0 the leaf ``~child``,
    both numbered across trees); for a categorical node, ``threshold`` is the index of its
    categories (``categories[k]`` to ``categories[k + 1]``: 32-bit words of
    ``category_bits``, a set bit for each category that goes left)."""

    roots: Ints
    """Each tree's root: a node, or ``~leaf`` for a tree of one leaf."""
    feature: Ints
    threshold: Floats
    decision: Ints
    left: Ints
    right: Ints
    leaf_value: Floats
    categories: Ints
    category_bits: npt.NDArray[np.uint32]
    sigmoid: float

    @classmethod
    def of(cls, text: str) -> _Trees:
        head, *blocks = text.split("\nTree=")
        objective = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
        words = objective["objective"].split()
        if words[0] != "binary":
            raise ValueError(f"the ranker's objective is {words[0]!r}, not 'binary'")
        sigmoid = next((float(w.split(":")[1]) for w in words if w.startswith("sigmoid:")), 1.0)
        roots: list[int] = []
        leaf_values: list[float] = []
        columns: dict[str, list[float]] = {k: [] for k in ("split_feature", "threshold",
                                                            "decision_type", "left_child",
                                                            "right_child")}  # fmt: skip
        categories: list[int] = [0]
        category_bits: list[int] = []
        for block in blocks:
            tree = dict(line.split("=", 1) for line in block.split("\n\n")[0].splitlines()
                        if "=" in line)  # fmt: skip
            nodes, leaves = len(columns["threshold"]), len(leaf_values)
            leaf_values += [float(v) for v in tree["leaf_value"].split()]
            if int(tree["num_leaves"]) == 1:
                roots.append(~leaves)
                continue
            roots.append(nodes)
            cats = len(categories) - 1
            for key, values in columns.items():
                numbers = [float(v) for v in tree[key].split()]
                if key in ("left_child", "right_child"):  # renumbered across trees
                    numbers = [c + nodes if c >= 0 else c - leaves for c in numbers]
                values += numbers
            if int(tree.get("num_cat", 0)):
                decision = np.array(tree["decision_type"].split(), np.int64)
                threshold = columns["threshold"]
                for i in np.flatnonzero(decision & _CATEGORICAL).tolist():
                    threshold[nodes + i] += cats  # the tree's own index, across trees
                bounds = [int(v) for v in tree["cat_boundaries"].split()]
                categories += [len(category_bits) + b for b in bounds[1:]]
                category_bits += [int(v) for v in tree["cat_threshold"].split()]
        return cls(
            np.array(roots, np.int64), np.array(columns["split_feature"], np.int64),
            np.array(columns["threshold"], np.float64),
            np.array(columns["decision_type"], np.int64),
            np.array(columns["left_child"], np.int64),
            np.array(columns["right_child"], np.int64),
            np.array(leaf_values, np.float64), np.array(categories, np.int64),
            np.array(category_bits, np.uint32), sigmoid,
        )  # fmt: skip

    def predict(self, x: Floats) -> Floats:
        """P(complete) of each row of ``x`` (float64, two dimensions), by :func:`_walk`."""
        out = np.empty(len(x))
        _walk(x, self.roots, self.feature, self.threshold, self.decision, self.left,
              self.right, self.leaf_value, self.categories, self.category_bits, self.sigmoid,
              out)  # fmt: skip
        return out


@numba.njit(cache=True, nogil=True)
def _walk(
    x: Floats, roots: Ints, feature: Ints, threshold: Floats, decision: Ints, left: Ints,
    right: Ints, leaf_value: Floats, categories: Ints, category_bits: npt.NDArray[np.uint32],
    sigmoid: float, out: Floats,
) -> None:  # fmt: skip
    """P(complete) of each row of ``x``: the sum of its leaves over the trees of
    :class:`_Trees`, through the sigmoid, with LightGBM's decisions at each node."""
    for r in range(x.shape[0]):
        raw = 0.0
        for root in roots:
            node = root
            while node >= 0:
                value = x[r, feature[node]]
                kind = decision[node]
                missing = (kind >> 2) & 3
                if kind & _CATEGORICAL:
                    go_left = False
                    if not np.isnan(value) and value >= 0:
                        category = int(value)
                        k = int(threshold[node])
                        word = categories[k] + category // 32
                        if word < categories[k + 1]:
                            go_left = (category_bits[word] >> (category % 32)) & 1 == 1
                else:
                    if np.isnan(value) and missing != _MISSING_NAN:
                        value = 0.0
                    if (missing == _MISSING_ZERO and -_ZERO <= value <= _ZERO) or (
                        missing == _MISSING_NAN and np.isnan(value)
                    ):
                        go_left = kind & _DEFAULT_LEFT != 0
                    else:
                        go_left = value <= threshold[node]
                node = left[node] if go_left else right[node]
            raw += leaf_value[~node]
        out[r] = 1.0 / (1.0 + np.exp(-sigmoid * raw))


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the features' and the trees' kernels on a
    one-program case, so that the first ranked rail after a start does not wait for them
    (seconds on a first install)."""
    table = ProgramTable([("p", 60.0, ["g"], None, [("vod", 0.0, 1.0, "c")])])
    user = UserFacts.from_row("u", [["p", 60.0, 1.0, 0.0, 0.0, "c"]], [])
    features = ranking_features(user, table, [0], [0.0], Audience({}, {}), 0.5,
                                completion_threshold=1.0)  # fmt: skip
    no_node = np.zeros(0, np.int64)
    one_leaf = _Trees(roots=np.array([~0]), feature=no_node, threshold=np.zeros(0),
                      decision=no_node, left=no_node, right=no_node, leaf_value=np.zeros(1),
                      categories=np.zeros(1, np.int64), category_bits=np.zeros(0, np.uint32),
                      sigmoid=1.0)  # fmt: skip
    one_leaf.predict(features)


def user_from_record(record: Mapping[str, Any], *, user_id: str | None = None) -> UserFacts:
    """The user's facts in a record holding the columns of
    ``cypher/rails/ranking_user.part.cypher`` (``ranking_watches``, ``ranking_shown``)."""
    uid = user_id if user_id is not None else str(record["user_id"])
    return UserFacts.from_row(uid, record["ranking_watches"], record["ranking_shown"])
