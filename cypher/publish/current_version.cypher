// Makes $version (registered before) the serving model version, in this single
// transaction. Readers go through the one (:ModelRegistry {id: 'models'}) node, whose
// `serving` property changes at once: they see the old version or the new one, never
// both or none. The `serving` flags of the ModelVersion nodes follow in the same
// transaction. The version it replaces is kept in `previous`: what
// `graphrails models rollback` restores.
MATCH (m:ModelVersion {id: $version})
OPTIONAL MATCH (registry:ModelRegistry {id: 'models'})
OPTIONAL MATCH (flagged:ModelVersion {serving: true})
WITH m, registry, collect(flagged.id) AS flagged
WITH m, coalesce(registry.serving, flagged[0]) AS replaced
MERGE (r:ModelRegistry {id: 'models'})
SET r.serving = m.id, m.published_at = datetime(),
    m.previous = CASE WHEN replaced IS NULL OR replaced = m.id THEN m.previous ELSE replaced END
REMOVE m.rolled_back_at
WITH m
MATCH (v:ModelVersion)
SET v.serving = (v = m)
RETURN DISTINCT m.id AS version, m.previous AS previous;
