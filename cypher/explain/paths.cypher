// Why program $program_id may be shown to user $user_id at $now: the graph paths
// behind each kind of explanation (a few of each), access only through a
// subscription active at $now. /v1/explain returns it with the parameters
// written in, to paste into Neo4j Browser and see them drawn.
MATCH (u:User {id: $user_id}), (p:Program {id: $program_id})
CALL (u, p) {
  OPTIONAL MATCH path = (u)-[s:SUBSCRIBES_TO]->(:Bundle)-[:INCLUDES]->(:Channel)<-[:AVAILABLE_ON]-(p)
  WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now)
  WITH path LIMIT 3
  RETURN collect(path) AS subscription
}
CALL (p) {
  OPTIONAL MATCH path = (:Bundle {is_free: true})-[:INCLUDES]->(:Channel)<-[:AVAILABLE_ON]-(p)
  WITH path LIMIT 3
  RETURN collect(path) AS free_bundle
}
CALL (u, p) {
  OPTIONAL MATCH path = (u)-[:WATCHED]->(:Program)-[:HAS_GENRE]->(:Genre)<-[:HAS_GENRE]-(p)
  WITH path LIMIT 5
  RETURN collect(path) AS genre
}
CALL (u, p) {
  OPTIONAL MATCH path = (u)-[:WATCHED]->(:Program)<-[:WATCHED]-(:User)-[:WATCHED]->(p)
  WITH path LIMIT 5
  RETURN collect(path) AS co_watch
}
CALL (u, p) {
  OPTIONAL MATCH path = (u)-[:WATCHED]->(:Program)-[:EPISODE_OF]->(:Series)<-[:EPISODE_OF]-(p)
  WITH path LIMIT 3
  RETURN collect(path) AS series
}
RETURN subscription, free_bundle, genre, co_watch, series;
