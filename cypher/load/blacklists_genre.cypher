// One batch of blacklists.csv rows whose target_type is 'genre'. A file row has no
// time, so an un-blacklist event (UNBLACKLISTED, POST /v1/events) wins over it:
// loading the same file again never brings back a blacklist the user lifted.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (t:Genre {id: row.target_id})
WHERE NOT EXISTS { (u)-[:UNBLACKLISTED]->(t) }
MERGE (u)-[:BLACKLISTED]->(t);
