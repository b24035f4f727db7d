// Records a model version about to be published (its own transaction, before the flip,
// so that a reader who sees the flip finds the version complete).
MERGE (m:ModelVersion {id: $version})
SET m.path = $manifest, m.ndcg_at_10 = $ndcg;
