"""Train a version's ranker (:mod:`gnn.ranker`) after LightGCN, on a time split, and judge it.

The examples mimic what the ranker sees when it serves: a user at a time ``now`` and a
list of retrieval candidates, one of which they then watched.

* **Sessions**: watches the embeddings were not fitted on, so that their LightGCN
  scores are what serving sees for a new candidate: the version's held-out pairs
  (positives) and, in the same share, watches below the export's ``min_completion``
  (never positives), chosen by the same pair key. A session is dated by the watch's
  first event; its user's features see only what happened before.
* **Each session's list**: the watched program, when it is among the user's LightGCN
  top ``retrieval_k`` (the candidates serving ranks), and ``negatives`` programs drawn
  uniformly from the same top ``retrieval_k`` that the user never watched and that had
  a window open at that time (serving ranks eligible offers only). Drawn uniformly, not
  the best scored: otherwise the watched program would be the list's odd one out by its
  lower score, and the ranker would learn to demote good scores.
* **Label**: the watched program reached ``completion_threshold``; the others are 0.
* **Time split**: sessions of the last ``validation_days`` days validate, the earlier
  ones train (LightGBM, binary log loss).

The gate (:func:`gnn.gate.check_ranker`) keeps the ranker only if its completion-labelled
NDCG@10 on the validation lists beats that of retrieval order (the LightGCN score).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from neo4j import Driver
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from gnn.genre_channel import GenreChannel
from gnn.idmap import IdMap
from gnn.metrics import grouped_ndcg, log_loss, roc_auc
from gnn.model import recommend
from gnn.ranker import (
    CATEGORICAL,
    DAY_S,
    FEATURES,
    NONE,
    WEEK_DAYS,
    AudienceTable,
    Ints,
    ProgramTable,
    Ranker,
    UserFacts,
    ranking_features,
    user_from_record,
)
from gnn.train import pair_keys
from graph.queries import query

Floats = npt.NDArray[np.float64]


class RankerConfig(BaseModel):
    """How the ranker's examples are drawn and how it is fitted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    completion_threshold: float = Field(
        default=0.9, ge=0, le=1,
        description="A watch at least this complete is a completion (the label); the "
        "rails' GRAPHRAILS_COMPLETION_THRESHOLD default.",
    )  # fmt: skip
    negatives: int = Field(default=9, ge=1, description="Unwatched candidates per session.")
    retrieval_k: int = Field(
        default=200, ge=1,
        description="LightGCN candidates per user (GRAPHRAILS_CANDIDATES' default): a "
        "session's watch is one of them, its negatives are drawn from them.",
    )  # fmt: skip
    max_users: int = Field(
        default=5_000, ge=1, description="Users whose sessions are read (chosen by a key)."
    )
    validation_days: float = Field(default=2.0, gt=0, description="The last days validate.")
    min_validation_lists: int = Field(
        default=50, ge=1, description="Fewer validation lists with a completion: no ranker."
    )
    # Chosen on the TV benchmark's seed-12 data at 20k users (docs/benchmarks.md, "The
    # ranking stage"): against 50 rounds of 15 leaves (and those against 100 of 31), as
    # good on NDCG, AUC and log loss (within the grid's noise) for half the prediction CPU
    # per request.
    rounds: int = Field(default=30, ge=1, description="LightGBM boosting rounds.")
    learning_rate: float = Field(default=0.2, gt=0)
    num_leaves: int = Field(default=7, ge=2)
    min_data_in_leaf: int = Field(default=200, ge=1)
    batch_users: int = Field(default=250, ge=1, description="Users per facts round trip.")
    seed: int = 0


@dataclass
class Examples:
    """Feature rows with their label, list (group) and date."""

    features: Floats
    label: npt.NDArray[np.int8]
    group: npt.NDArray[np.int64]
    at: Floats

    @property
    def retrieval(self) -> Floats:
        """The LightGCN score of each row (retrieval order)."""
        column: Floats = self.features[:, FEATURES.index("retrieval_score")]
        return column


def read_programs(driver: Driver, *, database: str) -> ProgramTable:
    """``program_facts.cypher``: every program's side of the features."""
    records, _, _ = driver.execute_query(query("rails/program_facts"), database_=database)
    return ProgramTable.from_records(records)


def read_users(
    driver: Driver, *, database: str, users: Sequence[tuple[str, Sequence[str]]]
) -> dict[str, UserFacts]:
    """``ranking_facts.cypher`` for ``(user id, program ids)`` pairs: each user's side of
    the features (the impressions of those programs), by user."""
    rows = [{"user_id": u, "program_ids": list(p)} for u, p in users]
    records, _, _ = driver.execute_query(query("rails/ranking_facts"), users=rows,
                                         database_=database)  # fmt: skip
    return {str(r["user_id"]): user_from_record(r) for r in records}


def read_audience(
    driver: Driver, *, database: str, since: datetime, until: datetime
) -> AudienceTable:
    """``week_audience.cypher`` for the days in [since, until)."""
    records, _, _ = driver.execute_query(query("rails/week_audience"), since=since, until=until,
                                         database_=database)  # fmt: skip
    return AudienceTable.from_records(records)


