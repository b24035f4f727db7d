// The same audience figures for every program (see bundle_popularity.cypher), for
// graphs without bundles (MovieLens) where "your bundle" is not applicable.
MATCH (p:Program)
CALL (p) {
  OPTIONAL MATCH (p)<-[w:WATCHED]-(:User) WHERE w.last_ts < $until
  WITH w, w.last_ts >= $since AS this_week
  RETURN count(CASE WHEN this_week THEN 1 END) AS watchers_week,
         avg(CASE WHEN this_week THEN w.completion END) AS completion_week,
         count(w) AS watchers
}
CALL (p) {
  OPTIONAL MATCH (p)-[a:AVAILABLE_ON]->(:Channel)
  RETURN min(a.start).epochSeconds AS first_available
}
RETURN p.id AS program_id, p.season AS season, p.episode AS episode, watchers_week,
       completion_week, watchers, first_available
ORDER BY watchers_week DESC, watchers DESC, program_id;
