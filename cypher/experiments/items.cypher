// The items served under an experiment, one row per (arm, rail, user, program), with
// what the user did after (experiments/metrics.py). `shown`: how many times it was
// served; `played`: how many of those were followed by a watch of it within $window,
// that is the user's WATCHED of it has its latest watch (last_ts) from the rail's
// as_of to as_of + $window (WATCHED folds a user's watches of a program into one
// relationship, so its latest watch is what the graph can date); `completed`: those
// whose watch reached $completion. `seconds` and `completion` are the WATCHED's
// totals, counted once per (user, program) by the caller. `genres`: the program's.
MATCH (s:Served {experiment: $experiment})-[:SERVED_ITEM]->(p:Program)
WHERE s.user_id IS NOT NULL
OPTIONAL MATCH (:User {id: s.user_id})-[w:WATCHED]->(p)
WITH s, p, w,
     w IS NOT NULL AND w.last_ts >= s.as_of AND w.last_ts < s.as_of + $window AS played
WITH s.arm AS arm, s.rail AS rail, s.user_id AS user_id, p,
     count(*) AS shown,
     sum(CASE WHEN played THEN 1 ELSE 0 END) AS played,
     sum(CASE WHEN played AND coalesce(w.completion, 1.0) >= $completion THEN 1 ELSE 0 END)
       AS completed,
     max(CASE WHEN played THEN w.seconds END) AS seconds
RETURN arm, rail, user_id, p.id AS program_id, shown, played, completed,
       coalesce(seconds, 0) AS seconds, [(p)-[:HAS_GENRE]->(g:Genre) | g.id] AS genres
ORDER BY arm, rail, user_id, program_id;
