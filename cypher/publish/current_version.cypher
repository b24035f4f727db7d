// Makes $version the one serving model version, in this single transaction: a reader
// sees the old version serving or the new one, never both or none (every ModelVersion
// is written, so two publishes at once take turns). The version it replaces is kept in
// `previous`: what `graphrails models rollback` restores.
MERGE (m:ModelVersion {id: $version})
SET m.path = $manifest, m.published_at = datetime(), m.ndcg_at_10 = $ndcg
REMOVE m.rolled_back_at
WITH m
OPTIONAL MATCH (current:ModelVersion {serving: true})
WHERE current <> m
WITH m, collect(current.id) AS replaced
SET m.previous = coalesce(replaced[0], m.previous)
WITH m
MATCH (v:ModelVersion)
SET v.serving = (v = m)
RETURN DISTINCT m.id AS version, m.previous AS previous;
