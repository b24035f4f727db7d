// CSA audit of what the API actually served (the served log, see docs/data.md):
// every served item whose program's CSA level is above the CSA ceiling recorded
// for the rail it was served in. Eligibility never offers such a program, so the
// expected answer is NO ROWS. A row names the request, the rail, the user and
// the program: a bug in eligibility, or (rarely) a profile whose ceiling was
// lowered in the second between serving and logging.
//
// Parameter (in Neo4j Browser run `:param since => datetime() - duration('P1D')`
// first, or `:param since => null` for the whole log):
//   since  only rails served at or after this DateTime; null = every record kept
//          (GRAPHRAILS_SERVED_RETENTION_DAYS days).
// A program without a CSA level counts as TP (level 0), as in eligibility.
MATCH (s:Served)-[i:SERVED_ITEM]->(p:Program)
WHERE ($since IS NULL OR s.at >= $since)
  AND coalesce(p.csa_level, 0) > s.csa_ceiling_level
RETURN s.at AS served_at, s.request_id AS request_id, s.rail AS rail, s.user_id AS user_id,
       s.csa_ceiling_level AS csa_ceiling_level, i.position AS position,
       p.id AS program_id, p.title AS title, p.csa AS csa, p.csa_level AS csa_level,
       s.model_version AS model_version
ORDER BY served_at DESC, request_id, position
LIMIT 1000;
