"""`graphrails schedule`: retrains on a cron expression (APScheduler 3), one at a time.

Each run is :func:`gnn.retrain.run_retrain`: it takes the retrain lock, so a
run never overlaps another one, from this scheduler (``max_instances=1``) or
from a ``graphrails retrain`` started by hand (the run is skipped and logged).
Each run ends with one structured (JSON) log line; the retrain metrics go to
``<models dir>/retrain.prom`` and, with ``metrics_port``, to an HTTP endpoint.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from gnn.retrain import (
    METRICS_FILE,
    RetrainLockedError,
    RetrainMetrics,
    RetrainOutcome,
    run_retrain,
)

if TYPE_CHECKING:
    from gnn.train import TrainConfig
    from graph.settings import Settings

log = logging.getLogger("graphrails.schedule")


DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""Crontab's day-of-week numbers: 0 (and 7) is Sunday."""


def parse_cron(expression: str) -> BaseTrigger:
    """A trigger for a 5-field crontab line (minute hour day month weekday), in UTC.

    Day-of-week numbers mean what they mean in crontab (0 or 7 Sunday, 1 Monday).
    APScheduler 3 reads them as 0 = Monday, so they are turned into day names
    first. When both day of month and day of week are restricted, crontab runs on
    either (``0 3 1 * 1``: the 1st of the month and every Monday) where one
    APScheduler trigger needs both: such a line becomes two triggers, OR-ed.
    Raises ``ValueError`` naming the expression and what is wrong with it.
    """
    try:
        fields = expression.split()
        if len(fields) == 5:
            fields[4] = crontab_weekdays(fields[4])
            if fields[2] != "*" and fields[4] != "*":
                by_day = " ".join([*fields[:4], "*"])
                by_weekday = " ".join([*fields[:2], "*", fields[3], fields[4]])
                return OrTrigger(
                    [CronTrigger.from_crontab(by_day, timezone=UTC),
                     CronTrigger.from_crontab(by_weekday, timezone=UTC)]
                )  # fmt: skip
        return CronTrigger.from_crontab(" ".join(fields), timezone=UTC)
    except ValueError as e:
        raise ValueError(
            f"cron expression '{expression}' is invalid: {e} "
            "(expected 5 fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *')"
        ) from e


def scheduled_run(
    settings: Settings, metrics: RetrainMetrics, *, train_config: TrainConfig | None = None
) -> RetrainOutcome | None:
    """One scheduled retrain; None when another retrain held the lock (the run is skipped)."""
    try:
        return run_retrain(settings, train_config=train_config, progress=False, metrics=metrics)
    except RetrainLockedError as e:
        log.warning(json.dumps({"event": "retrain", "status": "skipped", "reason": str(e)}))
        return None


def run_schedule(
    settings: Settings,
    *,
    cron: str,
    metrics_port: int | None = None,
    run_now: bool = False,
    train_config: TrainConfig | None = None,
) -> None:
    """Retrain on ``cron`` until interrupted (blocking)."""
    trigger = parse_cron(cron)
    metrics = RetrainMetrics.from_textfile(settings.models_dir / METRICS_FILE)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, registry=metrics.registry)
        log.info("retrain metrics on http://0.0.0.0:%d/metrics", metrics_port)
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        scheduled_run, trigger, args=[settings, metrics], kwargs={"train_config": train_config},
        id="retrain", max_instances=1, coalesce=True, misfire_grace_time=3600,
    )  # fmt: skip
    if run_now:
        scheduled_run(settings, metrics, train_config=train_config)
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    log.info("retrains on '%s' (UTC), next at %s; models in %s", cron, first, settings.models_dir)
    scheduler.start()


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names (``"1-5"`` -> ``"mon,...,fri"``)."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 0
        if slash and step < 1:
            raise ValueError(f"day of week '{part}': the step must be a positive integer")
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            low, high = (_weekday(b) for b in base.split("-", 1))
        else:
            low = _weekday(base)
            high = 6 if slash else low  # crontab: "1/2" runs from 1 to the end
        if low > high:
            raise ValueError(f"day of week '{part}': the range runs backwards")
        days |= {d % 7 for d in range(low, high + 1, step or 1)}
    return ",".join(DAYS[d] for d in sorted(days))


def _weekday(token: str) -> int:
    """0-7 (0 and 7 are Sunday) or a name (sun..sat), as a number 0-7."""
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token.lower() in DAYS:
        return DAYS.index(token.lower())
    raise ValueError(f"day of week '{token}' is neither 0-7 nor sun..sat")
