// One batch of subscriptions.csv rows; `until` null means open-ended. The
// contract's key is (user_id, bundle_id, since): a user who lapsed and came
// back holds one relationship per period, as the bulk import writes them, and
// the rules read the one active at $now.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (b:Bundle {id: row.bundle_id})
MERGE (u)-[s:SUBSCRIBES_TO {since: row.since}]->(b)
SET s.until = row.until;
