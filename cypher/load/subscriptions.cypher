// One batch of subscriptions.csv rows; `until` null means open-ended.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (b:Bundle {id: row.bundle_id})
MERGE (u)-[s:SUBSCRIBES_TO]->(b)
SET s.since = row.since, s.until = row.until;
