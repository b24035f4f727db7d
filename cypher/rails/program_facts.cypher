// Every program's static facts for the ranker's features (gnn/ranker.py, ProgramTable):
// [id, duration_s, genre ids (the main genre first: HAS_GENRE.rank, as the offers list
// them), series id, availability windows as [kind, start, end (epoch s), channel id]]. Nothing here is about a user: training reads it once, the API keeps
// it for GRAPHRAILS_RANKER_PROGRAMS_TTL seconds (api/rails/ranking.py).
MATCH (p:Program)
RETURN p.id AS program_id, p.duration_s AS duration_s,
       COLLECT { MATCH (p)-[r:HAS_GENRE]->(g:Genre) RETURN g.id ORDER BY r.rank, g.id } AS genres,
       [(p)-[:EPISODE_OF]->(s:Series) | s.id][0] AS series_id,
       [(p)-[a:AVAILABLE_ON]->(c:Channel) |
        [a.kind, a.start.epochSeconds, a.end.epochSeconds, c.id]] AS windows;
