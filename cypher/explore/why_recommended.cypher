// Why program $program_id is recommended to user $user_id: the same paths the
// API's /v1/explain returns (access through a bundle, shared genres, co-watchers).
// In Neo4j Browser: :params {user_id: 'u0000001', program_id: 'p0000042'}
MATCH (u:User {id: $user_id}), (p:Program {id: $program_id})
OPTIONAL MATCH access = (u)-[:SUBSCRIBES_TO]->(:Bundle)-[:INCLUDES]->(:Channel)<-[:AVAILABLE_ON]-(p)
WITH u, p, collect(access)[..3] AS access
OPTIONAL MATCH genre = (u)-[:WATCHED]->(:Program)-[:HAS_GENRE]->(:Genre)<-[:HAS_GENRE]-(p)
WITH u, p, access, collect(genre)[..5] AS genre
CALL (u, p) {
  OPTIONAL MATCH co = (u)-[:WATCHED]->(:Program)<-[:WATCHED]-(:User)-[:WATCHED]->(p)
  WITH co LIMIT 5
  RETURN collect(co) AS co_watch
}
RETURN access, genre, co_watch;
