// One program with its genres and series, or no row; `watched`: whether user $user_id
// (null: nobody) has a WATCHED relationship to it, at any completion and however old.
MATCH (p:Program {id: $program_id})
OPTIONAL MATCH (p)-[:EPISODE_OF]->(s:Series)
RETURN p.id AS program_id, p.title AS title, p.csa AS csa, s.id AS series_id,
       s.title AS series_title, [(p)-[:HAS_GENRE]->(g:Genre) | g.name] AS genres,
       EXISTS { (:User {id: $user_id})-[:WATCHED]->(p) } AS watched;
