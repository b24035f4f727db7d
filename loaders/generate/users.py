"""Users in blocks: profiles and taste, subscriptions, watch events, blacklists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loaders.generate.catalogue import Catalogue
from loaders.generate.truth import TRUTH
from loaders.generate.world import (
    BUNDLES,
    COUNTRIES,
    COUNTRY_P,
    CSA,
    CSA_RANK,
    GENRES,
    MEAN_EVENTS_PER_USER,
    PAID_COUNT_P,
    PROFILE_CEILING,
    PROFILE_P,
    PROFILE_TASTE,
    USER_PROFILES,
    WEEK_S,
    FloatArray,
    IntArray,
    choice_rows,
    week_times,
)


def user_block(
    world: Catalogue,
    first: int,
    n: int,
    width: int,
    next_event: int,
    rng: np.random.Generator,
    until_s: int = WEEK_S,
) -> dict[str, dict[str, Any]]:
    """The users ``first`` to ``first + n - 1`` and their subscriptions, blacklists and watch
    events (numbered from ``next_event``), as columns per file. The draws from ``rng``
    happen in a fixed order (profiles, subscriptions, favourite channel, events,
    blacklists): the same arguments give the same bytes."""
    user_ids = np.array([f"u{i:0{width}d}" for i in range(first, first + n)], dtype=object)
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_P)
    profile = rng.choice(len(USER_PROFILES), size=n, p=PROFILE_P)
    ceiling = np.array([CSA_RANK[c] for c in PROFILE_CEILING])[profile]
    taste = _taste(profile, rng)
    subs = _subscriptions(world, taste, rng)
    # A favourite channel among those the user can watch (bundles and country), by taste.
    can_watch = (world.channel_bundles[None, :] & subs.mask[:, None]) != 0
    can_watch &= (world.channel_rights[None, :] >> country[:, None]) & 1 == 1
    fav_w = (taste @ world.channel_genre.T) * can_watch + 1e-12
    favourite = choice_rows(np.cumsum(fav_w, axis=1), np.arange(n), rng)
    events = _watch_events(
        world, user_ids, taste, favourite, ceiling, subs.mask, next_event, rng, until_s,
        country=country,
    )  # fmt: skip
    blacklists = _blacklists(world, user_ids, rng)
    return {
        "users": {
            "user_id": user_ids,
            "country": np.array(COUNTRIES, dtype=object)[country],
            "profile": np.array(USER_PROFILES, dtype=object)[profile],
            "csa_ceiling": np.array(PROFILE_CEILING, dtype=object)[profile],
        },
        "subscriptions": subs.columns(world, user_ids),
        "blacklists": blacklists,
        "watch_events": events,
        TRUTH: {
            "user_id": user_ids,
            "favourite_channel_id": world.channel_ids[favourite],
            **{f"taste_{g.id}": np.round(taste[:, k], 6) for k, g in enumerate(GENRES)},
        },
    }


def _taste(profile: IntArray, rng: np.random.Generator) -> FloatArray:
    """Taste over genres: gamma draws (a Dirichlet per user) around the profile's audience."""
    alpha = (
        np.array(
            [
                [g.audience * PROFILE_TASTE[pr].get(g.id, 1.0) for g in GENRES]
                for pr in USER_PROFILES
            ]
        )
        * 0.4
    )
    taste = rng.gamma(alpha[profile])
    out: FloatArray = (taste + 1e-9) / (taste + 1e-9).sum(axis=1, keepdims=True)
    return out


@dataclass(slots=True)
class _Subscriptions:
    """Each user's bundles (``mask``, a bitmask) and their subscription rows, as parts."""

    mask: IntArray
    user: list[IntArray]
    bundle: list[IntArray]
    since: list[IntArray]
    until: list[IntArray]

    def columns(self, world: Catalogue, user_ids: Any) -> dict[str, Any]:
        """The rows of ``subscriptions``, by user then start; open-ended ones end NaT."""
        s_user = np.concatenate(self.user)
        s_order = np.lexsort((np.concatenate(self.since), s_user))
        s_until = np.concatenate(self.until)[s_order]
        open_ended = s_until == np.iinfo(np.int64).min
        until_times = week_times(world.epoch, np.where(open_ended, 0, s_until))
        until_times[open_ended] = np.datetime64("NaT")
        bundle_ids = np.array([b.id for b in BUNDLES], dtype=object)
        return {
            "user_id": user_ids[s_user[s_order]],
            "bundle_id": bundle_ids[np.concatenate(self.bundle)[s_order]],
            "since": week_times(world.epoch, np.concatenate(self.since)[s_order]),
            "until": until_times,
        }


