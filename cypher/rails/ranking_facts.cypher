// What the ranker's features are computed from (gnn/ranker.py, ranking_features), for
// training (gnn/ranker_train.py, many users a call) and serving (api/rails/ranking.py, one
// user) alike: for each {user_id, program_ids} of $users,
//   watches:    every WATCHED of the user, whatever its date (the features keep those
//               before their `now`): [program id, seconds, best completion, first and
//               last event (epoch s), channel of the latest event, genre ids, series id];
//   candidates: for each of program_ids the graph knows: [id, duration_s, genre ids,
//               series id, availability windows as [kind, start, end (epoch s), channel id]];
//   shown:      every time one of program_ids was served to the user (the served log), as
//               [program id, as_of (epoch s)].
// A user the graph does not know has no watches and no impressions.
UNWIND $users AS row
OPTIONAL MATCH (u:User {id: row.user_id})
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(p:Program)
  WITH w, p WHERE w IS NOT NULL
  RETURN collect([p.id, w.seconds, w.completion, w.first_ts.epochSeconds,
                  w.last_ts.epochSeconds, w.last_channel_id,
                  COLLECT { MATCH (p)-[:HAS_GENRE]->(g:Genre) RETURN g.id },
                  [(p)-[:EPISODE_OF]->(s:Series) | s.id][0]]) AS watches
}
CALL (row) {
  UNWIND row.program_ids AS program_id
  MATCH (p:Program {id: program_id})
  RETURN collect([p.id, p.duration_s,
                  COLLECT { MATCH (p)-[:HAS_GENRE]->(g:Genre) RETURN g.id },
                  [(p)-[:EPISODE_OF]->(s:Series) | s.id][0],
                  [(p)-[a:AVAILABLE_ON]->(c:Channel) |
                   [a.kind, a.start.epochSeconds, a.end.epochSeconds, c.id]]]) AS candidates
}
CALL (u, row) {
  OPTIONAL MATCH (u)-[:WAS_SERVED]->(s:Served)-[:SERVED_ITEM]->(x:Program)
  WHERE x.id IN row.program_ids
  WITH x, s WHERE s IS NOT NULL
  RETURN collect([x.id, s.as_of.epochSeconds]) AS shown
}
RETURN row.user_id AS user_id, watches, candidates, shown;
