from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from loaders import generate
from loaders.contract import FILES
from loaders.generate import generate_tv
from loaders.validate import Dataset, validate_dataset

SIZE = {"users": 600, "programs": 800}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tv")
    generate_tv(out, seed=3, progress=False, **SIZE)
    return out


@pytest.fixture(scope="module")
def data(folder: Path) -> Dataset:
    return validate_dataset(folder)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_writes_every_contract_file_in_contract_column_order(folder: Path) -> None:
    for spec in FILES:
        header = (folder / f"{spec.name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(spec.column_names)
    assert not list(folder.glob(".*"))  # no partial files left behind


def test_output_passes_validation_with_zero_rejects(data: Dataset) -> None:
    assert data.rejects == []
    assert data["users"].rows_read == SIZE["users"]
    assert data["programs"].rows_read == SIZE["programs"]


def test_same_seed_same_bytes_other_seed_other_bytes(folder: Path, tmp_path: Path) -> None:
    generate_tv(tmp_path / "again", seed=3, progress=False, **SIZE)
    assert files(tmp_path / "again") == files(folder)
    generate_tv(tmp_path / "other", seed=4, progress=False, **SIZE)
    other = files(tmp_path / "other")
    assert other["genres.csv"] == files(folder)["genres.csv"]  # fixed vocabulary
    assert other["watch_events.csv"] != files(folder)["watch_events.csv"]
    assert other["programs.csv"] != files(folder)["programs.csv"]


def test_parquet_output_is_valid_and_reproducible(tmp_path: Path) -> None:
    small = {"users": 150, "programs": 200}
    generate_tv(tmp_path / "a", seed=1, fmt="parquet", progress=False, **small)
    generate_tv(tmp_path / "b", seed=1, fmt="parquet", progress=False, **small)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    dataset = validate_dataset(tmp_path / "a")
    assert dataset.rejects == []
    assert dataset["users"].rows_read == 150


def test_user_blocks_continue_ids_and_stay_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "USER_BLOCK", 70)  # 3 blocks for 200 users
    generate_tv(tmp_path, users=200, programs=150, seed=5, progress=False)
    dataset = validate_dataset(tmp_path)
    assert dataset.rejects == []
    users = dataset["users"].frame["user_id"]
    assert list(users) == [f"u{i:07d}" for i in range(200)]
    events = dataset["watch_events"].frame
    assert list(events["event_id"]) == [f"e{i:011d}" for i in range(len(events))]


def test_catalogue_structure(data: Dataset) -> None:
    assert 20 <= len(data["channels"].frame) <= 150
    assert 5 <= len(data["bundles"].frame) <= 15
    assert 15 <= len(data["genres"].frame) <= 25
    bundles = data["bundles"].frame
    free = set(bundles.loc[bundles["is_free"], "bundle_id"])
    assert len(free) == 1
    included = data["bundle_channels"].frame
    assert set(included["bundle_id"]) == set(bundles["bundle_id"])  # no empty bundle
    programs = data["programs"].frame
    share = programs["csa"].value_counts(normalize=True)
    assert share["TP"] > 0.6
    assert share.get("-18", 0.0) < 0.05
    episodes = programs.dropna(subset=["series_id"])
    assert len(episodes) > 100
    assert episodes["season"].notna().all() and episodes["episode"].notna().all()
    assert set(programs["availability"]) == {"live", "replay", "vod"}


def test_epg_respects_the_watershed(data: Dataset) -> None:
    programs = data["programs"].frame.set_index("program_id")
    live = data["availability"].frame.query("kind == 'live'")
    live = live.join(programs[["csa"]], on="program_id")
    hours = live["start"].dt.hour
    assert (hours[live["csa"] == "-18"] < 5).all()
    assert hours[live["csa"] == "-16"].isin([22, 23, 0, 1, 2, 3, 4]).all()
    # -18 only on cinema channels
    names = data["channels"].frame.set_index("channel_id")["name"]
    adult = live.loc[live["csa"] == "-18", "channel_id"].map(names)
    assert adult.str.startswith(("Ciné", "Grand Écran")).all()
    # back-to-back airings on a channel never overlap
    for _, airings in live.sort_values("start").groupby("channel_id"):
        assert (airings["start"].iloc[1:].to_numpy() >= airings["end"].iloc[:-1].to_numpy()).all()


