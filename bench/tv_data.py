"""The TV benchmark's data: a generated TV data set as positives, splits and a graph.

The graph has the node types and relationships ``gnn/export.py`` reads from Neo4j
(User, Program, Genre, Channel, Bundle, Series; HAS_GENRE, EPISODE_OF, AVAILABLE_ON,
INCLUDES, SUBSCRIBES_TO), built here straight from the files so that the benchmark
needs no Neo4j. Positives are the (user, program) pairs watched with a best
completion of at least 0.5, as the issue that set the benchmark defines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from gnn.data import TrainGraph

IntArray = npt.NDArray[np.int64]
MIN_COMPLETION = 0.5
TEST_FRACTION = 0.25
MIN_TEMPORAL_POSITIVES = 4


def programs_for(users: int) -> int:
    """Catalogue size scaled with users: 1 program per 5 users, 5,000 to 50,000."""
    return int(min(50_000, max(5_000, users // 5)))


def generated(users: int, seed: int, root: Path) -> Path:
    """The folder of ``graphrails generate tv --users N --seed S`` (made once, then reused)."""
    from loaders.generate import generate_tv

    out = root / f"tv-u{users}-s{seed}"
    if not (out / "watch_events.parquet").exists():
        generate_tv(out, users=users, programs=programs_for(users), seed=seed, fmt="parquet")
    return out


@dataclass
class TvData:
    """Node rows: users ``0..U-1``, then programs, genres, channels, bundles, series."""

    num_users: int
    num_programs: int
    num_nodes: int
    positives: pd.DataFrame  # user, program (0-based column), ts (epoch seconds)
    side_edges: torch.Tensor  # [2, E] node ids
    program_genres: list[IntArray]  # per program: genre codes, main genre first
    program_channel: IntArray  # per program: the channel it airs on most (code), -1 none
    genre_nodes: torch.Tensor  # [G] node ids of the genres
    channel_nodes: torch.Tensor  # [C] node ids of the channels

    def graph(self, train: pd.DataFrame, *, side: bool = True) -> TrainGraph:
        """The training graph of ``train``'s positives, with or without the side nodes."""
        pairs = torch.as_tensor(
            np.stack([train["user"].to_numpy(), train["program"].to_numpy() + self.num_users]),
            dtype=torch.long,
        )
        seconds = torch.tensor(train["ts"].to_numpy(dtype=np.float64))
        if side:
            return TrainGraph(
                num_nodes=self.num_nodes,
                edge_index=self.side_edges,
                user_nodes=torch.arange(self.num_users),
                program_nodes=torch.arange(self.num_users, self.num_users + self.num_programs),
                positives=pairs,
                positive_time=seconds,
                genre_nodes=self.genre_nodes,
                channel_nodes=self.channel_nodes,
            )
        return TrainGraph(
            num_nodes=self.num_users + self.num_programs,
            edge_index=torch.empty(2, 0, dtype=torch.long),
            user_nodes=torch.arange(self.num_users),
            program_nodes=torch.arange(self.num_users, self.num_users + self.num_programs),
            positives=pairs,
            positive_time=seconds,
        )


