// What the rails need to know about one user, in one round trip: profile,
// bundles (active subscriptions plus free bundles), recent well-completed
// watches (anchors for "because you watched"), the last $recent watches as
// [program id, completion, last_ts epoch seconds] (the fold-in of the user's
// vector, api/model.py), watch time in all and per genre (a program of two
// genres counts in both: the shares are of watched_seconds, each watch once,
// and need not sum to 1), and which rules some loaded
// data source cannot support (the union over DataSource nodes, each rule
// once). With a TV data set and MovieLens in one database "availability" is
// listed, yet eligible.cypher still applies it to every program that has
// availability data: the flag only lets the MovieLens films through.
OPTIONAL MATCH (u:User {id: $user_id})
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
RETURN u IS NOT NULL AS known, u.csa_ceiling AS csa_ceiling,
       u.csa_ceiling_level AS csa_ceiling_level, u.profile AS profile, u.country AS country,
       bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
       reduce(all = [], x IN not_applicable |
         all + [rule IN x WHERE NOT rule IN all]) AS not_applicable;
