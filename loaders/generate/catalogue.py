"""The catalogue: channels, bundles, genres, series, programs and the week's EPG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from loaders.generate.world import (
    ADJECTIVES,
    BUNDLES,
    COUNTRIES,
    CSA,
    GENRE_INDEX,
    GENRES,
    NOUNS,
    PLACES,
    SPORTS,
    THEME_INDEX,
    THEMES,
    WEEK_S,
    BoolArray,
    Bundle,
    FloatArray,
    IntArray,
    Pools,
    choice_rows,
    week_times,
)


@dataclass(slots=True)
class Catalogue:
    """Channels, bundles, genres, series, programs and the week's availability."""

    epoch: int
    channel_theme: IntArray
    channel_names: list[str]
    channel_bundles: IntArray  # bitmask of the bundles including each channel
    channel_rights: IntArray  # bitmask of the COUNTRIES each channel's windows may be watched in
    channel_genre: FloatArray  # (channels, genres): what each channel shows
    series_titles: list[str]
    program_ids: np.ndarray[Any, np.dtype[np.object_]]
    channel_ids: np.ndarray[Any, np.dtype[np.object_]]
    columns: dict[str, Any]  # programs file columns
    availability: dict[str, Any]
    genre_of: IntArray  # main genre of each program
    channel_of: IntArray  # home channel of each program
    level_rank: IntArray  # CSA rank 0..4 of each program
    duration: IntArray
    watch_from: IntArray  # a window inside the week where the program can be watched
    watch_to: IntArray
    popularity: FloatArray
    pools: WorldPools

    @property
    def n_programs(self) -> int:
        return len(self.program_ids)

    @classmethod
    def build(
        cls, *, programs: int, rng: np.random.Generator, epoch: int, progress: bool
    ) -> Catalogue:
        n_ch = int(np.clip(round(np.sqrt(programs) / 2), 20, 150))
        channel_theme = _split_channels(n_ch)
        channel_names = []
        seen: dict[int, int] = {}
        for t in channel_theme:
            k = seen.get(int(t), 0)
            seen[int(t)] = k + 1
            names = THEMES[t].names
            suffix = f" {k // len(names) + 1}" if k >= len(names) else ""
            channel_names.append(names[k % len(names)] + suffix)
        channel_bundles = np.zeros(n_ch, dtype=np.int64)
        for b, bundle in enumerate(BUNDLES):
            channel_bundles[_bundle_channels(bundle, channel_theme)] |= 1 << b
        channel_genre = np.zeros((n_ch, len(GENRES)))
        for c, t in enumerate(channel_theme):
            for g, w in THEMES[t].genres.items():
                channel_genre[c, GENRE_INDEX[g]] = w

        p = _make_programs(programs, channel_theme, rng)
        availability, watch_from, watch_to, kind = _schedule(p, n_ch, epoch, rng, progress)
        p["columns"]["availability"] = kind
        popularity = p["popularity"] * np.where(kind == "live", 2.0, 1.0)
        # Drawn last, so that the draws before it (and the files they make) stay the same.
        channel_rights = _channel_rights(channel_bundles, rng)
        width = max(7, len(str(programs)))
        return cls(
            epoch=epoch,
            channel_theme=channel_theme,
            channel_names=channel_names,
            channel_bundles=channel_bundles,
            channel_rights=channel_rights,
            channel_genre=channel_genre,
            series_titles=p["series_titles"],
            program_ids=np.array([f"p{i:0{width}d}" for i in range(programs)], dtype=object),
            channel_ids=np.array([f"c{i:03d}" for i in range(n_ch)], dtype=object),
            columns=p["columns"],
            availability=availability,
            genre_of=p["genre"],
            channel_of=p["channel"],
            level_rank=p["rank"],
            duration=p["duration"],
            watch_from=watch_from,
            watch_to=watch_to,
            popularity=popularity,
            pools=world_pools(popularity, p["rank"], p["genre"], p["channel"], channel_bundles),
        )

    def files(self) -> dict[str, dict[str, Any]]:
        """The catalogue files, as columns, in load order."""
        bundle_rows = [
            (b.id, self.channel_ids[c])
            for i, b in enumerate(BUNDLES)
            for c in np.flatnonzero(self.channel_bundles & (1 << i))
        ]
        programs = dict(self.columns)
        programs["program_id"] = self.program_ids
        programs["series_id"] = _series_ids(programs.pop("series"))
        n_series = len(self.series_titles)
        availability = dict(self.availability)
        availability["countries"] = rights_text(self.channel_rights)[availability["channel_id"]]
        availability["program_id"] = self.program_ids[availability["program_id"]]
        availability["channel_id"] = self.channel_ids[availability["channel_id"]]
        availability["start"] = week_times(self.epoch, availability["start"])
        availability["end"] = week_times(self.epoch, availability["end"])
        return {
            "genres": {"genre_id": [g.id for g in GENRES], "name": [g.name for g in GENRES]},
            "channels": {"channel_id": self.channel_ids, "name": self.channel_names},
            "bundles": {
                "bundle_id": [b.id for b in BUNDLES],
                "name": [b.name for b in BUNDLES],
                "is_free": [b.is_free for b in BUNDLES],
            },
            "bundle_channels": {
                "bundle_id": [r[0] for r in bundle_rows],
                "channel_id": [r[1] for r in bundle_rows],
            },
            "series": {
                "series_id": _series_ids(np.arange(n_series)),
                "title": self.series_titles,
            },
            "programs": programs,
            "availability": availability,
        }


