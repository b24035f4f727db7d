"""A synthetic French live-TV data set that follows the contract (``graphrails generate tv``).

The world, in short (``docs/data.md`` has the details):

* channels grouped by theme (généraliste, information, cinéma, séries, sport,
  jeunesse, découverte, musique, art de vivre), 20 to 150 of them depending on
  the catalogue size; ten bundles, one of them free and held by everyone;
* twenty genres; programs get a home channel, genres from its theme, a
  duration and a CSA rating typical of the genre (``-18`` only on cinema
  channels); most episodic programs are grouped into series with seasons;
* a 7-day EPG from a fixed start date: each channel airs its programs back to
  back, ``-16`` only from 22:00 and ``-18`` only from 00:00 to 05:00 (UTC);
  most airings open a 7-day replay window; programs that do not air are replays
  of last week or VOD titles spanning the week; the windows of one paid bundle's
  channels are open in France only, those of one more paid channel in France and
  Belgium (``availability.countries``), all others everywhere;
* users (adult 75 %, kids 15 %, teen 10 %) with a latent taste over genres,
  0-3 paid bundles chosen by taste, a favourite channel, and ~20 watch events
  on average (log-normal); programs have Zipf popularity; a user watches
  programs their ceiling allows and, except ~1 % of free previews, on
  channels of their bundles, within a real availability window open in their
  country; completion grows with how much the user likes the program's genre;
  ~3 % of users blacklist a channel, a genre or a program.

Same arguments, same bytes: every random draw comes from a generator seeded by
``(seed, stream, block)``. Users are generated in blocks of
:data:`USER_BLOCK` (their subscriptions, blacklists and events with them), so
memory stays bounded at any size; the block size is a constant of the format,
so the output does not depend on anything but the arguments.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from tqdm import tqdm

from loaders.contract import EXTENSIONS, FILE_SPECS, FILES
from loaders.files import ContractFileWriter
from loaders.generate.catalogue import Catalogue
from loaders.generate.truth import TRUTH, TruthWriter
from loaders.generate.users import user_block
from loaders.generate.world import (
    DEFAULT_START,
    FORMATS,
    USER_BLOCK,
    WEEK_S,
    seeded_rng,
)


# ------------------------------------------------------------------ result
@dataclass(slots=True)
class GenerateSummary:
    """What :func:`generate_tv` wrote: rows per file, where, and how long it took."""

    out: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        lines = [f"Wrote {self.out} ({self.format}) in {self.seconds:.1f} s:"]
        lines += [f"  {name:<16}{n:>12,} rows" for name, n in self.rows.items()]
        return "\n".join(lines)


# ------------------------------------------------------------------ entry point
def generate_tv(
    out: str | Path,
    *,
    users: int,
    programs: int,
    seed: int = 0,
    fmt: str = "csv",
    start: date = DEFAULT_START,
    until: datetime | None = None,
    progress: bool = True,
) -> GenerateSummary:
    """Write a synthetic data set of ``users`` users and ``programs`` programs to ``out``.

    Watches fall anywhere in the EPG week unless ``until`` (an aware datetime
    inside the week) is given: then every watch happens before it, and programs
    first available later have no watches yet. The demo passes its "now" so
    that no watch lies in the future.

    Every contract file is written as ``NAME.csv`` or ``NAME.parquet`` (``fmt``),
    replacing earlier ones. Raises ``ValueError`` for non-positive sizes, an
    unknown format, ``until`` naive or outside the week, or a folder already
    holding contract files of the other format.
    """
    out = Path(out)
    epoch, until_s = _check(out, users=users, programs=programs, fmt=fmt, start=start, until=until)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    summary = GenerateSummary(out=out, format=fmt)

    world = Catalogue.build(
        programs=programs, rng=seeded_rng(seed, 0), epoch=epoch, progress=progress
    )
    for name, columns in world.files().items():
        with ContractFileWriter(out, name, fmt) as w:
            w.write(columns)
        summary.rows[name] = w.rows

    writers = {n: ContractFileWriter(out, n, fmt) for n in ("users", "subscriptions", "blacklists")}
    writers["watch_events"] = ContractFileWriter(out, "watch_events", fmt)
    truth = TruthWriter(out)
    try:
        next_event = 0
        width = max(7, len(str(users)))
        with tqdm(total=users, unit="user", desc="users", disable=not progress) as bar:
            for block, first in enumerate(range(0, users, USER_BLOCK)):
                n = min(USER_BLOCK, users - first)
                files = user_block(
                    world, first, n, width, next_event, seeded_rng(seed, 1, block), until_s
                )
                truth.write(files.pop(TRUTH))
                for name, columns in files.items():
                    writers[name].write(columns)
                next_event += len(files["watch_events"]["event_id"])
                bar.update(n)
    finally:
        for w in writers.values():
            w.close()
        truth.close()
    for name in ("users", "subscriptions", "blacklists", "watch_events"):
        summary.rows[name] = writers[name].rows
    summary.rows = {name: summary.rows[name] for name in FILE_SPECS}
    summary.seconds = time.perf_counter() - began
    return summary


def _check(
    out: Path, *, users: int, programs: int, fmt: str, start: date, until: datetime | None
) -> tuple[int, int]:
    """The week's first second (epoch seconds) and the watches' end (seconds into the week),
    once the arguments are known good; raises ``ValueError`` naming the bad one."""
    if users < 1:
        raise ValueError(f"users (--users) must be >= 1, got {users}")
    if programs < 1:
        raise ValueError(f"programs (--programs) must be >= 1, got {programs}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    others = [out / f"{s.name}{e}" for s in FILES for e in EXTENSIONS if e != f".{fmt}"]
    clash = [p for p in others if p.exists()]
    if clash:
        raise ValueError(
            f"{clash[0]} exists: a folder must not hold both formats (validation would reject "
            "the file as ambiguous); remove it or choose another --out"
        )
    epoch = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    until_s = WEEK_S
    if until is not None:
        if until.tzinfo is None:
            raise ValueError(f"until must carry a time zone, got {until.isoformat()}")
        until_s = int(until.timestamp()) - epoch
        if not 0 < until_s <= WEEK_S:
            raise ValueError(
                f"until ({until.isoformat()}) must fall inside the EPG week that starts on "
                f"{start.isoformat()}"
            )
    return epoch, until_s


def parse_start(text: str) -> date:
    """``--start``: an ISO date (``2025-01-06``); raises ``ValueError`` naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--start must be a date like 2025-01-06, got {text!r}") from None
