"""Loading data sets into the real Neo4j: counts, idempotence, increments, rejects, failures."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from neo4j import Driver

from cli.main import main
from graph.queries import query
from graph.settings import Settings
from loaders.generate import generate_tv
from loaders.generate.world import BUNDLES
from loaders.tv import graph_counts, load_events, load_tv
from tests.loaders.neo4j_data import dataset_ids, delete_ids

pytestmark = pytest.mark.neo4j

# The project's shared data sits beside the clone (CI puts it there).
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@pytest.fixture(scope="module")
def tiny_tv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tv")
    generate_tv(folder, users=150, programs=200, seed=11, progress=False)
    return folder


@pytest.fixture
def cleanup(driver: Driver, neo4j_settings: Settings) -> Iterator[list[Path]]:
    """Folders registered here have all their nodes deleted after the test."""
    db = neo4j_settings.neo4j_database
    sources = data_sources(driver, db)
    folders: list[Path] = []
    yield folders
    for folder in folders:
        delete_ids(driver, db, dataset_ids(folder))
    delete_ids(driver, db, {"DataSource": sorted(data_sources(driver, db) - sources)})


@pytest.fixture
def tv_copy(tiny_tv: Path, tmp_path: Path, cleanup: list[Path]) -> Path:
    """A copy of ``tiny_tv`` for a test to edit before loading it (its nodes are deleted
    after the test)."""
    folder = tmp_path / "tv"
    shutil.copytree(tiny_tv, folder)
    cleanup.append(folder)
    return folder


def data_sources(driver: Driver, database: str) -> set[str]:
    records, _, _ = driver.execute_query(
        "MATCH (d:DataSource) RETURN d.id AS id", database_=database
    )
    return {r["id"] for r in records}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def expected_counts(folder: Path) -> dict[str, int]:
    read = {n: pd.read_csv(folder / f"{n}.csv", dtype=str) for n in (
        "users", "programs", "channels", "genres", "bundles", "series", "bundle_channels",
        "subscriptions", "availability", "blacklists", "watch_events")}  # fmt: skip
    programs = read["programs"]
    return {
        "User": len(read["users"]),
        "Program": len(programs),
        "Channel": len(read["channels"]),
        "Genre": len(read["genres"]),
        "Bundle": len(read["bundles"]),
        "Series": len(read["series"]),
        "INCLUDES": len(read["bundle_channels"]),
        "SUBSCRIBES_TO": len(read["subscriptions"]),
        "HAS_GENRE": int(programs["genres"].str.split("|").str.len().sum()),
        "EPISODE_OF": int(programs["series_id"].notna().sum()),
        "AVAILABLE_ON": len(read["availability"]),
        "BLACKLISTED": len(read["blacklists"]),
        "WATCHED": len(read["watch_events"].drop_duplicates(["user_id", "program_id"])),
    }


def test_load_matches_the_files_and_a_second_load_changes_nothing(
    driver: Driver, neo4j_settings: Settings, tiny_tv: Path, cleanup: list[Path]
) -> None:
    db = neo4j_settings.neo4j_database
    cleanup.append(tiny_tv)
    before = graph_counts(driver, database=db)
    report = load_tv(driver, tiny_tv, database=db, progress=False)
    assert report.rejects == []
    after = graph_counts(driver, database=db)
    assert delta(before, after) == expected_counts(tiny_tv)

    again = load_tv(driver, tiny_tv, database=db, progress=False)
    assert graph_counts(driver, database=db) == after
    events = next(f for f in again.files if f.name == "watch_events")
    assert events.written == 0 and "already in the graph" in events.note

    # WATCHED aggregates its events: counts, seconds and the best completion.
    frame = pd.read_csv(tiny_tv / "watch_events.csv")
    first = frame.iloc[0]
    pair = frame[(frame.user_id == first.user_id) & (frame.program_id == first.program_id)]
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: $u})-[w:WATCHED]->(:Program {id: $p}) "
        "RETURN w.count AS count, w.seconds AS seconds, w.completion AS completion",
        u=first.user_id, p=first.program_id, database_=db,
    )  # fmt: skip
    assert records[0].data() == {
        "count": len(pair),
        "seconds": int(pair.watched_s.sum()),
        "completion": pytest.approx(pair.completion.max()),
    }


def test_later_events_file_adds_only_what_is_new(
    driver: Driver, neo4j_settings: Settings, tiny_tv: Path, tmp_path: Path, tv_copy: Path
) -> None:
    db = neo4j_settings.neo4j_database
    folder = tv_copy
    events = pd.read_csv(tiny_tv / "watch_events.csv", dtype=str)
    half = len(events) // 2
    events.iloc[:half].to_csv(folder / "watch_events.csv", index=False)
    events.iloc[half - 10 :].to_csv(tmp_path / "later.csv", index=False)  # overlaps by 10

    before = graph_counts(driver, database=db)
    load_tv(driver, folder, database=db, progress=False)
    report = load_events(driver, tmp_path / "later.csv", database=db, progress=False)
    summary = report.files[0]
    assert (summary.read, summary.written) == (len(events) - half + 10, len(events) - half)
    assert "10 events were already in the graph" in summary.note
    assert delta(before, graph_counts(driver, database=db)) == expected_counts(tiny_tv)
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[w:WATCHED]->() WHERE u.id IN $ids RETURN sum(w.count) AS events",
        ids=events.user_id.unique().tolist(), database_=db,
    )  # fmt: skip
    assert records[0]["events"] == len(events)


def test_country_rights_and_genre_ranks_are_loaded_and_a_corrected_file_replaces_them(
    driver: Driver, neo4j_settings: Settings, tv_copy: Path
) -> None:
    db = neo4j_settings.neo4j_database
    folder = tv_copy
    windows = pd.read_csv(folder / "availability.csv", dtype=str, keep_default_na=False)
    assert (windows.countries != "").any() and (windows.countries == "").any()  # generated
    programs = pd.read_csv(folder / "programs.csv", dtype=str)
    several = programs[programs.genres.str.contains("|", regex=False)].index[:2]
    assert len(several) == 2

    def rights() -> dict[tuple[str, str, str], list[str] | None]:
        records, _, _ = driver.execute_query(
            "MATCH (p:Program)-[a:AVAILABLE_ON]->(c:Channel) WHERE p.id IN $ids "
            "RETURN p.id AS p, c.id AS c, toString(a.start) AS start, a.countries AS countries",
            ids=windows.program_id.unique().tolist(), database_=db,
        )  # fmt: skip
        return {(r["p"], r["c"], r["start"]): r["countries"] for r in records}

    def expected_rights() -> dict[tuple[str, str, str], list[str] | None]:
        return {(w.program_id, w.channel_id, w.start): w.countries.split("|") if w.countries
                else None for w in windows.itertuples()}  # fmt: skip

    def ranks() -> dict[str, list[str]]:
        records, _, _ = driver.execute_query(
            "MATCH (p:Program)-[r:HAS_GENRE]->(g:Genre) WHERE p.id IN $ids "
            "WITH p, r.rank AS rank, g ORDER BY rank "
            "RETURN p.id AS p, collect(g.id) AS genres, collect(rank) AS ranks",
            ids=programs.program_id.tolist(), database_=db,
        )  # fmt: skip
        for r in records:
            assert r["ranks"] == list(range(len(r["genres"]))), r
        return {r["p"]: r["genres"] for r in records}

    def expected_ranks() -> dict[str, list[str]]:
        # Rank = place in the list, the main genre first; a repeated genre keeps its first.
        return {p: list(dict.fromkeys(g.split("|"))) for p, g in zip(
            programs.program_id, programs.genres, strict=True)}  # fmt: skip

    load_tv(driver, folder, database=db, progress=False)
    assert rights() == expected_rights()
    assert ranks() == expected_ranks()

    # A corrected file: rights changed, lifted and added; main genres swapped, one repeated.
    restricted = windows.index[windows.countries != ""][:2]
    open_ = windows.index[windows.countries == ""][0]
    windows.loc[restricted, "countries"] = ["CH", ""]
    windows.loc[open_, "countries"] = "LU|BE"
    windows.to_csv(folder / "availability.csv", index=False)
    first, second = several
    programs.loc[first, "genres"] = "|".join(reversed(programs.loc[first, "genres"].split("|")))
    main, other = programs.loc[second, "genres"].split("|")[:2]
    programs.loc[second, "genres"] = f"{main}|{main}|{other}"
    programs.to_csv(folder / "programs.csv", index=False)
    before = graph_counts(driver, database=db)
    assert load_tv(driver, folder, database=db, progress=False).rejects == []
    assert graph_counts(driver, database=db) == before  # replaced, nothing added
    got = rights()
    assert got == expected_rights()
    key = windows.loc[restricted[0]]
    assert got[(key.program_id, key.channel_id, key.start)] == ["CH"]
    key = windows.loc[restricted[1]]
    assert got[(key.program_id, key.channel_id, key.start)] is None
    ranked = ranks()
    assert ranked == expected_ranks()
    new_main = programs.loc[first, "genres"].split("|")[0]
    assert ranked[programs.loc[first, "program_id"]][0] == new_main
    assert ranked[programs.loc[second, "program_id"]][:2] == [main, other]


def test_a_resubscription_keeps_both_periods_and_the_current_one_grants_access(
    driver: Driver, neo4j_settings: Settings, tv_copy: Path
) -> None:
    db = neo4j_settings.neo4j_database
    folder = tv_copy
    read = {n: pd.read_csv(folder / f"{n}.csv", dtype=str) for n in (
        "bundles", "bundle_channels", "availability", "programs", "users",
        "subscriptions")}  # fmt: skip
    # A program (not an episode) airing on a channel that no free bundle includes.
    bundles = read["bundles"]
    free = set(bundles.loc[bundles.is_free.str.lower() == "true", "bundle_id"])
    includes = read["bundle_channels"].groupby("channel_id")["bundle_id"].agg(set)
    paid = {c: sorted(b)[0] for c, b in includes.items() if not b & free}
    standalone = set(read["programs"].loc[read["programs"].series_id.isna(), "program_id"])
    slots = read["availability"]
    slot = slots[slots.channel_id.isin(paid.keys()) & slots.program_id.isin(standalone)].iloc[0]
    bundle = paid[slot.channel_id]
    start, end = pd.Timestamp(slot.start), pd.Timestamp(slot.end)
    now = (start + (end - start) / 2).to_pydatetime()

    # A new user who held the bundle in early 2024, then again from September: the
    # current row first and the lapsed one last (the last row used to win).
    user = "u-resubscribed"
    users = pd.concat([read["users"], pd.DataFrame([{
        "user_id": user, "country": "FR", "profile": "adult", "csa_ceiling": "-18"}])])  # fmt: skip
    users.to_csv(folder / "users.csv", index=False)
    subs = pd.concat([read["subscriptions"], pd.DataFrame([
        {"user_id": user, "bundle_id": bundle, "since": "2024-09-01T00:00:00Z", "until": None},
        {"user_id": user, "bundle_id": bundle, "since": "2024-01-01T00:00:00Z",
         "until": "2024-06-30T00:00:00Z"}])])  # fmt: skip
    subs.to_csv(folder / "subscriptions.csv", index=False)

    def periods() -> list[tuple[str, str | None]]:
        records, _, _ = driver.execute_query(
            "MATCH (:User {id: $u})-[s:SUBSCRIBES_TO]->(:Bundle {id: $b}) "
            "RETURN toString(s.since) AS since, toString(s.until) AS until ORDER BY since",
            u=user, b=bundle, database_=db,
        )  # fmt: skip
        return [(r["since"], r["until"]) for r in records]

    def bundles_at(at: datetime) -> list[str]:
        records, _, _ = driver.execute_query(
            query("rails/user_context"), user_id=user, now=at, anchor_completion=0.9,
            anchors=3, recent=5, database_=db,
        )  # fmt: skip
        return list(records[0]["bundles"])

    for _ in range(2):  # loading the folder again changes nothing
        assert load_tv(driver, folder, database=db, progress=False).rejects == []
        assert periods() == [("2024-01-01T00:00:00Z", "2024-06-30T00:00:00Z"),
                             ("2024-09-01T00:00:00Z", None)]  # fmt: skip
    assert bundle in bundles_at(datetime(2024, 3, 1, tzinfo=UTC))
    assert bundle not in bundles_at(datetime(2024, 7, 15, tzinfo=UTC))
    assert bundle in bundles_at(now)
    records, _, _ = driver.execute_query(
        query("rails/eligible"), user_id=user, program_ids=[slot.program_id], now=now,
        horizon=now + timedelta(hours=6), completion=0.9, default_ceiling=0,
        check_availability=True, fatigue_completion=0.0, fatigue_programs=0,
        fatigue_series=0, fatigue_channels=0, max_offers=1, skip_series=[], banned_genres=[],
        country=None, impression_rails=0, impression_days=7, kinds=None, database_=db,
    )  # fmt: skip
    offer = records[0]["offers"][0]
    assert offer[2] == slot.program_id and offer[12] == bundle  # program id, bundle id


def test_bad_rows_are_reported_and_the_valid_ones_loaded(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv_copy: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    db = neo4j_settings.neo4j_database
    folder = tv_copy
    programs = pd.read_csv(folder / "programs.csv", dtype=str)
    programs.loc[3, "csa"] = "-99"  # CSV line 5
    programs.to_csv(folder / "programs.csv", index=False)
    monkeypatch.setattr("cli.main.Settings", lambda: neo4j_settings)
    monkeypatch.chdir(tmp_path)

    before = graph_counts(driver, database=db)
    assert main(["load", "tv", str(folder), "--quiet"]) == 1
    out = capsys.readouterr()
    assert "programs" in out.out and "rejected" in out.err
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype=str)
    first = rejects.iloc[0]
    assert (first.file, first.row, first.column) == ("programs", "5", "csa")
    assert first.reason.startswith("unknown_csa")
    loaded = delta(before, graph_counts(driver, database=db))
    assert loaded["Program"] == len(programs) - 1

    # With --allow-rejects the same load succeeds (and changes nothing more).
    assert main(["load", "tv", str(folder), "--quiet", "--allow-rejects"]) == 0


def test_ids_neo4j_cannot_index_and_control_characters_are_rejected_rows(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv_copy: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The probe's three crashes (issue 18): a 9,000-character genre id emptied the graph, a
    10 KB user id lost hundreds of rows, a NUL loaded; now each is one rejected row."""
    db = neo4j_settings.neo4j_database
    folder = tv_copy
    expected = expected_counts(folder)
    long_user, long_genre = "u" * 10_000, "g" * 9_000
    with (folder / "genres.csv").open("a", encoding="utf-8") as f:
        f.write(f"{long_genre},Long\n")
    with (folder / "users.csv").open("a", encoding="utf-8") as f:
        f.write(f"{long_user},FR,adult,-18\n")
    programs = pd.read_csv(folder / "programs.csv", dtype=str)
    programs.loc[3, "title"] = "Nul\x00 title"  # CSV line 5
    programs.to_csv(folder / "programs.csv", index=False)
    monkeypatch.setattr("cli.main.Settings", lambda: neo4j_settings)
    monkeypatch.chdir(tmp_path)

    before = graph_counts(driver, database=db)
    assert main(["load", "tv", str(folder), "--quiet"]) == 1  # rows rejected, not crashed
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False)
    cascade = rejects[rejects.reason.str.startswith("unknown_reference")]
    found = {(r.file, r.column, r.reason.split(":")[0]) for r in rejects.drop(cascade.index)
             .itertuples()}  # fmt: skip
    assert found == {("genres", "genre_id", "too_long"), ("users", "user_id", "too_long"),
                     ("programs", "title", "bad_value")}, rejects  # fmt: skip
    # The rest is the rows naming the rejected program (its airings, its watches).
    assert set(cascade.value) <= {programs.loc[3, "program_id"]}, cascade
    assert "\x00" not in capsys.readouterr().err
    loaded = delta(before, graph_counts(driver, database=db))
    program = programs.loc[3]
    dropped = {"Program": 1, "HAS_GENRE": len(program.genres.split("|")),
               "EPISODE_OF": int(pd.notna(program.series_id))}  # fmt: skip
    watched = pd.read_csv(folder / "watch_events.csv", dtype=str)
    dropped["WATCHED"] = len(watched[watched.program_id == program.program_id]
                             .drop_duplicates(["user_id", "program_id"]))  # fmt: skip
    availability = pd.read_csv(folder / "availability.csv", dtype=str)
    dropped["AVAILABLE_ON"] = int((availability.program_id == program.program_id).sum())
    blacklists = pd.read_csv(folder / "blacklists.csv", dtype=str)
    dropped["BLACKLISTED"] = int((blacklists.target_id == program.program_id).sum())
    want = {k: v - dropped.get(k, 0) for k, v in expected.items()}
    assert {k: loaded.get(k, 0) for k in want} == want