def _subscriptions(world: Catalogue, taste: FloatArray, rng: np.random.Generator) -> _Subscriptions:
    """Paid bundles: 0-3, chosen by how well their channels match the taste (Gumbel top-k);
    the free bundle for everyone; and a lapsed paid bundle for some."""
    n, n_b = len(taste), len(BUNDLES)
    bundle_genre = np.array(
        [
            world.channel_genre[(world.channel_bundles >> b) & 1 == 1].mean(axis=0)
            for b in range(n_b)
        ]
    )
    paid = np.array([not b.is_free for b in BUNDLES])
    free_mask = int(sum(1 << b for b in range(n_b) if not paid[b]))
    affinity = np.log(taste @ bundle_genre.T + 1e-12) + rng.gumbel(size=(n, n_b))
    affinity[:, ~paid] = -np.inf
    ranked = np.argsort(-affinity, axis=1)
    k_paid = rng.choice(len(PAID_COUNT_P), size=n, p=PAID_COUNT_P)
    active = np.arange(n_b)[None, :] < k_paid[:, None]  # by rank position
    mask = np.full(n, free_mask, dtype=np.int64)
    for j in range(3):
        mask |= np.where(active[:, j], 1 << ranked[:, j], 0)

    sub_user: list[IntArray] = [np.arange(n)]
    sub_bundle: list[IntArray] = [np.zeros(n, dtype=np.int64) + int(np.flatnonzero(~paid)[0])]
    since_days = rng.integers(1, 3 * 365, n)
    sub_since: list[IntArray] = [-since_days * 86_400]
    sub_until: list[IntArray] = [np.full(n, np.iinfo(np.int64).min)]
    for j in range(3):
        rows = np.flatnonzero(active[:, j])
        sub_user.append(rows)
        sub_bundle.append(ranked[rows, j])
        sub_since.append(
            -rng.integers(1, 2 * 365, len(rows)) * 86_400 - rng.integers(0, 86_400, len(rows))
        )
        ends = rng.random(len(rows)) < 0.2  # a cancellation already scheduled after the week
        until = WEEK_S + rng.integers(1, 180, len(rows)) * 86_400
        sub_until.append(np.where(ends, until, np.iinfo(np.int64).min))
    # Some users once held a paid bundle they no longer have.
    lapsed = np.flatnonzero(rng.random(n) < 0.1)
    old_bundle = ranked[lapsed, 3]
    old_since = -rng.integers(365, 3 * 365, len(lapsed)) * 86_400
    sub_user.append(lapsed)
    sub_bundle.append(old_bundle)
    sub_since.append(old_since)
    sub_until.append(old_since + rng.integers(30, 300, len(lapsed)) * 86_400)
    return _Subscriptions(mask, sub_user, sub_bundle, sub_since, sub_until)


def _watch_events(
    world: Catalogue,
    user_ids: Any,
    taste: FloatArray,
    favourite: IntArray,
    ceiling: IntArray,
    mask: IntArray,
    next_event: int,
    rng: np.random.Generator,
    until_s: int,
    *,
    country: IntArray,
) -> dict[str, Any]:
    """About ``MEAN_EVENTS_PER_USER`` watches per user (log-normal), sorted by user and time,
    all before ``until_s``; completion grows with how much the user likes the genre.
    ``country`` is each user's index in ``COUNTRIES``."""
    n = len(user_ids)
    counts = np.minimum(
        np.floor(rng.lognormal(np.log(MEAN_EVENTS_PER_USER + 0.5) - 0.5, 1.0, n)), 2000
    ).astype(np.int64)
    who = np.repeat(np.arange(n), counts)
    programs = _pick_programs(world, who, taste, favourite, ceiling, mask, rng, country=country)

    g = world.genre_of[programs]
    like = taste[who, g] * len(GENRES)  # 1 = an average genre for this user
    base = rng.beta(2.0, 2.5, len(who))
    completion: Any = np.clip(base + 0.2 * np.log(like) + rng.normal(0, 0.1, len(who)), 0.01, 1.0)
    finished = rng.random(len(who)) < 0.1 + 0.4 / (1.0 + np.exp(-np.log(like)))
    completion = np.round(np.where(finished, 1.0, completion), 4)
    duration = world.duration[programs]
    # Watches happen before until_s; one drawn for a program not yet available is dropped
    # after every draw, so the other draws (and the files without until) stay the same.
    watch_to = np.minimum(world.watch_to[programs], until_s)
    span = watch_to - world.watch_from[programs]
    ts = world.watch_from[programs] + (rng.random(len(who)) * span).astype(np.int64)
    order = np.lexsort((ts, who))
    order = order[world.watch_from[programs[order]] < until_s]
    who, programs, ts, completion = who[order], programs[order], ts[order], completion[order]
    duration = duration[order]
    return {
        "event_id": np.array(
            [f"e{i:011d}" for i in range(next_event, next_event + len(who))], dtype=object
        ),
        "user_id": user_ids[who],
        "program_id": world.program_ids[programs],
        "channel_id": world.channel_ids[world.channel_of[programs]],
        "ts": week_times(world.epoch, ts),
        "watched_s": np.round(completion * duration).astype(np.int64),
        "completion": completion,
    }


