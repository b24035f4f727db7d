// Marks the published model version as the one serving; older ones are kept.
MERGE (m:ModelVersion {id: $version})
SET m.path = $manifest, m.published_at = datetime(), m.serving = true
WITH m
MATCH (other:ModelVersion) WHERE other <> m
SET other.serving = false;
