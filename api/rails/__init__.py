"""The rails pipeline: candidate sources -> eligibility (Cypher) -> post-ranking -> explanations.

A rail walks a named fallback chain of sources (:data:`api.rails.sources.FALLBACK_CHAINS`).
Each source proposes ranked program ids; eligibility filters them in one round trip per
source; post-ranking keeps at most ``max_per_genre`` / ``max_per_channel`` items per genre /
channel and one episode per series. Items that come from a later source than the first are
marked ``backfill``. Every item carries an explanation drawn from the graph
(:mod:`api.rails.reasons`).

``types`` holds the words every step shares, ``context`` reads the user, ``popularity``
caches the audience lists, ``sources`` declares and runs the sources, ``eligibility`` asks
Neo4j, ``assembly`` fills a rail, ``reasons`` explains its items, and ``service`` offers one
method per rail.
"""
