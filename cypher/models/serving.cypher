// The version serving now and the one a rollback would restore, read through the one
// registry node (atomic for readers); a graph published before it existed: the flag.
OPTIONAL MATCH (r:ModelRegistry {id: 'models'})
WITH r
MATCH (m:ModelVersion)
WHERE (r IS NOT NULL AND m.id = r.serving) OR (r IS NULL AND m.serving)
RETURN m.id AS version, m.path AS path, m.previous AS previous
LIMIT 1;