def test_users_subscriptions_and_ceilings(data: Dataset) -> None:
    users = data["users"].frame
    ceilings = users.groupby("profile")["csa_ceiling"].unique().to_dict()
    assert {k: list(v) for k, v in ceilings.items()} == {
        "adult": ["-18"],
        "kids": ["-10"],
        "teen": ["-12"],
    }
    subs = data["subscriptions"].frame
    bundles = data["bundles"].frame
    free = bundles.loc[bundles["is_free"], "bundle_id"].iloc[0]
    assert set(subs.loc[subs["bundle_id"] == free, "user_id"]) == set(users["user_id"])
    week_end = pd.Timestamp(generate.DEFAULT_START, tz="UTC") + pd.Timedelta(days=7)
    active = subs[subs["until"].isna() | (subs["until"] > week_end)]
    paid = active.groupby("user_id").size() - 1
    assert paid.max() <= 3
    assert 0.2 < (paid > 0).mean() < 0.9
    blacklisted = data["blacklists"].frame["user_id"].nunique() / len(users)
    assert 0.01 < blacklisted < 0.08


def test_watch_events_follow_ceilings_access_and_windows(data: Dataset) -> None:
    users = data["users"].frame.set_index("user_id")
    programs = data["programs"].frame.set_index("program_id")
    events = data["watch_events"].frame
    levels = events["program_id"].map(programs["csa_level"])
    ceilings = events["user_id"].map(users["csa_ceiling_level"])
    assert (levels <= ceilings).all()  # kids and teens never see above their ceiling
    per_user = len(events) / len(users)
    assert 12 < per_user < 30

    subs = data["subscriptions"].frame
    start = pd.Timestamp(generate.DEFAULT_START, tz="UTC")
    active = subs[subs["until"].isna() | (subs["until"] > start + pd.Timedelta(days=7))]
    access = active.merge(data["bundle_channels"].frame, on="bundle_id")
    reachable = events.merge(
        access[["user_id", "channel_id"]].drop_duplicates(), how="left", indicator=True
    )
    assert (reachable["_merge"] == "both").mean() > 0.97  # free previews are rare

    assert events["ts"].between(start, start + pd.Timedelta(days=7)).all()
    windows = data["availability"].frame
    joined = events.reset_index().merge(windows, on=["program_id", "channel_id"])
    inside = (joined["start"] <= joined["ts"]) & (joined["ts"] < joined["end"])
    assert inside.groupby(joined["row"]).any().all()  # every event within a real window

    assert events["completion"].between(0, 1).all()
    duration = events["program_id"].map(programs["duration_s"])
    assert ((events["watched_s"] - events["completion"] * duration).abs() <= 1).all()


def test_a_few_paid_channels_are_restricted_to_some_countries(data: Dataset) -> None:
    windows = data["availability"].frame
    rights = windows["countries"].map(lambda v: "" if v is None else "|".join(v))
    assert rights.groupby(windows["channel_id"]).nunique().max() == 1  # per channel
    by_channel = rights.groupby(windows["channel_id"]).first()
    assert set(by_channel) == {"", "FR", "FR|BE"}
    assert (by_channel == "FR|BE").sum() == 1
    assert 0.02 < (rights != "").mean() < 0.4  # most windows are unrestricted
    # Only paid channels: the free bundle stays open to everyone, everywhere.
    bundles = data["bundles"].frame
    free = set(bundles.loc[bundles["is_free"], "bundle_id"])
    included = data["bundle_channels"].frame
    free_channels = set(included.loc[included["bundle_id"].isin(free), "channel_id"])
    assert (by_channel[sorted(free_channels)] == "").all()
    # The FR-only channels are every channel of some paid bundle.
    fr_only = set(by_channel[by_channel == "FR"].index)
    whole = included.groupby("bundle_id")["channel_id"].agg(set)
    assert any(channels == fr_only for channels in whole)

    # Watches keep to the rights: a user abroad never watches a window closed to them.
    country = data["users"].frame.set_index("user_id")["country"]
    events = data["watch_events"].frame
    allowed = events["channel_id"].map(by_channel).str.split("|")
    where = events["user_id"].map(country)
    open_here = [r == [""] or c in r for r, c in zip(allowed, where, strict=True)]
    assert all(open_here)
    assert (where != "FR").any() and (by_channel[events["channel_id"]] != "").any()