@dataclass
class _Session:
    user: UserFacts
    target: int
    """The watched program's row in the program table."""
    pool: Ints
    """Rows of unwatched candidates, in the order drawn."""
    at: float
    completed: bool


def build_examples(
    driver: Driver,
    *,
    database: str,
    embeddings: npt.NDArray[np.float32],
    id_map: IdMap,
    train_pairs: npt.NDArray[np.int64],
    holdout: npt.NDArray[np.int64],
    holdout_fraction: float,
    min_completion: float,
    config: RankerConfig,
    progress: bool = True,
    genre_channel: GenreChannel | None = None,
) -> Examples:
    """The examples of the module docstring, read from Neo4j and scored with ``embeddings``
    (and ``genre_channel``'s term, as the version serves)."""
    u0, p0 = id_map.offsets["User"], id_map.offsets["Program"]
    # The ids as arrays of str: indexing a pandas Index once per candidate (a million
    # times at 100k users) took seconds of the ranker's training.
    user_ids = np.asarray(id_map.ids["User"].astype(str), dtype=object)
    program_ids = np.asarray(id_map.ids["Program"].astype(str), dtype=object)
    users = np.unique(holdout[0])
    if users.size > config.max_users:
        keys = pair_keys(user_ids[users - u0], np.full(users.size, ""), seed=config.seed).numpy()
        users = np.sort(users[np.argsort(keys, kind="stable")[: config.max_users]])
    held: dict[int, set[str]] = {}
    for u, p in zip(holdout[0].tolist(), program_ids[holdout[1] - p0].tolist(), strict=True):
        held.setdefault(u, set()).add(p)
    top, _ = recommend(
        torch.as_tensor(embeddings), users=torch.as_tensor(users),
        programs=torch.as_tensor(id_map.label_rows("Program")),
        exclude=torch.as_tensor(train_pairs), k=config.retrieval_k,
        extra=None if genre_channel is None else genre_channel.for_id_map(id_map),
    )  # fmt: skip
    top_np = top.numpy()
    program_vectors = embeddings[p0 : p0 + len(program_ids)].astype(np.float64)
    programs = read_programs(driver, database=database)
    # The table's row of each of the version's programs, and back (NONE: not in the graph).
    table_row = programs.rows_of(program_ids)
    version_row = np.full(len(programs), NONE, np.int64)
    version_row[table_row[table_row >= 0]] = np.flatnonzero(table_row >= 0)

    sessions: list[_Session] = []
    vectors: dict[str, Floats] = {}
    user_rows: dict[str, int] = {}
    rng = np.random.default_rng(config.seed)
    batches = range(0, users.size, config.batch_users)
    for a in tqdm(batches, desc="ranker examples", unit="batch", disable=not progress):
        rows = users[a : a + config.batch_users]
        asked: list[tuple[str, list[str]]] = []
        pools: list[list[str]] = []
        for i, u in enumerate(rows, start=a):
            listed: list[str] = program_ids[top_np[i][top_np[i] >= 0] - p0].tolist()
            # Negatives are drawn uniformly from the candidates, as serving ranks them all;
            # a pool three times as large leaves room for the watched and the unavailable.
            size = min(3 * config.negatives, len(listed))
            pools.append([str(x) for x in rng.choice(listed, size=size, replace=False)])
            # The impressions of every candidate: those of a list's members are among them.
            asked.append((user_ids[u - u0], listed))
        facts = read_users(driver, database=database, users=asked)
        abandoned = _abandoned(list(facts.values()), min_completion, holdout_fraction,
                               config.seed)  # fmt: skip
        for (user_id, listed), pool_ids, u in zip(asked, pools, rows, strict=True):
            user = facts[user_id]
            vectors[user_id] = embeddings[u].astype(np.float64)
            user_rows[user_id] = int(u - u0)
            watched = set(user.program_ids)
            pool = programs.rows_of(p for p in pool_ids if p not in watched)
            pool = pool[pool >= 0]
            candidates = set(listed)
            targets = held.get(int(u), set())
            chosen = [i for i, p in enumerate(user.program_ids) if p in targets]
            chosen += abandoned[user_id]
            for i in chosen:
                # Only a watch of one of the user's candidates: the lists serving ranks.
                row = programs.index.get(user.program_ids[i], NONE)
                if row == NONE or user.program_ids[i] not in candidates:
                    continue
                completed = bool(user.completion[i] >= config.completion_threshold)
                sessions.append(_Session(user, row, pool, float(user.first_ts[i]), completed))
    if not sessions:
        raise ValueError("no session to train the ranker on: the holdout has no watch")
    first = min(s.at for s in sessions)
    last = max(s.at for s in sessions)
    audience = read_audience(
        driver, database=database,
        since=datetime.fromtimestamp(AudienceTable.day_of(first) - WEEK_DAYS * DAY_S, UTC),
        until=datetime.fromtimestamp(AudienceTable.day_of(last) + DAY_S, UTC),
    )  # fmt: skip
    blocks: list[Floats] = []
    labels: list[int] = []
    groups: list[int] = []
    dates: list[float] = []
    for g, s in enumerate(tqdm(sessions, desc="ranker features", unit="list",
                               disable=not progress)):  # fmt: skip
        negatives = s.pool[programs.window_rows(s.pool, s.at) != NONE][: config.negatives]
        members = np.concatenate([[s.target], negatives]).astype(np.int64)
        in_version = version_row[members]
        known = in_version[in_version != NONE]
        score = program_vectors[known] @ vectors[s.user.user_id]
        if genre_channel is not None:  # the term of these programs only
            shares = genre_channel.user_shares[user_rows[s.user.user_id]]
            score = score + genre_channel.scores(shares, known)[0]
        scored = iter(score.tolist())
        scores = [next(scored) if r != NONE else None for r in in_version.tolist()]
        blocks.append(
            ranking_features(
                s.user,
                programs,
                members,
                scores,
                audience.week_before(s.at),
                s.at,
                completion_threshold=config.completion_threshold,
            )
        )
        labels += [int(s.completed)] + [0] * len(negatives)
        groups += [g] * len(members)
        dates += [s.at] * len(members)
    return Examples(
        np.concatenate(blocks), np.asarray(labels, np.int8), np.asarray(groups, np.int64),
        np.asarray(dates, np.float64),
    )  # fmt: skip


