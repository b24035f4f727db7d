// Every bundle, with whether it is free.
MATCH (b:Bundle)
RETURN b.id AS bundle_id, b.name AS name, b.is_free AS is_free
ORDER BY bundle_id;
