"""An independent check of the eligibility rules, in plain pandas on the generated files.

It shares nothing with the Cypher under test: it reads the CSV files the
generator wrote and re-derives, for one served item, whether any rule is broken.
Fatigue uses the defaults of ``graph.settings`` unless given; the service's rules
(banned genres, country rights, impression fatigue) are those of the ``Settings`` given
(``service``), and impression fatigue is checked against the rails the test itself
was served (:meth:`RulesCheck.shown`). An episode served must
be the next one of its series (see ``next_episode``). It also recomputes the numbers
the explanations claim: the audience of a week (``audience``) and when a program was
first available (``first_available``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pandas as pd

from graph.settings import Settings

LEVELS = {"TP": 0, "-10": 10, "-12": 12, "-16": 16, "-18": 18}


def _default(name: str) -> object:
    return Settings.model_fields[name].default


class RulesCheck:
    def __init__(
        self,
        folder: Path,
        *,
        completion: float,
        anonymous_ceiling: str,
        fatigue_completion: float = _default("fatigue_completion"),  # type: ignore[assignment]
        fatigue_programs: int = _default("fatigue_programs"),  # type: ignore[assignment]
        fatigue_series: int = _default("fatigue_series"),  # type: ignore[assignment]
        fatigue_channels: int = _default("fatigue_channels"),  # type: ignore[assignment]
        service: Settings | None = None,
    ) -> None:
        rules = service or Settings()
        self.banned = set(rules.banned_genres)
        self.default_country = rules.default_country
        self.impression_rails, self.impression_days = rules.impression_rails, rules.impression_days
        self.served: list[tuple[str, datetime, list[str]]] = []
        """(user, the rail's now, its program ids) of every rail served so far."""
        read = lambda name: pd.read_csv(folder / f"{name}.csv", dtype=str)  # noqa: E731
        self.bundles = read("bundles")
        self.bundle_channels = read("bundle_channels")
        self.programs = read("programs").set_index("program_id")
        self.availability = read("availability")
        if "countries" not in self.availability:
            self.availability["countries"] = None
        for col in ("start", "end"):
            self.availability[col] = pd.to_datetime(self.availability[col], utc=True)
        self.users = read("users").set_index("user_id")
        self.subs = read("subscriptions")
        self.subs["since"] = pd.to_datetime(self.subs["since"], utc=True)
        self.subs["until"] = pd.to_datetime(self.subs["until"], utc=True)
        self.black = read("blacklists")
        events = read("watch_events")
        # A missing completion counts as complete (1.0), as in the Cypher rules.
        events["completion"] = events["completion"].astype(float).fillna(1.0)
        self.best = events.groupby(["user_id", "program_id"])["completion"].max()
        # Fatigue: per (user, program) the best completion, the latest event and its channel.
        events["ts"] = pd.to_datetime(events["ts"], utc=True)
        latest = events.sort_values(["ts", "channel_id"]).groupby(["user_id", "program_id"])
        self.history = latest.agg(best=("completion", "max"), last=("ts", "last"),
                                  channel=("channel_id", "last")).reset_index()  # fmt: skip
        self.fatigue = (fatigue_completion, fatigue_programs, fatigue_series, fatigue_channels)
        self.completion = completion
        self.anonymous_ceiling = LEVELS[anonymous_ceiling]
        self.free = set(
            self.bundles.loc[self.bundles["is_free"].str.lower() == "true", "bundle_id"]
        )

    @cache  # noqa: B019 (one checker per test module)
    def audience(self, now: datetime) -> pd.DataFrame:
        """Per program, what popular and best of bundle count at ``now``, from the events.

        A user's events on a program are one watch, dated by the latest and with the best
        completion (the README's rule); the watches dated before the end of the hour of
        ``now`` count (``watchers``), and those of the seven days before it are this
        week's (``watchers_week``, and their mean completion ``completion_week``).
        """
        end = pd.Timestamp(now).floor("h") + pd.Timedelta(hours=1)
        before = self.history[self.history["last"] < end]
        week = before[before["last"] >= end - pd.Timedelta(days=7)]
        by_week = week.groupby("program_id")
        out = pd.DataFrame({
            "watchers_week": by_week.size(), "completion_week": by_week["best"].mean(),
            "watchers": before.groupby("program_id").size(),
        }).reindex(self.programs.index)  # fmt: skip
        out[["watchers_week", "watchers"]] = out[["watchers_week", "watchers"]].fillna(0)
        return out.astype({"watchers_week": int, "watchers": int})

    @cache  # noqa: B019 (one checker per test module)
    def first_available(self) -> pd.Series:
        """Per program, the start of its first availability window on any channel."""
        return self.availability.groupby("program_id")["start"].min()

    def claims(self, item: dict[str, object], now: datetime) -> list[str]:
        """Every number the explanation of the served ``item`` claims that the files do not
        give at ``now`` (empty: all true)."""
        explanation = item["explanation"]
        assert isinstance(explanation, dict)
        kind, evidence = explanation["type"], explanation["evidence"]
        counted = str(evidence.get("counted_program_id") or item["program_id"])
        out = []
        if kind in ("popular_on_channel", "best_of_bundle", "top_replay"):
            row = self.audience(now).loc[counted]
            if evidence["watchers_week"] != row["watchers_week"] or row["watchers_week"] < 1:
                out.append(f"{counted}: {evidence['watchers_week']} viewers this week claimed, "
                           f"{row['watchers_week']} in the events")  # fmt: skip
            claimed = evidence.get("completion_week")
            if kind == "best_of_bundle" and abs(claimed - row["completion_week"]) > 1e-9:
                out.append(f"{counted}: {claimed} completion claimed, "
                           f"{row['completion_week']} in the events")  # fmt: skip
        if kind == "new_this_week":
            first = self.first_available()[str(item["program_id"])]
            claimed = pd.Timestamp(str(evidence["first_available"]))
            if claimed != first or not now - timedelta(days=7) <= first <= now:
                out.append(f"{item['program_id']}: new this week claimed, first available {first}")
        return out

    def shown(self, user_id: str | None, now: datetime, rail: dict[str, object]) -> None:
        """Record a rail served to ``user_id`` at ``now`` (the served log, as the test saw it)."""
        if user_id is not None and user_id in self.users.index:
            items = rail["items"]
            assert isinstance(items, list)
            self.served.append((user_id, now, [str(i["program_id"]) for i in items]))

    def overexposed(self, user_id: str, program_id: str, now: datetime) -> bool:
        """Whether impression fatigue keeps ``program_id`` out of ``user_id``'s personalised
        rails at ``now``: shown in the rails recorded so far, after the user's latest
        watch of it, at least ``impression_rails`` times within the ``impression_days``
        days up to the latest impression, itself less than that many days old."""
        if not self.impression_rails:
            return False
        days = timedelta(days=self.impression_days)
        watched = self.history[(self.history["user_id"] == user_id)
                               & (self.history["program_id"] == program_id)]["last"]  # fmt: skip
        since = watched.max() if len(watched) else None
        times = [t for u, t, items in self.served
                 if u == user_id and program_id in items and t <= now
                 and (since is None or t > since)]  # fmt: skip
        if not times or max(times) <= now - days:
            return False
        return sum(t > max(times) - days for t in times) >= self.impression_rails

    def country_of(self, user_id: str | None, asked: str | None) -> str | None:
        """The country whose rights apply: the user's, else the request's, else the default."""
        if user_id is not None and user_id in self.users.index:
            mine = self.users.loc[user_id, "country"]
            if isinstance(mine, str) and mine:
                return mine
        return asked or self.default_country

    def violations(
        self,
        user_id: str | None,
        item: dict[str, object],
        now: datetime,
        *,
        rail: str = "home",
        country: str | None = None,
    ) -> list[str]:
        """Every rule the served ``item`` of ``rail`` breaks for ``user_id`` at ``now``
        (empty: fine); ``country``: the one the request named."""
        out = []
        pid, channel = str(item["program_id"]), item["channel_id"]
        known = user_id is not None and user_id in self.users.index
        bundles = set(self.free)
        if known:
            s = self.subs[self.subs["user_id"] == user_id]
            active = (s["since"] <= now) & (s["until"].isna() | (s["until"] > now))
            bundles |= set(s.loc[active, "bundle_id"])
        channels = set(self.bundle_channels.loc[
            self.bundle_channels["bundle_id"].isin(bundles), "channel_id"])  # fmt: skip
        if channel not in channels:
            out.append(f"{pid}: channel {channel} is in none of the user's bundles {bundles}")
        a = self.availability[
            (self.availability["program_id"] == pid) & (self.availability["channel_id"] == channel)
        ]
        live = (a["kind"] == "live") & (a["end"] > now) & (a["start"] < now + timedelta(days=7))
        demand = (a["kind"] != "live") & (a["start"] <= now) & (a["end"] > now)
        if not (live | demand).any():
            out.append(f"{pid}: not available on {channel} in the window at {now}")
        where = self.country_of(user_id, country)
        licensed = a["countries"].apply(
            lambda cell: not isinstance(cell, str) or not cell or where in cell.split("|")
        )
        if not ((live | demand) & licensed).any():
            out.append(f"{pid}: no airing on {channel} in the window is licensed in {where}")
        if rail == "top_replay" and not (demand & (a["kind"] == "replay") & licensed).any():
            out.append(f"{pid}: in top replay but no replay on {channel} is open at {now}")
        if rail == "top_replay" and item["availability"] != "replay":
            out.append(f"{pid}: in top replay as {item['availability']}")
        program = self.programs.loc[pid]
        genres = str(program["genres"]).split("|")
        if banned := self.banned & set(genres):
            out.append(f"{pid}: banned genre {', '.join(sorted(banned))}")
        served_genres = item["genres"]
        assert isinstance(served_genres, list)
        if served_genres[:1] != genres[:1] or set(served_genres) != set(genres):
            out.append(f"{pid}: genres {served_genres}, main genre first, not {genres}")
        personalised = rail in ("home", "because_you_watched", "similar")
        if known and personalised and self.overexposed(str(user_id), pid, now):
            out.append(f"{pid}: shown {self.impression_rails} times within "
                       f"{self.impression_days} days, unwatched")  # fmt: skip
        ceiling = (
            LEVELS[self.users.loc[user_id, "csa_ceiling"]] if known else self.anonymous_ceiling
        )
        if LEVELS[program["csa"]] > ceiling:
            out.append(f"{pid}: CSA {program['csa']} above the user's ceiling")
        if known:
            mine = self.black[self.black["user_id"] == user_id]
            targets = set(zip(mine["target_type"], mine["target_id"], strict=True))
            if ("program", pid) in targets:
                out.append(f"{pid}: program blacklisted")
            if ("channel", channel) in targets:
                out.append(f"{pid}: channel {channel} blacklisted")
            for genre in str(program["genres"]).split("|"):
                if ("genre", genre) in targets:
                    out.append(f"{pid}: genre {genre} blacklisted")
            best = self.best.get((user_id, pid))
            if best is not None and best >= self.completion:
                out.append(f"{pid}: already watched to {best:.0%}")
            tired_programs, tired_series, tired_channels = self.tired(user_id)
            if pid in tired_programs:
                out.append(f"{pid}: abandoned recently (tired)")
            if isinstance(program["series_id"], str) and program["series_id"] in tired_series:
                out.append(f"{pid}: series {program['series_id']} abandoned recently")
            if channel in tired_channels:
                out.append(f"{pid}: channel {channel} of a recently abandoned program")
        series = program["series_id"]
        if isinstance(series, str):
            expected = self.next_episode(user_id if known else None, series)
            if pid != expected:
                out.append(f"{pid}: not the next episode of series {series} ({expected})")
        return out

    @cache  # noqa: B019 (one checker per test module)
    def next_episode(self, user_id: str | None, series_id: str) -> str | None:
        """The first episode of ``series_id``, in (season, episode) order (ties: program
        id), after the last one ``user_id`` watched to completion (None: anonymous)."""
        eps = self.programs[self.programs["series_id"] == series_id]
        number = lambda col: pd.to_numeric(eps[col]).fillna(0).astype(int)  # noqa: E731
        keys = (number("season") * 100000 + number("episode")).rename("key").reset_index()
        keys = keys.sort_values(["key", "program_id"])
        last = -1
        if user_id is not None:
            best = self.best[self.best.index.get_level_values(0) == user_id].droplevel(0)
            done = keys[keys["program_id"].isin(best[best >= self.completion].index)]
            last = int(done["key"].max()) if len(done) else -1
        after = keys[keys["key"] > last]
        return str(after["program_id"].iloc[0]) if len(after) else None

    @cache  # noqa: B019 (one checker per test module)
    def tired(self, user_id: str) -> tuple[list[str], list[str], list[str]]:
        """The user's tired programs, series and channels, most recent first."""
        completion, n_programs, n_series, n_channels = self.fatigue
        h = self.history[(self.history["user_id"] == user_id) & (self.history["best"] < completion)]
        h = h.sort_values(["last", "program_id"], ascending=[False, True]).head(n_programs)
        programs = list(h["program_id"])
        series = [s for s in self.programs.loc[programs, "series_id"] if isinstance(s, str)]
        distinct = lambda xs: list(dict.fromkeys(xs))  # noqa: E731
        return programs, distinct(series)[:n_series], distinct(h["channel"])[:n_channels]
