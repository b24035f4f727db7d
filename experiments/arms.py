"""Experiments and their arms: what an arm changes in a rail, and who gets which arm.

An experiment has a name, a salt, a status (``running`` or ``stopped``) and two or
more arms, each with a traffic weight. An arm overrides what the rails are computed
with; every override left unset (None) keeps the API's setting:

* ``model_version``: serve this model version instead of the serving one;
* ``popularity_blend``, ``freshness_blend``: the personalised ranking's blend;
* ``fatigue_completion``, ``fatigue_programs``, ``fatigue_series``,
  ``fatigue_channels``: the fatigue rule (``fatigue_programs = 0`` turns it off);
* ``source``: the home rail's first source, ``personalised`` (the default chain) or
  ``popular_in_bundle`` (the non-personalised chain every new user gets);
* ``order``: the order of the home rail's personalised offers, ``p_complete`` (the
  ranker's, when the version has one) or ``retrieval`` (LightGCN's, the ranker unused).

A user's arm is a function of the experiment's salt and the user id alone
(:func:`assign`): the same on every replica and after every restart, with no state.
The salt defaults to the experiment's name: names are unique, so two experiments
split users independently, and replaying an experiment under its name assigns
every user as before.
An experiment is written once and never edited (``stop`` only ends it), so an arm's
definition never changes under live traffic.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

SOURCES = ("personalised", "popular_in_bundle")
Source = Literal["personalised", "popular_in_bundle"]
ORDERS = ("p_complete", "retrieval")
Order = Literal["p_complete", "retrieval"]
STATUSES = ("running", "stopped")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Experiment and arm names: letters, digits, ``_ . -``, at most 64 characters."""
OVERRIDES = (
    "model_version",
    "popularity_blend",
    "freshness_blend",
    "fatigue_completion",
    "fatigue_programs",
    "fatigue_series",
    "fatigue_channels",
    "source",
    "order",
)
"""The settings an arm may override, as named on the ``:Arm`` node and on the command line."""


@dataclass(frozen=True)
class Arm:
    """One arm of an experiment: a name, a traffic weight and its overrides (None: keep
    the API's setting)."""

    name: str
    weight: float = 1.0
    model_version: str | None = None
    popularity_blend: float | None = None
    freshness_blend: float | None = None
    fatigue_completion: float | None = None
    fatigue_programs: int | None = None
    fatigue_series: int | None = None
    fatigue_channels: int | None = None
    source: Source | None = None
    order: Order | None = None

    def __post_init__(self) -> None:
        where = f"arm '{self.name}'"
        if not NAME.match(self.name):
            raise ValueError(f"{where}: name must match {NAME.pattern}")
        if not self.weight > 0:
            raise ValueError(f"{where}: weight must be > 0, got {self.weight}")
        for key in ("popularity_blend", "freshness_blend", "fatigue_completion"):
            value = getattr(self, key)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{where}: {key} must be within [0, 1], got {value}")
        if (self.popularity_blend or 0) + (self.freshness_blend or 0) > 1:
            raise ValueError(f"{where}: popularity_blend + freshness_blend must be at most 1")
        for key in ("fatigue_programs", "fatigue_series", "fatigue_channels"):
            value = getattr(self, key)
            if value is not None and not 0 <= value <= 1000:
                raise ValueError(f"{where}: {key} must be within [0, 1000], got {value}")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"{where}: source must be one of {', '.join(SOURCES)}")
        if self.order is not None and self.order not in ORDERS:
            raise ValueError(f"{where}: order must be one of {', '.join(ORDERS)}")

    def overrides(self) -> dict[str, Any]:
        """The overrides this arm sets (unset ones left out)."""
        return {k: getattr(self, k) for k in OVERRIDES if getattr(self, k) is not None}

    def describe(self) -> str:
        set_ = ", ".join(f"{k}={v}" for k, v in self.overrides().items()) or "the API's settings"
        return f"{self.name} (weight {self.weight:g}): {set_}"


