// The users of a batch of events, created when the graph does not know them.
// A created user has only an id: the rails give it the free bundles and the
// anonymous CSA ceiling, as for a user the graph does not know at all.
UNWIND $user_ids AS id
OPTIONAL MATCH (known:User {id: id})
WITH id, known IS NULL AS new
MERGE (u:User {id: id})
  ON CREATE SET u.created_at = datetime()
RETURN collect(CASE WHEN new THEN id END) AS created;
