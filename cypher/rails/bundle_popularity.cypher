// Every program offered on the channels of one bundle, with its audience:
// distinct watchers since $since ("this week") and in all, and mean completion,
// counting watches before $until only (as of then: no watch from the future).
// The API caches one list per bundle (popular and best-of-bundle rails).
MATCH (:Bundle {id: $bundle_id})-[:INCLUDES]->(:Channel)<-[:AVAILABLE_ON]-(p:Program)
WITH DISTINCT p
CALL (p) {
  OPTIONAL MATCH (p)<-[w:WATCHED]-(:User) WHERE w.last_ts < $until
  RETURN count(CASE WHEN w.last_ts >= $since THEN 1 END) AS watchers_week,
         count(w) AS watchers,
         avg(w.completion) AS completion
}
CALL (p) {
  OPTIONAL MATCH (p)-[a:AVAILABLE_ON]->(:Channel)
  RETURN min(a.start).epochSeconds AS first_available
}
RETURN p.id AS program_id, watchers_week, watchers, completion, first_available
ORDER BY watchers_week DESC, watchers DESC, program_id;
