// The user's side of the ranker's features (gnn/ranker.py, UserFacts.from_row), as two
// expressions of a RETURN: it is not a statement of its own. It starts from the user node
// `u` (null: a user the graph does not know, who has neither) and `ranking_programs`, the
// ids of the programs to rank, and returns
//   ranking_watches: every WATCHED of the user, whatever its date (the features keep those
//                    before their `now`), as flat scalars [program id, seconds, best
//                    completion, first and last event (epoch s), channel of the latest event];
//   ranking_shown:   every time one of ranking_programs was served to the user (the
//                    served log), as [program id, as_of (epoch s)].
// The programs' own facts (genres, series, windows) come from cypher/rails/program_facts.cypher,
// which the API caches. Included by cypher/rails/home.cypher (serving) and
// cypher/rails/ranking_facts.cypher (training), so both read the same rows.
COLLECT {
  MATCH (u)-[w:WATCHED]->(p:Program)
  RETURN [p.id, w.seconds, w.completion, w.first_ts.epochSeconds, w.last_ts.epochSeconds,
          w.last_channel_id] AS watch
} AS ranking_watches,
COLLECT {
  MATCH (u)-[:WAS_SERVED]->(s:Served)-[:SERVED_ITEM]->(x:Program)
  WHERE x.id IN ranking_programs
  RETURN [x.id, s.as_of.epochSeconds] AS impression
} AS ranking_shown
