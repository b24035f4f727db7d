// Why program $program_id may be shown to user $user_id at $now (an ISO 8601 string
// or a datetime): the graph paths behind each kind of explanation, a few of each.
// Access is drawn only through a subscription active at $now, or a free bundle, one
// path per (bundle, channel) however many windows the program has on the channel.
// A user the graph does not know has no path of their own: only the free bundles'
// (the API explains such a visitor as the rails serve them). No row: no such program.
//
// GET /v1/explain runs this query and returns it with its parameters written in,
// to paste into Neo4j Browser and see the paths drawn.
// In Neo4j Browser: :params {user_id: 'u0000001', program_id: 'p0000042', now: '2025-01-09T20:00:00Z'}
MATCH (p:Program {id: $program_id})
OPTIONAL MATCH (u:User {id: $user_id})
CALL (u, p) {
  OPTIONAL MATCH path = (u)-[s:SUBSCRIBES_TO]->(b:Bundle)-[:INCLUDES]->(c:Channel)<-[:AVAILABLE_ON]-(p)
  WHERE s.since <= datetime($now) AND (s.until IS NULL OR s.until > datetime($now))
  WITH b, c, head(collect(path)) AS path ORDER BY b.id, c.id LIMIT 3
  RETURN collect(path) AS subscription
}
CALL (p) {
  OPTIONAL MATCH path = (b:Bundle {is_free: true})-[:INCLUDES]->(c:Channel)<-[:AVAILABLE_ON]-(p)
  WITH b, c, head(collect(path)) AS path ORDER BY b.id, c.id LIMIT 3
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
