// The version serving now and the one a rollback would restore.
MATCH (m:ModelVersion {serving: true})
RETURN m.id AS version, m.path AS path, m.previous AS previous
ORDER BY m.published_at DESC
LIMIT 1;