class FailingDriver:
    """The real driver, except that the n-th write fails (as a crash mid-load would)."""

    def __init__(self, driver: Driver, fail_at: int) -> None:
        self.driver, self.fail_at, self.calls = driver, fail_at, 0

    def execute_query(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("simulated crash")
        return self.driver.execute_query(*args, **kwargs)


def test_a_failed_load_leaves_whole_batches_and_a_rerun_completes_it(
    driver: Driver, neo4j_settings: Settings, tiny_tv: Path, cleanup: list[Path]
) -> None:
    db = neo4j_settings.neo4j_database
    cleanup.append(tiny_tv)
    before = graph_counts(driver, database=db)
    flaky: Any = FailingDriver(driver, fail_at=12)
    with pytest.raises(ConnectionError):
        load_tv(flaky, tiny_tv, database=db, progress=False, batch_rows=100)
    partial = delta(before, graph_counts(driver, database=db))
    assert partial != expected_counts(tiny_tv)
    for count in partial.values():  # only whole batches of 100 rows were written
        assert count > 0
    load_tv(driver, tiny_tv, database=db, progress=False, batch_rows=100)
    assert delta(before, graph_counts(driver, database=db)) == expected_counts(tiny_tv)


@pytest.mark.slow
def test_movielens_100k(
    driver: Driver, neo4j_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from loaders.movielens import load_movielens

    folder = SHARED / "datasets" / "ml-100k"
    if not folder.is_dir():
        pytest.fail(f"MovieLens-100k is expected in {folder} (the shared/ folder beside the clone)")
    db = neo4j_settings.neo4j_database
    inter = pd.read_csv(folder / "ml-100k.inter", sep="\t", dtype=str)
    ids = {
        "User": sorted(set(inter.iloc[:, 0])),
        "Program": pd.read_csv(folder / "ml-100k.item", sep="\t", dtype=str).iloc[:, 0].tolist(),
    }
    genres = {g for classes in pd.read_csv(folder / "ml-100k.item", sep="\t", dtype=str).iloc[:, 3]
              for g in str(classes).split()}  # fmt: skip
    records, _, _ = driver.execute_query(
        "MATCH (g:Genre) WHERE g.id IN $ids RETURN g.id AS id", ids=sorted(genres), database_=db
    )
    ids["Genre"] = sorted(genres - {r["id"] for r in records})  # only those this test creates
    sources = data_sources(driver, db)
    before = graph_counts(driver, database=db)
    try:
        report = load_movielens(driver, folder, database=db, progress=False)
        loaded = delta(before, graph_counts(driver, database=db))
        assert report.rejects == []
        assert loaded["User"] == 943
        assert loaded["Program"] == 1682
        assert loaded["WATCHED"] == 100_000
        records, _, _ = driver.execute_query(
            "MATCH (:Program)-[:HAS_GENRE]->(g:Genre) WHERE g.id IN $names "
            "RETURN count(DISTINCT g) AS genres",
            names=["Drama", "Comedy", "Film-Noir", "Children's", "unknown"], database_=db,
        )  # fmt: skip
        assert records[0]["genres"] == 5
        # HAS_GENRE.rank follows the order of the item's class list, from 0.
        items = pd.read_csv(folder / "ml-100k.item", sep="\t", dtype=str)
        classes = dict(zip(items.iloc[:, 0], items.iloc[:, 3].str.split(), strict=True))
        records, _, _ = driver.execute_query(
            "MATCH (p:Program)-[r:HAS_GENRE]->(g:Genre) WHERE p.id IN $ids "
            "WITH p, r, g ORDER BY r.rank RETURN p.id AS p, collect(g.id) AS genres, "
            "collect(r.rank) AS ranks",
            ids=ids["Program"], database_=db,
        )  # fmt: skip
        assert len(records) == 1682
        for r in records:
            assert r["genres"] == list(dict.fromkeys(classes[r["p"]])), r
            assert r["ranks"] == list(range(len(r["genres"]))), r
        assert max(len(r["genres"]) for r in records) > 1
        assert "not applicable" in " ".join(report.notes)
        assert len(genres) == 19
    finally:
        ids["DataSource"] = sorted(data_sources(driver, db) - sources)
        delete_ids(driver, db, ids)


@pytest.mark.slow
def test_bulk_import_builds_the_same_graph_as_the_unwind_path(
    driver: Driver, neo4j_settings: Settings, tiny_tv: Path, cleanup: list[Path]
) -> None:
    from graph.driver import open_driver
    from graph.server import LocalServer
    from loaders.bulk import bulk_load_tv
    from tests.conftest import neo4j_test_settings

    if not neo4j_settings.managed:
        pytest.skip("the import tool needs a local server")
    # The import tool needs an empty database: this test owns a whole instance, two ports
    # above the session's (a worktree running its own test instance gets its own too).
    base = neo4j_test_settings()
    worktree = os.environ.get("GRAPHRAILS_TEST_INSTANCE")
    settings = neo4j_test_settings(
        instance=f"{worktree}-bulk" if worktree else "bulk", bolt_port=base.bolt_port + 2,
        http_port=base.http_port + 2, heap="512m", pagecache="128m",
    )  # fmt: skip
    server = LocalServer(settings)
    shutil.rmtree(server.data_dir / "databases" / "neo4j", ignore_errors=True)
    shutil.rmtree(server.data_dir / "transactions" / "neo4j", ignore_errors=True)
    server.start()
    try:
        report = bulk_load_tv(server, tiny_tv, database="neo4j", progress=False)
        assert report.rejects == []
        with open_driver(settings) as bulk_driver:
            assert graph_counts(bulk_driver, database="neo4j") == expected_counts(tiny_tv)
            with pytest.raises(ValueError, match="not empty"):
                bulk_load_tv(server, tiny_tv, database="neo4j", progress=False)
            bulk = _watched_sample(bulk_driver, "neo4j")
            bulk_rights = _rights_and_ranks(bulk_driver, "neo4j")
            bulk_bundles = _bundles(bulk_driver, "neo4j")
        db = neo4j_settings.neo4j_database
        cleanup.append(tiny_tv)
        load_tv(driver, tiny_tv, database=db, progress=False)
        assert _watched_sample(driver, db) == bulk
        assert any(w["last_channel"] for w in bulk)  # the fatigue rules read it
        assert _rights_and_ranks(driver, db) == bulk_rights
        assert _bundles(driver, db) == bulk_bundles
        assert True in bulk_bundles.values() and False in bulk_bundles.values()
        windows, genres = bulk_rights
        assert None in windows.values() and ["FR"] in windows.values()  # absent when empty
        assert {rank for ranks in genres.values() for rank, _ in ranks} == {0, 1}
    finally:
        server.stop()


def _rights_and_ranks(
    driver: Driver, database: str
) -> tuple[dict[tuple[str, str, str, str], Any], dict[str, list[tuple[int, str]]]]:
    """``AVAILABLE_ON.countries`` per window and ``HAS_GENRE.rank`` per program, of the
    programs of a generated data set (ids ``p0...``)."""
    records, _, _ = driver.execute_query(
        "MATCH (p:Program)-[a:AVAILABLE_ON]->(c:Channel) WHERE p.id STARTS WITH 'p0' "
        "RETURN p.id AS p, c.id AS c, toString(a.start) AS start, a.kind AS kind, "
        "a.countries AS countries",
        database_=database,
    )
    windows = {(r["p"], r["c"], r["start"], r["kind"]): r["countries"] for r in records}
    records, _, _ = driver.execute_query(
        "MATCH (p:Program)-[r:HAS_GENRE]->(g:Genre) WHERE p.id STARTS WITH 'p0' "
        "RETURN p.id AS p, collect([r.rank, g.id]) AS ranks",
        database_=database,
    )
    return windows, {r["p"]: sorted((rank, g) for rank, g in r["ranks"]) for r in records}


def _bundles(driver: Driver, database: str) -> dict[str, Any]:
    """``Bundle.is_free`` of every bundle of a generated data set."""
    records, _, _ = driver.execute_query(
        "MATCH (b:Bundle) WHERE b.id IN $ids RETURN b.id AS id, b.is_free AS free",
        ids=[b.id for b in BUNDLES], database_=database,
    )  # fmt: skip
    return {r["id"]: r["free"] for r in records}


def _watched_sample(driver: Driver, database: str) -> list[dict[str, Any]]:
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[w:WATCHED]->(p:Program) WHERE u.id STARTS WITH 'u000000' "
        "RETURN u.id AS u, p.id AS p, w.count AS count, w.seconds AS seconds, "
        "w.completion AS completion, w.first_ts AS first, w.last_ts AS last, "
        "w.event_ids AS ids, w.last_channel_id AS last_channel, "
        "p.csa_level AS csa, u.csa_ceiling_level AS ceiling "
        "ORDER BY u, p",
        database_=database,
    )
    return [r.data() for r in records]
