"""The report's text and Prometheus forms, from rows as the Cypher returns them."""

from __future__ import annotations

from pathlib import Path

from experiments.arms import Arm, Experiment
from experiments.cli import write_gauges
from experiments.metrics import format_report, report

EXPERIMENT = Experiment(name="x", salt="x", arms=(Arm("A"), Arm("B")))
EXPOSURES = [
    {"arm": "A", "rail": "home", "user_id": "u1", "rails": 1, "impressions": 2},
    {"arm": "B", "rail": "home", "user_id": "u2", "rails": 1, "impressions": 1},
]
ITEMS = [
    {"arm": "A", "rail": "home", "user_id": "u1", "program_id": "p1", "shown": 1, "played": 0,
     "completed": 0, "seconds": 0, "genres": ["g1"]},
    {"arm": "A", "rail": "home", "user_id": "u1", "program_id": "p2", "shown": 1, "played": 0,
     "completed": 0, "seconds": 0, "genres": ["g2"]},
    {"arm": "B", "rail": "home", "user_id": "u2", "program_id": "p1", "shown": 1, "played": 1,
     "completed": 1, "seconds": 600, "genres": ["g1"]},
]  # fmt: skip


def test_text_and_gauges_carry_every_arm_and_metric(tmp_path: Path) -> None:
    data = report(EXPERIMENT, EXPOSURES, ITEMS, 10, resamples=20)
    text = format_report(data)
    assert "rail: home" in text and "B vs A" in text
    assert "completed_watches_per_user" in text
    path = tmp_path / "x.prom"
    write_gauges(data, path)
    lines = path.read_text().splitlines()
    assert (
        'graphrails_experiment_metric{arm="B",bound="value",experiment="x",'
        'metric="play_rate",rail="all"} 1.0'
    ) in lines
    assert (
        'graphrails_experiment_metric{arm="A",bound="high",experiment="x",'
        'metric="coverage",rail="home"} 0.2'
    ) in lines
    assert data["comparisons"][0]["difference"]["watch_seconds_per_user"]["value"] == 600
