// A user's neighbourhood: bundles and their channels, recent watches and their genres.
// In Neo4j Browser: :param user_id => 'u0000001'
MATCH (u:User {id: $user_id})
OPTIONAL MATCH bundles = (u)-[:SUBSCRIBES_TO]->(:Bundle)-[:INCLUDES]->(:Channel)
WITH u, collect(bundles)[..30] AS bundle_paths
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(p:Program)
  WITH w, p ORDER BY w.last_ts DESC LIMIT 10
  OPTIONAL MATCH watches = (u)-[w]->(p)-[:HAS_GENRE]->(:Genre)
  RETURN collect(watches) AS watch_paths
}
RETURN u, bundle_paths, watch_paths;