EVERYWHERE = (1 << len(COUNTRIES)) - 1
"""Rights mask of a channel without restriction: every country users come from."""


def _channel_rights(channel_bundles: IntArray, rng: np.random.Generator) -> IntArray:
    """Country rights of each channel's windows: the channels of one paid bundle (drawn) are
    restricted to France, one more paid channel (drawn) to France and Belgium, the rest
    unrestricted. Only channels outside the free bundle are restricted, so every user keeps
    the free offer to fall back on."""
    free = sum(1 << b for b, x in enumerate(BUNDLES) if x.is_free)
    paid_only = (channel_bundles & free) == 0
    rights = np.full(len(channel_bundles), EVERYWHERE, dtype=np.int64)
    whole = [
        b
        for b, x in enumerate(BUNDLES)
        if not x.is_free
        and ((channel_bundles >> b) & 1).any()
        and paid_only[(channel_bundles >> b) & 1 == 1].all()
    ]
    if whole:
        bundle = whole[int(rng.integers(len(whole)))]
        rights[(channel_bundles >> bundle) & 1 == 1] = 1 << COUNTRIES.index("FR")
    rest = np.flatnonzero(paid_only & (rights == EVERYWHERE))
    if len(rest):
        both = (1 << COUNTRIES.index("FR")) | (1 << COUNTRIES.index("BE"))
        rights[rest[int(rng.integers(len(rest)))]] = both
    return rights