@dataclass(frozen=True)
class Experiment:
    """An experiment as stored in Neo4j (``cypher/experiments/``)."""

    name: str
    salt: str
    arms: tuple[Arm, ...]
    status: str = "running"
    created_at: datetime | None = None
    stopped_at: datetime | None = None
    description: str = ""
    _cumulative: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"experiment name '{self.name}' must match {NAME.pattern}")
        if not self.salt:
            raise ValueError(f"experiment '{self.name}': salt must not be empty")
        if self.status not in STATUSES:
            raise ValueError(
                f"experiment '{self.name}': status must be one of {', '.join(STATUSES)}"
            )
        if len(self.arms) < 2:
            raise ValueError(f"experiment '{self.name}': arms must hold at least two arms")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment '{self.name}': arm names must be unique, got {names}")
        total = sum(a.weight for a in self.arms)
        running, cumulative = 0.0, []
        for arm in self.arms:
            running += arm.weight
            cumulative.append(running / total)
        cumulative[-1] = 1.0
        object.__setattr__(self, "_cumulative", tuple(cumulative))

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise ValueError(f"experiment '{self.name}' has no arm '{name}'")

    def assign(self, user_id: str) -> Arm:
        """The user's arm (see :func:`assign`)."""
        u = bucket(self.salt, user_id)
        for arm, upper in zip(self.arms, self._cumulative, strict=True):
            if u < upper:
                return arm
        return self.arms[-1]


def bucket(salt: str, user_id: str) -> float:
    """A number in [0, 1) drawn from SHA-256 of the salt and the user id: uniform over
    users, the same in every process (Python's own ``hash`` is salted per process)."""
    digest = hashlib.sha256(f"{salt}\x1f{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment: Experiment, user_id: str) -> Arm:
    """The arm of ``user_id`` in ``experiment``: the arm whose share of the cumulated
    traffic weights holds ``bucket(salt, user_id)``."""
    return experiment.assign(user_id)


def parse_arm(text: str) -> Arm:
    """An arm from the command line: ``NAME[:key=value,key=value...]``, keys among
    ``weight`` and :data:`OVERRIDES` (``fatigue=off`` is ``fatigue_programs=0``)."""
    name, _, rest = text.partition(":")
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(Arm)}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--arm '{text}': '{part}' is not of the form key=value")
        if key == "fatigue" and raw == "off":
            values["fatigue_programs"] = 0
            continue
        if key not in types or key == "name":
            allowed = ", ".join(("weight", *OVERRIDES))
            raise ValueError(f"--arm '{text}': unknown key '{key}' (one of {allowed})")
        kind = str(types[key])
        try:
            values[key] = (
                int(raw) if kind.startswith("int") else float(raw) if "float" in kind else raw
            )
        except ValueError as e:
            raise ValueError(f"--arm '{text}': {key} must be a number, got '{raw}'") from e
    return Arm(name=name.strip(), **values)


def personalised_vs_popular() -> tuple[Arm, ...]:
    """The default arms: popular in the bundle (the control, first) against the
    personalised home rail."""
    return (
        Arm("popular_in_bundle", source="popular_in_bundle"),
        Arm("personalised", source="personalised"),
    )


def fatigue_arms() -> tuple[Arm, ...]:
    """Fatigue as it ships (0.7 / 30 / 1 / 1, the control), off, stricter and looser."""
    return (
        Arm("fatigue_on", fatigue_completion=0.7, fatigue_programs=30, fatigue_series=1,
            fatigue_channels=1),
        Arm("fatigue_off", fatigue_programs=0, fatigue_series=0, fatigue_channels=0),
        Arm("fatigue_stricter", fatigue_completion=0.8, fatigue_programs=60, fatigue_series=2,
            fatigue_channels=2),
        Arm("fatigue_looser", fatigue_completion=0.5, fatigue_programs=10, fatigue_series=0,
            fatigue_channels=0),
    )  # fmt: skip


def ranker_arms() -> tuple[Arm, ...]:
    """LightGCN's order (the control, first) against the ranker's P(complete) order."""
    return (Arm("retrieval", order="retrieval"), Arm("p_complete", order="p_complete"))


PRESETS = {
    "personalised-vs-popular": personalised_vs_popular,
    "fatigue": fatigue_arms,
    "ranker": ranker_arms,
}
"""Arm sets ``graphrails experiments create --preset`` knows."""
