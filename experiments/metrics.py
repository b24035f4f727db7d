"""Online metrics of an experiment, from the served log and what users watched after.

Per arm (all rails together, and each rail on its own), over the users the
experiment exposed (served at least one rail under it, empty ones too):

``users_exposed``, ``impressions``
    users, and items served.
``play_rate``, ``completed_rate``
    served items the user then watched within the play window (a *play*), and those
    watched to the completion threshold, over items served.
``plays_per_user``, ``completed_watches_per_user``
    distinct programs played (completed) after being served, per exposed user.
``watch_seconds_per_user``
    seconds of those plays, per exposed user.
``coverage``
    distinct programs served over the programs of the catalogue.
``genre_diversity``
    Shannon entropy (bits) of the genres of the items a user was served (a program of
    two genres counts half for each), averaged over users.

Every metric carries a 95 % interval from a bootstrap over users (seeded, so a
report is reproducible), and each arm is compared with the first one: the
difference, its interval, the relative change (with the interval of the ratio of
the resampled values) and a two-sided bootstrap p-value.
``users_exposed``, ``impressions`` and ``coverage`` have no interval (``low`` and
``high`` are the value) and no test: see :data:`COUNTS`.

A play is dated by the graph's ``WATCHED.last_ts`` (a user's watches of one
program are folded into one relationship), see ``cypher/experiments/items.cypher``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from neo4j import Driver, RoutingControl

from experiments.arms import Experiment
from graph.queries import query

METRICS = (
    "users_exposed",
    "impressions",
    "play_rate",
    "completed_rate",
    "plays_per_user",
    "completed_watches_per_user",
    "watch_seconds_per_user",
    "coverage",
    "genre_diversity",
)
COUNTS = ("users_exposed", "impressions", "coverage")
"""Metrics reported without an interval: counts, and coverage, a property of the set of
users (a bootstrap resample repeats users, so it would cover less than the sample)."""
ALL_RAILS = "all"
Floats = npt.NDArray[np.float64]


@dataclass
class Users:
    """Per-user sums of one arm (and rail), in one order, for the bootstrap."""

    impressions: Floats
    played: Floats
    completed: Floats
    plays: Floats
    completed_watches: Floats
    seconds: Floats
    entropy: Floats
    programs: npt.NDArray[np.bool_]
    """users x catalogue programs seen in the report: True where the user was served it."""

    def __len__(self) -> int:
        return len(self.impressions)


def read_rows(
    driver: Driver, experiment: str, *, database: str, window: timedelta, completion: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """The exposure rows, the item rows and the catalogue size of ``experiment``."""
    common: dict[str, Any] = {"database_": database, "routing_": RoutingControl.READ}
    exposures, _, _ = driver.execute_query(
        query("experiments/exposures"), experiment=experiment, **common
    )
    items, _, _ = driver.execute_query(
        query("experiments/items"), experiment=experiment, window=window,
        completion=completion, **common,
    )  # fmt: skip
    catalogue, _, _ = driver.execute_query(query("experiments/catalogue"), **common)
    return (
        [r.data() for r in exposures],
        [r.data() for r in items],
        int(catalogue[0]["programs"]),
    )


def group_users(
    exposures: list[dict[str, Any]], items: list[dict[str, Any]]
) -> dict[tuple[str, str], Users]:
    """Per (arm, rail), and per (arm, :data:`ALL_RAILS`), the per-user sums."""
    keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    impressions: dict[tuple[str, str, str], float] = defaultdict(float)
    for row in exposures:
        for rail in (row["rail"], ALL_RAILS):
            key = (row["arm"], rail)
            if (row["arm"], rail, row["user_id"]) not in impressions:
                keys[key].append(row["user_id"])
            impressions[(row["arm"], rail, row["user_id"])] += row["impressions"] or 0
    program_index: dict[str, int] = {}
    per_user: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in items:
        program_index.setdefault(row["program_id"], len(program_index))
        for rail in (row["rail"], ALL_RAILS):
            user = per_user.setdefault(
                (row["arm"], rail, row["user_id"]),
                {"played": 0.0, "completed": 0.0, "plays": set(), "completed_watches": set(),
                 "seconds": {}, "genres": defaultdict(float), "programs": set()},
            )  # fmt: skip
            user["played"] += row["played"]
            user["completed"] += row["completed"]
            user["programs"].add(program_index[row["program_id"]])
            if row["played"]:
                user["plays"].add(row["program_id"])
                user["seconds"][row["program_id"]] = row["seconds"]
            if row["completed"]:
                user["completed_watches"].add(row["program_id"])
            genres = row["genres"] or []
            for g in genres:
                user["genres"][g] += row["shown"] / len(genres)
    out: dict[tuple[str, str], Users] = {}
    for key, user_ids in keys.items():
        arm, rail = key
        rows = [per_user.get((arm, rail, u)) for u in user_ids]
        seen = np.zeros((len(user_ids), max(len(program_index), 1)), dtype=np.bool_)
        for i, found in enumerate(rows):
            if found is not None and found["programs"]:
                seen[i, list(found["programs"])] = True
        out[key] = Users(
            impressions=np.array([impressions[(arm, rail, u)] for u in user_ids], dtype=float),
            played=np.array([r["played"] if r else 0.0 for r in rows], dtype=float),
            completed=np.array([r["completed"] if r else 0.0 for r in rows], dtype=float),
            plays=np.array([len(r["plays"]) if r else 0.0 for r in rows], dtype=float),
            completed_watches=np.array(
                [len(r["completed_watches"]) if r else 0.0 for r in rows], dtype=float
            ),
            seconds=np.array([sum(r["seconds"].values()) if r else 0.0 for r in rows], dtype=float),
            entropy=np.array([entropy(r["genres"]) if r else 0.0 for r in rows], dtype=float),
            programs=seen,
        )
    return out


def entropy(weights: dict[str, float]) -> float:
    """Shannon entropy in bits of the distribution ``weights`` (0 for none or one)."""
    w = np.array([v for v in weights.values() if v > 0], dtype=float)
    if len(w) < 2:
        return 0.0
    p = w / w.sum()
    return float(-(p * np.log2(p)).sum())


def values(users: Users, catalogue: int, index: npt.NDArray[np.int64] | None = None) -> Floats:
    """Every metric of :data:`METRICS` for ``users`` (rows ``index`` of them, a bootstrap
    resample, when given; ``index`` may be 2-D: one resample per row)."""
    idx = np.arange(len(users))[None, :] if index is None else np.atleast_2d(index)
    n = idx.shape[1]

    def total(a: Floats) -> Floats:
        return np.asarray(a[idx].sum(axis=1), dtype=float)

    imp = total(users.impressions)
    with np.errstate(divide="ignore", invalid="ignore"):
        play_rate = np.where(imp > 0, total(users.played) / imp, 0.0)
        completed_rate = np.where(imp > 0, total(users.completed) / imp, 0.0)
    # Coverage only for the sample itself (see COUNTS).
    coverage = users.programs.any(axis=0).sum() / max(catalogue, 1) if index is None else np.nan
    out = np.stack(
        [
            np.full(idx.shape[0], float(n)),
            imp,
            play_rate,
            completed_rate,
            total(users.plays) / n,
            total(users.completed_watches) / n,
            total(users.seconds) / n,
            np.full(idx.shape[0], coverage),
            total(users.entropy) / n,
        ],
        axis=1,
    )
    return out if index is not None and np.ndim(index) == 2 else out[0]


def bootstrap(users: Users, catalogue: int, rng: np.random.Generator, resamples: int) -> Floats:
    """``resamples`` x metrics: the metrics of resamples of the users, with replacement."""
    index = rng.integers(0, len(users), size=(resamples, len(users)))
    return values(users, catalogue, index)


def interval(value: float, draws: Floats, confidence: float) -> dict[str, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return {"value": float(value), "low": float(low), "high": float(high)}


def report(
    experiment: Experiment,
    exposures: list[dict[str, Any]],
    items: list[dict[str, Any]],
    catalogue: int,
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    window: timedelta = timedelta(hours=24),
) -> dict[str, Any]:
    """The report of ``experiment`` (the JSON ``graphrails experiments report --json``
    prints): ``arms`` over all rails, ``rails`` arm by arm per rail, ``comparisons`` of
    each arm with the first (all rails)."""
    groups = group_users(exposures, items)
    rails = sorted({rail for _, rail in groups} - {ALL_RAILS})
    arm_names = [a.name for a in experiment.arms]

    def arm_block(rail: str) -> tuple[list[dict[str, Any]], dict[str, Floats]]:
        out: list[dict[str, Any]] = []
        draws: dict[str, Floats] = {}
        for i, name in enumerate(arm_names):
            users = groups.get((name, rail))
            if users is None or not len(users):
                out.append({"name": name, "metrics": None})
                continue
            # One stream per (arm, rail): adding a rail or an arm leaves the others' draws.
            stream = rails.index(rail) + 1 if rail in rails else 0
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, stream)))
            point = values(users, catalogue)
            b = bootstrap(users, catalogue, rng, resamples)
            draws[name] = b
            metrics: dict[str, dict[str, float]] = {}
            for k, metric in enumerate(METRICS):
                if metric in COUNTS:
                    metrics[metric] = {"value": float(point[k]), "low": float(point[k]),
                                       "high": float(point[k])}  # fmt: skip
                else:
                    metrics[metric] = interval(point[k], b[:, k], confidence)
            out.append({"name": name, "metrics": metrics})
        return out, draws

    arms, draws = arm_block(ALL_RAILS)
    comparisons = []
    control = arm_names[0]
    for arm in arms[1:]:
        if arm["metrics"] is None or control not in draws:
            continue
        base = next(a for a in arms if a["name"] == control)["metrics"]
        diff: dict[str, dict[str, Any]] = {}
        for k, metric in enumerate(METRICS):
            if metric in COUNTS:
                continue
            d = draws[arm["name"]][:, k] - draws[control][:, k]
            value = arm["metrics"][metric]["value"] - base[metric]["value"]
            entry: dict[str, Any] = interval(value, d, confidence)
            b0 = base[metric]["value"]
            entry["relative"] = value / b0 if b0 else None
            c = draws[control][:, k]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = draws[arm["name"]][:, k] / c - 1
            ratio = ratio[np.isfinite(ratio)]
            tail = (1 - confidence) / 2
            entry["relative_low"], entry["relative_high"] = (
                (float(np.quantile(ratio, tail)), float(np.quantile(ratio, 1 - tail)))
                if b0 and len(ratio)
                else (None, None)
            )
            entry["p_value"] = float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))
            diff[metric] = entry
        comparisons.append({"arm": arm["name"], "against": control, "difference": diff})
    return {
        "experiment": experiment.name,
        "status": experiment.status,
        "arms_defined": [
            {"name": a.name, "weight": a.weight, "overrides": a.overrides()}
            for a in experiment.arms
        ],
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
        "play_window_hours": window.total_seconds() / 3600,
        "catalogue_programs": catalogue,
        "arms": arms,
        "comparisons": comparisons,
        "rails": [{"rail": rail, "arms": arm_block(rail)[0]} for rail in rails],
    }


def format_report(data: dict[str, Any]) -> str:
    """The report as text: a table of every arm's metrics, then each comparison."""
    lines = [
        f"experiment {data['experiment']} ({data['status']}): "
        f"{data['confidence']:.0%} intervals, bootstrap over users "
        f"({data['resamples']} resamples, seed {data['seed']}), play window "
        f"{data['play_window_hours']:g} h"
    ]
    for arm in data["arms_defined"]:
        set_ = ", ".join(f"{k}={v}" for k, v in arm["overrides"].items()) or "API settings"
        lines.append(f"  arm {arm['name']} (weight {arm['weight']:g}): {set_}")
    for block in [{"rail": ALL_RAILS, "arms": data["arms"]}, *data["rails"]]:
        lines.append(f"\nrail: {block['rail']}")
        for arm in block["arms"]:
            lines.append(f"  {arm['name']}")
            if arm["metrics"] is None:
                lines.append("    no user exposed")
                continue
            for metric, m in arm["metrics"].items():
                lines.append(
                    f"    {metric:<28}{_num(m['value']):>12}"
                    + ("" if metric in COUNTS else f"  [{_num(m['low'])}, {_num(m['high'])}]")
                )
    for c in data["comparisons"]:
        lines.append(
            f"\n{c['arm']} vs {c['against']}: difference [interval], relative [interval], "
            "two-sided p"
        )
        floor = 1 / data["resamples"]
        for metric, d in c["difference"].items():
            rel = "" if d["relative"] is None else f"{d['relative']:+.1%}"
            if d["relative"] is not None and d["relative_low"] is not None:
                rel += f" [{d['relative_low']:+.1%}, {d['relative_high']:+.1%}]"
            p = f"p<{floor:.2g}" if d["p_value"] < floor else f"p={d['p_value']:.3f}"
            lines.append(
                f"  {metric:<28}{_num(d['value'], sign=True):>12}  [{_num(d['low'], sign=True)}, "
                f"{_num(d['high'], sign=True)}]  {rel:>26}  {p}"
            )
    return "\n".join(lines)


def _num(x: float, *, sign: bool = False) -> str:
    text = f"{x:+.4g}" if sign else f"{x:.4g}"
    return text
