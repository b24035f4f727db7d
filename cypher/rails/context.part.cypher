// The user's context (what cypher/rails/user_context.cypher says it returns), shared by
// user_context.cypher and the rails' one-round-trip statements (home.cypher,
// similar.cypher), which include this part where it stands (graph/queries.py): it starts
// from the user node `u` (null: a user the graph does not know) and keeps, in one row,
// `u` with bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time
// and not_applicable (the rules of every DataSource, each once).
CALL (u) {
  MATCH (b:Bundle)
  WHERE b.is_free OR EXISTS {
    (u)-[s:SUBSCRIBES_TO]->(b) WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now) }
  RETURN collect(b.id) AS bundles, collect(CASE WHEN b.is_free THEN b.id END) AS free_bundles
}
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(p:Program)
  WITH w, p ORDER BY w.last_ts DESC
  RETURN count(w) AS watched,
         sum(CASE WHEN w IS NOT NULL THEN coalesce(w.seconds, 1) END) AS watched_seconds,
         collect(CASE WHEN w IS NOT NULL AND coalesce(w.completion, 1.0) >= $anchor_completion
                 THEN {id: p.id, title: p.title} END)[..$anchors] AS anchors,
         collect(CASE WHEN w IS NOT NULL
                 THEN [p.id, w.completion, w.last_ts.epochSeconds] END)[..$recent] AS recent
}
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(:Program)-[:HAS_GENRE]->(g:Genre)
  WITH g, sum(coalesce(w.seconds, 1)) AS seconds WHERE g IS NOT NULL
  RETURN collect({genre_id: g.id, genre: g.name, seconds: seconds}) AS genre_time
}
CALL () {
  OPTIONAL MATCH (d:DataSource)
  RETURN [x IN collect(d.not_applicable) | x] AS not_applicable
}
WITH u, bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
     reduce(all = [], x IN not_applicable |
       all + [rule IN x WHERE NOT rule IN all]) AS not_applicable
