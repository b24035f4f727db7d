// Blacklist audit of what the API actually served (the served log, see
// docs/data.md): every item served to a user who had blacklisted, before it was
// served, the program itself, the channel it was offered on, or one of its
// genres. A blacklist counts from its `at` (a DateTime: the time of the event
// that set it, when posted to POST /v1/events); one without `at` (loaded from a
// file) counts as always. The rails never offer such an item, so the expected
// answer is NO ROWS. An event posted long after its own time can make items
// served in between show up here: compare `blacklisted_at` with `served_at`.
//
// Parameter (in Neo4j Browser run `:param since => datetime() - duration('P1D')`
// first, or `:param since => null` for the whole log):
//   since  only rails served at or after this DateTime; null = every record kept
//          (GRAPHRAILS_SERVED_RETENTION_DAYS days).
// Only users the graph knew when the rail was logged are checked (:WAS_SERVED):
// anyone else was served the anonymous rules, which have no blacklist.
MATCH (u:User)-[b:BLACKLISTED]->(target)
MATCH (u)-[:WAS_SERVED]->(s:Served)-[i:SERVED_ITEM]->(p:Program)
WHERE ($since IS NULL OR s.at >= $since)
  AND (b.at IS NULL OR b.at < s.at)
  AND (target = p
       OR (target:Channel AND target.id = i.channel_id)
       OR (target:Genre AND EXISTS { (p)-[:HAS_GENRE]->(target) }))
RETURN s.at AS served_at, s.request_id AS request_id, s.rail AS rail, u.id AS user_id,
       i.position AS position, p.id AS program_id, p.title AS title,
       labels(target)[0] AS blacklisted, target.id AS blacklisted_id,
       b.at AS blacklisted_at, i.channel_id AS channel_id
ORDER BY served_at DESC, request_id, position
LIMIT 1000;