def rights_text(rights: IntArray) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Rights masks as ``availability.countries`` cells: codes joined by ``|``, empty for a
    channel without restriction."""
    text = [
        "" if r == EVERYWHERE else "|".join(c for k, c in enumerate(COUNTRIES) if r >> k & 1)
        for r in rights
    ]
    return np.array(text, dtype=object)


def _split_channels(n_ch: int) -> IntArray:
    """Theme of each channel: shares rounded, every theme at least one channel."""
    shares = np.array([t.channels for t in THEMES])
    counts = np.maximum(1, np.round(shares / shares.sum() * n_ch)).astype(np.int64)
    while counts.sum() > n_ch:
        counts[np.argmax(counts)] -= 1
    while counts.sum() < n_ch:
        counts[np.argmax(shares * n_ch - counts)] += 1
    return np.repeat(np.arange(len(THEMES)), counts)


def _bundle_channels(bundle: Bundle, channel_theme: IntArray) -> IntArray:
    themes = [THEME_INDEX[t] for t in bundle.themes]
    chosen = set(np.flatnonzero(np.isin(channel_theme, themes)).tolist())
    for t in bundle.firsts:
        chosen.add(int(np.flatnonzero(channel_theme == THEME_INDEX[t])[0]))
    return np.array(sorted(chosen), dtype=np.int64)


def _series_ids(index: Any) -> np.ndarray[Any, np.dtype[np.object_]]:
    return np.array([f"s{i:06d}" if i >= 0 else None for i in index], dtype=object)


def _make_programs(m: int, channel_theme: IntArray, rng: np.random.Generator) -> dict[str, Any]:
    n_g = len(GENRES)
    catalogue = np.array([t.catalogue for t in THEMES])
    theme = rng.choice(len(THEMES), size=m, p=catalogue / catalogue.sum())
    # A uniform channel among the theme's channels.
    by_theme = [np.flatnonzero(channel_theme == t) for t in range(len(THEMES))]
    sizes = np.array([len(c) for c in by_theme])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat_channels = np.concatenate(by_theme)
    channel = flat_channels[offsets[theme] + (rng.random(m) * sizes[theme]).astype(np.int64)]

    theme_genre = np.zeros((len(THEMES), n_g))
    for t, th in enumerate(THEMES):
        for g, w in th.genres.items():
            theme_genre[t, GENRE_INDEX[g]] = w
    cum = np.cumsum(theme_genre, axis=1)
    genre = choice_rows(cum, theme, rng)
    second = choice_rows(cum, theme, rng)
    has_second = (rng.random(m) < 0.25) & (second != genre)

    episodic = rng.random(m) < np.array([g.episodic for g in GENRES])[genre]
    csa_p = np.array([g.csa for g in GENRES])
    rank = choice_rows(np.cumsum(csa_p, axis=1), genre, rng)
    # -18 is only allowed on cinema channels (and only airs at night, see _schedule).
    rank = np.where((rank == 4) & (theme != THEME_INDEX["cinema"]), 3, rank)
    lo = np.array([g.minutes[0] for g in GENRES])[genre]
    hi = np.array([g.minutes[1] for g in GENRES])[genre]
    minutes = lo + (rng.random(m) * (hi - lo + 1)).astype(np.int64)
    minutes = np.where(minutes >= 40, (minutes // 5) * 5, minutes)
    year_lo = np.array([g.years[0] if g.years else 0 for g in GENRES])[genre]
    year_hi = np.array([g.years[1] if g.years else 0 for g in GENRES])[genre]
    # Recent productions dominate the schedule: years fall off exponentially with age.
    year = np.maximum(year_lo, year_hi - rng.exponential(12.0, m).astype(np.int64))

    series, season, episode, eps, series_titles = _series(
        episodic, genre, channel, rank, minutes, year, year_hi, rng
    )
    if not (rank == 0).any():
        rank[0] = 0  # kids must have something to watch, even in a tiny catalogue

    titles = np.array(_titles(genre, rng, series=False), dtype=object)
    if len(eps):
        head_titles = np.array(series_titles, dtype=object)[series[eps]]
        titles[eps] = [
            f"{t} S{s:02d}E{e:02d}"
            for t, s, e in zip(head_titles, season[eps], episode[eps], strict=True)
        ]
    genre_ids = np.array([g.id for g in GENRES], dtype=object)
    genres = np.where(has_second, genre_ids[genre] + "|" + genre_ids[second], genre_ids[genre])
    has_year = np.array([g.years is not None for g in GENRES])[genre]
    popularity = 1.0 / (rng.permutation(m) + 1.0)  # Zipf, exponent 1
    return {
        "columns": {
            "title": titles,
            "genres": genres,
            "csa": np.array(CSA, dtype=object)[rank],
            "duration_s": minutes * 60,
            "year": pd.Series(year, dtype="Int64").where(has_year),
            "series": series,
            "season": pd.Series(season, dtype="Int64").where(series >= 0),
            "episode": pd.Series(episode, dtype="Int64").where(series >= 0),
        },
        "series_titles": series_titles,
        "genre": genre,
        "channel": channel,
        "rank": rank,
        "duration": minutes * 60,
        "popularity": popularity,
        "vod_only": rng.random(m) < np.where(GENRE_INDEX["film"] == genre, 0.35, 0.15),
        # Aired last week, so only on replay now (when its genre has replays).
        "last_week": rng.random(m) < 0.1,
        "replay_p": np.array([g.replay for g in GENRES])[genre],
    }


def _series(
    episodic: BoolArray,
    genre: IntArray,
    channel: IntArray,
    rank: IntArray,
    minutes: IntArray,
    year: IntArray,
    year_hi: IntArray,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray, IntArray, list[str]]:
    """Series, season and episode of each program (-1, 0, 0 when not an episode), the
    episodes' indices and the series titles. Episodes of one channel and genre, in a
    shuffled order, are cut into series of ~10 episodes; a series' first episode sets its
    rating, duration and start year (written into ``rank``, ``minutes`` and ``year``)."""
    m, n_g = len(genre), len(GENRES)
    series = np.full(m, -1, dtype=np.int64)
    season = np.zeros(m, dtype=np.int64)
    episode = np.zeros(m, dtype=np.int64)
    eps = np.flatnonzero(episodic)
    eps = eps[np.lexsort((rng.random(len(eps)), genre[eps], channel[eps]))]
    series_titles: list[str] = []
    if len(eps):
        group = channel[eps] * n_g + genre[eps]
        starts = np.ones(len(eps), dtype=bool)
        starts[1:] = (group[1:] != group[:-1]) | (rng.random(len(eps) - 1) < 0.1)
        sid = np.cumsum(starts) - 1
        head = eps[np.flatnonzero(starts)]
        position = np.arange(len(eps)) - np.flatnonzero(starts)[sid]
        per_season = rng.integers(6, 14, size=len(head))[sid]
        series[eps] = sid
        season[eps] = position // per_season + 1
        episode[eps] = position % per_season + 1
        rank[eps] = rank[head][sid]
        minutes[eps] = minutes[head][sid]
        year[eps] = np.minimum(year[head][sid] + season[eps] - 1, year_hi[eps])
        series_titles = _titles(genre[head], rng, series=True)
    return series, season, episode, eps, series_titles


def _titles(genre: IntArray, rng: np.random.Generator, *, series: bool) -> list[str]:
    n = len(genre)
    a = rng.integers(0, len(ADJECTIVES), n)
    b = rng.integers(0, len(NOUNS), n)
    c = rng.integers(0, len(PLACES), n)
    d = rng.integers(0, len(PLACES), n)
    s = rng.integers(0, len(SPORTS), n)
    form = rng.integers(0, 3, n)
    out = []
    for i in range(n):
        g = GENRES[genre[i]].id
        if g == "sport":
            out.append(f"{SPORTS[s[i]]} : {PLACES[c[i]]} - {PLACES[(c[i] + 1 + d[i] % 15) % 16]}")
        elif g == "information":
            out.append(f"Le Journal de {PLACES[c[i]]}" if series else f"Journal {c[i] + 6}h")
        elif series and form[i] == 0:
            out.append(f"Les {NOUNS[b[i]]}s de {PLACES[c[i]]}")
        elif form[i] == 1:
            out.append(f"{NOUNS[b[i]]} à {PLACES[c[i]]}")
        else:
            out.append(f"Le {ADJECTIVES[a[i]]} {NOUNS[b[i]]}")
    return out


def _airings(
    channel: IntArray,
    rank: IntArray,
    duration: IntArray,
    airable: BoolArray,
    n_ch: int,
    rng: np.random.Generator,
    progress: bool,
) -> tuple[IntArray, IntArray]:
    """The week's airings, channel by channel, back to back: program and start of each.
    Day: ratings up to -12; from 22:00, -16 too; 00:00-05:00, -18 too."""
    air_program: list[int] = []
    air_start: list[int] = []
    for c in tqdm(range(n_ch), desc="EPG", unit="channel", disable=not progress, leave=False):
        pool = np.flatnonzero((channel == c) & airable)
        pool = pool[rng.permutation(len(pool))]
        queues = [pool[rank[pool] <= 2], pool[rank[pool] == 3], pool[rank[pool] == 4]]
        cursor = [0, 0, 0]
        draws = rng.random(4096)
        t, k = 0, 0
        while t < WEEK_S:
            hour = (t // 3600) % 24
            late = hour >= 22 or hour < 5
            choice = 0
            if late and draws[k % 4096] < 0.5:
                choice = 2 if hour < 5 and len(queues[2]) and draws[(k + 1) % 4096] < 0.5 else 1
            k += 2
            queue = queues[choice] if len(queues[choice]) else queues[0]
            if not len(queue):
                t += 1800  # nothing suitable to air: the channel shows its idents
                continue
            program = int(queue[cursor[choice] % len(queue)])
            cursor[choice] += 1
            air_program.append(program)
            air_start.append(t)
            t += int(duration[program])
            t = -(-t // 300) * 300  # the next program starts on a 5-minute mark
    return np.array(air_program, dtype=np.int64), np.array(air_start, dtype=np.int64)


def _schedule(
    p: dict[str, Any], n_ch: int, epoch: int, rng: np.random.Generator, progress: bool
) -> tuple[dict[str, Any], IntArray, IntArray, np.ndarray[Any, np.dtype[np.object_]]]:
    """The week's EPG, replay and VOD windows; and, per program, a window to watch it in."""
    m = len(p["rank"])
    channel, rank, duration = p["channel"], p["rank"], p["duration"]
    airable = ~p["vod_only"] & ~p["last_week"]
    ap, ast = _airings(channel, rank, duration, airable, n_ch, rng, progress)
    aend = ast + duration[ap]
    has_replay = rng.random(len(ap)) < p["replay_p"][ap]
    aired = np.zeros(m, dtype=bool)
    aired[ap] = True
    first_start = np.full(m, WEEK_S, dtype=np.int64)
    np.minimum.at(first_start, ap, ast)
    # The first airing and its replay (when it has one) form one watchable span.
    first = np.flatnonzero(ast == first_start[ap])
    first = first[np.unique(ap[first], return_index=True)[1]]
    span_end = np.zeros(m, dtype=np.int64)
    span_end[ap[first]] = np.where(has_replay[first], aend[first] + WEEK_S, aend[first])

    rest = np.flatnonzero(~aired)
    is_replay = ~p["vod_only"][rest] & (rng.random(len(rest)) < p["replay_p"][rest])
    r_start = -(rng.integers(1, 6 * 24, len(rest)) * 3600)
    v_start = -(rng.integers(1, 90, len(rest)) * 86_400)
    v_end = WEEK_S + rng.integers(7, 180, len(rest)) * 86_400
    o_start = np.where(is_replay, r_start, v_start)
    o_end = np.where(is_replay, r_start + WEEK_S, v_end)

    kind = np.full(m, "vod", dtype=object)
    kind[rest[is_replay]] = "replay"
    kind[aired] = "live"
    watch_from = np.zeros(m, dtype=np.int64)
    watch_to = np.full(m, WEEK_S, dtype=np.int64)
    watch_from[aired] = first_start[aired]
    watch_to[aired] = np.minimum(span_end[aired], WEEK_S)
    watch_from[rest] = np.maximum(o_start, 0)
    watch_to[rest] = np.minimum(o_end, WEEK_S)

    rp = ap[has_replay]
    columns = {
        "program_id": np.concatenate([ap, rp, rest]),
        "channel_id": np.concatenate([channel[ap], channel[rp], channel[rest]]),
        "start": np.concatenate([ast, aend[has_replay], o_start]),
        "end": np.concatenate([aend, aend[has_replay] + WEEK_S, o_end]),
        "kind": np.concatenate(
            [
                np.full(len(ap), "live", dtype=object),
                np.full(len(rp), "replay", dtype=object),
                np.where(is_replay, "replay", "vod").astype(object),
            ]
        ),
    }
    return columns, watch_from, watch_to, kind


