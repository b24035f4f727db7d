"""A Neo4j Browser guide built from the saved queries in ``cypher/explore/``.

Neo4j Browser 5 opens an HTML guide in its sidebar with ``:guide <url>``: one
``<slide>`` per page, and a click on a ``<pre class="runnable">`` puts its text
in the editor (its play icon runs it). The guide is built on request, so it
lists every saved query with the comment at the top of its file, and its
``:params`` slide carries ids that exist in the graph being explored.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from graph.queries import CYPHER_DIR, query

EXPLORE = "explore"
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def saved_queries() -> list[str]:
    """Names of the saved exploration queries, in file name order."""
    return sorted(p.stem for p in (CYPHER_DIR / EXPLORE).glob("*.cypher"))


def description(name: str) -> str:
    """The first paragraph of the comment atop ``cypher/explore/<name>.cypher``, without its
    Browser hints (the guide sets the parameters)."""
    lines = []
    for line in (CYPHER_DIR / EXPLORE / f"{name}.cypher").read_text(encoding="utf-8").splitlines():
        text = line.removeprefix("//").strip()
        if not line.startswith("//") or not text:
            break
        if not text.startswith("In Neo4j Browser"):
            lines.append(text)
    return " ".join(lines)


def parameters(name: str) -> list[str]:
    """The ``$parameters`` a saved query needs, in order of first use."""
    return list(dict.fromkeys(_PARAMETER.findall(query(f"{EXPLORE}/{name}"))))


def with_literals(statement: str, params: Mapping[str, Any]) -> str:
    """``statement`` with each ``$name`` of ``params`` replaced by its value as a Cypher literal:
    one statement that runs as is in Neo4j Browser (whose editor has no parameters of its own)."""
    return _PARAMETER.sub(
        lambda m: cypher_literal(params[m.group(1)]) if m.group(1) in params else m.group(0),
        statement,
    )


def guide_html(*, api_url: str, examples: Mapping[str, Any]) -> str:
    """The guide: an introduction, the example parameters, then one slide per saved query."""
    names = saved_queries()
    needed = {p for n in names for p in parameters(n)}
    values = {k: v for k, v in examples.items() if k in needed}
    missing = sorted(needed - set(values))
    intro = f"""<slide>
<h3>graphrails: the graph behind the rails</h3>
<p>Users <b>SUBSCRIBES_TO</b> bundles, which <b>INCLUDES</b> channels; a program is
<b>AVAILABLE_ON</b> a channel (live, replay or VOD), <b>HAS_GENRE</b> genres and may be an
<b>EPISODE_OF</b> a series. Users <b>WATCHED</b> programs (with their completion) and may have
<b>BLACKLISTED</b> programs, channels or genres.</p>
<p>Colours and captions per label (applied on connect when the graphrails API runs):</p>
<pre class="runnable">:style {html.escape(api_url)}/browser/graphrails.grass</pre>
<p>The Browser also draws every relationship between the nodes a query returns ("Connect
result nodes"), so a program's airings on a channel crowd the paths a query asked for. To
see only those paths:</p>
<pre class="runnable">:config autoComplete: false</pre>
<p>Every slide after the next one holds a saved query of <code>cypher/explore/</code>: click it
to put it in the editor, or its play icon to run it.</p>
</slide>
"""
    example_note = (
        "the most active user and the first program of their home rail"
        if values
        else "no user in the graph yet: load data first (graphrails demo)"
    )
    params = f"""<slide>
<h3>Parameters</h3>
<p>The queries use these parameters; set them once ({html.escape(example_note)}):</p>
<pre class="runnable">{html.escape(params_command(values))}</pre>
{_missing_note(missing)}</slide>
"""
    slides = [intro, params]
    for name in names:
        title = name.replace("_", " ").capitalize()
        needs = parameters(name)
        uses = f"<p>Uses {', '.join(f'<code>${p}</code>' for p in needs)}.</p>" if needs else ""
        slides.append(
            f"""<slide>
<h3>{html.escape(title)}</h3>
<p>{html.escape(description(name))}</p>
{uses}
<pre class="runnable">{html.escape(query(f"{EXPLORE}/{name}"))}</pre>
<p><small>cypher/explore/{html.escape(name)}.cypher</small></p>
</slide>
"""
        )
    return "<title>graphrails</title>\n" + "".join(slides)


def params_command(values: Mapping[str, Any]) -> str:
    """A ``:params`` line (Cypher map syntax) that sets ``values`` in the Browser."""
    return ":params {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items()) + "}"


def _missing_note(missing: list[str]) -> str:
    if not missing:
        return ""
    names = ", ".join(f"<code>{html.escape(m)}</code>" for m in missing)
    return f"<p>Set these yourself too: {names}.</p>\n"


def style_path() -> Path:
    """The Browser style sheet (GraSS) shipped with the API."""
    return Path(__file__).resolve().parent / "static" / "browser" / "graphrails.grass"


def cypher_literal(value: Any) -> str:
    """A Cypher literal for a parameter value, to show a replayable query (never executed here)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"datetime('{value.isoformat()}')"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"`{k}`: {cypher_literal(v)}" for k, v in value.items())
        return "{" + inner + "}"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
