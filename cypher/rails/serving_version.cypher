// The model version currently serving, if any.
MATCH (m:ModelVersion {serving: true})
RETURN m.id AS version, m.path AS path
LIMIT 1;
