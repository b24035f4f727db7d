// A user's neighbourhood: the bundles they subscribe to at $now (an ISO 8601 string or a
// datetime) and their channels, recent watches and their genres.
// In Neo4j Browser: :params {user_id: 'u0000001', now: '2025-01-09T20:00:00Z'}
MATCH (u:User {id: $user_id})
OPTIONAL MATCH bundles = (u)-[s:SUBSCRIBES_TO]->(:Bundle)-[:INCLUDES]->(:Channel)
WHERE s.since <= datetime($now) AND (s.until IS NULL OR s.until > datetime($now))
WITH u, collect(bundles)[..30] AS bundle_paths
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(p:Program)
  WITH w, p ORDER BY w.last_ts DESC LIMIT 10
  OPTIONAL MATCH watches = (u)-[w]->(p)-[:HAS_GENRE]->(:Genre)
  RETURN collect(watches) AS watch_paths
}
RETURN u, bundle_paths, watch_paths;
