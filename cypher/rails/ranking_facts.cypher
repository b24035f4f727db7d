// The user's side of the ranker's features for training (gnn/ranker_train.py, many users a
// call): for each {user_id, program_ids} of $users, the columns of
// cypher/rails/ranking_user.part.cypher (the part home.cypher returns when serving), with
// program_ids as the programs whose impressions are read. A user the graph does not know
// has no watches and no impressions. The programs' side is cypher/rails/program_facts.cypher.
UNWIND $users AS row
OPTIONAL MATCH (u:User {id: row.user_id})
WITH row, u, row.program_ids AS ranking_programs
RETURN row.user_id AS user_id,
// @include rails/ranking_user.part
;
