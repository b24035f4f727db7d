// One batch of bundle_channels.csv rows: (:Bundle)-[:INCLUDES]->(:Channel).
UNWIND $rows AS row
MATCH (b:Bundle {id: row.bundle_id})
MATCH (c:Channel {id: row.channel_id})
MERGE (b)-[:INCLUDES]->(c);
