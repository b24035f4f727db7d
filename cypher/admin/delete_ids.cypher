// Delete the nodes of one label whose ids are listed, with their relationships.
// Used by tests to remove exactly the data they loaded.
MATCH (n:$($label))
WHERE n.id IN $ids
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 2000 ROWS;
