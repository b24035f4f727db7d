// Every published model version, newest publication first.
MATCH (m:ModelVersion)
RETURN m.id AS version, m.path AS path, m.serving AS serving, m.previous AS previous,
       toString(m.published_at) AS published_at, toString(m.rolled_back_at) AS rolled_back_at
ORDER BY m.published_at DESC;