def test_completion_follows_taste_and_popularity_is_skewed(data: Dataset) -> None:
    events = data["watch_events"].frame
    programs = data["programs"].frame.set_index("program_id")
    views = events["program_id"].value_counts()
    top = views.head(max(1, len(programs) // 20)).sum() / len(events)
    assert top > 0.3  # top 5 % of programs draw a large share of views (Zipf)
    # Genres a user watches often are the ones they finish more.
    genre = events["program_id"].map(programs["genres"].str[0])
    share = events.groupby([events["user_id"], genre]).size() / events.groupby("user_id").size()
    liked = share.reindex(pd.MultiIndex.from_arrays([events["user_id"], genre])).to_numpy()
    high = events["completion"][liked >= 0.5].mean()
    low = events["completion"][liked < 0.2].mean()
    assert high > low + 0.05


def test_start_date_moves_the_week(tmp_path: Path) -> None:
    generate_tv(tmp_path, users=20, programs=50, seed=0, start=date(2024, 9, 2), progress=False)
    dataset = validate_dataset(tmp_path)
    first = dataset["availability"].frame.query("kind == 'live'")["start"].min()
    assert first == pd.Timestamp("2024-09-02T00:00:00Z")


def test_until_keeps_every_watch_before_it(folder: Path, data: Dataset, tmp_path: Path) -> None:
    until = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)  # the week starts 2025-01-06 00:00
    generate_tv(tmp_path, seed=3, progress=False, until=until, **SIZE)
    clipped = validate_dataset(tmp_path)
    assert clipped.rejects == []
    events = clipped["watch_events"].frame
    whole = data["watch_events"].frame
    assert (events["ts"] < pd.Timestamp(until)).all()
    assert (whole["ts"] >= pd.Timestamp(until)).any()  # without until, the week's end
    # Same catalogue and users; a watch of a program first available later is dropped.
    assert files(tmp_path)["programs.csv"] == files(folder)["programs.csv"]
    assert files(tmp_path)["users.csv"] == files(folder)["users.csv"]
    opens = clipped["availability"].frame.groupby("program_id")["start"].min()
    later = opens[opens >= pd.Timestamp(until)].index
    assert len(later) and not events["program_id"].isin(later).any()
    assert len(events) < len(whole)
    with pytest.raises(ValueError, match="time zone"):
        generate_tv(tmp_path, users=2, programs=10, until=datetime(2025, 1, 9), progress=False)
    with pytest.raises(ValueError, match="inside the EPG week"):
        generate_tv(tmp_path, users=2, programs=10, until=datetime(2026, 1, 9, tzinfo=UTC),
                    progress=False)  # fmt: skip


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="users"):
        generate_tv(tmp_path, users=0, programs=10, progress=False)
    with pytest.raises(ValueError, match="format"):
        generate_tv(tmp_path, users=1, programs=10, fmt="xlsx", progress=False)
    generate_tv(tmp_path, users=2, programs=10, progress=False)
    with pytest.raises(ValueError, match="both formats"):
        generate_tv(tmp_path, users=2, programs=10, fmt="parquet", progress=False)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    argv = ["generate", "tv", "--users", "30", "--programs", "40", "--seed", "2"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "watch_events" in printed and "users" in printed
    assert validate_dataset(out).rejects == []
    assert main([*argv, "--out", str(out), "--start", "someday", "--quiet"]) == 2
    assert "--start" in capsys.readouterr().err
