// One program with its genres and series, or no row.
MATCH (p:Program {id: $program_id})
OPTIONAL MATCH (p)-[:EPISODE_OF]->(s:Series)
RETURN p.id AS program_id, p.title AS title, p.csa AS csa, s.id AS series_id,
       s.title AS series_title, [(p)-[:HAS_GENRE]->(g:Genre) | g.name] AS genres;
