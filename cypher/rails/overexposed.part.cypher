// Impression fatigue, as an expression: the programs user `u` was shown too often
// ($impression_rails > 0; the rails that are not personalised set it to 0). An
// impression is a rail of the served log (:Served, by its as_of) that held the program,
// after the user's latest watch of it. A program is kept out while its latest
// impression is less than $impression_days days old (as_of in ($now - days, $now]) and
// the $impression_days days up to that latest impression hold $impression_rails
// impressions or more: shown that often with no watch since, it stays out until it has
// not been shown for $impression_days days.
// Included by offers.part.cypher and rails/exclusions.cypher (graph/queries.py).
// Programs shown fewer than $impression_rails times in the window read are dropped before
// their watch is looked up (one WATCHED per user and program, as the loaders aggregate).
COLLECT {
  WITH u, duration({days: $impression_days}) AS days WHERE $impression_rails > 0
  MATCH (u)-[:WAS_SERVED]->(s:Served)-[:SERVED_ITEM]->(x:Program)
  WHERE s.as_of > $now - days - days AND s.as_of <= $now
  WITH u, x, days, collect(s.as_of) AS shown
  WHERE size(shown) >= $impression_rails
  WITH x, days, shown, [(u)-[w:WATCHED]->(x) | w.last_ts][0] AS watched
  WITH x, days, [t IN shown WHERE watched IS NULL OR t > watched] AS shown
  WITH x, days, shown,
       reduce(latest = shown[0], t IN shown | CASE WHEN t > latest THEN t ELSE latest END)
         AS latest
  WHERE latest > $now - days
    AND size([t IN shown WHERE t > latest - days]) >= $impression_rails
  RETURN x
}
