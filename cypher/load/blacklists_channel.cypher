// One batch of blacklists.csv rows whose target_type is 'channel'.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (t:Channel {id: row.target_id})
MERGE (u)-[:BLACKLISTED]->(t);
