"""Model versions on disk: one directory per fit, verified when read.

``<home>/models/<version>/`` holds::

    embeddings.npy          float32 [num_nodes, embedding_dim], every node type
    id_map.parquet          label, id, row
    train_positives.npy     int64 [2, N] (user row, program row) the model was fitted on
    holdout.npy             int64 [2, M] pairs held out for evaluation
    ranker.txt              optional: the LightGBM ranker (gnn/ranker.py) that passed its gate
    genre_channel.npz       optional: the genre/channel term its scores add (gnn/genre_channel.py)
    manifest.json           version, created_at, config, metrics, stats, sha256 of each file
    gate.json               written after the quality gate: outcome (passed / refused), reason

A version is written to a temporary directory and renamed into place, so a
reader never sees half of one; a file whose checksum does not match the
manifest makes :func:`load_version` refuse the version. ``gate.json`` is not
covered by the checksums: it is written once the version exists, atomically
(a temporary file renamed over it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from torch import Tensor

from gnn.genre_channel import FILE as GENRE_CHANNEL_FILE
from gnn.genre_channel import GenreChannel
from gnn.idmap import IdMap

FILES = ("embeddings.npy", "id_map.parquet", "train_positives.npy", "holdout.npy")
RANKER_FILE = "ranker.txt"
"""Present when the version has a ranker; its checksum is in the manifest then."""
GATE_FILE = "gate.json"


class ArtifactError(ValueError):
    """A model version is missing, incomplete or corrupted; the message names the file."""


@dataclass
class ModelVersion:
    """A model version read from disk."""

    path: Path
    manifest: dict[str, Any]
    embeddings: npt.NDArray[np.float32]
    id_map: IdMap
    train_positives: npt.NDArray[np.int64]
    holdout: npt.NDArray[np.int64]
    ranker_text: str | None = None
    """The version's ranker (LightGBM text format, :class:`gnn.ranker.Ranker`), if any."""
    genre_channel: GenreChannel | None = None
    """The term its scores add (:mod:`gnn.genre_channel`), if any."""

    def extra(self) -> Callable[[Tensor, Tensor], Tensor] | None:
        """:func:`gnn.model.recommend`'s ``extra`` for this version's node ids."""
        return None if self.genre_channel is None else self.genre_channel.for_id_map(self.id_map)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def trained_at(self) -> float | None:
        """The manifest's ``created_at`` (ISO 8601) as epoch seconds; None when absent or
        unreadable."""
        created_at = self.manifest.get("created_at")
        if not isinstance(created_at, str):
            return None
        try:
            return datetime.fromisoformat(created_at).timestamp()
        except ValueError:
            return None

    @property
    def bias_column(self) -> bool:
        """True when the last embedding column holds the programs' learned bias (and 1 for
        every other node), so that a user-program dot product is the trained score."""
        config = self.manifest.get("train_config") or {}
        return bool(config.get("program_bias", False))


def new_version_name(now: datetime | None = None) -> str:
    """A sortable, unique-per-second name such as ``v20261122T010203Z``."""
    return (now or datetime.now(UTC)).strftime("v%Y%m%dT%H%M%SZ")


def save_version(
    models_dir: Path,
    *,
    embeddings: npt.NDArray[np.float32],
    id_map: IdMap,
    train_positives: npt.NDArray[np.int64],
    holdout: npt.NDArray[np.int64],
    manifest: dict[str, Any],
    version: str | None = None,
    ranker_text: str | None = None,
    genre_channel: GenreChannel | None = None,
) -> Path:
    """Write a version atomically and return its directory (with ``ranker_text``: its
    ranker, :data:`RANKER_FILE`).

    Without ``version`` the name is the time (:func:`new_version_name`), with a ``-2``,
    ``-3``... suffix when a version of the same second exists.
    """
    if version is None:
        base = new_version_name()
        version = next(
            name
            for name in (base if n == 1 else f"{base}-{n}" for n in range(1, 1000))
            if not (models_dir / name).exists()
        )
    final = models_dir / version
    if final.exists():
        raise ArtifactError(f"model version {final} already exists")
    tmp = models_dir / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "embeddings.npy", embeddings.astype(np.float32, copy=False))
    id_map.to_frame().to_parquet(tmp / "id_map.parquet", index=False)
    np.save(tmp / "train_positives.npy", train_positives.astype(np.int64, copy=False))
    np.save(tmp / "holdout.npy", holdout.astype(np.int64, copy=False))
    files: tuple[str, ...] = FILES
    if ranker_text is not None:
        (tmp / RANKER_FILE).write_text(ranker_text)
        files = (*FILES, RANKER_FILE)
    if genre_channel is not None:
        genre_channel.save(tmp)
        files = (*files, GENRE_CHANNEL_FILE)
    full = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **manifest,
        "embedding_dim": int(embeddings.shape[1]),
        "num_nodes": int(embeddings.shape[0]),
        "sha256": {name: _sha256(tmp / name) for name in files},
    }
    (tmp / "manifest.json").write_text(json.dumps(full, indent=2, default=str) + "\n")
    tmp.replace(final)
    return final


