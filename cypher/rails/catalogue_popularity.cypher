// The same audience figures for every program, for graphs without bundles
// (MovieLens) where "your bundle" is not applicable.
MATCH (p:Program)
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
