// Delete the nodes of one label whose ids are listed, with their relationships.
// Callers send the ids in batches (tests use it to remove exactly what they loaded).
MATCH (n:$($label))
WHERE n.id IN $ids
DETACH DELETE n;