def _blacklists(world: Catalogue, user_ids: Any, rng: np.random.Generator) -> dict[str, Any]:
    """~3 % of users blacklist one to three programs (by popularity), channels or genres."""
    n, n_g, n_ch = len(user_ids), len(GENRES), len(world.channel_ids)
    bl_users = np.flatnonzero(rng.random(n) < 0.03)
    bl_count = rng.integers(1, 4, len(bl_users))
    bl_who = np.repeat(bl_users, bl_count)
    bl_type = rng.choice(3, size=len(bl_who), p=(0.3, 0.4, 0.3))  # program, channel, genre
    pop_cum = np.cumsum(world.popularity)
    bl_program = np.searchsorted(pop_cum, rng.random(len(bl_who)) * pop_cum[-1], side="right")
    bl_program = np.minimum(bl_program, world.n_programs - 1)
    genre_ids = np.array([gg.id for gg in GENRES], dtype=object)
    targets = np.where(
        bl_type == 0,
        world.program_ids[bl_program],
        np.where(
            bl_type == 1,
            world.channel_ids[rng.integers(0, n_ch, len(bl_who))],
            genre_ids[rng.integers(0, n_g, len(bl_who))],
        ),
    )
    blacklists = pd.DataFrame(
        {
            "user_id": user_ids[bl_who],
            "target_type": np.array(["program", "channel", "genre"], dtype=object)[bl_type],
            "target_id": targets,
        }
    ).drop_duplicates()
    return {c: blacklists[c].to_numpy() for c in blacklists.columns}


def _pick_programs(
    world: Catalogue,
    who: IntArray,
    taste: FloatArray,
    favourite: IntArray,
    ceiling: IntArray,
    mask: IntArray,
    rng: np.random.Generator,
    *,
    country: IntArray,
) -> IntArray:
    """One program per event: by the user's genre taste (75 %) or from their favourite
    channel (25 %), by popularity, within their CSA ceiling, their country's rights and
    (mostly) their bundles."""
    pools = world.pools
    levels = len(CSA)
    level = ceiling[who]
    from_channel = rng.random(len(who)) < 0.25

    def draw(idx: IntArray) -> IntArray:
        genre = choice_rows(np.cumsum(taste, axis=1), who[idx], rng)
        by_genre = pools.genre.sample(genre * levels + level[idx], rng)
        by_channel = pools.channel.sample(favourite[who[idx]] * levels + level[idx], rng)
        picked = np.where(from_channel[idx], by_channel, by_genre)
        fallback = pools.level.sample(level[idx], rng)
        return np.where(picked >= 0, picked, fallback)

    picked = draw(np.arange(len(who)))
    preview = rng.random(len(who)) < 0.01  # a channel open to all for a day ("en clair")

    def denied() -> IntArray:
        channel = world.channel_of[picked]
        locked = (world.channel_bundles[channel] & mask[who]) == 0
        # A free preview opens a channel to every subscriber, not to every country.
        abroad = (world.channel_rights[channel] >> country[who]) & 1 == 0
        return np.flatnonzero((locked & ~preview) | abroad)

    # Redraw what the user cannot watch; a few stubborn draws fall back to free channels.
    for _ in range(4):
        retry = denied()
        if not len(retry):
            break
        picked[retry] = draw(retry)
    retry = denied()
    if len(retry):
        free = pools.free.sample(level[retry], rng)
        picked[retry] = np.where(free >= 0, free, picked[retry])
    return picked