@dataclass(slots=True)
class WorldPools:
    """Programs by (main genre, ceiling), (channel, ceiling), ceiling, and free-to-air."""

    genre: Pools
    channel: Pools
    level: Pools
    free: Pools


def world_pools(
    popularity: FloatArray,
    level_rank: IntArray,
    genre_of: IntArray,
    channel_of: IntArray,
    channel_bundles: IntArray,
) -> WorldPools:
    levels = len(CSA)
    n = len(popularity)
    # A program belongs to the pool of every ceiling at or above its rating.
    lv = np.concatenate([np.full(n, k) for k in range(levels)])
    item = np.tile(np.arange(n), levels)
    ok = level_rank[item] <= lv
    lv, item = lv[ok], item[ok]
    w = popularity[item]
    free_bundles = sum(1 << b for b, x in enumerate(BUNDLES) if x.is_free)
    on_free = (channel_bundles[channel_of[item]] & free_bundles) != 0
    n_ch = len(channel_bundles)
    return WorldPools(
        genre=Pools(genre_of[item] * levels + lv, item, w, len(GENRES) * levels),
        channel=Pools(channel_of[item] * levels + lv, item, w, n_ch * levels),
        level=Pools(lv, item, w, levels),
        free=Pools(lv[on_free], item[on_free], w[on_free], levels),
    )