def read_tv(folder: Path) -> TvData:
    """Positives and the side graph of a generated TV folder (Parquet)."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(folder / f"{name}.parquet")

    users = read("users")["user_id"].sort_values().to_numpy()
    programs = read("programs").sort_values("program_id").reset_index(drop=True)
    genres = read("genres")["genre_id"].sort_values().to_numpy()
    channels = read("channels")["channel_id"].sort_values().to_numpy()
    bundles = read("bundles")["bundle_id"].sort_values().to_numpy()
    series = read("series")["series_id"].sort_values().to_numpy()
    u, p = len(users), len(programs)
    offsets = np.cumsum([0, u, p, len(genres), len(channels), len(bundles)])
    num_nodes = int(offsets[-1] + len(series))
    user_row = pd.Index(users)
    program_row = pd.Index(programs["program_id"].to_numpy())

    events = read("watch_events")[["user_id", "program_id", "ts", "completion"]]
    best = events.groupby(["user_id", "program_id"], sort=False).agg(
        completion=("completion", "max"), ts=("ts", "max")
    )
    best = best[best["completion"] >= MIN_COMPLETION].reset_index()
    positives = pd.DataFrame(
        {
            "user": user_row.get_indexer(best["user_id"]).astype(np.int64),
            "program": program_row.get_indexer(best["program_id"]).astype(np.int64),
            "ts": best["ts"].astype("datetime64[s, UTC]").astype("int64").to_numpy(),
        }
    )
    positives = positives.sort_values(["user", "program"], ignore_index=True)

    genre_code = pd.Index(genres)
    lists = programs["genres"].str.split("|")
    program_genres = [genre_code.get_indexer(g).astype(np.int64) for g in lists]
    flat = lists.explode()
    has_genre = np.stack(
        [
            offsets[1] + program_row.get_indexer(programs["program_id"].to_numpy()[flat.index]),
            offsets[2] + genre_code.get_indexer(flat.to_numpy()),
        ]
    )
    in_series = programs["series_id"].notna().to_numpy()
    episode_of = np.stack(
        [
            offsets[1] + np.flatnonzero(in_series),
            offsets[5] + pd.Index(series).get_indexer(programs["series_id"][in_series]),
        ]
    )
    availability = read("availability")[["program_id", "channel_id"]]
    channel_code = pd.Index(channels)
    on = availability.drop_duplicates()
    available_on = np.stack(
        [
            offsets[1] + program_row.get_indexer(on["program_id"]),
            offsets[3] + channel_code.get_indexer(on["channel_id"]),
        ]
    )
    # The channel of most of a program's windows (the first by id on a tie).
    counts = availability.value_counts(["program_id", "channel_id"]).reset_index()
    counts = counts.sort_values(
        ["program_id", "count", "channel_id"], ascending=[True, False, True]
    )
    main_channel = counts.drop_duplicates("program_id").set_index("program_id")["channel_id"]
    program_channel = np.full(p, -1, dtype=np.int64)
    program_channel[program_row.get_indexer(main_channel.index)] = channel_code.get_indexer(
        main_channel.to_numpy()
    )
    bc = read("bundle_channels")
    includes = np.stack(
        [
            offsets[4] + pd.Index(bundles).get_indexer(bc["bundle_id"]),
            offsets[3] + channel_code.get_indexer(bc["channel_id"]),
        ]
    )
    subs = read("subscriptions")[["user_id", "bundle_id"]].drop_duplicates()
    subscribes_to = np.stack(
        [
            user_row.get_indexer(subs["user_id"]),
            offsets[4] + pd.Index(bundles).get_indexer(subs["bundle_id"]),
        ]
    )
    side = np.concatenate([has_genre, episode_of, available_on, includes, subscribes_to], axis=1)
    if (side < 0).any():
        raise ValueError(f"{folder}: a side relationship names an unknown id")
    return TvData(
        num_users=u,
        num_programs=p,
        num_nodes=num_nodes,
        positives=positives,
        side_edges=torch.as_tensor(side, dtype=torch.long),
        program_genres=program_genres,
        program_channel=program_channel,
        genre_nodes=torch.arange(int(offsets[2]), int(offsets[3])),
        channel_nodes=torch.arange(int(offsets[3]), int(offsets[4])),
    )


def random_split(positives: pd.DataFrame, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, a random quarter of the positives in test (at least one left in train)."""
    rng = np.random.default_rng(seed)
    key = rng.random(len(positives))
    shuffled = positives.assign(_key=key).sort_values(["user", "_key"], kind="stable")
    rank = shuffled.groupby("user").cumcount().to_numpy()
    count = shuffled.groupby("user")["user"].transform("size").to_numpy()
    quota = np.minimum(np.round(count * TEST_FRACTION), count - 1)
    test = rank < quota
    out = shuffled.drop(columns="_key")
    return out[~test].sort_index(), out[test].sort_index()


def temporal_split(positives: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, the last quarter of the positives by time in test; users with fewer than
    four positives stay in train."""
    ordered = positives.sort_values(["user", "ts", "program"], kind="stable")
    rank = ordered.groupby("user").cumcount(ascending=False).to_numpy()
    count = ordered.groupby("user")["user"].transform("size").to_numpy()
    quota = np.where(count >= MIN_TEMPORAL_POSITIVES, np.round(count * TEST_FRACTION), 0)
    test = rank < quota
    return ordered[~test].sort_index(), ordered[test].sort_index()