def _abandoned(
    users: Sequence[UserFacts], min_completion: float, fraction: float, seed: int
) -> dict[str, list[int]]:
    """By user, the indices of their watches below ``min_completion`` whose pair key
    falls in the holdout's share (the keys of a batch of users hashed in one call)."""
    low = [(user, i) for user in users
           for i in np.flatnonzero(user.completion < min_completion).tolist()]  # fmt: skip
    out: dict[str, list[int]] = {user.user_id: [] for user in users}
    if low:
        keys = pair_keys([user.user_id for user, _ in low],
                         [user.program_ids[i] for user, i in low], seed=seed).numpy()  # fmt: skip
        share = (keys.astype(np.float64) - np.iinfo(np.int64).min) / 2.0**64
        for (user, i), s in zip(low, share.tolist(), strict=True):
            if s < fraction:
                out[user.user_id].append(i)
    return out


def split_by_time(examples: Examples, *, validation_days: float) -> npt.NDArray[np.bool_]:
    """True for the rows of the last ``validation_days`` days (the validation part)."""
    cutoff = float(examples.at.max()) - validation_days * DAY_S
    mask: npt.NDArray[np.bool_] = examples.at >= cutoff
    return mask


def fit_ranker(examples: Examples, config: RankerConfig) -> tuple[Ranker | None, dict[str, Any]]:
    """Fit on the earlier sessions, measure on the last days, and gate (the ranker is
    None when the gate refuses it). The record says what was measured and decided."""
    import lightgbm

    from gnn.gate import check_ranker

    t0 = time.perf_counter()
    val = split_by_time(examples, validation_days=config.validation_days)
    train = ~val
    record: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "train_rows": int(train.sum()),
        "validation_rows": int(val.sum()),
        "train_positive_rate": float(examples.label[train].mean()) if train.any() else None,
    }
    if not train.any() or not examples.label[train].any() or examples.label[train].all():
        record.update(outcome="refused", reason="the training sessions hold no completion "
                      "or nothing but completions: nothing to learn")  # fmt: skip
        return None, record
    data = lightgbm.Dataset(
        examples.features[train], label=examples.label[train], feature_name=list(FEATURES),
        categorical_feature=list(CATEGORICAL), free_raw_data=True,
    )  # fmt: skip
    params = {
        "objective": "binary", "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves, "min_data_in_leaf": config.min_data_in_leaf,
        "seed": config.seed, "deterministic": True, "num_threads": 1, "verbose": -1,
    }  # fmt: skip
    booster = lightgbm.train(params, data, num_boost_round=config.rounds)
    ranker = Ranker(booster)
    probability = ranker.predict(examples.features[val])
    metrics = holdout_metrics(probability, examples, val)
    record.update(metrics, fit_seconds=time.perf_counter() - t0)
    passed, reason = check_ranker(metrics, min_lists=config.min_validation_lists)
    record.update(outcome="passed" if passed else "refused", reason=reason)
    ranker.record = record
    return (ranker if passed else None), record


def holdout_metrics(
    probability: Floats, examples: Examples, rows: npt.NDArray[np.bool_], *, k: int = 10
) -> dict[str, Any]:
    """Completion-labelled NDCG@k of the ranker's order and of retrieval order on the same
    lists, and AUC and log loss of P(complete), on ``rows``."""
    label, group = examples.label[rows], examples.group[rows]
    ranker_ndcg, lists = grouped_ndcg(probability, label, group, k=k)
    retrieval_ndcg, _ = grouped_ndcg(examples.retrieval[rows], label, group, k=k)
    return {
        "lists": lists,
        f"ranker_ndcg@{k}": ranker_ndcg,
        f"retrieval_ndcg@{k}": retrieval_ndcg,
        "auc": roc_auc(probability, label),
        "log_loss": log_loss(probability, label),
        "positive_rate": float(label.mean()) if len(label) else float("nan"),
    }
