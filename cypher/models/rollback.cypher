// Serves again the version that $current replaced, in this single transaction, if
// $current is still the serving one. The rolled-back version is stamped, and the
// restored one keeps its own `previous`, so a second rollback goes one further back.
MATCH (current:ModelVersion {id: $current})
MATCH (target:ModelVersion {id: current.previous})
OPTIONAL MATCH (registry:ModelRegistry {id: 'models'})
WITH current, target, registry
WHERE coalesce(registry.serving, CASE WHEN current.serving THEN current.id END) = $current
MERGE (r:ModelRegistry {id: 'models'})
SET r.serving = target.id, current.rolled_back_at = datetime(), target.published_at = datetime()
WITH current, target
MATCH (v:ModelVersion)
SET v.serving = (v = target)
RETURN DISTINCT target.id AS version, current.id AS replaced;
