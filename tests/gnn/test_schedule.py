"""The retrain lock (one retrain at a time, never stale after a crash) and the cron schedule."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.main import main
from gnn.retrain import LOCK_FILE, RetrainLockedError, RetrainMetrics, retrain_lock
from gnn.schedule import crontab_weekdays, parse_cron, scheduled_run
from graph.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the retrain lock of ``tmp_path`` (until it is killed)."""
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from gnn.retrain import retrain_lock
        with retrain_lock(Path({str(tmp_path)!r})):
            print("locked", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def unreachable(models: Path) -> Settings:
    """Settings whose Neo4j does not exist: a run that got past the lock would fail."""
    return Settings.with_fields(neo4j_uri="bolt://127.0.0.1:9", neo4j_password="x" * 8,
                                models_path=models)  # fmt: skip


def test_a_second_retrain_is_refused_while_one_holds_the_lock(
    tmp_path: Path,
    holder: subprocess.Popen[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(RetrainLockedError, match=f"pid {holder.pid} since"), retrain_lock(tmp_path):
        pass
    monkeypatch.setattr("cli.main.Settings", lambda: unreachable(tmp_path))
    assert main(["retrain", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("graphrails retrain: another retrain is running")
    assert str(tmp_path / LOCK_FILE) in err


@pytest.mark.parametrize("command", [["models", "promote", "v1"], ["models", "rollback"]])
def test_no_version_is_published_by_hand_while_a_retrain_runs(
    tmp_path: Path,
    holder: subprocess.Popen[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.setattr("cli.main.Settings", lambda: unreachable(tmp_path))
    assert main(command) == 2  # refused at once, before touching Neo4j
    err = capsys.readouterr().err
    lock = tmp_path / LOCK_FILE
    assert f"another retrain is running (lock {lock} held by pid {holder.pid}" in err


def test_a_scheduled_run_is_skipped_and_logged_while_the_lock_is_held(
    tmp_path: Path, holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="graphrails"):
        assert scheduled_run(unreachable(tmp_path), RetrainMetrics()) is None
    line = json.loads(caplog.records[-1].getMessage())
    assert line["status"] == "skipped" and "another retrain is running" in line["reason"]


def test_runs_by_hand_next_to_the_scheduler_never_send_its_counters_back(
    tmp_path: Path,
) -> None:
    settings = unreachable(tmp_path)
    held = RetrainMetrics()  # the scheduler's, held since it started
    scheduled_run(settings, held)
    scheduled_run(settings, RetrainMetrics.from_textfile(tmp_path / "retrain.prom"))  # by hand
    scheduled_run(settings, held)
    text = (tmp_path / "retrain.prom").read_text()
    assert 'graphrails_retrain_runs_total{outcome="failed"} 3.0' in text


def test_a_corrupt_metrics_textfile_never_fails_a_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "retrain.prom").write_text("graphrails_retrain_runs_total{outcome= garbage\n")
    with caplog.at_level(logging.WARNING, logger="graphrails.retrain"):
        outcome = scheduled_run(unreachable(tmp_path), RetrainMetrics())
    assert outcome is not None and outcome.status == "failed"  # Neo4j's fault, not the file's
    assert "not a Prometheus textfile" in caplog.text
    assert 'outcome="failed"} 1.0' in (tmp_path / "retrain.prom").read_text()


def test_a_lock_left_by_a_killed_process_does_not_block_the_next_run(
    tmp_path: Path, holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / LOCK_FILE).exists()  # the file stays; the lock went with the process
    with retrain_lock(tmp_path):
        pass
    # A scheduled run now gets past the lock, fails on the unreachable Neo4j, and says so
    # in one structured line; the metrics textfile records the failure.
    with caplog.at_level(logging.INFO, logger="graphrails.retrain"):
        outcome = scheduled_run(unreachable(tmp_path), RetrainMetrics())
    assert outcome is not None and outcome.status == "failed"
    assert "not reachable" in outcome.reason
    line = json.loads(caplog.records[-1].getMessage())
    assert line["event"] == "retrain" and line["status"] == "failed"
    assert (
        'graphrails_retrain_runs_total{outcome="failed"} 1.0'
        in (tmp_path / "retrain.prom").read_text()
    )


def test_cron_expressions_are_parsed_in_utc_with_crontab_weekdays() -> None:
    sunday_noon = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def next_fire(expression: str) -> datetime:
        fire: datetime = parse_cron(expression).get_next_fire_time(None, sunday_noon)
        return fire

    # 1 is Monday in crontab (APScheduler 3 alone would read Tuesday).
    assert next_fire("30 2 * * 1") == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert next_fire("0 13 * * 0") == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert next_fire("0 11 * * 7") == datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    assert next_fire("0 3 * * 5-6") == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert next_fire("0 3 * * */3") == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # sun, wed, sat
    # Both days restricted: crontab runs on either (the 1st, or a Monday), not on both.
    assert next_fire("0 3 1 * 1") == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday
    assert next_fire("0 3 1,30 * 3") == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday
    assert next_fire("0 3 24 * 6") == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # the 24th
    assert next_fire("0 3 1 * *") == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert crontab_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_weekdays("sat,0") == "sun,sat"


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("61 * * * *", "higher than the maximum value (59)"),
        ("* * *", "Wrong number of fields"),
        ("0 3 * * 8", "day of week '8' is neither 0-7 nor sun..sat"),
        ("0 3 * * 5-1", "the range runs backwards"),
    ],
)
def test_a_bad_cron_expression_is_refused_with_a_clear_error(
    expression: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=re.escape(f"cron expression '{expression}' is invalid")):
        parse_cron(expression)
    assert main(["schedule", "--cron", expression]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"graphrails schedule: error: --cron: cron expression '{expression}'")
    assert why in err


def test_a_bad_cron_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRAPHRAILS_RETRAIN_CRON", "every night")
    assert main(["schedule"]) == 2
    assert "GRAPHRAILS_RETRAIN_CRON: cron expression 'every night' is invalid" in (
        capsys.readouterr().err
    )