def load_version(path: Path) -> ModelVersion:
    """Read and verify a version; :class:`ArtifactError` names what is wrong."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise ArtifactError(f"{path} is not a model version: no manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as e:
        raise ArtifactError(f"{manifest_path} is not valid JSON: {e}") from e
    listed = manifest.get("sha256") or {}
    has_ranker = RANKER_FILE in listed
    has_term = GENRE_CHANNEL_FILE in listed
    optional = (RANKER_FILE,) * has_ranker + (GENRE_CHANNEL_FILE,) * has_term
    for name in (*FILES, *optional):
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{file} is missing")
        expected = manifest.get("sha256", {}).get(name)
        if expected != _sha256(file):
            raise ArtifactError(f"{file} does not match its checksum in the manifest (corrupted)")
    embeddings = np.load(path / "embeddings.npy")
    if not np.isfinite(embeddings).all():
        raise ArtifactError(f"{path / 'embeddings.npy'} holds NaN or infinite values")
    id_map = IdMap.from_frame(pd.read_parquet(path / "id_map.parquet"))
    if id_map.num_nodes != embeddings.shape[0]:
        raise ArtifactError(
            f"{path}: {id_map.num_nodes} nodes in id_map.parquet but "
            f"{embeddings.shape[0]} rows in embeddings.npy"
        )
    return ModelVersion(
        path=path,
        manifest=manifest,
        embeddings=embeddings,
        id_map=id_map,
        train_positives=np.load(path / "train_positives.npy"),
        holdout=np.load(path / "holdout.npy"),
        ranker_text=(path / RANKER_FILE).read_text() if has_ranker else None,
        genre_channel=_load_term(path / GENRE_CHANNEL_FILE, id_map) if has_term else None,
    )


def _load_term(path: Path, id_map: IdMap) -> GenreChannel:
    try:
        term = GenreChannel.load(path)
    except (OSError, KeyError, ValueError) as e:
        raise ArtifactError(f"{path} is not a readable genre/channel term: {e}") from e
    users, programs = len(id_map.ids["User"]), len(id_map.ids["Program"])
    if term.user_shares.shape[0] != users or term.program_side.shape[0] != programs:
        raise ArtifactError(
            f"{path}: {term.user_shares.shape[0]} users and {term.program_side.shape[0]} "
            f"programs, but id_map.parquet has {users} and {programs}"
        )
    return term


def list_versions(models_dir: Path) -> list[Path]:
    """Version directories, oldest first (names sort by time)."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if p.is_dir() and p.name.startswith("v"))


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of a version without verifying its files (for listings); None if unreadable."""
    try:
        manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return manifest


def write_gate(path: Path, record: dict[str, Any]) -> None:
    """Record the quality gate's decision on a version (``gate.json``), atomically."""
    tmp = path / f".{GATE_FILE}.partial"
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    tmp.replace(path / GATE_FILE)


def read_gate(path: Path) -> dict[str, Any] | None:
    """The gate's decision on a version, or None when it never went through the gate."""
    try:
        record: dict[str, Any] = json.loads((path / GATE_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{path / GATE_FILE} is unreadable: {e}") from e
    return record


def prune_versions(models_dir: Path, *, keep: int, protect: set[str]) -> list[str]:
    """Delete all but the ``keep`` newest versions, never one named in ``protect``.

    A version is first renamed to a hidden name, so a reader never finds half of
    one. Returns the names deleted, oldest first.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    sweep_leftovers(models_dir)
    versions = list_versions(models_dir)
    deleted = []
    for path in versions[: max(len(versions) - keep, 0)]:
        if path.name in protect:
            continue
        doomed = path.with_name(f".{path.name}.deleting")
        path.replace(doomed)
        shutil.rmtree(doomed)
        deleted.append(path.name)
    return deleted


LEFTOVER_AGE_S = 24 * 3600
"""A hidden ``.partial`` or ``.deleting`` folder untouched this long was left by a crash."""


def sweep_leftovers(models_dir: Path, *, older_than_s: float = LEFTOVER_AGE_S) -> list[str]:
    """Delete what crashed saves and prunes left behind (``.NAME.partial``,
    ``.NAME.deleting``), once untouched for ``older_than_s``: a save under way in
    another process keeps writing into its folder. Returns the names deleted."""
    limit = time.time() - older_than_s
    swept = []
    for path in sorted(models_dir.glob(".*")):
        leftover = path.is_dir() and path.suffix in (".partial", ".deleting")
        if leftover and path.stat().st_mtime < limit:
            shutil.rmtree(path, ignore_errors=True)
            swept.append(path.name)
    return swept


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
